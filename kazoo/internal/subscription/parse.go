package subscription

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
)

// Keys each object of a description may hold. Anything else is reported in
// a warning: the C module ignored unknown keys silently, so a misspelt
// "routnig" quietly bound the queue with the empty routing key.
var (
	rootKeys = []string{
		"exchange", "type", "queue", "routing",
		"passive", "durable", "auto_delete", "internal", "exclusive",
		"exchange-def", "queue-def", "exchange-bindings",
		"no_ack", "wait_for_consumer_ack", "federate",
		"event_key", "event_subkey",
		"consistent-worker", "consistent-worker-key", "name", "arguments",
	}
	exchangeDefKeys = []string{"type", "passive", "durable", "auto_delete", "internal"}
	queueDefKeys    = []string{"passive", "durable", "exclusive", "auto_delete", "arguments"}
	bindingKeys     = []string{"type", "routing", "passive", "durable", "auto_delete", "internal"}
)

// Parse reads a kazoo_subscribe JSON description. The JSON may use json-c's
// lenient dialect (single quotes, comments, trailing commas), as scripts
// write it. The warnings are for the log; the Subscription is valid whenever
// err is nil. Errors are one line and name the offending key.
func Parse(desc []byte) (Subscription, []string, error) {
	var n payload.Normalizer
	strict, err := n.Normalize(nil, desc)
	if err != nil {
		return Subscription{}, nil, fmt.Errorf("description is not JSON: %v", err)
	}
	var p fastjson.Parser
	v, err := p.ParseBytes(strict)
	if err != nil { // Normalize's output is strict JSON; this is a bug.
		return Subscription{}, nil, fmt.Errorf("description is not JSON: %v", err)
	}
	if v.Type() != fastjson.TypeObject {
		return Subscription{}, nil, fmt.Errorf("description must be a JSON object, not %s", typeName(v))
	}
	var r reader
	s, err := r.subscription(r.object("", v))
	if err != nil {
		return Subscription{}, nil, err
	}
	return s, r.warnings, nil
}

// reader collects the warnings of one Parse.
type reader struct{ warnings []string }

// warn adds a warning once: a root flag is read for both the exchange and
// the queue, and one odd value deserves one line.
func (r *reader) warn(format string, args ...any) {
	if w := fmt.Sprintf(format, args...); !slices.Contains(r.warnings, w) {
		r.warnings = append(r.warnings, w)
	}
}

// subscription follows ki_kz_amqp_subscribe.
func (r *reader) subscription(root object) (Subscription, error) {
	r.unknown(root, rootKeys)
	s := Subscription{NoAck: true, WaitForConsumerAck: true}
	var err error
	str := func(key string, dst *string) {
		if err == nil {
			*dst, err = root.str(key)
		}
	}
	flag := func(key string, dst *bool) {
		if err == nil {
			*dst, err = r.flag(root, key, *dst)
		}
	}
	str("name", &s.Name)
	str("exchange", &s.Exchange.Name)
	str("queue", &s.Queue.Name)
	str("event_key", &s.EventKey)
	str("event_subkey", &s.EventSubkey)
	str("consistent-worker-key", &s.ConsistentWorkerKey)
	flag("no_ack", &s.NoAck)
	flag("wait_for_consumer_ack", &s.WaitForConsumerAck)
	flag("federate", &s.Federate)
	flag("consistent-worker", &s.ConsistentWorker)
	if err != nil {
		return Subscription{}, err
	}

	// The exchange's type and flags come from "exchange-def" when it is
	// given, else from the root; the queue's flags likewise from "queue-def".
	// The names always come from the root.
	exDef, hasExDef, err := r.subObject(root, "exchange-def")
	if err != nil {
		return Subscription{}, err
	}
	qDef, hasQDef, err := r.subObject(root, "queue-def")
	if err != nil {
		return Subscription{}, err
	}
	if hasExDef {
		r.unknown(exDef, exchangeDefKeys)
	} else {
		exDef = root
	}
	if hasQDef {
		r.unknown(qDef, queueDefKeys)
	} else {
		qDef = root
	}
	r.shadowed(root, hasExDef, hasQDef)

	x, err := r.exchange(exDef)
	if err != nil {
		return Subscription{}, err
	}
	x.Name = s.Exchange.Name
	if err := checkExchange(root.at("exchange"), exDef.at("type"), x); err != nil {
		if hasExDef && x.Type == "" && root.get("type") != nil {
			err = fmt.Errorf(`%v; a "type" at the root is ignored when "exchange-def" is given`, err)
		}
		return Subscription{}, err
	}
	s.Exchange = x

	q, err := r.queue(qDef)
	if err != nil {
		return Subscription{}, err
	}
	q.Name = s.Queue.Name
	if err := checkShortstr(root.at("queue"), "queue name", q.Name); err != nil {
		return Subscription{}, err
	}
	if err := checkReplicated(q, s.NoAck); err != nil {
		return Subscription{}, err
	}
	s.Queue = q

	keys, given, err := routing(root)
	if err != nil {
		return Subscription{}, err
	}
	if given && len(keys) == 0 {
		r.warn(`"routing": empty array, binding with the empty routing key`)
	}
	if len(keys) == 0 {
		keys = []string{""} // C: LM_INFO "creating empty routing key"
	}
	s.RoutingKeys = keys

	if s.ExchangeBindings, err = r.exchangeBindings(root); err != nil {
		return Subscription{}, err
	}
	return s, nil
}

