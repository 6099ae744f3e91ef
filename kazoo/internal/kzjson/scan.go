package kzjson

// This file is a port of json-c 0.16's json_tokener_parse_ex as the C kazoo
// module called it: json_tokener_parse on a NUL-terminated copy of the
// document (len -1, default flags, so non-strict, no UTF-8 validation,
// maximum depth 32). Instead of building json_objects it records each value
// on a tape, in document order, with the byte range of its text.

import (
	"encoding/binary"
	"math/bits"
)

// nodeKind is the type of a tape node.
type nodeKind uint8

const (
	nObject nodeKind = iota
	nArray
	nString
	nKey    // an object member's key; the member's value follows it
	nInt    // integer text, printed as json-c's int64/uint64 value
	nDouble // double text, printed verbatim (json_object_new_double_s)
	nNaN
	nPosInf
	nNegInf
	nTrue
	nFalse
	nNull
)

const (
	flagEscaped uint8 = 1 << iota // string or key text contains backslash escapes
	flagKeyBuf                    // key bytes live in scanner.keys (decoded), not in the document
)

// node is one value (or object key) of the parsed document.
//
// For strings, start:end is the text between the quotes (still escaped when
// flagEscaped is set). For keys, it is the decoded key, truncated at its
// first NUL as json-c's strdup did; it points into the document when the key
// had no escapes and into scanner.keys otherwise. For numbers it is the
// number text after json-c's trimming of a dangling exponent. For containers
// it spans the brackets.
type node struct {
	start, end uint32
	next       uint32 // index of the node after this value's subtree
	count      uint32 // arrays: elements; objects: members, duplicates included
	kind       nodeKind
	flags      uint8
}

// maxDepth is JSON_TOKENER_DEFAULT_DEPTH: a container at depth 31 (the
// top-level value has depth 0) cannot have children.
const maxDepth = 32

type status uint8

const (
	stOK status = iota
	stErr
	stQuirk // success ending inside a trailing comment; root set by the innermost level
)

type wsResult uint8

const (
	wsOK wsResult = iota
	wsEOFInComment
	wsBadComment
)

// scanner holds the document copy and the tape.
type scanner struct {
	buf  []byte
	tape []node
	keys []byte
	root int32
}

// push appends a zero node to the tape. Filling the slot in place, rather
// than appending a composed node, avoids a store-forwarding stall that cost
// a quarter of the parse time.
func (s *scanner) push() *node {
	if len(s.tape) == cap(s.tape) {
		s.tape = append(s.tape, node{})
	} else {
		s.tape = s.tape[:len(s.tape)+1]
		s.tape[len(s.tape)-1] = node{}
	}
	return &s.tape[len(s.tape)-1]
}

// at returns the byte at i, or 0 past the end: the document is a C string,
// so an embedded NUL and the end of input behave the same.
func (s *scanner) at(i int) byte {
	if i < len(s.buf) {
		return s.buf[i]
	}
	return 0
}

// isWS is json-c's is_ws_char.
func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// lower folds ASCII letters the way strncasecmp does in the C locale; the
// callers only compare its result with lower-case letters.
func lower(c byte) byte { return c | 0x20 }

// parse parses s.buf. It reports whether json-c would have returned a
// document, and sets s.root to the value json_tokener_parse returns (which
// may be a JSON null: the C module rejects that as "empty or invalid").
func (s *scanner) parse() bool {
	s.tape = s.tape[:0]
	s.keys = s.keys[:0]
	s.root = -1
	i, ws := s.skipWS(0)
	if ws != wsOK { // saved state is "start": an unterminated comment is an error
		return false
	}
	_, st := s.value(i, 0)
	switch st {
	case stOK:
		s.root = 0 // trailing bytes after the first value are ignored
	case stQuirk:
		// root already set
	default:
		return false
	}
	return true
}

