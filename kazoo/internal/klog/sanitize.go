package klog

import "strconv"

// sanitize escapes, in b[start:], every byte a terminal or a log parser could take for
// something else than text: C0 controls (NUL, ESC, CR, LF, ...) and DEL as \n, \r, \t or
// \xNN, and the C1 controls in UTF-8 (U+0080 to U+009F, CSI among them) as \u00NN. Lines
// carry message content (a payload, a routing key) that a hostile sender chose; one
// record stays one line. A line without such bytes is returned as it is, not copied.
func sanitize(b []byte, start int, scratch []byte) (out, spare []byte) {
	first := -1
	for i := start; i < len(b); i++ {
		if needsEscape(b, i) {
			first = i
			break
		}
	}
	if first < 0 {
		return b, scratch
	}
	out = append(scratch[:0], b[:first]...)
	for i := first; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '\n':
			out = append(out, `\n`...)
		case c == '\r':
			out = append(out, `\r`...)
		case c == '\t':
			out = append(out, `\t`...)
		case c < 0x20 || c == 0x7f:
			out = append(out, `\x`...)
			out = appendHex2(out, c)
		case c == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f:
			out = append(out, `\u00`...)
			out = appendHex2(out, b[i+1])
			i++
		default:
			out = append(out, c)
		}
	}
	return out, b // the caller's buffer becomes the next scratch
}

func needsEscape(b []byte, i int) bool {
	c := b[i]
	return c < 0x20 || c == 0x7f || (c == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f)
}

func appendHex2(b []byte, c byte) []byte {
	if c < 0x10 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, uint64(c), 16)
}
