package payload

// literal copies true, false or null. json-c in non-strict mode compares
// them with strncasecmp, so TRUE and Null are accepted. We write them in
// lower case. json-c also accepts NaN and Infinity here. Strict JSON cannot
// carry those, so they are rejected.
func (n *Normalizer) literal() error {
	rest := n.src[n.pos:]
	for _, word := range [...]string{"true", "false", "null"} {
		if hasPrefixFold(rest, word) {
			n.dst = append(n.dst, word...)
			n.pos += len(word)
			return nil
		}
	}
	switch c := rest[0]; {
	case hasPrefixFold(rest, "nan"):
		return syntaxError(n.pos, "NaN is not valid JSON")
	case hasPrefixFold(rest, "infinity"):
		return syntaxError(n.pos, "Infinity is not valid JSON")
	case c|0x20 == 't' || c|0x20 == 'f' || c|0x20 == 'n' || c|0x20 == 'i':
		return syntaxError(n.pos, "invalid literal (want true, false or null)")
	default:
		return syntaxError(n.pos, "unexpected "+describe(c)+" where a value should start")
	}
}

// hasPrefixFold reports whether b starts with lower, ignoring ASCII case.
// lower must be lower-case letters.
func hasPrefixFold(b []byte, lower string) bool {
	if len(b) < len(lower) {
		return false
	}
	for i := 0; i < len(lower); i++ {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}
