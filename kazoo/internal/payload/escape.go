package payload

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// appendControlEscape appends the JSON escape for a byte below 0x20, using
// the short forms where JSON has them.
func appendControlEscape(dst []byte, c byte) []byte {
	switch c {
	case '\b':
		return append(dst, '\\', 'b')
	case '\t':
		return append(dst, '\\', 't')
	case '\n':
		return append(dst, '\\', 'n')
	case '\f':
		return append(dst, '\\', 'f')
	case '\r':
		return append(dst, '\\', 'r')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// appendQuoted appends s as a double-quoted JSON string. Bytes of 0x80 and
// above are copied unchanged, the same policy Normalize follows.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	run := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, s[run:i]...)
		if c < 0x20 {
			dst = appendControlEscape(dst, c)
		} else {
			dst = append(dst, '\\', c)
		}
		run = i + 1
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"')
}

// appendUnescaped appends the text of the JSON string body raw (the bytes
// between the quotes) with its escapes decoded. Unpaired surrogates decode
// to U+FFFD as in json-c. raw is expected to be valid. Anything odd after a
// backslash is kept as the character itself rather than failing.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 == len(raw) {
			dst = append(dst, c)
			continue
		}
		i++
		switch e := raw[i]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := decodeHex4(raw[i+1:])
			if !ok {
				dst = append(dst, e)
				continue
			}
			i += 4
			if isHighSurrogate(r) {
				if len(raw) >= i+7 && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if low, ok := decodeHex4(raw[i+3:]); ok && isLowSurrogate(low) {
						r = 0x10000 + (r-0xD800)<<10 + (low - 0xDC00)
						i += 6
					}
				}
			}
			if isHighSurrogate(r) || isLowSurrogate(r) {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // " \ / ' and anything unexpected stand for themselves
			dst = append(dst, e)
		}
	}
	return dst
}

func decodeHex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		d := unhex(c)
		if d < 0 {
			return 0, false
		}
		r = r<<4 | d
	}
	return r, true
}
