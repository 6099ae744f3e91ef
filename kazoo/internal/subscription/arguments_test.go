package subscription

import (
	"encoding/json"
	"reflect"
	"testing"
)

func long64(n int64) *int64     { return &n }
func str(s string) *string      { return &s }
func boolean(b bool) *bool      { return &b }
func double(f float64) *float64 { return &f }

// quorum is a durable, kept, named queue "q" with arguments, as a quorum
// queue must be.
func quorum(args ...Argument) Subscription {
	return with(base("x", "topic", "q", "r"), func(s *Subscription) {
		s.Queue.Durable, s.Queue.AutoDelete = true, false
		s.Queue.Arguments = args
	})
}

var argumentCases = []parseCase{
	{
		name: "quorum queue in queue-def, every known type",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r",
			"queue-def": {"durable": true, "auto_delete": false, "arguments": {
				"x-queue-type": "quorum", "x-delivery-limit": 5, "x-message-ttl": 60000,
				"x-dead-letter-exchange": "dlx", "x-dead-letter-routing-key": "dead",
				"x-single-active-consumer": true, "x-overflow": "reject-publish",
				"x-max-length": 0, "x-max-length-bytes": 9223372036854775807}}}`,
		want: quorum(
			Argument{Key: "x-queue-type", String: str("quorum")},
			Argument{Key: "x-delivery-limit", Long: long64(5)},
			Argument{Key: "x-message-ttl", Long: long64(60000)},
			Argument{Key: "x-dead-letter-exchange", String: str("dlx")},
			Argument{Key: "x-dead-letter-routing-key", String: str("dead")},
			Argument{Key: "x-single-active-consumer", Bool: boolean(true)},
			Argument{Key: "x-overflow", String: str("reject-publish")},
			Argument{Key: "x-max-length", Long: long64(0)},
			Argument{Key: "x-max-length-bytes", Long: long64(9223372036854775807)},
		),
	},
	{
		name: "root arguments without queue-def",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r", "durable": 1, "auto_delete": 0,
			"arguments": {"x-queue-type": "quorum"}}`,
		want: with(quorum(Argument{Key: "x-queue-type", String: str("quorum")}), func(s *Subscription) {
			s.Exchange.Durable = true // root flags are the exchange's too
		}),
	},
	{
		name: "classic queue arguments keep the C defaults",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r",
			"arguments": {"x-expires": 1, "x-max-priority": 255, "x-queue-mode": "lazy"}}`,
		want: with(base("x", "topic", "q", "r"), func(s *Subscription) {
			s.Queue.Arguments = []Argument{
				{Key: "x-expires", Long: long64(1)},
				{Key: "x-max-priority", Long: long64(255)},
				{Key: "x-queue-mode", String: str("lazy")},
			}
		}),
	},
	{
		name: "unknown x- keys pass with their JSON type",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r",
			"arguments": {"x-new-int": 7, "x-new-float": 0.5, "x-new-string": "s", "x-new-bool": false, "x-null": null}}`,
		want: with(base("x", "topic", "q", "r"), func(s *Subscription) {
			s.Queue.Arguments = []Argument{
				{Key: "x-new-int", Long: long64(7)},
				{Key: "x-new-float", Double: double(0.5)},
				{Key: "x-new-string", String: str("s")},
				{Key: "x-new-bool", Bool: boolean(false)},
			}
		}),
		warn: []string{
			`"arguments"."x-new-int": not an argument this module knows, sent as given (a number)`,
			`"arguments"."x-new-float": not an argument this module knows, sent as given (a number)`,
			`"arguments"."x-new-string": not an argument this module knows, sent as given (a string)`,
			`"arguments"."x-new-bool": not an argument this module knows, sent as given (a boolean)`,
			`"arguments"."x-null": null, argument ignored`,
		},
	},
	{
		name: "root arguments shadowed by queue-def",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r", "arguments": {"x-message-ttl": 1}, "queue-def": {}}`,
		want: base("x", "topic", "q", "r"),
		warn: []string{`root keys ignored because "exchange-def"/"queue-def" is given: "arguments"`},
	},
	{
		name: "a passive quorum queue: flags do not matter",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r", "passive": 1, "arguments": {"x-queue-type": "quorum"}}`,
		want: with(base("x", "topic", "q", "r"), func(s *Subscription) {
			s.Exchange.Passive, s.Queue.Passive = true, true
			s.Queue.Arguments = []Argument{{Key: "x-queue-type", String: str("quorum")}}
		}),
	},
	{
		name: "stream queue with acknowledgements",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "routing": "r", "no_ack": false,
			"queue-def": {"durable": true, "auto_delete": false, "arguments": {"x-queue-type": "stream", "x-max-age": "7D"}}}`,
		want: with(quorum(Argument{Key: "x-queue-type", String: str("stream")}, Argument{Key: "x-max-age", String: str("7D")}), func(s *Subscription) {
			s.NoAck = false
		}),
	},
}

var argumentErrorCases = []parseCase{
	{name: "not an object", desc: `{"exchange": "x", "type": "topic", "arguments": ["x-message-ttl", 1]}`, err: `"arguments": must be an object, not an array`},
	{name: "ttl as a string", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-message-ttl": "60000"}}`, err: `"arguments"."x-message-ttl": must be an integer, not a string`},
	{name: "ttl with a fraction", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-message-ttl": 1.5}}`, err: `"arguments"."x-message-ttl": must be an integer, not 1.5`},
	{name: "ttl with an exponent", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-message-ttl": 1e3}}`, err: `"arguments"."x-message-ttl": must be an integer, not 1e3`},
	{name: "ttl negative", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-message-ttl": -1}}`, err: `"arguments"."x-message-ttl": -1 is below the smallest value 0`},
	{name: "expires zero", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-expires": 0}}`, err: `"arguments"."x-expires": 0 is below the smallest value 1`},
	{name: "beyond int64", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-max-length": 9223372036854775808}}`, err: `"arguments"."x-max-length": 9223372036854775808 does not fit in a signed 64-bit integer`},
	{name: "priority above 255", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-max-priority": 256}}`, err: `"arguments"."x-max-priority": 256 is above RabbitMQ's largest priority 255`},
	{name: "dlx as a number", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-dead-letter-exchange": 1}}`, err: `"arguments"."x-dead-letter-exchange": must be a string, not a number`},
	{name: "single active consumer as 1", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-single-active-consumer": 1}}`, err: `"arguments"."x-single-active-consumer": must be true or false, not a number`},
	{name: "unknown queue type", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-queue-type": "Quorum"}}`, err: `"arguments"."x-queue-type": unknown value "Quorum" (want classic, quorum, stream)`},
	{name: "unknown overflow", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-overflow": "drop-tail"}}`, err: `"arguments"."x-overflow": unknown value "drop-tail"`},
	{name: "key without x-", desc: `{"exchange": "x", "type": "topic", "arguments": {"message-ttl": 1}}`, err: `"arguments"."message-ttl": queue arguments start with "x-"`},
	{name: "unknown key with an object", desc: `{"exchange": "x", "type": "topic", "arguments": {"x-new": {"a": 1}}}`, err: `"arguments"."x-new": unknown argument with an object value; only strings, numbers and booleans are passed through`},
	{name: "in queue-def", desc: `{"exchange": "x", "type": "topic", "queue-def": {"arguments": {"x-expires": "1"}}}`, err: `"queue-def"."arguments"."x-expires": must be an integer, not a string`},
	{
		name: "quorum with the C defaults",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "arguments": {"x-queue-type": "quorum"}}`,
		err:  `queue "q": a quorum queue must be durable, not exclusive and not auto-delete; set "durable": true, "auto_delete": false (it defaults to true)`,
	},
	{
		name: "quorum exclusive",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "queue-def": {"durable": 1, "auto_delete": 0, "exclusive": 1, "arguments": {"x-queue-type": "quorum"}}}`,
		err:  `queue "q": a quorum queue must be durable, not exclusive and not auto-delete; set "exclusive": false`,
	},
	{
		name: "quorum without a name",
		desc: `{"exchange": "x", "type": "topic", "queue-def": {"durable": 1, "auto_delete": 0, "arguments": {"x-queue-type": "quorum"}}}`,
		err:  `a quorum queue needs a "queue" name`,
	},
	{
		name: "stream without acknowledgements",
		desc: `{"exchange": "x", "type": "topic", "queue": "q", "queue-def": {"durable": 1, "auto_delete": 0, "arguments": {"x-queue-type": "stream"}}}`,
		err:  `queue "q": a stream queue is consumed with acknowledgements; set "no_ack": false`,
	},
}

func TestParseArguments(t *testing.T) {
	for _, c := range argumentCases {
		t.Run(c.name, func(t *testing.T) { checkParse(t, c) })
	}
	for _, c := range argumentErrorCases {
		t.Run("error/"+c.name, func(t *testing.T) { checkParse(t, c) })
	}
}

// The consumer workers get the subscription as JSON: an integer argument
// must still be an int64 there, or RabbitMQ would get a double (and refuse a
// double x-message-ttl with 406).
func TestArgumentsJSONRoundTrip(t *testing.T) {
	for _, c := range argumentCases {
		b, err := json.Marshal(c.want)
		if err != nil {
			t.Fatal(err)
		}
		var back Subscription
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c.want) {
			t.Errorf("%s: round trip\ngot  %+v\nwant %+v", c.name, back, c.want)
		}
	}
}

func TestQueueTable(t *testing.T) {
	if got := (Queue{}).Table(); got != nil {
		t.Errorf("no arguments: table %v, want nil (the C module's empty table)", got)
	}
	q := quorum(
		Argument{Key: "x-queue-type", String: str("quorum")},
		Argument{Key: "x-delivery-limit", Long: long64(5)},
		Argument{Key: "x-single-active-consumer", Bool: boolean(true)},
		Argument{Key: "x-ratio", Double: double(0.5)},
	).Queue
	want := map[string]any{"x-queue-type": "quorum", "x-delivery-limit": int64(5), "x-single-active-consumer": true, "x-ratio": 0.5}
	if got := q.Table(); !reflect.DeepEqual(got, want) {
		t.Errorf("table %#v, want %#v", got, want)
	}
}
