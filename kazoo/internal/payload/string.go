package payload

// stopSet returns a table marking the bytes that end a verbatim run inside
// a string: control characters (which must be escaped) plus extra.
func stopSet(extra string) (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	for i := 0; i < len(extra); i++ {
		t[extra[i]] = true
	}
	return t
}

var (
	doubleQuotedStop = stopSet(`"\`)
	// In a single-quoted string a raw " is ordinary text for json-c but
	// must be escaped once the string is re-quoted with ".
	singleQuotedStop = stopSet(`'"\`)
)

// string copies the string starting at n.pos (a ' or " quote) as a
// double-quoted strict-JSON string. Object keys use it too: json-c reads keys
// the same way it reads string values.
func (n *Normalizer) string() error {
	src := n.src
	open := n.pos
	quote := src[open]
	n.dst = append(n.dst, '"')
	run := open + 1 // start of the bytes not yet copied
	i := run
	for {
		if quote == '"' {
			i = plainDoubleQuoted(src, i)
		} else {
			i = plainSingleQuoted(src, i)
		}
		if i == len(src) {
			break
		}
		switch c := src[i]; {
		case c == quote:
			n.dst = append(n.dst, src[run:i]...)
			n.dst = append(n.dst, '"')
			n.pos = i + 1
			return nil
		case c == '"': // only stops single-quoted strings
			n.dst = append(n.dst, src[run:i]...)
			n.dst = append(n.dst, '\\', '"')
			i++
			run = i
		case c < 0x20:
			// json-c (non-strict) accepts raw control characters;
			// strict JSON does not.
			n.dst = append(n.dst, src[run:i]...)
			n.dst = appendControlEscape(n.dst, c)
			i++
			run = i
		default: // backslash
			next, replacement, err := n.escape(i, open)
			if err != nil {
				return err
			}
			if replacement != "" {
				n.dst = append(n.dst, src[run:i]...)
				n.dst = append(n.dst, replacement...)
				run = next
			}
			i = next
		}
	}
	return syntaxError(open, "unterminated string")
}

// escape checks the escape sequence whose backslash is at src[i]. It returns
// the offset after the sequence and, when the sequence must not be copied
// verbatim, the text to write instead.
func (n *Normalizer) escape(i, open int) (next int, replacement string, err error) {
	src := n.src
	if i+1 == len(src) {
		return 0, "", syntaxError(open, "unterminated string")
	}
	switch src[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, "", nil
	case '\'':
		// Not a JSON escape. Accepted because scripts write it inside
		// single-quoted strings.
		return i + 2, "'", nil
	case 'u':
		r, err := n.hex4(i, open)
		if err != nil {
			return 0, "", err
		}
		switch {
		case isHighSurrogate(r):
			if i+12 <= len(src) && src[i+6] == '\\' && src[i+7] == 'u' {
				if low, err := n.hex4(i+6, open); err == nil && isLowSurrogate(low) {
					return i + 12, "", nil
				}
			}
			// json-c writes U+FFFD for a high surrogate that is not
			// followed by a low one, then reads what follows normally.
			return i + 6, `\ufffd`, nil
		case isLowSurrogate(r):
			return i + 6, `\ufffd`, nil // json-c: "low surrogate not preceded by a high"
		}
		return i + 6, "", nil
	default:
		return 0, "", syntaxError(i, "invalid escape sequence \\"+escapedByte(src[i+1]))
	}
}

// hex4 decodes the four hex digits of the \u escape at src[i].
func (n *Normalizer) hex4(i, open int) (rune, error) {
	src := n.src
	var r rune
	for k := i + 2; k < i+6; k++ {
		if k == len(src) {
			return 0, syntaxError(open, "unterminated string")
		}
		d := unhex(src[k])
		if d < 0 {
			return 0, syntaxError(i, "invalid \\u escape: want 4 hex digits")
		}
		r = r<<4 | d
	}
	return r, nil
}

func unhex(c byte) rune {
	switch {
	case '0' <= c && c <= '9':
		return rune(c - '0')
	case 'a' <= c && c <= 'f':
		return rune(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return rune(c - 'A' + 10)
	}
	return -1
}

func isHighSurrogate(r rune) bool { return 0xD800 <= r && r < 0xDC00 }
func isLowSurrogate(r rune) bool  { return 0xDC00 <= r && r < 0xE000 }

// escapedByte shows the byte after a backslash in an error message.
func escapedByte(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return "x" + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
	}
	return string(rune(c))
}
