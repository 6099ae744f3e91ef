package payload

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Single quotes.
		{"single-quoted object", `{'Event-Category': 'acl', 'Event-Name': 'sbc_config'}`, `{"Event-Category": "acl", "Event-Name": "sbc_config"}`},
		{"single-quoted top-level string", `'abc'`, `"abc"`},
		{"double quote inside single-quoted", `{'q':'say "hi"'}`, `{"q":"say \"hi\""}`},
		{"escaped quotes inside single-quoted", `{'q':'it\'s "quoted"'}`, `{"q":"it's \"quoted\""}`},
		{"escaped double quote inside single-quoted", `['a\"b']`, `["a\"b"]`},
		{"single quote inside double-quoted", `["it's"]`, `["it's"]`},
		{"escaped single quote inside double-quoted", `["it\'s"]`, `["it's"]`},
		{"mixed quoting", `{"a":'b', 'c':"d"}`, `{"a":"b", "c":"d"}`},
		{"empty single-quoted", `{'':''}`, `{"":""}`},

		// Comments and trailing commas.
		{"comment and trailing commas", `{'a':'b', /*c*/ 'n':[1,2,], }`, `{"a":"b",  "n":[1,2]}`},
		{"line comment before value", "// c\n{\"a\":\"x\\\"y\"}", `{"a":"x\"y"}`},
		{"comments everywhere", "/*a*/{/*b*/\"k\"/*c*/:/*d*/1/*e*/,/*f*/\"m\"//g\n:2}", "{\"k\":1,\"m\"\n:2}"},
		{"comment containing quotes and brackets", `[1 /* "}' ] */, 2]`, `[1 , 2]`},
		{"star inside block comment", `[/* a * b **/1]`, `[1]`},
		{"line comment at end of input after value", `{"a":1} // done`, `{"a":1}`},
		{"trailing comma in array", `[1,2,]`, `[1,2]`},
		{"trailing comma in object", `{"a":1,}`, `{"a":1}`},
		{"trailing comma followed by comment", "[1, /* x */ \n]", `[1]`},
		{"comment-like text inside strings", `{"url":"http://x/*y*/"}`, `{"url":"http://x/*y*/"}`},

		// Trailing garbage and surrounding whitespace.
		{"trailing garbage", `{"a":1} trailing garbage`, `{"a":1}`},
		{"trailing unterminated comment", `{"a":1} /* never closed`, `{"a":1}`},
		{"second value ignored", `[1][2]`, `[1]`},
		{"top-level number then letters", `12abc`, `12`},
		{"surrounding whitespace dropped", " \t\r\n {\"a\":1} \n", `{"a":1}`},

		// Formatting kept byte for byte.
		{"whitespace inside kept", "{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }", "{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }"},
		{"key order and duplicates kept", `{"b":1,"a":2,"b":3}`, `{"b":1,"a":2,"b":3}`},
		{"nested", `{'a':{'b':[{'c':[]}, {}, [[['d']]]]}}`, `{"a":{"b":[{"c":[]}, {}, [[["d"]]]]}}`},
		{"empty object", `{}`, `{}`},
		{"empty array", `[]`, `[]`},
		{"empty containers with space", `{ "a": [ ], "b": { } }`, `{ "a": [ ], "b": { } }`},

		// Unicode.
		{"utf-8 kept", `{'é':'café ☕ 😀'}`, `{"é":"café ☕ 😀"}`},
		{"unicode escapes kept", `["\u2019\u00e9\uD83D\uDE00"]`, `["\u2019\u00e9\uD83D\uDE00"]`},
		{"lone high surrogate", `["\ud83d"]`, `["\ufffd"]`},
		{"lone low surrogate", `["x\ude00y"]`, `["x\ufffdy"]`},
		{"high surrogate then non-surrogate escape", `["\ud83d\u0041"]`, `["\ufffd\u0041"]`},
		{"high surrogate then other escape", `["\ud83d\n"]`, `["\ufffd\n"]`},
		{"two high surrogates then low", `["\ud83d\ud83d\ude00"]`, `["\ufffd\ud83d\ude00"]`},
		{"invalid utf-8 passed through", "[\"\xff\xfe\"]", "[\"\xff\xfe\"]"},

		// Escapes and control characters.
		{"json escapes kept", `["\"\\\/\b\f\n\r\t"]`, `["\"\\\/\b\f\n\r\t"]`},
		{"json escapes kept in single quotes", `['\"\\\/\b\f\n\r\t']`, `["\"\\\/\b\f\n\r\t"]`},
		{"raw control characters escaped", "[\"a\tb\nc\rd\x01e\x1f\x00\b\f\"]", `["a\tb\nc\rd\u0001e\u001f\u0000\b\f"]`},
		{"raw control characters in key", "{'k\n':1}", `{"k\n":1}`},
		{"DEL kept", "[\"\x7f\"]", "[\"\x7f\"]"},

		// Numbers.
		{"strict numbers kept", `[-1.5e3, 0, 10, 1E+2, -0, 0.25, 1e-7, 123456789012345678901234567890]`, `[-1.5e3, 0, 10, 1E+2, -0, 0.25, 1e-7, 123456789012345678901234567890]`},
		{"top-level number", `-1.5e3`, `-1.5e3`},
		{"leading zeros", `[007, -00, 00.5e3, -01.5]`, `[7, -0, 0.5e3, -1.5]`},
		{"missing digits", `[1., -.5, 1.e5, -0.]`, `[1.0, -0.5, 1.0e5, -0.0]`},
		{"dangling exponent", `[1e+, 1.5e-, 123E, 1.e]`, `[1, 1.5, 123, 1.0]`},

		// Literals.
		{"literals", `[true,false,null]`, `[true,false,null]`},
		{"literals ignore case", `[TRUE, False, NULL, nUlL]`, `[true, false, null, null]`},
		{"top-level literal", `true`, `true`},

		// Depth.
		{"maximum depth", strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth), strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)},
	}
	var n Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.Normalize(nil, []byte(tt.in))
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Fatalf("Normalize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if err := fastjson.ValidateBytes(got); err != nil {
				t.Fatalf("output %q is not strict JSON: %v", got, err)
			}
			again, err := n.Normalize(nil, got)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		offset   int
		reason   string
	}{
		{"empty", ``, 0, "empty input"},
		{"whitespace only", " \n\t", 3, "empty input"},
		{"comments only", "/* a */ // b\n", 13, "empty input"},

		{"unterminated string", `"abc`, 0, "unterminated string"},
		{"unterminated single-quoted value", `{'a':'b`, 5, "unterminated string"},
		{"unterminated key", `{"a`, 1, "unterminated string"},
		{"backslash at end", `"ab\`, 0, "unterminated string"},
		{"unicode escape cut short", `"\u12`, 0, "unterminated string"},
		{"unterminated object", `{"a":1`, 6, "unterminated object (opened at offset 0)"},
		{"unterminated object after colon", `{"a":`, 5, "unterminated object"},
		{"unterminated object after key", `{"a"`, 4, "unterminated object"},
		{"unterminated object after comma", `{"a":1,`, 7, "unterminated object"},
		{"unterminated array", `[1,[2`, 5, "unterminated array (opened at offset 3)"},
		{"unterminated array after comma", `[1, `, 4, "unterminated array"},
		{"unterminated block comment", `/* abc`, 0, "unterminated comment"},
		{"unterminated comment inside object", `{"a":1 /* x`, 7, "unterminated comment"},
		{"lone slash", `[1 /x]`, 3, "'/' must start a comment"},
		{"slash at end", `[1 /`, 3, "unterminated comment"},

		{"invalid escape", `"\x"`, 1, `invalid escape sequence \x`},
		{"invalid escape in single quotes", `'\a'`, 1, `invalid escape sequence \a`},
		{"bad unicode escape", `"\u12G4"`, 1, `invalid \u escape`},
		{"control byte after backslash", "\"\\\x01\"", 1, `invalid escape sequence \x01`},

		{"missing colon", `{"a" 1}`, 5, "expected ':' after object key, found '1'"},
		{"missing comma in array", `[1 2]`, 3, "expected ',' or ']' after array item, found '2'"},
		{"missing comma in object", `{"a":1 "b":2}`, 7, "expected ',' or '}' after object item"},
		{"unquoted key", `{a:1}`, 1, "expected quoted object key, found 'a'"},
		{"number key", `{1:1}`, 1, "expected quoted object key"},
		{"double comma", `[1,,2]`, 3, "unexpected ',' where a value should start"},
		{"lone comma in array", `[,]`, 1, "unexpected ','"},
		{"lone comma in object", `{,}`, 1, "expected quoted object key, found ','"},
		{"closing bracket at top", `]`, 0, "unexpected ']'"},
		{"mismatched bracket", `[1}`, 2, "expected ',' or ']'"},
		{"colon in array", `[1:2]`, 2, "expected ',' or ']'"},
		{"non-ASCII outside strings", "[\xc3\xa9]", 1, "unexpected byte 0xc3"},

		{"truncated literal", `tru`, 0, "invalid literal"},
		{"misspelled literal", `[nul]`, 1, "invalid literal"},
		{"literal followed by letters", `[truex]`, 5, "expected ',' or ']'"},
		{"NaN", `NaN`, 0, "NaN is not valid JSON"},
		{"nan in array", `[1, nan]`, 4, "NaN is not valid JSON"},
		{"Infinity", `{"a":Infinity}`, 5, "Infinity is not valid JSON"},
		{"negative infinity", `-Infinity`, 0, "Infinity is not valid JSON"},
		{"negative infinity lower case", `[-inf]`, 1, "Infinity is not valid JSON"},

		{"lone minus", `-`, 0, "invalid number"},
		{"minus in array", `[-]`, 1, "invalid number"},
		{"sign after point", `[1.-5]`, 1, "invalid number"},
		{"exponent without mantissa", `[-e5]`, 1, "invalid number"},
		{"point without digits", `[-.]`, 1, "invalid number"},
		{"second point", `[1.5.3]`, 4, "expected ',' or ']'"},
		{"double minus", `[--1]`, 1, "invalid number"},

		{"too deep array", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), MaxDepth, "nesting deeper than 128"},
		{"too deep object", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), 5 * MaxDepth, "nesting deeper than 128"},
	}
	var n Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("keep")
			got, err := n.Normalize(prefix, []byte(tt.in))
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want error", tt.in, got)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is %T, want *SyntaxError", err, err)
			}
			if se.Offset != tt.offset || !strings.Contains(se.Reason, tt.reason) {
				t.Fatalf("Normalize(%q) error %q, want offset %d and reason containing %q", tt.in, err, tt.offset, tt.reason)
			}
			if !strings.HasPrefix(err.Error(), "invalid JSON at offset ") {
				t.Fatalf("error text %q lacks the offset prefix", err)
			}
			if string(got) != "keep" {
				t.Fatalf("dst changed on error: %q", got)
			}
		})
	}
}

func TestNormalizeErrorText(t *testing.T) {
	var n Normalizer
	_, err := n.Normalize(nil, []byte(`{"a":1, "b":"x`))
	if want := "invalid JSON at offset 12: unterminated string"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
}

func TestNormalizeAppends(t *testing.T) {
	var n Normalizer
	dst := make([]byte, 0, 64)
	dst = append(dst, "prefix:"...)
	got, err := n.Normalize(dst, []byte(`{'a':1,}`))
	if err != nil || string(got) != `prefix:{"a":1}` {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestNormalizeDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	var n Normalizer
	src := []byte(routeReq1500)
	dst := make([]byte, 0, 2*len(src))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := n.Normalize(dst[:0], src); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Normalize allocated %.1f times per run, want 0", allocs)
	}
}
