package payload

import "encoding/binary"

// Word-at-a-time helpers for the string scanners. Strings make up most of a
// Kazoo payload, so checking 8 bytes per step is worth these few lines.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByteBelow reports whether any byte of w is below c (c <= 0x80). The
// classic "hasless" bit trick is exact as a yes/no answer.
func hasByteBelow(w uint64, c byte) bool { return (w-lsb*uint64(c))&^w&msb != 0 }

// hasByte reports whether any byte of w equals c.
func hasByte(w uint64, c byte) bool {
	x := w ^ (lsb * uint64(c))
	return (x-lsb)&^x&msb != 0
}

// plainDoubleQuoted returns the first offset at or after i where src has a
// byte that ends a verbatim run in a double-quoted string (", \ or a control
// byte), or len(src).
func plainDoubleQuoted(src []byte, i int) int {
	for ; i+8 <= len(src); i += 8 {
		w := binary.LittleEndian.Uint64(src[i:])
		if hasByteBelow(w, 0x20) || hasByte(w, '"') || hasByte(w, '\\') {
			break
		}
	}
	for i < len(src) && !doubleQuotedStop[src[i]] {
		i++
	}
	return i
}

// plainSingleQuoted is plainDoubleQuoted for single-quoted strings, where '
// ends the string and " must be escaped.
func plainSingleQuoted(src []byte, i int) int {
	for ; i+8 <= len(src); i += 8 {
		w := binary.LittleEndian.Uint64(src[i:])
		if hasByteBelow(w, 0x20) || hasByte(w, '"') || hasByte(w, '\\') || hasByte(w, '\'') {
			break
		}
	}
	for i < len(src) && !singleQuotedStop[src[i]] {
		i++
	}
	return i
}