// exchange follows kz_amqp_exchange_from_json, except for the name, which
// the caller sets.
func (r *reader) exchange(o object) (x Exchange, err error) {
	if x.Type, err = o.str("type"); err != nil {
		return
	}
	if x.Passive, err = r.flag(o, "passive", false); err != nil {
		return
	}
	if x.Durable, err = r.flag(o, "durable", false); err != nil {
		return
	}
	if x.AutoDelete, err = r.flag(o, "auto_delete", false); err != nil {
		return
	}
	x.Internal, err = r.flag(o, "internal", false)
	return
}

// queue follows kz_amqp_queue_from_json (auto_delete defaults to true, as
// kz_amqp_queue_new sets it), except for the name, which the caller sets.
// "arguments" is this module's: the C module declared every queue without.
func (r *reader) queue(o object) (q Queue, err error) {
	if q.Passive, err = r.flag(o, "passive", false); err != nil {
		return
	}
	if q.Durable, err = r.flag(o, "durable", false); err != nil {
		return
	}
	if q.Exclusive, err = r.flag(o, "exclusive", false); err != nil {
		return
	}
	if q.AutoDelete, err = r.flag(o, "auto_delete", true); err != nil {
		return
	}
	q.Arguments, err = r.arguments(o)
	return
}

// exchangeBindings follows kz_amqp_exchange_binding_from_json, but keeps
// every entry (the C module kept only the first). Like the C module, it
// drops an entry without routing keys; that is a warning here.
func (r *reader) exchangeBindings(root object) ([]ExchangeBinding, error) {
	obj, ok, err := r.subObject(root, "exchange-bindings")
	if !ok || err != nil {
		return nil, err
	}
	var out []ExchangeBinding
	for _, src := range obj.keys {
		where := obj.at(src)
		v := obj.vals[src]
		if v.Type() == fastjson.TypeNull {
			r.warn("%s: null, entry ignored", where)
			continue
		}
		if v.Type() != fastjson.TypeObject {
			return nil, fmt.Errorf("%s: must be an object, not %s", where, typeName(v))
		}
		e := r.object(where, v)
		r.unknown(e, bindingKeys)
		keys, _, err := routing(e)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			r.warn(`%s: no routing keys, entry ignored`, where)
			continue
		}
		x, err := r.exchange(e)
		if err != nil {
			return nil, err
		}
		x.Name = src
		if err := checkExchange(where, e.at("type"), x); err != nil {
			return nil, err
		}
		out = append(out, ExchangeBinding{Source: x, RoutingKeys: keys})
	}
	return out, nil
}

// routing follows kz_amqp_routing_from_json: a string is one routing key,
// an array of strings one key per element. given is false when "routing"
// is absent (or null). Each key is checked.
func routing(o object) (keys []string, given bool, err error) {
	v := o.get("routing")
	where := o.at("routing")
	switch {
	case v == nil:
		return nil, false, nil
	case v.Type() == fastjson.TypeString:
		keys = []string{string(v.GetStringBytes())}
	case v.Type() == fastjson.TypeArray:
		for i, e := range v.GetArray() {
			if e.Type() != fastjson.TypeString {
				return nil, true, fmt.Errorf("%s[%d]: routing key must be a string, not %s", where, i, typeName(e))
			}
			keys = append(keys, string(e.GetStringBytes()))
		}
	default:
		return nil, true, fmt.Errorf("%s: must be a string or an array of strings, not %s", where, typeName(v))
	}
	for i, k := range keys {
		at := where
		if v.Type() == fastjson.TypeArray {
			at += "[" + strconv.Itoa(i) + "]"
		}
		if err := checkShortstr(at, "routing key", k); err != nil {
			return nil, true, err
		}
	}
	return keys, true, nil
}

// shadowed warns about root keys that a C reader would skip because
// "exchange-def" / "queue-def" supply them: they look meaningful but are not.
func (r *reader) shadowed(root object, hasExDef, hasQDef bool) {
	var ignored []string
	for _, k := range []string{"type", "passive", "durable", "auto_delete", "internal", "exclusive", "arguments"} {
		usedByExchange := k != "exclusive" && k != "arguments" && !hasExDef
		usedByQueue := k != "type" && k != "internal" && !hasQDef
		if !usedByExchange && !usedByQueue && root.get(k) != nil {
			ignored = append(ignored, strconv.Quote(k))
		}
	}
	if len(ignored) > 0 {
		r.warn(`root keys ignored because "exchange-def"/"queue-def" is given: %s`, strings.Join(ignored, ", "))
	}
}

// unknown warns, once per object, about the keys of o not in known.
func (r *reader) unknown(o object, known []string) {
	var extra []string
	for _, k := range o.keys {
		if !slices.Contains(known, k) {
			extra = append(extra, strconv.Quote(k))
		}
	}
	if len(extra) > 0 {
		r.warn("unknown keys %signored: %s", o.in(), strings.Join(extra, ", "))
	}
}

