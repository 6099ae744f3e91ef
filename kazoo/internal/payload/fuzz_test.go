package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// Seeds for both fuzzers. testdata/fuzz holds more.
var fuzzSeeds = []string{
	`{'Event-Category': 'acl', 'Event-Name': 'sbc_config'}`,
	`{'a':'b', /*c*/ 'n':[1,2,], }`,
	`{"a":1} trailing garbage`,
	"// c\n{\"a\":\"x\\\"y\"}",
	`{'q':'it\'s "quoted"'}`,
	`[007, -.5, 1., 1e+, TRUE, Null]`,
	`{"k":"\ud83d\ude00\ud83d"}`,
	routeReq1500,
}

func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var n Normalizer
		out, err := n.Normalize([]byte("pre"), src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(src) {
				t.Fatalf("bad error %v for %q", err, src)
			}
			if string(out) != "pre" {
				t.Fatalf("dst changed on error: %q", out)
			}
			return
		}
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatalf("output %q lost dst prefix", out)
		}
		out = out[3:]
		if err := fastjson.ValidateBytes(out); err != nil {
			t.Fatalf("Normalize(%q) = %q, not strict JSON: %v", src, out, err)
		}
		if !json.Valid(out) {
			t.Fatalf("Normalize(%q) = %q, rejected by encoding/json", src, out)
		}
		again, err := n.Normalize(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", src, out, again, err)
		}
		// Input that is already strict JSON comes back unchanged apart
		// from the surrounding whitespace (unpaired surrogate escapes are
		// the one rewrite strict JSON can need).
		if json.Valid(src) && !bytes.Contains(bytes.ToLower(src), []byte(`\ud`)) {
			if trimmed := bytes.Trim(src, " \t\r\n"); !bytes.Equal(out, trimmed) {
				t.Fatalf("strict input changed: %q -> %q", src, out)
			}
		}
	})
}

func FuzzAddMissing(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "Msg-ID", "0d4c0c4e-6a3c-4b1e-9f3e-2c7d9b1a5e42")
	}
	f.Add([]byte(`{"Msg\u002dID":"x"}`), "Msg-ID", "v")
	f.Add([]byte(`{ }`), "k\"\\\n", "v\x01é")
	f.Fuzz(func(t *testing.T, src []byte, key, value string) {
		var n Normalizer
		fields := []Field{{Key: key, Value: value}, {Key: "Msg-ID", Value: "generated"}, {Key: key, Value: "duplicate"}}

		// Arbitrary (possibly invalid) input must not panic. Only the top
		// level is checked, so there is nothing more to assert here.
		_, _ = n.AddMissing(nil, src, fields)
		n.TopLevelString(src, key)

		obj, err := n.Normalize(nil, src)
		if err != nil {
			return
		}
		out, err := n.AddMissing([]byte("pre"), obj, fields)
		if obj[0] != '{' {
			if !errors.Is(err, ErrNotObject) || string(out) != "pre" {
				t.Fatalf("AddMissing(%q) = %q, %v; want ErrNotObject", obj, out, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("AddMissing(%q): %v", obj, err)
		}
		out = out[3:]
		if err := fastjson.ValidateBytes(out); err != nil {
			t.Fatalf("AddMissing(%q) = %q, invalid: %v", obj, out, err)
		}

		var p1, p2 fastjson.Parser
		before, err := p1.ParseBytes(obj)
		if err != nil {
			t.Fatalf("fastjson cannot parse Normalize output %q: %v", obj, err)
		}
		after, err := p2.ParseBytes(out)
		if err != nil {
			t.Fatalf("fastjson cannot parse %q: %v", out, err)
		}
		orig, added := before.GetObject(), after.GetObject()
		missing := 0
		for _, k := range uniqueKeys(fields) {
			want := fieldValue(fields, k)
			if old := orig.Get(k); old != nil {
				// Present already: the member is untouched.
				if got := added.Get(k); got == nil || got.String() != old.String() {
					t.Fatalf("existing %q changed: %q -> %q", k, obj, out)
				}
				want, _ = topString(old)
			} else {
				missing++
				if got := added.Get(k); got == nil || string(got.GetStringBytes()) != want {
					t.Fatalf("field %q=%q not added correctly: %q", k, want, out)
				}
			}
			if v := lastMember(added, k); v.Type() == fastjson.TypeString {
				want, _ = topString(v) // of a duplicate key, the last value (as json-c)
				if got, ok := n.TopLevelString(out, k); !ok || got != want {
					t.Fatalf("TopLevelString(%q, %q) = %q, %v; want %q", out, k, got, ok, want)
				}
			}
		}
		if added.Len() != orig.Len()+missing {
			t.Fatalf("member count %d, want %d+%d: %q", added.Len(), orig.Len(), missing, out)
		}
		if missing == 0 && !bytes.Equal(out, obj) {
			t.Fatalf("nothing to add but output changed: %q -> %q", obj, out)
		}
	})
}

func uniqueKeys(fields []Field) []string {
	var keys []string
	for _, f := range fields {
		if !containsString(keys, f.Key) {
			keys = append(keys, f.Key)
		}
	}
	return keys
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fieldValue is the value AddMissing adds for key: the first field's.
func fieldValue(fields []Field, key string) string {
	for _, f := range fields {
		if f.Key == key {
			return f.Value
		}
	}
	return ""
}

// lastMember is the value of the last occurrence of key in o (fastjson's Get gives the
// first).
func lastMember(o *fastjson.Object, key string) (last *fastjson.Value) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		if string(k) == key {
			last = v
		}
	})
	return last
}

func topString(v *fastjson.Value) (string, bool) {
	if v.Type() != fastjson.TypeString {
		return "", false
	}
	return strings.Clone(string(v.GetStringBytes())), true
}
