package kzjson

import (
	"bytes"
	"errors"
	"math"
)

// Kind is the kind of a lookup result.
type Kind uint8

// The kinds of a result. The values are stable: the C side of the module
// mirrors them.
const (
	String  Kind = iota // a JSON string; the output is its raw, unescaped bytes
	Number              // a JSON number, NaN or ±Infinity, printed as json-c prints it
	Bool                // true or false
	Null                // a JSON null; the output is empty
	Object              // a JSON object, serialised like json-c
	Array               // a JSON array, serialised like json-c
	Missing             // nothing at the path; the output is empty
	Invalid             // the document or the path is invalid; an error says which
)

var kindNames = [...]string{"string", "number", "bool", "null", "object", "array", "missing", "invalid"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// The errors returned with Kind Invalid. They are fixed values, so
// returning them allocates nothing.
var (
	// ErrInvalidJSON: json-c rejects the document, or the document is a
	// bare null (the C module logs "empty or invalid JSON" for both).
	ErrInvalidJSON = errors.New("empty or invalid JSON")
	// ErrPath: the path is empty or has an empty segment (a leading dot or
	// two dots in a row). The C module fails an assertion and the process
	// aborts; we return this error instead.
	ErrPath = errors.New("invalid JSON path: empty, or a leading dot or two dots in a row (the C module aborts on this)")
)

// DefaultEscape is the default of the module parameter json_escape_char.
const DefaultEscape = '%'

// Evaluator evaluates paths on JSON documents. It keeps the last document
// it parsed (a copy and its parse result), so a sequence of lookups on the
// same document parses it once. The zero value is ready to use. An
// Evaluator is not safe for concurrent use: give each goroutine its own.
type Evaluator struct {
	sc      scanner
	loaded  bool // sc holds the result of parsing sc.buf
	valid   bool
	path    []byte  // the path with the escape character replaced
	tmp     []byte  // decoded strings being escaped
	members []int32 // stack of (key, value) pairs of objects being printed
	table   []int32 // hash table for objects with many members
}

// load parses doc unless it is the document parsed last.
func (e *Evaluator) load(doc []byte) bool {
	if e.loaded && bytes.Equal(doc, e.sc.buf) {
		return e.valid
	}
	e.sc.buf = append(e.sc.buf[:0], doc...)
	// json-c refuses documents over INT32_MAX bytes (the tape's offsets are
	// 32-bit too).
	e.valid = len(doc) <= math.MaxInt32 && e.sc.parse() && e.sc.tape[e.sc.root].kind != nNull
	e.loaded = true
	return e.valid
}

// Reset drops the cached document and shrinks buffers that grew beyond
// limit bytes (or elements), so one huge document does not pin memory.
func (e *Evaluator) Reset(limit int) {
	e.loaded = false
	if cap(e.sc.buf) > limit {
		e.sc.buf = nil
	}
	if cap(e.sc.tape) > limit/20 { // 20 bytes per node
		e.sc.tape = nil
	}
	if cap(e.sc.keys) > limit {
		e.sc.keys = nil
	}
	if cap(e.tmp) > limit {
		e.tmp = nil
	}
}

// lookup is kz_json_get_field_object: the document is parsed first (an
// invalid document is reported even when the path is invalid too), then
// the path is checked and walked. Document and path are C strings: bytes
// from the first NUL on are ignored.
func (e *Evaluator) lookup(doc, path []byte, escape byte) (int, error) {
	if !e.load(doc) {
		return -1, ErrInvalidJSON
	}
	if i := bytes.IndexByte(path, 0); i >= 0 {
		path = path[:i]
	}
	if !checkPath(path) {
		return -1, ErrPath
	}
	return e.resolve(path, escape), nil
}

// Get appends to dst the value at path in doc as the C module's
// {kz.json,path} transformation and kazoo_json() print it (json-c's
// json_object_get_string), and returns its kind. For Null, Missing and
// Invalid nothing is appended; the C module yields "" from the
// transformation and $null from kazoo_json for Null and Missing.
func (e *Evaluator) Get(dst, doc, path []byte, escape byte) ([]byte, Kind, error) {
	v, err := e.lookup(doc, path, escape)
	if err != nil {
		return dst, Invalid, err
	}
	if v < 0 {
		return dst, Missing, nil
	}
	s := &e.sc
	n := &s.tape[v]
	switch n.kind {
	case nString:
		raw := s.buf[n.start:n.end]
		if n.flags&flagEscaped == 0 {
			return append(dst, raw...), String, nil
		}
		// json_object_get_string returns a C string: a \u0000 ends it.
		l := len(dst)
		dst = appendDecoded(dst, raw)
		if i := bytes.IndexByte(dst[l:], 0); i >= 0 {
			dst = dst[:l+i]
		}
		return dst, String, nil
	case nObject:
		return e.appendJSON(dst, v), Object, nil
	case nArray:
		return e.appendJSON(dst, v), Array, nil
	case nNull:
		return dst, Null, nil
	case nTrue, nFalse:
		return s.appendScalar(dst, n), Bool, nil
	}
	return s.appendScalar(dst, n), Number, nil
}

// RootKind returns the kind of doc's top-level value as json-c parses it, or Invalid
// with ErrInvalidJSON (a bare null included, as the C module's kz_json_parse).
func (e *Evaluator) RootKind(doc []byte) (Kind, error) {
	if !e.load(doc) {
		return Invalid, ErrInvalidJSON
	}
	switch e.sc.tape[e.sc.root].kind {
	case nObject:
		return Object, nil
	case nArray:
		return Array, nil
	case nString:
		return String, nil
	case nTrue, nFalse:
		return Bool, nil
	}
	return Number, nil
}

// Count is {kz.json.count,path}: the length of the array at path, 0 when
// the value is missing or not an array. Errors are those of Get; the C
// module yields 0 for an invalid document.
func (e *Evaluator) Count(doc, path []byte, escape byte) (int, error) {
	v, err := e.lookup(doc, path, escape)
	if err != nil || v < 0 || e.sc.tape[v].kind != nArray {
		return 0, err
	}
	return int(e.sc.tape[v].count), nil
}

// Keys appends to dst the keys of the object at path, each followed by a
// 0 byte, in the order the C module's kazoo_json_keys adds them as AVPs:
// document order of each key's first occurrence (json-c keeps a duplicate
// key at its first position). Adding them in this order reproduces the
// C module's AVP stack, where $(avp(x)[0]) is the last key. Keys are
// decoded and end at a \u0000, as json-c's keys do. When the value is
// missing or not an object nothing is appended and no error is returned
// (the C module crashes on a non-object).
func (e *Evaluator) Keys(dst, doc, path []byte, escape byte) ([]byte, error) {
	v, err := e.lookup(doc, path, escape)
	if err != nil || v < 0 || e.sc.tape[v].kind != nObject {
		return dst, err
	}
	base := len(e.members)
	e.collectMembers(v)
	for m := base; m < len(e.members); m += 2 {
		if e.members[m+1] >= 0 {
			dst = append(dst, e.sc.keyBytes(int(e.members[m]))...)
			dst = append(dst, 0)
		}
	}
	e.members = e.members[:base]
	return dst, nil
}

// MaxRoutingKeySize is the C module's MAX_ROUTING_KEY_SIZE.
const MaxRoutingKeySize = 255

// Encode appends kz.encode(s), the C module's kz_amqp_util_encode, used for
// AMQP routing key words: an input that is exactly "#" or "*" is copied;
// otherwise [A-Za-z0-9~_-] are copied, '.' becomes %2E, ' ' becomes '+' and
// every other byte %XX with upper-case hex. Like the C module, encoding
// stops before the next input byte once the output has reached
// MaxRoutingKeySize bytes, so the output is at most 257 bytes long.
// Bytes >= 0x80 are encoded correctly (é is %C3%A9), unlike the C module,
// which encoded them through a signed char (%,3%*9).
func Encode(dst, s []byte) []byte {
	out, _ := EncodeCut(dst, s)
	return out
}

// EncodeCut is Encode, and whether it stopped before the end of s (what follows is left
// out of the output without a word, as the C module did: the caller may say so).
func EncodeCut(dst, s []byte) (out []byte, cut bool) {
	if len(s) == 1 && (s[0] == '#' || s[0] == '*') {
		return append(dst, s[0]), false
	}
	limit := len(dst) + MaxRoutingKeySize
	for _, c := range s {
		if len(dst) >= limit {
			return dst, true
		}
		switch {
		case keySafe[c]:
			dst = append(dst, c)
		case c == '.':
			dst = append(dst, "%2E"...)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&0xF])
		}
	}
	return dst, false
}

const upperHex = "0123456789ABCDEF"

var keySafe = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '~' || c == '_'
	}
	return t
}()

// ParamSpan returns the extent in, a transformation's text after
// "{kz.json," or "{kz.json.count,", of a literal (non-$) path parameter as
// the C module's parser takes it when the config is loaded: leading spaces,
// tabs and newlines are skipped, and the parameter runs up to the first
// tab, newline, ',' or '}' (trailing spaces are part of it). ok is false
// when none of those follows (the C parser rejects the config); the C
// parser then also requires optional spaces, tabs or newlines and the
// closing '}'. A parameter starting with '$' is a single PV instead. A path
// computed at run time (from a PV) is used verbatim by Get.
func ParamSpan(in []byte) (start, end int, ok bool) {
	for start < len(in) && (in[start] == ' ' || in[start] == '\t' || in[start] == '\n') {
		start++
	}
	for end = start; end < len(in); end++ {
		switch in[end] {
		case '\t', '\n', ',', '}':
			return start, end, true
		case 0:
			return start, end, false
		}
	}
	return start, end, false
}
