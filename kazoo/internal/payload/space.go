package payload

// isSpace reports JSON whitespace. json-c's is_ws_char accepts exactly the
// same four bytes, so no whitespace needs rewriting.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipSpace advances over whitespace and comments, copying the whitespace to
// the output when emit is set and always dropping the comments. json-c
// (non-strict) recognises a comment wherever it skips whitespace.
func (n *Normalizer) skipSpace(emit bool) error {
	// Fast path, inlined: most tokens are not followed by space.
	if n.pos < len(n.src) && !isSpaceOrSlash(n.src[n.pos]) {
		return nil
	}
	return n.skipSpaceSlow(emit)
}

func isSpaceOrSlash(c byte) bool { return c <= ' ' && isSpace(c) || c == '/' }

func (n *Normalizer) skipSpaceSlow(emit bool) error {
	src := n.src
	for n.pos < len(src) {
		switch src[n.pos] {
		case ' ', '\t', '\n', '\r':
			start := n.pos
			n.pos++
			for n.pos < len(src) && isSpace(src[n.pos]) {
				n.pos++
			}
			if !emit {
				break
			}
			if n.pos-start == 1 {
				n.dst = append(n.dst, src[start])
			} else {
				n.dst = append(n.dst, src[start:n.pos]...)
			}
		case '/':
			if err := n.skipComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	return nil
}

// skipComment advances over the comment starting at n.pos (a '/').
func (n *Normalizer) skipComment() error {
	src, open := n.src, n.pos
	if open+1 == len(src) {
		return syntaxError(open, "unterminated comment")
	}
	switch src[open+1] {
	case '*':
		for i := open + 2; i+1 < len(src); i++ {
			if src[i] == '*' && src[i+1] == '/' {
				n.pos = i + 2
				return nil
			}
		}
		return syntaxError(open, "unterminated comment")
	case '/':
		// A line comment runs to the newline, which stays as whitespace.
		// Without one it runs to the end of the input.
		i := open + 2
		for i < len(src) && src[i] != '\n' {
			i++
		}
		n.pos = i
		return nil
	default:
		return syntaxError(open, "'/' must start a comment (/* or //)")
	}
}