// eatWS is json_tokener_state_eatws including the comment states. It stops
// at the first byte that is neither whitespace nor part of a comment.
//
// json-c's comment end detection has a quirk that is kept: after a '*' the
// next byte is consumed; if it is not '/', scanning goes on after it, so
// "**/" does not close a comment.
func (s *scanner) eatWS(i int) (int, wsResult) {
	b := s.buf
	for {
		for i < len(b) && isWS(b[i]) {
			i++
		}
		if i >= len(b) || b[i] != '/' {
			return i, wsOK
		}
		i++
		switch s.at(i) {
		case '*':
			i++
			for {
				for i < len(b) && b[i] != '*' && b[i] != 0 {
					i++
				}
				if i >= len(b) || b[i] == 0 {
					return i, wsEOFInComment
				}
				i++ // the '*'
				c := s.at(i)
				if c == 0 {
					return i, wsEOFInComment
				}
				i++
				if c == '/' {
					break
				}
			}
		case '/':
			i++
			for i < len(b) && b[i] != '\n' && b[i] != 0 {
				i++
			}
			if i >= len(b) || b[i] == 0 {
				return i, wsEOFInComment
			}
			i++
		default:
			return i, wsBadComment
		}
	}
}

// skipWS is eatWS with the common case, no whitespace at all, inlined.
func (s *scanner) skipWS(i int) (int, wsResult) {
	if i < len(s.buf) {
		if c := s.buf[i]; c > ' ' && c != '/' {
			return i, wsOK
		}
	}
	return s.eatWS(i)
}

// value parses the value starting at i (whitespace before it has been
// eaten) at the given depth, then the whitespace and comments after it.
func (s *scanner) value(i, depth int) (int, status) {
	idx := len(s.tape)
	s.push().start = uint32(i)
	var st status
	switch c := s.at(i); c {
	case '{', '[':
		i, st = s.container(i, depth, idx)
	case '"', '\'':
		i, st = s.str(i, idx)
	case 'I', 'i':
		i, st = s.inf(i, idx, nPosInf)
	case 'N', 'n':
		i, st = s.nullOrNaN(i, idx)
	case 'T', 't':
		i, st = s.literal(i, idx, "true", nTrue)
	case 'F', 'f':
		i, st = s.literal(i, idx, "false", nFalse)
	case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '-':
		i, st = s.number(i, depth, idx)
	default:
		return i, stErr
	}
	if st != stOK {
		return i, st
	}
	s.tape[idx].next = uint32(len(s.tape))
	// The value's level eats what follows it with saved_state "finish":
	// reaching the end inside a comment here ends the parse successfully and
	// json_tokener_parse returns this (possibly nested) value.
	i, ws := s.skipWS(i)
	switch ws {
	case wsEOFInComment:
		s.root = int32(idx)
		return i, stQuirk
	case wsBadComment:
		return i, stErr
	}
	return i, stOK
}

// container scans an object ('{' at i) or an array ('[' at i) into tape node idx: its
// members or elements one after the other, each an object member's key and ':' first.
func (s *scanner) container(i, depth, idx int) (int, status) {
	kind, end := nArray, byte(']')
	if s.at(i) == '{' {
		kind, end = nObject, '}'
	}
	var ws wsResult
	count := uint32(0)
	i, ws = s.skipWS(i + 1)
	if ws != wsOK {
		return i, stErr
	}
	for done := s.at(i) == end; !done; count++ {
		if kind == nObject {
			var ok bool
			if i, ok = s.memberKey(i); !ok {
				return i, stErr
			}
		}
		if depth >= maxDepth-1 {
			return i, stErr
		}
		var st status
		if i, st = s.value(i, depth+1); st != stOK {
			return i, st
		}
		if i, done, st = s.afterElement(i, end); st != stOK {
			return i, st
		}
	}
	i++
	n := &s.tape[idx]
	n.kind, n.end, n.count = kind, uint32(i), count
	return i, stOK
}

