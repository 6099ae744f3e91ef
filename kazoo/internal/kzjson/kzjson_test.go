package kzjson

import (
	"bytes"
	"strings"
	"testing"
)

type getCase struct {
	name string
	doc  string
	path string
	esc  byte // 0 means '%'
	want string
	kind Kind
}

// getCases pins every rule; TestAgainstJSONC also runs them through the
// real json-c.
var getCases = []getCase{
	// path syntax
	{"top string", `{"a":"x"}`, "a", 0, "x", String},
	{"nested", `{"a":{"b":{"c":"d"}}}`, "a.b.c", 0, "d", String},
	{"case sensitive", `{"Key":"x"}`, "key", 0, "", Missing},
	{"dashes underscores", `{"Custom-Channel-Vars":{"Account_ID":"x"}}`, "Custom-Channel-Vars.Account_ID", 0, "x", String},
	{"escape char is a dot", `{"a":{"b.c":"x"}}`, "a.b%c", 0, "x", String},
	{"other escape char", `{"b.c":"x"}`, "b#c", '#', "x", String},
	{"escape off", `{"b%c":"x"}`, "b%c", '.', "x", String},
	{"space in key", `{"x y":"z"}`, "x y", 0, "z", String},
	{"leading space is part of the key", `{"a":"x"," a":"y"}`, " a", 0, "y", String},
	{"trailing dot ignored", `{"a":"x"}`, "a.", 0, "x", String},
	{"trailing dot nested", `{"a":{"b":1}}`, "a.b.", 0, "1", Number},
	{"empty path", `{"a":1}`, "", 0, "", Invalid},
	{"lone dot", `{"a":1}`, ".", 0, "", Invalid},
	{"leading dot", `{"a":1}`, ".a", 0, "", Invalid},
	{"double dot", `{"a":{"b":1}}`, "a..b", 0, "", Invalid},
	{"two trailing dots", `{"a":1}`, "a..", 0, "", Invalid},
	{"path ends at NUL", `{"a":1}`, "a\x00.b", 0, "1", Number},
	{"invalid json wins over bad path", `{"a":`, "", 0, "", Invalid},
	// indexes
	{"index", `{"a":[10,20,30]}`, "a[1]", 0, "20", Number},
	{"index object", `{"a":[{"b":"x"},{"b":"y"}]}`, "a[1].b", 0, "y", String},
	{"index out of range", `{"a":[1]}`, "a[1]", 0, "", Missing},
	{"negative index", `{"a":[1]}`, "a[-1]", 0, "", Missing},
	{"index on non-array ignored", `{"s":"str"}`, "s[0]", 0, "str", String},
	{"index on object ignored", `{"o":{"k":1}}`, "o[0].k", 0, "1", Number},
	{"only first index", `{"a":[[1,2],[3,4]]}`, "a[1][0]", 0, "[ 3, 4 ]", Array},
	{"index atoi spaces", `{"a":[1,2]}`, "a[ 1]", 0, "2", Number},
	{"index atoi junk", `{"a":[1,2]}`, "a[1x]", 0, "2", Number},
	{"index atoi non-number", `{"a":[1,2]}`, "a[x]", 0, "1", Number},
	{"index atoi plus", `{"a":[1,2]}`, "a[+1]", 0, "2", Number},
	{"index truncated to int", `{"a":[1,2]}`, "a[4294967297]", 0, "2", Number},
	{"index saturates", `{"a":[1,2]}`, "a[99999999999999999999]", 0, "", Missing},
	{"index unclosed", `{"a":[1,2]}`, "a[1", 0, "2", Number},
	{"empty index", `{"a":[1,2]}`, "a[]", 0, "[ 1, 2 ]", Array},
	{"open bracket only", `{"a":[1,2]}`, "a[", 0, "[ 1, 2 ]", Array},
	{"escape inside index", `{"a":[1,2]}`, "a[1%5]", 0, "2", Number},
	{"segment starting with [ reuses the key", `{"a":{"a":5}}`, "a.[0]", 0, "5", Number},
	{"segment starting with [ on array", `{"a":[1,2]}`, "a.[0]", 0, "", Missing},
	{"first segment [ is the empty key", `{"":7,"a":1}`, "[0]", 0, "7", Number},
	{"root array", `[1,2]`, "[0]", 0, "", Missing},
	{"null element", `{"a":[null,1]}`, "a[0]", 0, "", Null},
	// values
	{"null", `{"a":null}`, "a", 0, "", Null},
	{"through null", `{"a":null}`, "a.b", 0, "", Missing},
	{"missing", `{"a":1}`, "b", 0, "", Missing},
	{"missing nested", `{"a":1}`, "a.b", 0, "", Missing},
	{"true", `{"a":true}`, "a", 0, "true", Bool},
	{"FALSE", `{"a":FALSE}`, "a", 0, "false", Bool},
	{"NULL", `{"a":NuLl}`, "a", 0, "", Null},
	{"raw string unescaped", `{"a":"x\"y\\z\/w\n\t"}`, "a", 0, "x\"y\\z/w\n\t", String},
	{"unicode escape", `{"a":"caf\u00e9 \u20ac"}`, "a", 0, "café €", String},
	{"surrogate pair", `{"a":"\ud83d\ude00"}`, "a", 0, "😀", String},
	{"lone high surrogate", `{"a":"\ud800x"}`, "a", 0, "\uFFFDx", String},
	{"lone low surrogate", `{"a":"\udc00"}`, "a", 0, "\uFFFD", String},
	{"high then non-low", `{"a":"\ud800\u0041"}`, "a", 0, "\uFFFDA", String},
	{"high then escape", `{"a":"\ud800\n"}`, "a", 0, "\uFFFD\n", String},
	{"high at end", `{"a":"\ud800"}`, "a", 0, "\uFFFD", String},
	{"NUL ends the string", `{"a":"p\u0000q"}`, "a", 0, "p", String},
	{"raw UTF-8 and control", "{\"a\":\"é\x01\"}", "a", 0, "é\x01", String},
	{"invalid UTF-8 kept", "{\"a\":\"\xff\xc3\"}", "a", 0, "\xff\xc3", String},
	// numbers
	{"int", `{"n":42}`, "n", 0, "42", Number},
	{"leading zeros", `{"n":007}`, "n", 0, "7", Number},
	{"minus zero", `{"n":-0}`, "n", 0, "0", Number},
	{"negative leading zeros", `{"n":-007}`, "n", 0, "-7", Number},
	{"int64 max", `{"n":9223372036854775807}`, "n", 0, "9223372036854775807", Number},
	{"uint64", `{"n":18446744073709551615}`, "n", 0, "18446744073709551615", Number},
	{"uint64 saturates", `{"n":99999999999999999999999}`, "n", 0, "18446744073709551615", Number},
	{"int64 min saturates", `{"n":-99999999999999999999}`, "n", 0, "-9223372036854775808", Number},
	{"double text kept", `{"n":1.50}`, "n", 0, "1.50", Number},
	{"double 1.0", `{"n":1.0}`, "n", 0, "1.0", Number},
	{"exponent", `{"n":1e2}`, "n", 0, "1e2", Number},
	{"exponent upper", `{"n":-2.5E+10}`, "n", 0, "-2.5E+10", Number},
	{"lenient 1.", `{"n":1.}`, "n", 0, "1.", Number},
	{"lenient -.5", `{"n":-.5}`, "n", 0, "-.5", Number},
	{"lenient 00.5", `{"n":00.5}`, "n", 0, "00.5", Number},
	{"dangling exponent trimmed", `{"n":1e}`, "n", 0, "1", Number},
	{"dangling exponent sign trimmed", `{"n":1.5E+}`, "n", 0, "1.5", Number},
	{"overflowing double text kept", `{"n":1e400}`, "n", 0, "1e400", Number},
	{"NaN", `{"n":nan}`, "n", 0, "NaN", Number},
	{"Infinity", `{"n":INFINITY}`, "n", 0, "Infinity", Number},
	{"-Infinity", `{"n":-Infinity}`, "n", 0, "-Infinity", Number},
	{"bad number", `{"n":1.2.3}`, "n", 0, "", Invalid},
	{"bad number sign", `{"n":1.-5}`, "n", 0, "", Invalid},
	{"lone minus", `{"n":-}`, "n", 0, "", Invalid},
	{"number then letter", `{"n":1x}`, "n", 0, "", Invalid},
	// serialisation
	{"object spaced", `{"o":{"a":1,"b":[1,2],"c":"x/y"}}`, "o", 0, `{ "a": 1, "b": [ 1, 2 ], "c": "x\/y" }`, Object},
	{"empty object", `{"o":{}}`, "o", 0, "{ }", Object},
	{"empty array", `{"o":[]}`, "o", 0, "[ ]", Array},
	{"nested empties", `{"o":[{},[],{"a":[]}]}`, "o", 0, `[ { }, [ ], { "a": [ ] } ]`, Array},
	{"escapes in output", `{"o":{"k\/\"":"\b\f\n\r\t\u0001\u001f\u007f é"}}`, "o", 0, `{ "k\/\"": "\b\f\n\r\t\u0001\u001f` + "\x7f é\" }", Object},
	{"NUL in nested string", `{"o":["a\u0000b"]}`, "o", 0, `[ "a\u0000b" ]`, Array},
	{"NUL truncates keys", `{"o":{"a\u0000b":1}}`, "o", 0, `{ "a": 1 }`, Object},
	{"numbers in output", `{"o":[007,-0,1.50,1e,1.,NaN,-Infinity,99999999999999999999999,true,null]}`, "o", 0,
		`[ 7, 0, 1.50, 1, 1., NaN, -Infinity, 18446744073709551615, true, null ]`, Array},
	{"duplicate keys: last value, first position", `{"o":{"a":1,"b":2,"a":3}}`, "o", 0, `{ "a": 3, "b": 2 }`, Object},
	{"duplicate key lookup", `{"a":1,"b":2,"a":3}`, "a", 0, "3", Number},
	{"duplicate via escapes", `{"a":1,"\u0061":2}`, "a", 0, "2", Number},
	{"duplicate null last", `{"a":1,"a":null}`, "a", 0, "", Null},
	// lenient syntax
	{"single quotes", `{'a':'b"c'}`, "a", 0, `b"c`, String},
	{"comments", "/* c */{\"a\" /* x */ : // y\n 1 /**/}", "a", 0, "1", Number},
	{"trailing commas", `{"a":[1,2,],}`, "a", 0, "[ 1, 2 ]", Array},
	{"trailing garbage", `{"a":1} trailing garbage`, "a", 0, "1", Number},
	{"trailing slash garbage", `{"a":1} /x`, "a", 0, "", Invalid},
	{"trailing unterminated comment", `{"a":1} /* open`, "a", 0, "1", Number},
	{"unterminated comment returns the inner value", `{"a":{"b":2} /* open`, "b", 0, "2", Number},
	{"**/ does not close: the document ends in a comment, 1 is returned", `{"a":1 /* x **/ }`, "a", 0, "", Missing},
	{"**/ does not close", `{"a":1 /* x **/ } /x`, "a", 0, "", Missing},
	{"***/ does not close either", `{"a":{"b":1} /***/ } `, "b", 0, "1", Number},
	{"escaped single quote rejected", `{'a':'it\'s'}`, "a", 0, "", Invalid},
	{"unknown escape rejected", `{"a":"\q"}`, "a", 0, "", Invalid},
	{"unquoted key rejected", `{a:1}`, "a", 0, "", Invalid},
	{"document null", `null`, "a", 0, "", Invalid},
	{"empty document", ``, "a", 0, "", Invalid},
	{"NUL ends the document", "{\"a\":1}\x00garbage", "a", 0, "1", Number},
	{"NUL inside the document", "{\"a\":1\x00}", "a", 0, "", Invalid},
	{"top-level string", `"abc"`, "a", 0, "", Missing},
	{"depth 31 ok", strings.Repeat("[", 31) + "1" + strings.Repeat("]", 31), "a", 0, "", Missing},
	{"depth 32 empty ok", `{"a":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + "}", "a", 0,
		strings.Repeat("[ ", 30) + "[ ]" + strings.Repeat(" ]", 30), Array},
	{"depth 32 rejected", strings.Repeat("[", 32) + "1" + strings.Repeat("]", 32), "a", 0, "", Invalid},
}

func TestGet(t *testing.T) {
	var e Evaluator
	for _, c := range getCases {
		esc := c.esc
		if esc == 0 {
			esc = '%'
		}
		got, kind, err := e.Get([]byte("prefix:"), []byte(c.doc), []byte(c.path), esc)
		if (err != nil) != (kind == Invalid) {
			t.Errorf("%s: kind %v with error %v", c.name, kind, err)
		}
		if string(got) != "prefix:"+c.want || kind != c.kind {
			t.Errorf("%s: Get(%q, %q) = %q, %v, %v; want %q, %v", c.name, c.doc, c.path, got[7:], kind, err, c.want, c.kind)
		}
	}
}

func TestErrors(t *testing.T) {
	var e Evaluator
	if _, _, err := e.Get(nil, []byte(`{`), []byte("a"), '%'); err != ErrInvalidJSON {
		t.Errorf("invalid JSON: %v", err)
	}
	if _, _, err := e.Get(nil, []byte(`{}`), []byte("a..b"), '%'); err != ErrPath {
		t.Errorf("bad path: %v", err)
	}
	if n, err := e.Count([]byte(`{`), []byte("a"), '%'); n != 0 || err != ErrInvalidJSON {
		t.Errorf("Count on invalid JSON: %d, %v", n, err)
	}
	if out, err := e.Keys(nil, []byte(`{}`), []byte(""), '%'); len(out) != 0 || err != ErrPath {
		t.Errorf("Keys with bad path: %q, %v", out, err)
	}
}

func TestCount(t *testing.T) {
	var e Evaluator
	doc := []byte(`{"a":[1,null,[2],{}],"e":[],"s":"x","o":{"k":1},"t":[1,],"n":null}`)
	for _, c := range []struct {
		path string
		want int
	}{{"a", 4}, {"e", 0}, {"s", 0}, {"o", 0}, {"t", 1}, {"n", 0}, {"missing", 0}, {"a[2]", 1}, {"a[0]", 0}} {
		n, err := e.Count(doc, []byte(c.path), '%')
		if n != c.want || err != nil {
			t.Errorf("Count(%q) = %d, %v; want %d", c.path, n, err, c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	var e Evaluator
	doc := []byte(`{"o":{"b":1,"a":2,"b":3,"c.d":4,"\u0065":5,"x\u0000y":6},"s":"str","e":{},"n":null}`)
	for _, c := range []struct{ path, want string }{
		{"o", "b|a|c.d|e|x|"}, {"s", ""}, {"e", ""}, {"n", ""}, {"missing", ""}, {"s.x", ""},
	} {
		out, err := e.Keys([]byte("p"), doc, []byte(c.path), '%')
		got := string(bytes.ReplaceAll(out[1:], []byte{0}, []byte("|")))
		if got != c.want || err != nil || out[0] != 'p' {
			t.Errorf("Keys(%q) = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
}

func TestEncode(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a.b c#d*e/f+g_h-i~j:k@l", "a%2Eb+c%23d%2Ae%2Ff%2Bg_h-i~j%3Ak%40l"},
		{"#", "#"}, {"*", "*"}, {"##", "%23%23"}, {"#*", "%23%2A"}, {"", ""},
		{"é", "%C3%A9"}, {"\n\x00\x7f\xff", "%0A%00%7F%FF"}, {"AZaz09", "AZaz09"},
		{strings.Repeat("a", 300), strings.Repeat("a", 255)},
		{strings.Repeat("a", 253) + ".b", strings.Repeat("a", 253) + "%2E"},
		{strings.Repeat("a", 254) + ".", strings.Repeat("a", 254) + "%2E"},
		{strings.Repeat("a", 255) + ".", strings.Repeat("a", 255)},
		{strings.Repeat("a", 254) + "é", strings.Repeat("a", 254) + "%C3"},
	} {
		if got := string(Encode([]byte("p"), []byte(c.in))); got != "p"+c.want {
			t.Errorf("Encode(%q) = %q; want %q", c.in, got[1:], c.want)
		}
	}
}

func TestParamSpan(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"a.b}", "a.b", true}, {" \t\na.b }", "a.b ", true}, {"a\t}", "a", true},
		{"a,b}", "a", true}, {"a.b", "a.b", false}, {"}", "", true},
	} {
		s, e, ok := ParamSpan([]byte(c.in))
		if c.in[s:e] != c.want || ok != c.ok {
			t.Errorf("ParamSpan(%q) = %q, %v; want %q, %v", c.in, c.in[s:e], ok, c.want, c.ok)
		}
	}
}

// TestCache checks that a changed document is parsed again, including one
// that differs only after a NUL, and that an invalid document is cached too.
func TestCache(t *testing.T) {
	var e Evaluator
	buf := []byte(`{"a":"x"}`)
	out, _, _ := e.Get(nil, buf, []byte("a"), '%')
	copy(buf, `{"a":"y"}`)
	out2, _, _ := e.Get(nil, buf, []byte("a"), '%')
	if string(out) != "x" || string(out2) != "y" {
		t.Fatalf("got %q then %q", out, out2)
	}
	for i := 0; i < 2; i++ {
		if _, k, _ := e.Get(nil, []byte(`{"a":`), []byte("a"), '%'); k != Invalid {
			t.Fatalf("invalid document: %v", k)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race")
	}
	var e Evaluator
	doc := []byte(routeReq)
	dst := make([]byte, 0, 4096)
	paths := make([][]byte, len(benchPaths))
	for i, p := range benchPaths {
		paths[i] = []byte(p)
	}
	run := func() {
		for _, p := range paths {
			dst, _, _ = e.Get(dst[:0], doc, p, '%')
			e.Count(doc, p, '%')
			dst, _ = e.Keys(dst[:0], doc, p, '%')
			e.loaded = false
		}
		dst = Encode(dst[:0], doc[:200])
	}
	run()
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

func TestReset(t *testing.T) {
	var e Evaluator
	big := []byte(`{"a":"` + strings.Repeat("x", 1<<16) + `"}`)
	if out, _, _ := e.Get(nil, big, []byte("a"), '%'); len(out) != 1<<16 {
		t.Fatalf("got %d bytes", len(out))
	}
	e.Reset(4096)
	if e.sc.buf != nil || e.loaded {
		t.Fatal("big buffer kept")
	}
	if out, _, _ := e.Get(nil, []byte(`{"a":"y"}`), []byte("a"), '%'); string(out) != "y" {
		t.Fatalf("after Reset: %q", out)
	}
}

func TestEncodeCut(t *testing.T) {
	for _, c := range []struct {
		in  string
		cut bool
	}{
		{"", false}, {"#", false}, {strings.Repeat("a", MaxRoutingKeySize), false},
		{strings.Repeat("a", MaxRoutingKeySize+1), true},
		{strings.Repeat("/", 85), false}, // %2F each: 255 bytes out
		{strings.Repeat("/", 86), true},
	} {
		out, cut := EncodeCut(nil, []byte(c.in))
		if cut != c.cut || string(out) != string(Encode(nil, []byte(c.in))) {
			t.Errorf("%d bytes: cut %v (%d bytes out), want %v", len(c.in), cut, len(out), c.cut)
		}
	}
}
