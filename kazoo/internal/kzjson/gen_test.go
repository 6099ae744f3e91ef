package kzjson

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// docGen writes random documents in json-c's lenient dialect, biased
// towards the corners of json-c's grammar, and paths that often hit them.
type docGen struct {
	r *rand.Rand
	b strings.Builder
}

// genKeys are the raw key texts the generator uses (already escaped for a
// JSON string); pathKeys are the same keys as a path segment names them.
var genKeys = []struct{ json, path string }{
	{"a", "a"}, {"b", "b"}, {"A", "A"}, {"", ""}, {"a.b", "a%b"}, {"a%b", "a%b"},
	{"x y", "x y"}, {"Custom-Channel-Vars", "Custom-Channel-Vars"}, {"k[0]", "k[0]"},
	{"é", "é"}, {`\u00e9`, "é"}, {`a\u0000b`, "a"}, {`\/`, "/"}, {`\u0061`, "a"},
	{"Media-Servers", "Media-Servers"}, {`\ud83d\ude00`, "😀"}, {`\"`, `"`},
}

func (g *docGen) pick(s ...string) string { return s[g.r.IntN(len(s))] }

func (g *docGen) ws() {
	switch g.r.IntN(12) {
	case 0:
		g.b.WriteString(" ")
	case 1:
		g.b.WriteString("\n\t ")
	case 2:
		g.b.WriteString(g.pick("/* c */", "/**/", "/* a **/ b */", "// line\n", "/***/ */", "\r"))
	}
}

func (g *docGen) quote() byte {
	if g.r.IntN(4) == 0 {
		return '\''
	}
	return '"'
}

func (g *docGen) key() {
	q := g.quote()
	k := genKeys[g.r.IntN(len(genKeys))].json
	if q == '\'' && strings.Contains(k, `\"`) {
		k = "b"
	}
	g.b.WriteByte(q)
	g.b.WriteString(k)
	g.b.WriteByte(q)
}

var genStrings = []string{
	"", "plain", "a/b", `x\/y`, `tab\there`, `nl\nx`, `\b\f\r`, `\u0001\u001f\u007f`,
	`\u00e9t\u00e9`, "raw é ☕ 😀", "raw\x01ctl\x1f", "bad\xffutf8\xc3", `\ud800`, `\udc00x`,
	`\ud800\u0041`, `\ud83d\ude00`, `\ud800\n`, `\ud800\ud800\udc00`, `nul\u0000after`,
	`\\`, `quote\"`, "it's", `\u20AC\u20ac`, "%2E.dots.", "<sip:+1415@x.example.com>",
}

func (g *docGen) str() {
	q := g.quote()
	s := genStrings[g.r.IntN(len(genStrings))]
	if q == '\'' {
		s = strings.ReplaceAll(s, "'", "")
	} else {
		s = strings.ReplaceAll(s, "'", "\\\"")
	}
	g.b.WriteByte(q)
	g.b.WriteString(s)
	g.b.WriteByte(q)
}

var genNumbers = []string{
	"0", "1", "-1", "007", "-0", "-007", "42", "1.50", "1.0", "-0.0", "1e2", "1E+2", "1e-2",
	"2.5e10", "1.", "-.5", "00.5", "1e", "1E+", "1.e5", "1.e", "0e", "-1e-",
	"9223372036854775807", "9223372036854775808", "18446744073709551615",
	"18446744073709551616", "99999999999999999999999", "-9223372036854775808",
	"-9223372036854775809", "-99999999999999999999", "1e400", "123456789012345678901234.5",
	"NaN", "nan", "Infinity", "-Infinity", "-infinity", "iNfInItY",
}

func (g *docGen) value(depth int) {
	n := 9
	if depth > 6 {
		n = 6 // scalars only
	}
	switch g.r.IntN(n) {
	case 0, 1:
		g.str()
	case 2, 3:
		g.b.WriteString(genNumbers[g.r.IntN(len(genNumbers))])
	case 4:
		g.b.WriteString(g.pick("true", "false", "null", "TRUE", "False", "NULL", "nuLL"))
	case 5:
		g.str()
	case 6, 7:
		g.object(depth + 1)
	case 8:
		g.array(depth + 1)
	}
}

func (g *docGen) object(depth int) {
	g.b.WriteByte('{')
	g.ws()
	n := g.r.IntN(5)
	for i := 0; i < n; i++ {
		if i > 0 {
			g.b.WriteByte(',')
			g.ws()
		}
		g.key()
		g.ws()
		g.b.WriteByte(':')
		g.ws()
		g.value(depth)
		g.ws()
	}
	if n > 0 && g.r.IntN(5) == 0 {
		g.b.WriteByte(',')
	}
	g.b.WriteByte('}')
}

func (g *docGen) array(depth int) {
	g.b.WriteByte('[')
	g.ws()
	n := g.r.IntN(5)
	for i := 0; i < n; i++ {
		if i > 0 {
			g.b.WriteByte(',')
			g.ws()
		}
		g.value(depth)
		g.ws()
	}
	if n > 0 && g.r.IntN(5) == 0 {
		g.b.WriteByte(',')
	}
	g.b.WriteByte(']')
}

