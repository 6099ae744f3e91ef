package payload

// number copies the number starting at n.pos (a digit or '-'). Numbers that
// are already strict JSON are copied verbatim. json-c's lenient forms are
// rewritten to the strict spelling of the value json-c would have parsed.
func (n *Normalizer) number() error {
	src, start := n.src, n.pos
	end, isDouble := scanJSONCNumber(src, start)
	text := src[start:end]
	if isDouble {
		text = trimDanglingExponent(text)
	}
	parts, ok := splitNumber(text)
	if !ok {
		if len(text) == 1 && end < len(src) && src[end]|0x20 == 'i' {
			return syntaxError(start, "Infinity is not valid JSON")
		}
		return syntaxError(start, "invalid number")
	}
	n.pos = end
	if parts.isStrict() {
		n.dst = append(n.dst, text...)
	} else {
		n.dst = parts.appendStrict(n.dst)
	}
	return nil
}

// scanJSONCNumber returns the end of the number text json-c would collect
// from src[start:] (json_tokener_state_number): digits, one '.', one
// exponent marker, a '-' first or just after '.', 'e' or 'E', and a '+' just
// after '.', 'e' or 'E'. It also reports whether json-c would treat the
// number as a double (it contains '.' or an exponent).
func scanJSONCNumber(src []byte, start int) (end int, isDouble bool) {
	isExponent := false
	negOK, posOK := true, false
	i := start
	for ; i < len(src); i++ {
		c := src[i]
		signOK := false
		switch {
		case isDigit(c):
		case (c == 'e' || c == 'E') && !isExponent:
			isExponent, isDouble, signOK = true, true, true
		case c == '.' && !isDouble:
			isDouble, signOK = true, true
		case c == '-' && negOK, c == '+' && posOK:
		default:
			return i, isDouble
		}
		negOK, posOK = signOK, signOK
	}
	return i, isDouble
}

// trimDanglingExponent drops trailing 'e', 'E', '+' and '-', as json-c does
// for doubles in non-strict mode "to allow things like 123e+ to parse ok".
func trimDanglingExponent(text []byte) []byte {
	for len(text) > 1 {
		switch text[len(text)-1] {
		case 'e', 'E', '+', '-':
			text = text[:len(text)-1]
		default:
			return text
		}
	}
	return text
}

// numberParts is a number split into its pieces.
type numberParts struct {
	negative bool
	integer  []byte // digits before the '.', possibly empty ("-.5")
	hasPoint bool
	fraction []byte // digits after the '.', possibly empty ("1.")
	exponent []byte // "e+12" and the like, or empty
}

// splitNumber accepts the texts json-c accepts after collecting: an integer
// for strtoll/strtoull (leading zeros allowed) or a double that strtod
// consumes entirely (optional integer digits, optional fraction digits, at
// least one of the two, then an optional complete exponent).
func splitNumber(text []byte) (p numberParts, ok bool) {
	i := 0
	if i < len(text) && text[i] == '-' {
		p.negative = true
		i++
	}
	start := i
	for i < len(text) && isDigit(text[i]) {
		i++
	}
	p.integer = text[start:i]
	if i < len(text) && text[i] == '.' {
		p.hasPoint = true
		i++
		start = i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		p.fraction = text[start:i]
	}
	if len(p.integer)+len(p.fraction) == 0 {
		return p, false
	}
	if i < len(text) && (text[i] == 'e' || text[i] == 'E') {
		start = i
		i++
		if i < len(text) && (text[i] == '+' || text[i] == '-') {
			i++
		}
		digits := i
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		if i == digits {
			return p, false
		}
		p.exponent = text[start:i]
	}
	return p, i == len(text)
}

// isStrict reports whether the number is already spelled as RFC 8259 wants.
func (p *numberParts) isStrict() bool {
	return len(p.integer) > 0 &&
		(len(p.integer) == 1 || p.integer[0] != '0') &&
		(!p.hasPoint || len(p.fraction) > 0)
}

// appendStrict appends the RFC 8259 spelling of the same value.
func (p *numberParts) appendStrict(dst []byte) []byte {
	if p.negative {
		dst = append(dst, '-')
	}
	integer := p.integer
	for len(integer) > 1 && integer[0] == '0' {
		integer = integer[1:]
	}
	if len(integer) == 0 {
		dst = append(dst, '0')
	}
	dst = append(dst, integer...)
	if p.hasPoint {
		// Keep the '.' so the value stays a float for the consumer, as
		// json-c kept it a double.
		dst = append(dst, '.')
		if len(p.fraction) == 0 {
			dst = append(dst, '0')
		}
		dst = append(dst, p.fraction...)
	}
	return append(dst, p.exponent...)
}