// memberKey reads an object member's quoted key, the ':' and the white space up to its value.
func (s *scanner) memberKey(i int) (int, bool) {
	if q := s.at(i); q != '"' && q != '\'' {
		return i, false
	}
	i, ok := s.key(i)
	if !ok {
		return i, false
	}
	var ws wsResult
	if i, ws = s.skipWS(i); ws != wsOK || s.at(i) != ':' {
		return i, false
	}
	i, ws = s.skipWS(i + 1)
	return i, ws == wsOK
}

// afterElement reads what follows an object member or an array element at i: the
// container's end (done), or a comma and the next one, or - json-c's leniency - a comma
// and the end.
func (s *scanner) afterElement(i int, end byte) (int, bool, status) {
	c := s.at(i)
	if c == end {
		return i, true, stOK
	}
	if c != ',' {
		return i, false, stErr
	}
	i, ws := s.skipWS(i + 1)
	if ws != wsOK {
		return i, false, stErr
	}
	return i, s.at(i) == end, stOK // end here: a trailing comma
}

// stopDouble and stopSingle mark the bytes that end a run of plain string
// content: the quote, the backslash and NUL.
var stopDouble, stopSingle = stopTable('"'), stopTable('\'')

func stopTable(q byte) (t [256]bool) {
	t[q], t['\\'], t[0] = true, true, true
	return t
}

const (
	lsb         = 0x0101010101010101
	msb         = 0x8080808080808080
	backslashes = lsb * '\\'
)

// zeroBytes has the high bit set in the lowest zero byte of w (and maybe in
// higher bytes after it; only the lowest set bit is used).
func zeroBytes(w uint64) uint64 { return (w - lsb) &^ w & msb }

// scanString scans the string whose opening quote is at i. It returns the
// content range, whether it has escapes, the index after the closing quote
// and whether the string is valid for json-c.
func (s *scanner) scanString(i int) (start, end int, escaped bool, next int, ok bool) {
	b := s.buf
	q := b[i]
	stop := &stopDouble
	if q == '\'' {
		stop = &stopSingle
	}
	i++
	start = i
	qq := lsb * uint64(q)
	for {
		// Eight bytes at a time, then byte by byte near the end.
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if m := zeroBytes(w^qq) | zeroBytes(w^backslashes) | zeroBytes(w); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto stopped
			}
			i += 8
		}
		for i < len(b) && !stop[b[i]] {
			i++
		}
	stopped:
		if i >= len(b) || b[i] == 0 {
			return start, i, escaped, i, false
		}
		if b[i] == q {
			return start, i, escaped, i + 1, true
		}
		escaped = true
		switch s.at(i + 1) {
		case '"', '\\', '/', 'b', 'n', 'r', 't', 'f':
			i += 2
		case 'u':
			for k := 2; k < 6; k++ {
				if !isHex(s.at(i + k)) {
					return start, i, escaped, i, false
				}
			}
			i += 6
		default: // includes \' : json-c rejects it
			return start, i, escaped, i, false
		}
	}
}

func (s *scanner) str(i, idx int) (int, status) {
	start, end, escaped, next, ok := s.scanString(i)
	if !ok {
		return next, stErr
	}
	n := &s.tape[idx]
	n.kind, n.start, n.end = nString, uint32(start), uint32(end)
	if escaped {
		n.flags = flagEscaped
	}
	return next, stOK
}

// key records an object key (obj_field_name = strdup(...): decoded and
// truncated at its first NUL).
func (s *scanner) key(i int) (int, bool) {
	start, end, escaped, next, ok := s.scanString(i)
	if !ok {
		return next, false
	}
	n := s.push()
	n.kind, n.start, n.end, n.next = nKey, uint32(start), uint32(end), uint32(len(s.tape))
	if escaped {
		k0 := len(s.keys)
		s.keys = appendDecoded(s.keys, s.buf[start:end])
		k1 := len(s.keys)
		for j := k0; j < k1; j++ {
			if s.keys[j] == 0 {
				k1 = j
				break
			}
		}
		s.keys = s.keys[:k1]
		n.start, n.end, n.flags = uint32(k0), uint32(k1), flagEscaped|flagKeyBuf
	}
	return next, true
}