// doc returns a random document; some are mutated into (mostly) invalid
// ones, some end with trailing text or an unterminated comment, some are
// nested around json-c's depth limit.
func (g *docGen) doc() []byte {
	g.b.Reset()
	g.ws()
	switch g.r.IntN(20) {
	case 0:
		g.value(0)
	case 1:
		d := 29 + g.r.IntN(5)
		for i := 0; i < d; i++ {
			g.b.WriteString(g.pick("[", `{"a":`))
		}
		g.b.WriteString(g.pick("1", "[]", "{}", `"x"`))
		// deliberately unbalanced closers are fine: json-c stops at the first error
		g.b.WriteString(strings.Repeat(g.pick("]", "}"), d))
	default:
		g.object(0)
	}
	g.ws()
	switch g.r.IntN(10) {
	case 0:
		g.b.WriteString(g.pick(" trailing", "}", " /x", " /* open", "// open", " /", "\x00{", " /* a **/"))
	}
	b := []byte(g.b.String())
	if g.r.IntN(4) == 0 && len(b) > 0 {
		i := g.r.IntN(len(b))
		switch g.r.IntN(4) {
		case 0:
			b = b[:i]
		case 1:
			b = append(b[:i], b[i+1:]...)
		case 2:
			const junk = "{}[],:'\"/*\\ n0-.eEaI\x00"
			b[i] = junk[g.r.IntN(len(junk))]
		default:
			b = append(b[:i], append([]byte(g.pick("/*", "*/", ",", "'", `\`, "\x00", "-", "e")), b[i:]...)...)
		}
	}
	return b
}

// path returns a random path: mostly existing-looking keys with optional
// indexes, sometimes syntax that C aborts on or other oddities.
func (g *docGen) path() []byte {
	switch g.r.IntN(25) {
	case 0:
		return []byte(g.pick("", ".", "..", ".a", "a..b", "a.", "a.b.", "[0]", "a.[0]", "a.[1].b",
			"a[0][1]", "a[", "a[]", "a[0", "a%b.a", " a", "a ", "a\x00b", "a.\x00.b"))
	}
	var p strings.Builder
	n := 1 + g.r.IntN(3)
	for i := 0; i < n; i++ {
		if i > 0 {
			p.WriteByte('.')
		}
		p.WriteString(genKeys[g.r.IntN(len(genKeys))].path)
		if g.r.IntN(3) == 0 {
			p.WriteString("[" + g.pick("0", "1", "2", "3", "-1", " 1", "1x", "4294967297", "x", "+1",
				"99999999999999999999", strconv.Itoa(g.r.IntN(5))) + g.pick("]", "", "]x"))
		}
	}
	return []byte(p.String())
}

// walkPath returns a path to a random value of the document parsed by e
// (which must be valid), so that lookups mostly hit.
func (g *docGen) walkPath(e *Evaluator) []byte {
	s := &e.sc
	var p []byte
	v := int(s.root)
	for steps := 0; ; steps++ {
		n := &s.tape[v]
		if n.kind != nObject || n.count == 0 || (steps > 0 && g.r.IntN(3) == 0) {
			break
		}
		m := g.r.IntN(int(n.count))
		k := v + 1
		for ; m > 0; m-- {
			k = int(s.tape[k+1].next)
		}
		if len(p) > 0 {
			p = append(p, '.')
		}
		for _, c := range s.keyBytes(k) {
			if c == '.' {
				c = '%'
			}
			p = append(p, c)
		}
		v = k + 1
		if a := &s.tape[v]; a.kind == nArray && g.r.IntN(3) > 0 {
			i := g.r.IntN(int(a.count) + 1)
			p = append(p, '[')
			p = append(p, byte('0'+i%10))
			p = append(p, ']')
			if i >= int(a.count) {
				break
			}
			v = e.arrayGet(v, int32(i))
		}
	}
	if len(p) == 0 {
		return g.path()
	}
	return p
}

var soupTokens = []string{
	"{", "}", "[", "]", ",", ":", `"a"`, `'a'`, `"b"`, "1", "-", ".", "e", "E", "+", "0", "07",
	"nan", "NaN", "Inf", "Infinity", "-i", "null", "nul", "tru", "true", "False", "/*", "*/", "*",
	"/", "//", "\n", " ", "\t", "\r", "\f", `"\u00`, `"\ud800`, `\u`, `\`, `"`, `'`, "x", "\x00",
	`"x\/"`, `"é"`, "\xff", "{\"a\":", "[1,", "{'a':[", "1.5", "-.5", "1e+", "99999999999999999999",
}

// soup returns a short random sequence of lenient-dialect tokens, to probe
// the tokenizer's acceptance rules.
func (g *docGen) soup() []byte {
	var b []byte
	n := 1 + g.r.IntN(12)
	for i := 0; i < n; i++ {
		b = append(b, soupTokens[g.r.IntN(len(soupTokens))]...)
	}
	return b
}
