package broker

import "github.com/valyala/fastjson"

// lastString is the string value of the last top-level member key of the object v ("" when
// absent or not a string): of a duplicate key the last value counts, as in json-c (the C
// module) and everywhere else in this module; fastjson's Get gives the first.
func lastString(v *fastjson.Value, key string) string {
	o, err := v.Object()
	if err != nil {
		return ""
	}
	var last *fastjson.Value
	o.Visit(func(k []byte, member *fastjson.Value) {
		if string(k) == key {
			last = member
		}
	})
	if last == nil || last.Type() != fastjson.TypeString {
		return ""
	}
	return string(last.GetStringBytes())
}
