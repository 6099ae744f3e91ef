package payload

import "strconv"

// MaxDepth is the deepest nesting of objects and arrays Normalize accepts.
// json-c's default is 32 (JSON_TOKENER_DEFAULT_DEPTH). We allow more so that
// no payload the C module accepted is refused, while still bounding the
// recursion a hostile payload can cause.
const MaxDepth = 128

// Normalizer rewrites json-c-dialect payloads into strict JSON and edits
// their top-level object. It keeps scratch buffers between calls so steady
// state use does not allocate. The zero value is ready to use. A Normalizer
// must not be used by more than one goroutine at a time.
type Normalizer struct {
	// State of the Normalize call in progress. Cleared on return so that
	// the Normalizer does not pin the caller's buffers.
	src []byte
	pos int
	dst []byte

	keyBuf  []byte // unescaped object key, for key comparison
	valBuf  []byte // unescaped string returned by TopLevelString
	present []bool // AddMissing: fields[i] needs no adding
}

// Normalize appends to dst the strict-JSON form of src, which may use the
// json-c non-strict dialect described in the package documentation, and
// returns the extended slice. The top-level value may be of any type.
//
// On error dst is returned unchanged (its spare capacity may have been
// scribbled on) together with a *SyntaxError. Time is linear in len(src).
func (n *Normalizer) Normalize(dst, src []byte) ([]byte, error) {
	n.src, n.pos, n.dst = src, 0, dst
	err := n.document()
	out := n.dst
	n.src, n.dst = nil, nil
	if err != nil {
		return dst, err
	}
	return out, nil
}

// document reads one value. json-c stops after the first complete
// top-level value and, in non-strict mode, ignores what follows
// (JSON_TOKENER_STRICT is what turns trailing characters into an error), so
// we do the same.
func (n *Normalizer) document() error {
	if err := n.skipSpace(false); err != nil {
		return err
	}
	if n.pos == len(n.src) {
		return syntaxError(n.pos, "empty input")
	}
	return n.value(0)
}

// value copies the value starting at n.pos, which is not at end of input.
// depth is the number of containers enclosing it.
func (n *Normalizer) value(depth int) error {
	switch c := n.src[n.pos]; {
	case c == '{':
		return n.object(depth + 1)
	case c == '[':
		return n.array(depth + 1)
	case c == '"' || c == '\'':
		return n.string()
	case c == '-' || isDigit(c):
		return n.number()
	default:
		return n.literal()
	}
}

func (n *Normalizer) object(depth int) error {
	open := n.pos
	if depth > MaxDepth {
		return syntaxError(open, "nesting deeper than "+strconv.Itoa(MaxDepth))
	}
	n.dst = append(n.dst, '{')
	n.pos++
	if err := n.skipSpace(true); err != nil {
		return err
	}
	if n.pos < len(n.src) && n.src[n.pos] == '}' {
		n.dst = append(n.dst, '}')
		n.pos++
		return nil
	}
	for {
		if n.pos == len(n.src) {
			return n.unterminated("object", open)
		}
		if c := n.src[n.pos]; c != '"' && c != '\'' {
			return syntaxError(n.pos, "expected quoted object key, found "+describe(c))
		}
		if err := n.string(); err != nil {
			return err
		}
		if err := n.skipSpace(true); err != nil {
			return err
		}
		if n.pos == len(n.src) {
			return n.unterminated("object", open)
		}
		if c := n.src[n.pos]; c != ':' {
			return syntaxError(n.pos, "expected ':' after object key, found "+describe(c))
		}
		n.dst = append(n.dst, ':')
		n.pos++
		if err := n.skipSpace(true); err != nil {
			return err
		}
		if n.pos == len(n.src) {
			return n.unterminated("object", open)
		}
		if err := n.value(depth); err != nil {
			return err
		}
		closed, err := n.separator('}', "object", open)
		if closed || err != nil {
			return err
		}
	}
}

func (n *Normalizer) array(depth int) error {
	open := n.pos
	if depth > MaxDepth {
		return syntaxError(open, "nesting deeper than "+strconv.Itoa(MaxDepth))
	}
	n.dst = append(n.dst, '[')
	n.pos++
	if err := n.skipSpace(true); err != nil {
		return err
	}
	if n.pos < len(n.src) && n.src[n.pos] == ']' {
		n.dst = append(n.dst, ']')
		n.pos++
		return nil
	}
	for {
		if n.pos == len(n.src) {
			return n.unterminated("array", open)
		}
		if err := n.value(depth); err != nil {
			return err
		}
		closed, err := n.separator(']', "array", open)
		if closed || err != nil {
			return err
		}
	}
}

// separator reads what follows a member or element: the closing bracket
// (closed is true) or a comma followed by the start of the next item. json-c
// in non-strict mode accepts a comma directly before the closing bracket
// (the *_after_sep states only fail under JSON_TOKENER_STRICT). We write the
// comma at once and cut it, together with the whitespace copied after it, if
// the bracket follows.
func (n *Normalizer) separator(closer byte, kind string, open int) (closed bool, err error) {
	if err := n.skipSpace(true); err != nil {
		return false, err
	}
	if n.pos == len(n.src) {
		return false, n.unterminated(kind, open)
	}
	switch c := n.src[n.pos]; c {
	case closer:
		n.dst = append(n.dst, closer)
		n.pos++
		return true, nil
	case ',':
		comma := len(n.dst)
		n.dst = append(n.dst, ',')
		n.pos++
		if err := n.skipSpace(true); err != nil {
			return false, err
		}
		if n.pos < len(n.src) && n.src[n.pos] == closer {
			n.dst = append(n.dst[:comma], closer)
			n.pos++
			return true, nil
		}
		return false, nil
	default:
		return false, syntaxError(n.pos, "expected ',' or '"+string(closer)+"' after "+kind+" item, found "+describe(c))
	}
}

func (n *Normalizer) unterminated(kind string, open int) error {
	return syntaxError(n.pos, "unterminated "+kind+" (opened at offset "+strconv.Itoa(open)+")")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// describe names a byte for an error message.
func describe(c byte) string {
	if c < 0x20 || c >= 0x7f {
		return "byte 0x" + string(hexDigits[c>>4]) + string(hexDigits[c&0xf])
	}
	return strconv.QuoteRune(rune(c))
}
