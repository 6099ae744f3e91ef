package kzjson

import (
	"math"
	"strconv"
)

// appendDecoded appends the bytes json-c's string states produce for the
// raw (valid) string content: escapes decoded, \u escapes as UTF-8, and
// U+FFFD for every unpaired surrogate (a high surrogate not directly
// followed by a \u low surrogate, or a lone low surrogate).
func appendDecoded(dst, raw []byte) []byte {
	var high rune // pending high surrogate
	start := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			if high != 0 {
				dst = appendReplacement(dst)
				high = 0
			}
			i++
			continue
		}
		dst = append(dst, raw[start:i]...)
		e := raw[i+1]
		if e == 'u' {
			u := hex4(raw[i+2 : i+6])
			i += 6
			if high != 0 {
				if u&0xFC00 == 0xDC00 {
					u = (high&0x3FF)<<10 + u&0x3FF + 0x10000
				} else {
					dst = appendReplacement(dst)
				}
				high = 0
			}
			switch {
			case u < 0x80:
				dst = append(dst, byte(u))
			case u < 0x800:
				dst = append(dst, 0xC0|byte(u>>6), 0x80|byte(u&0x3F))
			case u&0xFC00 == 0xD800:
				high = u
			case u&0xFC00 == 0xDC00:
				dst = appendReplacement(dst)
			case u < 0x10000:
				dst = append(dst, 0xE0|byte(u>>12), 0x80|byte(u>>6&0x3F), 0x80|byte(u&0x3F))
			default: // a decoded pair, always below 0x110000
				dst = append(dst, 0xF0|byte(u>>18&0x07), 0x80|byte(u>>12&0x3F),
					0x80|byte(u>>6&0x3F), 0x80|byte(u&0x3F))
			}
			start = i
			continue
		}
		if high != 0 {
			dst = appendReplacement(dst)
			high = 0
		}
		switch e {
		case 'b':
			e = '\b'
		case 'n':
			e = '\n'
		case 'r':
			e = '\r'
		case 't':
			e = '\t'
		case 'f':
			e = '\f'
		}
		dst = append(dst, e)
		i += 2
		start = i
	}
	if high != 0 {
		// The pending high surrogate is the last thing before the closing
		// quote, so it is replaced before anything else is copied.
		return appendReplacement(dst)
	}
	return append(dst, raw[start:]...)
}

func appendReplacement(dst []byte) []byte { return append(dst, 0xEF, 0xBF, 0xBD) }

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c <= '9':
			r |= rune(c - '0')
		case c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			r |= rune(c - 'a' + 10)
		}
	}
	return r
}

// needsEscape marks the bytes json_escape_str escapes.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t['/'] = true, true, true
	return t
}()

const lowerHex = "0123456789abcdef"

