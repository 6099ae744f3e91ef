package subscription

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"
)

// Argument is one queue.declare argument, with the AMQP field type it is sent
// as: exactly one of the value fields is set. It is a struct rather than an
// interface value so that a Subscription keeps the types when it is sent to
// the consumer processes as JSON (an int64 would come back as a float64).
type Argument struct {
	Key    string
	Long   *int64   `json:",omitempty"` // AMQP long-long-int ('l'): every integer RabbitMQ reads
	Double *float64 `json:",omitempty"` // only for an unknown key given a fraction
	String *string  `json:",omitempty"`
	Bool   *bool    `json:",omitempty"`
}

// Value is the argument as amqp091-go sends it.
func (a Argument) Value() any {
	switch {
	case a.Long != nil:
		return *a.Long
	case a.Double != nil:
		return *a.Double
	case a.String != nil:
		return *a.String
	case a.Bool != nil:
		return *a.Bool
	}
	return nil
}

// argKind is the JSON type a known argument must have.
type argKind int

const (
	argInt argKind = iota
	argString
	argBool
)

// argSpec says how a known RabbitMQ queue argument is checked: its type, for
// an integer its smallest value, for a string the values RabbitMQ accepts
// (none listed: any string).
type argSpec struct {
	kind   argKind
	min    int64
	values []string
}

// knownArguments are the queue arguments of RabbitMQ 3.10 - 3.13 (classic,
// quorum and stream queues). RabbitMQ answers a wrong type or an out-of-range
// value with 406, which closes the consumer's channel and is retried for ever;
// checking them here fails kazoo_subscribe instead.
var knownArguments = map[string]argSpec{
	"x-queue-type":                    {kind: argString, values: []string{"classic", "quorum", "stream"}},
	"x-message-ttl":                   {kind: argInt, min: 0},
	"x-expires":                       {kind: argInt, min: 1},
	"x-dead-letter-exchange":          {kind: argString},
	"x-dead-letter-routing-key":       {kind: argString},
	"x-dead-letter-strategy":          {kind: argString, values: []string{"at-most-once", "at-least-once"}},
	"x-max-length":                    {kind: argInt, min: 0},
	"x-max-length-bytes":              {kind: argInt, min: 0},
	"x-overflow":                      {kind: argString, values: []string{"drop-head", "reject-publish", "reject-publish-dlx"}},
	"x-single-active-consumer":        {kind: argBool},
	"x-max-priority":                  {kind: argInt, min: 0},
	"x-queue-mode":                    {kind: argString, values: []string{"default", "lazy"}},
	"x-queue-version":                 {kind: argInt, min: 1},
	"x-delivery-limit":                {kind: argInt, min: 0},
	"x-quorum-initial-group-size":     {kind: argInt, min: 1},
	"x-initial-cluster-size":          {kind: argInt, min: 1},
	"x-max-in-memory-length":          {kind: argInt, min: 0},
	"x-max-in-memory-bytes":           {kind: argInt, min: 0},
	"x-max-age":                       {kind: argString},
	"x-stream-max-segment-size-bytes": {kind: argInt, min: 1},
	"x-queue-leader-locator":          {kind: argString, values: []string{"client-local", "balanced"}},
	"x-queue-master-locator":          {kind: argString, values: []string{"min-masters", "client-local", "random"}},
}

// maxPriority is RabbitMQ's largest x-max-priority.
const maxPriority = 255

