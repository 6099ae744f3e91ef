package payload

import "encoding/binary"

// memberIter walks the members of a top-level JSON object without decoding
// nested values. It expects strict JSON, as Normalize produces. It checks the
// top-level structure (braces, quoted keys, colons, commas) and that nested
// brackets and strings are closed. It does not check the contents of nested
// values.
type memberIter struct {
	obj []byte
	pos int
	n   int // members returned so far

	open int // offset of the '{'

	// The current member, valid after next returns true.
	keyStart   int    // offset of the key's opening quote
	key        []byte // raw key text between the quotes
	keyEscaped bool   // key contains a backslash
	valStart   int
	valEnd     int

	err error
}

// start positions the iterator on obj. It fails with ErrNotObject when the
// top-level value is something other than an object.
func (it *memberIter) start(obj []byte) bool {
	*it = memberIter{obj: obj}
	it.pos = skipJSONSpace(obj, 0)
	switch {
	case it.pos == len(obj):
		it.err = syntaxError(it.pos, "empty input")
		return false
	case obj[it.pos] != '{':
		it.err = ErrNotObject
		return false
	}
	it.open = it.pos
	it.pos++
	return true
}

// next advances to the next member and reports whether there is one. At
// the end it.err is nil when the object closed properly with only
// whitespace after it.
func (it *memberIter) next() bool {
	obj := it.obj
	it.pos = skipJSONSpace(obj, it.pos)
	if it.pos == len(obj) {
		return it.fail("unterminated object")
	}
	if obj[it.pos] == '}' {
		if rest := skipJSONSpace(obj, it.pos+1); rest != len(obj) {
			return it.failAt(rest, "unexpected data after the object")
		}
		return false
	}
	if it.n > 0 {
		if obj[it.pos] != ',' {
			return it.fail("expected ',' or '}' after object member")
		}
		it.pos = skipJSONSpace(obj, it.pos+1)
	}
	if it.pos == len(obj) || obj[it.pos] != '"' {
		return it.fail("expected quoted object key")
	}
	it.keyStart = it.pos
	keyEnd, escaped := scanJSONString(obj, it.pos)
	if keyEnd < 0 {
		return it.fail("unterminated string")
	}
	it.key, it.keyEscaped = obj[it.pos+1:keyEnd-1], escaped
	it.pos = skipJSONSpace(obj, keyEnd)
	if it.pos == len(obj) || obj[it.pos] != ':' {
		return it.fail("expected ':' after object key")
	}
	it.valStart = skipJSONSpace(obj, it.pos+1)
	it.valEnd = skipJSONValue(obj, it.valStart)
	if it.valEnd < 0 {
		return it.failAt(it.valStart, "malformed or unterminated value")
	}
	it.pos = it.valEnd
	it.n++
	return true
}

func (it *memberIter) fail(reason string) bool { return it.failAt(it.pos, reason) }

func (it *memberIter) failAt(offset int, reason string) bool {
	it.err = syntaxError(offset, reason)
	return false
}

// keyText returns the current key with its escapes decoded. An escaped key
// is decoded into *scratch, which grows as needed and is reused.
func (it *memberIter) keyText(scratch *[]byte) []byte {
	if !it.keyEscaped {
		return it.key
	}
	*scratch = appendUnescaped((*scratch)[:0], it.key)
	return *scratch
}

func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// scanJSONString returns the offset just past the closing quote of the
// string opening at b[i], or -1, and whether the string contains escapes.
// Strings in payloads are short, so it looks at 8 bytes per step rather than
// paying for a bytes.IndexByte call per string.
func scanJSONString(b []byte, i int) (end int, escaped bool) {
	i++
	for {
		for ; i+8 <= len(b); i += 8 {
			w := binary.LittleEndian.Uint64(b[i:])
			if hasByte(w, '"') || hasByte(w, '\\') {
				break
			}
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' {
			i++
		}
		if i >= len(b) {
			return -1, escaped
		}
		if b[i] == '"' {
			return i + 1, escaped
		}
		escaped = true
		i += 2 // the backslash and the byte it escapes
	}
}

// skipJSONValue returns the offset just past the value starting at b[i],
// or -1 if it is missing or unterminated. Containers are skipped by counting
// brackets outside strings.
func skipJSONValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanJSONString(b, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _ := scanJSONString(b, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case ',', '}', ']', ':':
		return -1
	default: // number or literal: up to the next delimiter
		start := i
		for i < len(b) && !isSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
			i++
		}
		if i == start {
			return -1
		}
		return i
	}
}
