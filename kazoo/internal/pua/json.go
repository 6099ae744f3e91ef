package pua

import (
	"bytes"
	"math"
	"strconv"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/kzjson"
)

// fields reads the top-level members of a payload as the C module did, through kzjson,
// the project's port of json-c (the parser and printer the C module used): the last of
// repeated keys wins, strings come unescaped and cut at a NUL, other values in json-c's
// text.
type fields struct {
	e   *kzjson.Evaluator
	doc []byte
	buf []byte
}

// get looks key up (keys are plain member names: no dots or brackets in them).
func (f *fields) get(key string) ([]byte, kzjson.Kind) {
	var kind kzjson.Kind
	f.buf, kind, _ = f.e.Get(f.buf[:0], f.doc, []byte(key), 0)
	return f.buf, kind
}

// text is json_extract_field: json_object_get_string of the member; a missing member and
// JSON null give "".
func (f *fields) text(key string) string {
	v, kind := f.get(key)
	switch kind {
	case kzjson.Missing, kzjson.Null, kzjson.Invalid:
		return ""
	}
	return string(v)
}

// has reports whether the member exists with a non-null value
// (kz_json_get_object returned an object).
func (f *fields) has(key string) bool {
	switch _, kind := f.get(key); kind {
	case kzjson.Missing, kzjson.Null, kzjson.Invalid:
		return false
	}
	return true
}

// getInt is json_object_get_int of the member (json-c 0.16): integers and
// doubles saturate to the int32 range (doubles truncate toward zero),
// strings go through strtoll (leading space, sign, digits; no digits gives
// 0), booleans give 0 or 1, anything else 0.
func (f *fields) getInt(key string) int32 {
	v, kind := f.get(key)
	switch kind {
	case kzjson.Number:
		if isDouble(v) {
			// Out-of-range text gives ±Inf or 0 with an error; both clamp
			// as json-c's strtod result would.
			d, _ := strconv.ParseFloat(string(v), 64)
			switch {
			case d <= math.MinInt32:
				return math.MinInt32
			case d >= math.MaxInt32:
				return math.MaxInt32
			}
			return int32(d)
		}
		return clamp32(jsoncInt64(v))
	case kzjson.String:
		n, ok := strtoll(v)
		if !ok {
			return 0
		}
		return clamp32(n)
	case kzjson.Bool:
		if string(v) == "true" {
			return 1
		}
	}
	return 0
}

func clamp32(n int64) int32 {
	switch {
	case n < math.MinInt32:
		return math.MinInt32
	case n > math.MaxInt32:
		return math.MaxInt32
	}
	return int32(n)
}

// isDouble reports whether json-c would have parsed number text as a double.
func isDouble(raw []byte) bool { return bytes.ContainsAny(raw, ".eE") }

// jsoncInt64 is the int64 json_object_get_int64 gives for integer text:
// json-c stores negative numbers with strtoll (saturating at INT64_MIN) and
// the others with strtoull (saturating at UINT64_MAX), and reads a uint64
// above INT64_MAX as INT64_MAX.
func jsoncInt64(raw []byte) int64 {
	if raw[0] == '-' {
		u, overflow := parseDigits(raw[1:])
		if overflow || u > 1<<63 {
			return math.MinInt64
		}
		return -int64(u)
	}
	u, overflow := parseDigits(raw)
	if overflow || u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

func parseDigits(s []byte) (v uint64, overflow bool) {
	for _, c := range s {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return math.MaxUint64, true
		}
		v = v*10 + d
	}
	return v, false
}

// strtoll is json_parse_int64: C strtoll in base 10. ok is false when no
// digit was converted (json-c then returns 0). Overflow saturates.
func strtoll(s []byte) (int64, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] >= '\t' && s[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var u uint64
	overflow := false
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if !overflow {
			if u > (math.MaxUint64-9)/10 {
				overflow = true
			} else {
				u = u*10 + uint64(s[i]-'0')
			}
		}
	}
	if i == start {
		return 0, false
	}
	if neg {
		if overflow || u > 1<<63 {
			return math.MinInt64, true
		}
		return -int64(u), true
	}
	if overflow || u > math.MaxInt64 {
		return math.MaxInt64, true
	}
	return int64(u), true
}
