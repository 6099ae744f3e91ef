package payload

import (
	"errors"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

func TestAddMissing(t *testing.T) {
	msgID := []Field{{Key: "Msg-ID", Value: "x"}}
	tests := []struct {
		name, obj string
		fields    []Field
		want      string
	}{
		{"empty object", `{}`, msgID, `{"Msg-ID":"x"}`},
		{"empty object with space", `{ }`, msgID, `{"Msg-ID":"x" }`},
		{"whitespace before brace", "{\"a\":1 \n}", msgID, "{\"a\":1,\"Msg-ID\":\"x\" \n}"},
		{"surrounding whitespace kept", " {\"a\":[1,{}]}\n", msgID, " {\"a\":[1,{}],\"Msg-ID\":\"x\"}\n"},
		{"present at top level", `{"Msg-ID":"orig","a":1}`, msgID, `{"Msg-ID":"orig","a":1}`},
		{"present last", `{"a":{"b":[1]},"Msg-ID":null}`, msgID, `{"a":{"b":[1]},"Msg-ID":null}`},
		{"nested only", `{"a":{"Msg-ID":"n"},"b":["Msg-ID"]}`, msgID, `{"a":{"Msg-ID":"n"},"b":["Msg-ID"],"Msg-ID":"x"}`},
		{"key in a value string", `{"a":"\"Msg-ID\":1"}`, msgID, `{"a":"\"Msg-ID\":1","Msg-ID":"x"}`},
		{"escaped key equals", `{"Msg\u002dID":"e"}`, msgID, `{"Msg\u002dID":"e"}`},
		{"escaped key differs", `{"Msg\u002dId":"e"}`, msgID, `{"Msg\u002dId":"e","Msg-ID":"x"}`},
		{"several fields in order", `{"Node":"n"}`,
			[]Field{{Key: "Msg-ID", Value: "m"}, {Key: "Node", Value: "ignored"}, {Key: "Server-ID", Value: ""}, {Key: "App-Name", Value: "kamailio"}},
			`{"Node":"n","Msg-ID":"m","Server-ID":"","App-Name":"kamailio"}`},
		{"repeated field key added once", `{}`, []Field{{Key: "k", Value: "1"}, {Key: "k", Value: "2"}}, `{"k":"1"}`},
		{"no fields", `{"a":1}`, nil, `{"a":1}`},
		{"value escaping", `{}`, []Field{{Key: "v", Value: "a\"b\\c/\n\t\r\b\f\x01\x1f é😀\u2028"}},
			`{"v":"a\"b\\c/\n\t\r\b\f\u0001\u001f é😀` + "\u2028" + `"}`},
		{"key escaping", `{}`, []Field{{Key: "a\"\\\n", Value: "v"}}, `{"a\"\\\n":"v"}`},
		{"escaped existing key with quote", `{"a\"\\\n":1}`, []Field{{Key: "a\"\\\n", Value: "v"}}, `{"a\"\\\n":1}`},
	}
	var n Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.AddMissing([]byte("pre"), []byte(tt.obj), tt.fields)
			if err != nil {
				t.Fatalf("AddMissing(%q): %v", tt.obj, err)
			}
			if string(got) != "pre"+tt.want {
				t.Fatalf("AddMissing(%q)\n got %q\nwant %q", tt.obj, got[3:], tt.want)
			}
			if err := fastjson.ValidateBytes(got[3:]); err != nil {
				t.Fatalf("output %q invalid: %v", got[3:], err)
			}
		})
	}
}