// literal matches word (true, false, null, nan, infinity) case-insensitively
// (json-c non-strict), from its first letter at i. The byte after it is not
// checked here: json-c hands it to the enclosing level, which rejects anything
// but a separator.
func (s *scanner) literal(i, idx int, word string, kind nodeKind) (int, status) {
	for k := 0; k < len(word); k++ {
		if lower(s.at(i+k)) != word[k] {
			return i + k, stErr
		}
	}
	n := &s.tape[idx]
	n.kind, n.end = kind, uint32(i+len(word))
	return i + len(word), stOK
}

// nullOrNaN is json_tokener_state_null: "null" or "NaN", case-insensitive.
func (s *scanner) nullOrNaN(i, idx int) (int, status) {
	switch lower(s.at(i + 1)) {
	case 'u':
		return s.literal(i, idx, "null", nNull)
	case 'a':
		return s.literal(i, idx, "nan", nNaN)
	}
	return i + 1, stErr
}

// inf is json_tokener_state_inf: "Infinity" with each letter in either case.
// i is at the 'I'; for -Infinity the node already starts at the '-'.
func (s *scanner) inf(i, idx int, kind nodeKind) (int, status) {
	return s.literal(i, idx, "infinity", kind)
}

// number is json_tokener_state_number followed by json-c's conversion:
// strtoll for negative integers, strtoull for the others (both saturating),
// and strtod, which must consume the whole (trimmed) text, for doubles.
func (s *scanner) number(i, depth, idx int) (int, status) {
	b := s.buf
	start := i
	isDouble, isExp := false, false
	negOK, posOK := true, false
	for i < len(b) {
		c := b[i]
		if !(isDigit(c) || !isExp && (c == 'e' || c == 'E') || negOK && c == '-' ||
			posOK && c == '+' || !isDouble && c == '.') {
			break
		}
		negOK, posOK = false, false
		switch c {
		case '.':
			isDouble, negOK, posOK = true, true, true
		case 'e', 'E':
			isExp, isDouble, negOK, posOK = true, true, true, true
		}
		i++
	}
	c := s.at(i)
	if depth > 0 && c != ',' && c != ']' && c != '}' && c != '/' && c != 'I' && c != 'i' && !isWS(c) {
		return i, stErr
	}
	if b[start] == '-' && i-start <= 1 && (c == 'i' || c == 'I') {
		return s.inf(i, idx, nNegInf)
	}
	end := i
	if isDouble {
		for end-start > 1 {
			switch b[end-1] {
			case 'e', 'E', '-', '+':
				end--
				continue
			}
			break
		}
	}
	text := b[start:end]
	kind := nInt
	if isDouble {
		if !strtodWhole(text) {
			return i, stErr
		}
		kind = nDouble
	} else if text[0] == '-' && len(text) == 1 {
		return i, stErr // strtoll("-") converts nothing
	}
	n := &s.tape[idx]
	n.kind, n.end = kind, uint32(end)
	return i, stOK
}

// strtodWhole reports whether strtod would consume all of text, which the
// number state limited to the bytes -+.eE and digits:
// -?(D+(.D*)?|.D+)([eE][+-]?D+)?
func strtodWhole(t []byte) bool {
	i := 0
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		i++
	}
	digits := 0
	for i < len(t) && isDigit(t[i]) {
		i, digits = i+1, digits+1
	}
	if i < len(t) && t[i] == '.' {
		i++
		for i < len(t) && isDigit(t[i]) {
			i, digits = i+1, digits+1
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		i++
		if i < len(t) && (t[i] == '-' || t[i] == '+') {
			i++
		}
		exp := 0
		for i < len(t) && isDigit(t[i]) {
			i, exp = i+1, exp+1
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(t)
}