// subObject returns the object at key (absent or null: ok is false, as for
// json-c). Another type is an error: the C module silently used defaults.
func (r *reader) subObject(o object, key string) (sub object, ok bool, err error) {
	v := o.get(key)
	if v == nil {
		return object{}, false, nil
	}
	if v.Type() != fastjson.TypeObject {
		return object{}, false, fmt.Errorf("%s: must be an object, not %s", o.at(key), typeName(v))
	}
	return r.object(o.at(key), v), true, nil
}

// flag reads a flag as json_object_get_int did (non-zero is true), with def
// when the key is absent or null.
func (r *reader) flag(o object, key string, def bool) (bool, error) {
	v := o.get(key)
	if v == nil {
		return def, nil
	}
	switch v.Type() {
	case fastjson.TypeTrue:
		return true, nil
	case fastjson.TypeFalse:
		return false, nil
	case fastjson.TypeNumber:
		// json-c truncates a double toward zero and saturates an integer
		// beyond 64 bits (or 32 bits in get_int): the flag is set when the
		// integer part is not zero. An out-of-range text parses to ±Inf.
		f, _ := strconv.ParseFloat(string(v.MarshalTo(nil)), 64)
		return math.Trunc(f) != 0, nil
	case fastjson.TypeString:
		s := string(v.GetStringBytes())
		val, plain := cStringInt(s)
		if !plain {
			r.warn("%s: the string %s is read as %s, as the C module read it; write true, false, 1 or 0",
				o.at(key), strconv.Quote(s), strconv.FormatBool(val))
		}
		return val, nil
	}
	return false, fmt.Errorf("%s: must be a boolean or an integer, not %s", o.at(key), typeName(v))
}

// cStringInt is json_object_get_int of a string (json_parse_int64, i.e.
// strtoll base 10, on the C string): leading white space, a sign and the
// leading digits are read and the rest is ignored; no digits reads 0. It
// returns whether the result is non-zero (an overflow saturates, so any
// non-zero digit counts), and whether s was a plain integer.
func cStringInt(s string) (nonZero, plain bool) {
	c := s
	if i := strings.IndexByte(c, 0); i >= 0 {
		c = c[:i] // the C string ends at the first NUL
	}
	c = strings.TrimLeft(c, " \t\n\v\f\r")
	if c != "" && (c[0] == '+' || c[0] == '-') {
		c = c[1:]
	}
	digits := c[:len(c)-len(strings.TrimLeft(c, "0123456789"))]
	nonZero = strings.Trim(digits, "0") != ""

	u := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	plain = u != "" && strings.Trim(u, "0123456789") == ""
	return nonZero, plain
}

// object is a JSON object as json-c sees it: of duplicate keys the last
// value wins (json-c replaced the value in place), and a null member reads
// as absent (json-c stores null as a NULL pointer, which the C module
// cannot tell from a missing key).
type object struct {
	path string                     // where the object is, for messages; "" for the root
	keys []string                   // document order, each key once
	vals map[string]*fastjson.Value // last value of each key
}

// object wraps v, which must be a JSON object, and warns about duplicates.
func (r *reader) object(path string, v *fastjson.Value) object {
	o := object{path: path, vals: map[string]*fastjson.Value{}}
	var dups []string
	v.GetObject().Visit(func(k []byte, val *fastjson.Value) {
		key := string(k)
		if _, seen := o.vals[key]; seen {
			if !slices.Contains(dups, strconv.Quote(key)) {
				dups = append(dups, strconv.Quote(key))
			}
		} else {
			o.keys = append(o.keys, key)
		}
		o.vals[key] = val
	})
	if len(dups) > 0 {
		r.warn("duplicate keys %s(the last value is used): %s", o.in(), strings.Join(dups, ", "))
	}
	return o
}

// get returns the value of key, nil when it is absent or null.
func (o object) get(key string) *fastjson.Value {
	v := o.vals[key]
	if v == nil || v.Type() == fastjson.TypeNull {
		return nil
	}
	return v
}

// str reads a string key; absent or null is "".
func (o object) str(key string) (string, error) {
	v := o.get(key)
	if v == nil {
		return "", nil
	}
	if v.Type() != fastjson.TypeString {
		return "", fmt.Errorf("%s: must be a string, not %s", o.at(key), typeName(v))
	}
	return string(v.GetStringBytes()), nil
}

// at names key of o for messages: "key" at the root, "def"."key" inside.
func (o object) at(key string) string {
	if o.path == "" {
		return strconv.Quote(key)
	}
	return o.path + "." + strconv.Quote(key)
}

// in is "in <path> " for messages about the whole object, "" at the root.
func (o object) in() string {
	if o.path == "" {
		return ""
	}
	return "in " + o.path + " "
}

func typeName(v *fastjson.Value) string {
	switch t := v.Type(); t {
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "a boolean"
	case fastjson.TypeNull:
		return "null"
	case fastjson.TypeObject, fastjson.TypeArray:
		return "an " + t.String()
	default:
		return "a " + t.String()
	}
}