// arguments reads the "arguments" object of o (the root or "queue-def"), in
// document order.
func (r *reader) arguments(o object) ([]Argument, error) {
	obj, ok, err := r.subObject(o, "arguments")
	if !ok || err != nil {
		return nil, err
	}
	var args []Argument
	for _, key := range obj.keys {
		v := obj.get(key)
		if v == nil {
			r.warn("%s: null, argument ignored", obj.at(key))
			continue
		}
		var a Argument
		if spec, known := knownArguments[key]; known {
			a, err = knownArgument(obj.at(key), key, spec, v)
		} else {
			a, err = r.unknownArgument(obj.at(key), key, v)
		}
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	return args, nil
}

// knownArgument checks v against spec.
func knownArgument(where, key string, spec argSpec, v *fastjson.Value) (Argument, error) {
	a := Argument{Key: key}
	switch spec.kind {
	case argInt:
		n, err := jsonInt(where, v)
		if err != nil {
			return a, err
		}
		if n < spec.min {
			return a, fmt.Errorf("%s: %d is below the smallest value %d", where, n, spec.min)
		}
		if key == "x-max-priority" && n > maxPriority {
			return a, fmt.Errorf("%s: %d is above RabbitMQ's largest priority %d", where, n, maxPriority)
		}
		a.Long = &n
	case argString:
		if v.Type() != fastjson.TypeString {
			return a, fmt.Errorf("%s: must be a string, not %s", where, typeName(v))
		}
		s := string(v.GetStringBytes())
		if len(spec.values) > 0 && !slices.Contains(spec.values, s) {
			return a, fmt.Errorf("%s: unknown value %s (want %s)", where, strconv.Quote(s), strings.Join(spec.values, ", "))
		}
		a.String = &s
	case argBool:
		switch v.Type() {
		case fastjson.TypeTrue, fastjson.TypeFalse:
			b := v.Type() == fastjson.TypeTrue
			a.Bool = &b
		default:
			return a, fmt.Errorf("%s: must be true or false, not %s", where, typeName(v))
		}
	}
	return a, nil
}

// unknownArgument passes an x- argument RabbitMQ may know and this module
// does not (a newer release, a plugin) with the AMQP type of its JSON value.
// A key without the x- prefix is refused: every queue argument RabbitMQ reads
// has it, so it is a typo ("message-ttl") the broker would silently ignore.
func (r *reader) unknownArgument(where, key string, v *fastjson.Value) (Argument, error) {
	a := Argument{Key: key}
	if !strings.HasPrefix(key, "x-") {
		return a, fmt.Errorf("%s: queue arguments start with \"x-\"; this one would be ignored by the broker", where)
	}
	switch v.Type() {
	case fastjson.TypeString:
		s := string(v.GetStringBytes())
		a.String = &s
	case fastjson.TypeTrue, fastjson.TypeFalse:
		b := v.Type() == fastjson.TypeTrue
		a.Bool = &b
	case fastjson.TypeNumber:
		if n, err := jsonInt(where, v); err == nil {
			a.Long = &n
		} else {
			f := v.GetFloat64()
			if math.IsInf(f, 0) {
				return a, fmt.Errorf("%s: number out of range", where)
			}
			a.Double = &f
		}
	default:
		return a, fmt.Errorf("%s: unknown argument with %s value; only strings, numbers and booleans are passed through", where, typeName(v))
	}
	r.warn("%s: not an argument this module knows, sent as given (%s)", where, typeName(v))
	return a, nil
}

// jsonInt reads a JSON integer that fits in an int64 (RabbitMQ reads every
// integer argument as a signed 64-bit value). A fraction, an exponent or a
// string is refused: the broker would refuse them too, later and out of
// sight.
func jsonInt(where string, v *fastjson.Value) (int64, error) {
	if v.Type() != fastjson.TypeNumber {
		return 0, fmt.Errorf("%s: must be an integer, not %s", where, typeName(v))
	}
	text := string(v.MarshalTo(nil))
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		if strings.Trim(strings.TrimPrefix(text, "-"), "0123456789") == "" {
			return 0, fmt.Errorf("%s: %s does not fit in a signed 64-bit integer", where, text)
		}
		return 0, fmt.Errorf("%s: must be an integer, not %s", where, text)
	}
	return n, nil
}

// queueType is the x-queue-type argument, "" when absent.
func queueType(args []Argument) string {
	for _, a := range args {
		if a.Key == "x-queue-type" && a.String != nil {
			return *a.String
		}
	}
	return ""
}

// checkReplicated refuses the flags a quorum or stream queue cannot have:
// RabbitMQ answers them with 406, in a consumer process, over and over. A
// passive declare only checks that the queue exists, so its flags do not
// matter.
func checkReplicated(q Queue, noAck bool) error {
	t := queueType(q.Arguments)
	if q.Passive || (t != "quorum" && t != "stream") {
		return nil
	}
	var bad []string
	if !q.Durable {
		bad = append(bad, `"durable": true`)
	}
	if q.Exclusive {
		bad = append(bad, `"exclusive": false`)
	}
	if q.AutoDelete {
		bad = append(bad, `"auto_delete": false (it defaults to true)`)
	}
	if len(bad) > 0 {
		return fmt.Errorf("queue %s: a %s queue must be durable, not exclusive and not auto-delete; set %s",
			strconv.Quote(q.Name), t, strings.Join(bad, ", "))
	}
	if q.Name == "" {
		return fmt.Errorf(`a %s queue needs a "queue" name: RabbitMQ names only classic queues`, t)
	}
	if t == "stream" && noAck {
		return fmt.Errorf(`queue %s: a stream queue is consumed with acknowledgements; set "no_ack": false`, strconv.Quote(q.Name))
	}
	return nil
}
