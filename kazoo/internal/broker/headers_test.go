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