// appendEscaped is json-c's json_escape_str without
// JSON_C_TO_STRING_NOSLASHESCAPE: \b \n \r \t \f \" \\ \/ as two-byte
// escapes, other bytes below 0x20 as \u00xx with lower-case hex, everything
// else (DEL and bytes >= 0x80 included) unchanged.
func appendEscaped(dst, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !needsEscape[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '"', '\\', '/':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// appendInt prints integer text the way json-c stores and prints it:
// strtoll for negative numbers (saturating at INT64_MIN), strtoull for the
// others (saturating at UINT64_MAX); leading zeros and "-0" disappear.
func appendInt(dst, text []byte) []byte {
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	var v uint64
	overflow := false
	for _, c := range text {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			overflow = true
			break
		}
		v = v*10 + d
	}
	if !neg {
		if overflow {
			v = math.MaxUint64
		}
		return strconv.AppendUint(dst, v, 10)
	}
	if overflow || v >= 1<<63 {
		return strconv.AppendInt(dst, math.MinInt64, 10)
	}
	return strconv.AppendInt(dst, -int64(v), 10)
}

// appendScalar appends json-c's text for a number or boolean node.
func (s *scanner) appendScalar(dst []byte, n *node) []byte {
	switch n.kind {
	case nInt:
		return appendInt(dst, s.buf[n.start:n.end])
	case nDouble:
		return append(dst, s.buf[n.start:n.end]...)
	case nNaN:
		return append(dst, "NaN"...)
	case nPosInf:
		return append(dst, "Infinity"...)
	case nNegInf:
		return append(dst, "-Infinity"...)
	case nTrue:
		return append(dst, "true"...)
	case nFalse:
		return append(dst, "false"...)
	}
	return append(dst, "null"...)
}

// keyBytes returns the decoded key of a key node.
func (s *scanner) keyBytes(k int) []byte {
	n := &s.tape[k]
	if n.flags&flagKeyBuf != 0 {
		return s.keys[n.start:n.end]
	}
	return s.buf[n.start:n.end]
}

// appendJSON appends json_object_to_json_string_ext(JSON_C_TO_STRING_SPACED)
// of the value at node v.
func (e *Evaluator) appendJSON(dst []byte, v int) []byte {
	s := &e.sc
	n := &s.tape[v]
	switch n.kind {
	case nString:
		dst = append(dst, '"')
		raw := s.buf[n.start:n.end]
		if n.flags&flagEscaped != 0 {
			e.tmp = appendDecoded(e.tmp[:0], raw)
			raw = e.tmp
		}
		dst = appendEscaped(dst, raw)
		return append(dst, '"')
	case nArray:
		if n.count == 0 {
			return append(dst, "[ ]"...)
		}
		dst = append(dst, '[')
		end := int(n.next)
		for j, first := v+1, true; j < end; j, first = int(s.tape[j].next), false {
			if !first {
				dst = append(dst, ',')
			}
			dst = append(dst, ' ')
			dst = e.appendJSON(dst, j)
		}
		return append(dst, " ]"...)
	case nObject:
		if n.count == 0 {
			return append(dst, "{ }"...)
		}
		base := len(e.members)
		e.collectMembers(v)
		dst = append(dst, '{')
		first := true
		for m := base; m < len(e.members); m += 2 {
			val := e.members[m+1]
			if val < 0 {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, ' ', '"')
			dst = appendEscaped(dst, s.keyBytes(int(e.members[m])))
			dst = append(dst, '"', ':', ' ')
			dst = e.appendJSON(dst, int(val))
		}
		e.members = e.members[:base]
		return append(dst, " }"...)
	}
	return s.appendScalar(dst, n)
}

// collectMembers pushes onto e.members, for each member of object o in
// document order, the pair (key node, value node), where the value node is
// -1 for a key seen before and, for the first occurrence, the value of the
// last member with that key: json_object_object_add replaces the value of
// an existing key in place.
func (e *Evaluator) collectMembers(o int) {
	s := &e.sc
	base := len(e.members)
	end := int(s.tape[o].next)
	for j := o + 1; j < end; j = int(s.tape[j+1].next) {
		e.members = append(e.members, int32(j), int32(j+1))
	}
	mem := e.members[base:]
	n := len(mem) / 2
	if n < 2 {
		return
	}
	if n <= 16 {
		for a := 0; a < n; a++ {
			if mem[2*a+1] < 0 {
				continue
			}
			ka := s.keyBytes(int(mem[2*a]))
			for b := a + 1; b < n; b++ {
				if mem[2*b+1] >= 0 && string(s.keyBytes(int(mem[2*b]))) == string(ka) {
					mem[2*a+1] = mem[2*b+1]
					mem[2*b+1] = -1
				}
			}
		}
		return
	}
	// Larger objects: an open-addressing table of member numbers.
	size := 64
	for size < 2*n {
		size <<= 1
	}
	if cap(e.table) < size {
		e.table = make([]int32, size)
	}
	t := e.table[:size]
	for i := range t {
		t[i] = -1
	}
	for a := 0; a < n; a++ {
		ka := s.keyBytes(int(mem[2*a]))
		h := int(fnv(ka)) & (size - 1)
		for {
			f := t[h]
			if f < 0 {
				t[h] = int32(a)
				break
			}
			if string(s.keyBytes(int(mem[2*f]))) == string(ka) {
				mem[2*f+1] = mem[2*a+1]
				mem[2*a+1] = -1
				break
			}
			h = (h + 1) & (size - 1)
		}
	}
}

func fnv(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}
