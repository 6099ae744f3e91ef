package pua

import (
	"bytes"
	"math"
	"strconv"

	"github.com/valyala/fastjson"
)

// fields is the top-level object of a payload as json-c holds it: when a key
// appears more than once, json_object_object_add kept only the last value.
type fields map[string]*fastjson.Value

func newFields(o *fastjson.Object) fields {
	f := make(fields, o.Len())
	o.Visit(func(k []byte, v *fastjson.Value) { f[string(k)] = v })
	return f
}

// text is json_extract_field: json_object_get_string of the member, cut at
// its first NUL byte (the C code took strlen of it). A missing member and
// JSON null give "" (json-c has no object for null). Strings are unescaped,
// numbers and booleans give json-c's text for them, objects and arrays their
// json-c serialisation.
func (f fields) text(key string) string {
	v := f[key]
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return ""
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if i := bytes.IndexByte(b, 0); i >= 0 {
			b = b[:i]
		}
		return string(b)
	}
	return string(appendJSONC(nil, v))
}

// has reports whether the member exists with a non-null value
// (kz_json_get_object returned an object).
func (f fields) has(key string) bool {
	v := f[key]
	return v != nil && v.Type() != fastjson.TypeNull
}

// getInt is json_object_get_int of the member (json-c 0.16): integers and
// doubles saturate to the int32 range (doubles truncate toward zero),
// strings go through strtoll (leading space, sign, digits; no digits gives
// 0), booleans give 0 or 1, anything else 0.
func (f fields) getInt(key string) int32 {
	v := f[key]
	if v == nil {
		return 0
	}
	switch v.Type() {
	case fastjson.TypeNumber:
		raw := v.MarshalTo(nil)
		if isDouble(raw) {
			// Out-of-range text gives ±Inf or 0 with an error; both clamp
			// as json-c's strtod result would.
			d, _ := strconv.ParseFloat(string(raw), 64)
			switch {
			case d <= math.MinInt32:
				return math.MinInt32
			case d >= math.MaxInt32:
				return math.MaxInt32
			}
			return int32(d)
		}
		return clamp32(jsoncInt64(raw))
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		n, ok := strtoll(b)
		if !ok {
			return 0
		}
		return clamp32(n)
	case fastjson.TypeTrue:
		return 1
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

// appendJSONCInt appends json-c's text for integer number text: leading
// zeros and "-0" disappear, values saturate as jsoncInt64 describes (but a
// positive value up to UINT64_MAX prints as such).
func appendJSONCInt(dst, raw []byte) []byte {
	if raw[0] != '-' {
		u, overflow := parseDigits(raw)
		if overflow {
			u = math.MaxUint64
		}
		return strconv.AppendUint(dst, u, 10)
	}
	return strconv.AppendInt(dst, jsoncInt64(raw), 10)
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

// appendJSONC appends json_object_to_json_string of v, which is what
// json_object_get_string gives for a non-string: numbers as json-c prints
// them (integers normalised, doubles as written), true/false, and objects
// and arrays in json-c's "spaced" form ({ "a": 1, "b": [ 2 ] }, "{ }",
// "[ ]"), strings escaped as json_escape_str does (including "\/"). In an
// object a repeated key keeps its first position and its last value.
func appendJSONC(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeNumber:
		raw := v.MarshalTo(nil)
		if isDouble(raw) {
			return append(dst, raw...)
		}
		return appendJSONCInt(dst, raw)
	case fastjson.TypeTrue:
		return append(dst, "true"...)
	case fastjson.TypeFalse:
		return append(dst, "false"...)
	case fastjson.TypeNull:
		return append(dst, "null"...)
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		dst = append(dst, '"')
		dst = appendJSONCEscaped(dst, b)
		return append(dst, '"')
	case fastjson.TypeArray:
		a, _ := v.Array()
		if len(a) == 0 {
			return append(dst, "[ ]"...)
		}
		dst = append(dst, '[')
		for i, e := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, ' ')
			dst = appendJSONC(dst, e)
		}
		return append(dst, " ]"...)
	}
	o, _ := v.Object()
	type member struct {
		key []byte
		val *fastjson.Value
	}
	var members []member
	o.Visit(func(k []byte, val *fastjson.Value) {
		for i := range members {
			if bytes.Equal(members[i].key, k) {
				members[i].val = val
				return
			}
		}
		members = append(members, member{k, val})
	})
	if len(members) == 0 {
		return append(dst, "{ }"...)
	}
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, ' ', '"')
		dst = appendJSONCEscaped(dst, m.key)
		dst = append(dst, '"', ':', ' ')
		dst = appendJSONC(dst, m.val)
	}
	return append(dst, " }"...)
}

// appendJSONCEscaped is json-c's json_escape_str: \b \n \r \t \f \" \\ \/ as
// two-byte escapes, other bytes below 0x20 as \u00xx, the rest unchanged.
func appendJSONCEscaped(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	for _, c := range s {
		switch c {
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '"', '\\', '/':
			dst = append(dst, '\\', c)
		default:
			if c < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			} else {
				dst = append(dst, c)
			}
		}
	}
	return dst
}
