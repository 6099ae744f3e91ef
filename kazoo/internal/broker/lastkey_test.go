package broker

import (
	"testing"

	"github.com/valyala/fastjson"
)

func TestLastString(t *testing.T) {
	for in, want := range map[string]string{
		`{"Msg-ID":"a"}`:                    "a",
		`{"Msg-ID":"a","x":1,"Msg-ID":"b"}`: "b",
		`{"Msg-ID":"a","Msg-ID":2}`:         "",
		`{"M\u0073g-ID":"esc"}`:             "esc",
		`{"x":{"Msg-ID":"nested"}}`:         "",
		`["Msg-ID"]`:                        "",
	} {
		v, err := fastjson.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := lastString(v, "Msg-ID"); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
