package broker

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseHeaders(t *testing.T) {
	for in, want := range map[string]Headers{
		"":                    nil,
		"  ":                  nil,
		"a=1":                 {"a": "1"},
		"a=1;b=two words;c":   {"a": "1", "b": "two words"},
		"x-hash=abc;;empty=;": {"x-hash": "abc"},
	} {
		got, err := ParseHeaders([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseHeaders(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseHeaders([]byte(strings.Repeat("k", MaxShortString+1) + "=v")); err == nil {
		t.Error("a header name longer than a short string was accepted")
	}
}

func TestParseHeadersJSON(t *testing.T) {
	got, err := ParseHeaders([]byte(` {"s":"v","b":true,"i":42,"f":1.5,"n":null,"t":{"x":"y"},"a":[1,"two",null]} `))
	want := Headers{"s": "v", "b": true, "i": int64(42), "f": 1.5, "t": Headers{"x": "y"}, "a": []any{int64(1), "two"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseHeaders(JSON) = %#v, %v; want %#v", got, err, want)
	}
	if got, err := ParseHeaders([]byte(`{}`)); err != nil || got != nil {
		t.Errorf("ParseHeaders({}) = %v, %v; want nil, nil", got, err)
	}
	for _, bad := range []string{
		`{"a":`, `{"a":1} x`, `{"` + strings.Repeat("k", MaxShortString+1) + `":1}`,
		strings.Repeat(`{"a":`, maxHeaderDepth+2) + `1` + strings.Repeat(`}`, maxHeaderDepth+2),
		`{"big":1e999}`,
	} {
		if _, err := ParseHeaders([]byte(bad)); err == nil {
			t.Errorf("ParseHeaders(%.40q) was accepted", bad)
		}
	}
}
