package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// maxHeaderDepth bounds the nesting of JSON headers: amqp091-go encodes a table
// recursively, and no broker feature needs more than a few levels.
const maxHeaderDepth = 16

// jsonHeaders reads the 2600hz fork's publish "arguments", a JSON object, into AMQP
// headers with the types the fork gave them: strings, booleans, integers (64-bit here; the
// fork cut them to 32), floating-point numbers, nested objects (tables) and arrays. A null
// value is left out, as the fork did.
func jsonHeaders(s []byte) (Headers, error) {
	dec := json.NewDecoder(bytes.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, status.Errorf(status.Argument, "AMQP headers given as JSON are not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, status.Errorf(status.Argument, "AMQP headers given as JSON have text after the object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, status.Errorf(status.Argument, "AMQP headers given as JSON must be an object")
	}
	t, err := headerTable(obj, 0)
	if err != nil {
		return nil, err
	}
	if len(t) == 0 {
		return nil, nil
	}
	return t, nil
}

func headerTable(obj map[string]any, depth int) (Headers, error) {
	t := make(Headers, len(obj))
	for k, v := range obj {
		if len(k) > MaxShortString {
			return nil, status.Errorf(status.Argument, "AMQP header name of %d bytes is too long", len(k))
		}
		if v == nil {
			continue
		}
		hv, err := headerValue(v, depth)
		if err != nil {
			return nil, err
		}
		t[k] = hv
	}
	return t, nil
}

func headerValue(v any, depth int) (any, error) {
	if depth >= maxHeaderDepth {
		return nil, status.Errorf(status.Argument, "AMQP headers given as JSON are nested deeper than %d levels", maxHeaderDepth)
	}
	switch x := v.(type) {
	case string, bool:
		return x, nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, status.Errorf(status.Argument, "AMQP header number %s is out of range", x)
		}
		return f, nil
	case map[string]any:
		return headerTable(x, depth+1)
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			ev, err := headerValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, ev)
		}
		return out, nil
	}
	return nil, status.Errorf(status.Argument, "AMQP header value of type %T is not supported", v)
}