func TestAddMissingValueRoundTrip(t *testing.T) {
	var n Normalizer
	value := "q\"b\\s\x00\x7f\ttab é 😀 \xff"
	out, err := n.AddMissing(nil, []byte(`{"a":1}`), []Field{{Key: "Node", Value: value}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := fastjson.ParseBytes(out)
	if err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if got := string(v.GetStringBytes("Node")); got != value {
		t.Fatalf("round trip: got %q want %q", got, value)
	}
	if got, ok := n.TopLevelString(out, "Node"); !ok || got != value {
		t.Fatalf("TopLevelString: got %q, %v want %q", got, ok, value)
	}
}

func TestAddMissingErrors(t *testing.T) {
	tests := []struct {
		name, obj string
		notObject bool
	}{
		{"array", `[1]`, true},
		{"string", `"s"`, true},
		{"number", ` 1`, true},
		{"empty", ``, false},
		{"unterminated", `{"a":1`, false},
		{"unterminated nested", `{"a":[1,{"b":2}`, false},
		{"unterminated string value", `{"a":"x`, false},
		{"trailing data", `{"a":1} x`, false},
		{"missing colon", `{"a" 1}`, false},
		{"unquoted key", `{a:1}`, false},
		{"trailing comma", `{"a":1,}`, false},
		{"missing value", `{"a":}`, false},
	}
	var n Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.AddMissing([]byte("pre"), []byte(tt.obj), []Field{{Key: "k", Value: "v"}})
			if err == nil {
				t.Fatalf("AddMissing(%q) = %q, want error", tt.obj, got)
			}
			if string(got) != "pre" {
				t.Fatalf("dst changed on error: %q", got)
			}
			var se *SyntaxError
			if tt.notObject && !errors.Is(err, ErrNotObject) {
				t.Fatalf("got %v, want ErrNotObject", err)
			}
			if !tt.notObject && !errors.As(err, &se) {
				t.Fatalf("got %v (%T), want *SyntaxError", err, err)
			}
		})
	}
}

func TestTopLevelString(t *testing.T) {
	tests := []struct {
		name, obj, key string
		want           string
		ok             bool
	}{
		{"plain", `{"Msg-ID":"abc","b":1}`, "Msg-ID", "abc", true},
		{"escaped value", `{"Msg-ID":"a\"b\u00e9\ud83d\ude00\n"}`, "Msg-ID", "a\"bé😀\n", true},
		{"lone surrogate value", `{"k":"\ud83d"}`, "k", "\uFFFD", true},
		{"empty value", `{"k":""}`, "k", "", true},
		{"missing", `{"a":"b"}`, "Msg-ID", "", false},
		{"not a string", `{"Msg-ID":12}`, "Msg-ID", "", false},
		{"null", `{"Msg-ID":null}`, "Msg-ID", "", false},
		{"nested only", `{"a":{"Msg-ID":"n"}}`, "Msg-ID", "", false},
		{"last occurrence wins", `{"k":"first","k":"second"}`, "k", "second", true},
		{"last occurrence wins over a non-string", `{"k":"first","k":2}`, "k", "", false},
		{"escaped key", `{"Msg\u002dID":"e"}`, "Msg-ID", "e", true},
		{"after nested containers", `{"a":[{"k":"x"},"]}"],"k":"top"}`, "k", "top", true},
		{"not an object", `["k","v"]`, "k", "", false},
		{"malformed", `{"a":`, "k", "", false},
	}
	var n Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := n.TopLevelString([]byte(tt.obj), tt.key)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("TopLevelString(%q, %q) = %q, %v; want %q, %v", tt.obj, tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestTopLevelStringAliases documents the lifetime rule: without escapes the
// result is a view of obj.
func TestTopLevelStringAliases(t *testing.T) {
	var n Normalizer
	obj := []byte(`{"k":"abc"}`)
	got, _ := n.TopLevelString(obj, "k")
	kept := strings.Clone(got)
	obj[6] = 'X'
	if got != "Xbc" || kept != "abc" {
		t.Fatalf("got %q kept %q", got, kept)
	}
}

func TestAugmentDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	var n Normalizer
	obj, err := n.Normalize(nil, []byte(routeReq1500))
	if err != nil {
		t.Fatal(err)
	}
	fields := kazooFields()
	dst := make([]byte, 0, 2*len(obj))
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := n.AddMissing(dst[:0], obj, fields); err != nil {
			t.Fatal(err)
		}
		if _, ok := n.TopLevelString(obj, "Custom-Channel-Vars"); ok {
			t.Fatal("object reported as string")
		}
		if s, ok := n.TopLevelString(obj, "Description"); !ok || s == "" {
			t.Fatal("Description not found")
		}
	})
	if allocs != 0 {
		t.Fatalf("AddMissing/TopLevelString allocated %.1f times per run, want 0", allocs)
	}
}

// kazooFields are the envelope fields the C module added to every message.
func kazooFields() []Field {
	return []Field{
		{Key: "Msg-ID", Value: "0d4c0c4e-6a3c-4b1e-9f3e-2c7d9b1a5e42"},
		{Key: "App-Name", Value: "kamailio"},
		{Key: "App-Version", Value: "5.8.4"},
		{Key: "Node", Value: "kamailio@kamailio1.example.com"},
		{Key: "Server-ID", Value: "kamailio@kamailio1.example.com-<0.1.0>"},
	}
}
