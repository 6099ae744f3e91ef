package subscription

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// base is what Parse gives for a description with only exchange, type,
// queue and routing: every other value is the C module's default.
func base(exchange, typ, queue string, keys ...string) Subscription {
	return Subscription{
		Exchange:           Exchange{Name: exchange, Type: typ},
		Queue:              Queue{Name: queue, AutoDelete: true},
		RoutingKeys:        keys,
		NoAck:              true,
		WaitForConsumerAck: true,
	}
}

// with returns s changed by f, to write expectations as a diff from base.
func with(s Subscription, f func(*Subscription)) Subscription {
	f(&s)
	return s
}

// long is a string of n bytes, for the AMQP short string limit.
func long(n int) string { return strings.Repeat("a", n) }

type parseCase struct {
	name string
	desc string
	want Subscription // checked when err is ""
	warn []string     // exact warnings, in order
	err  string       // a substring of the error
}

// Descriptions from the stock Kazoo kamailio configs and the forms the C
// module reads.
var validCases = []parseCase{
	{
		name: "stock registrar-flush",
		desc: `{"name": "registrar-flush", "exchange": "registrar", "type": "topic", "queue": "registrar-flush-kam1", "routing": "registration.flush.*", "exclusive": false, "federate": true}`,
		want: with(base("registrar", "topic", "registrar-flush-kam1", "registration.flush.*"), func(s *Subscription) {
			s.Name = "registrar-flush"
			s.Federate = true
		}),
	},
	{
		name: "stock presence, single quotes and a routing array",
		desc: `{'exchange': 'presence', 'type': 'topic', 'queue': 'presence-dialog-kam1', 'routing': ['dialog.*.*', 'update.*.*', 'mwi_updates.*.*'], 'exclusive': false, 'federate': true}`,
		want: with(base("presence", "topic", "presence-dialog-kam1", "dialog.*.*", "update.*.*", "mwi_updates.*.*"), func(s *Subscription) {
			s.Federate = true
		}),
	},
	{
		name: "stock nodes: no routing binds the empty key",
		desc: `{"exchange": "nodes", "type": "fanout", "queue": "nodes-kam1", "exclusive": false, "federate": true}`,
		want: with(base("nodes", "fanout", "nodes-kam1", ""), func(s *Subscription) { s.Federate = true }),
	},
	{
		name: "stock sms with acknowledgements",
		desc: `{"exchange": "im", "type": "topic", "queue": "sms-kam1", "routing": "sms.outbound.kamailio%40kam1.*", "no_ack": false}`,
		want: with(base("im", "topic", "sms-kam1", "sms.outbound.kamailio%40kam1.*"), func(s *Subscription) { s.NoAck = false }),
	},
	{
		name: "exchange-def and queue-def supply type and flags",
		desc: `{"exchange": "callmgr", "queue": "q1", "routing": "r",
			"exchange-def": {"type": "topic", "durable": true, "auto_delete": 1, "internal": true},
			"queue-def": {"durable": 1, "exclusive": true, "auto_delete": false, "passive": 0}}`,
		want: with(base("callmgr", "topic", "q1", "r"), func(s *Subscription) {
			s.Exchange.Durable, s.Exchange.AutoDelete, s.Exchange.Internal = true, true, true
			s.Queue.Durable, s.Queue.Exclusive, s.Queue.AutoDelete = true, true, false
		}),
	},
	{
		name: "root flags apply to both exchange and queue",
		desc: `{"exchange": "x", "type": "direct", "queue": "q", "routing": "r", "durable": true, "auto_delete": 0, "internal": 1, "exclusive": 1}`,
		want: with(base("x", "direct", "q", "r"), func(s *Subscription) {
			s.Exchange.Durable, s.Exchange.Internal = true, true
			s.Queue.Durable, s.Queue.AutoDelete, s.Queue.Exclusive = true, false, true
		}),
	},
	{
		name: "root flags go to the side without a def",
		desc: `{"exchange": "x", "queue": "q", "routing": "r", "durable": true, "exchange-def": {"type": "topic"}}`,
		want: with(base("x", "topic", "q", "r"), func(s *Subscription) { s.Queue.Durable = true }),
	},
	{
		name: "root keys overridden by both defs are reported",
		desc: `{"exchange": "x", "type": "topic", "routing": "r", "durable": true, "exclusive": true, "internal": true,
			"exchange-def": {"type": "direct"}, "queue-def": {}}`,
		want: base("x", "direct", "", "r"),
		warn: []string{`root keys ignored because "exchange-def"/"queue-def" is given: "type", "durable", "internal", "exclusive"`},
	},
	{
		name: "two exchange-bindings, all kept in document order",
		desc: `{"exchange": "dest", "type": "topic", "queue": "q", "routing": "#",
			"exchange-bindings": {
				"src-b": {"type": "topic", "routing": ["a.*", "b.*"], "durable": true},
				"src-a": {"type": "fanout", "routing": "", "passive": 1, "internal": true, "auto_delete": true}}}`,
		want: with(base("dest", "topic", "q", "#"), func(s *Subscription) {
			s.ExchangeBindings = []ExchangeBinding{
				{Source: Exchange{Name: "src-b", Type: "topic", Durable: true}, RoutingKeys: []string{"a.*", "b.*"}},
				{Source: Exchange{Name: "src-a", Type: "fanout", Passive: true, Internal: true, AutoDelete: true}, RoutingKeys: []string{""}},
			}
		}),
	},
	{
		name: "exchange-bindings warnings",
		desc: `{"exchange": "dest", "type": "topic", "exchange-bindings": {"a": {"type": "topic"}, "b": null, "c": {"routing": []}, "d": {"type": "direct", "routing": "k", "bnid": 1}}}`,
		want: with(base("dest", "topic", "", ""), func(s *Subscription) {
			s.ExchangeBindings = []ExchangeBinding{{Source: Exchange{Name: "d", Type: "direct"}, RoutingKeys: []string{"k"}}}
		}),
		warn: []string{
			`"exchange-bindings"."a": no routing keys, entry ignored`,
			`"exchange-bindings"."b": null, entry ignored`,
			`"exchange-bindings"."c": no routing keys, entry ignored`,
			`unknown keys in "exchange-bindings"."d" ignored: "bnid"`,
		},
	},
	{
		name: "every option",
		desc: `{"name": "n", "exchange": "x", "type": "x-consistent-hash", "queue": "q", "routing": "10",
			"no_ack": 0, "wait_for_consumer_ack": false, "federate": 1,
			"event_key": "Event-Category", "event_subkey": "Event-Name",
			"consistent-worker": true, "consistent-worker-key": "Call-ID"}`,
		want: with(base("x", "x-consistent-hash", "q", "10"), func(s *Subscription) {
			s.Name = "n"
			s.NoAck, s.WaitForConsumerAck, s.Federate = false, false, true
			s.EventKey, s.EventSubkey = "Event-Category", "Event-Name"
			s.ConsistentWorker, s.ConsistentWorkerKey = true, "Call-ID"
		}),
	},
	{
		name: "json-c dialect: comments, trailing commas, trailing text",
		desc: `/* kamailio.cfg */ {'exchange': 'x', // the exchange
			'type': 'topic', 'routing': ['a', 'b',],} trailing`,
		want: base("x", "topic", "", "a", "b"),
	},
	{
		name: "null reads as absent, as for json-c",
		desc: `{"exchange": "x", "type": "topic", "queue": null, "routing": null, "auto_delete": null, "no_ack": null,
			"exchange-def": null, "queue-def": null, "exchange-bindings": null, "event_key": null, "name": null}`,
		want: base("x", "topic", "", ""),
	},
	{
		name: "duplicate keys: the last value wins",
		desc: `{"exchange": "a", "type": "topic", "exchange": "b", "routing": "r", "routing": "s", "exchange": "c"}`,
		want: base("c", "topic", "", "s"),
		warn: []string{`duplicate keys (the last value is used): "exchange", "routing"`},
	},
	{
		name: "unknown keys, root and defs",
		desc: `{"exchange": "x", "routnig": "r", "foo": 1, "exchange-def": {"type": "topic", "name": "y"}, "queue-def": {"name": "q", "ttl": 1}}`,
		want: base("x", "topic", "", ""),
		warn: []string{
			`unknown keys ignored: "routnig", "foo"`,
			`unknown keys in "exchange-def" ignored: "name"`,
			`unknown keys in "queue-def" ignored: "name", "ttl"`,
		},
	},
	{
		name: "empty routing array binds the empty key",
		desc: `{"exchange": "x", "type": "fanout", "routing": []}`,
		want: base("x", "fanout", "", ""),
		warn: []string{`"routing": empty array, binding with the empty routing key`},
	},
	{
		name: "a passive exchange needs no type",
		desc: `{"exchange": "x", "exchange-def": {"passive": true}, "routing": "r"}`,
		want: with(base("x", "", "", "r"), func(s *Subscription) { s.Exchange.Passive = true }),
	},
	{
		name: "255-byte names and keys are allowed",
		desc: `{"exchange": "` + long(255) + `", "type": "topic", "queue": "` + long(255) + `", "routing": ["` + long(255) + `"]}`,
		want: base(long(255), "topic", long(255), long(255)),
	},
}

// Flags are read like json_object_get_int: non-zero is true.
var flagCases = []struct {
	value string
	want  bool
	warn  string // "" when no warning
}{
	{"true", true, ""},
	{"false", false, ""},
	{"1", true, ""},
	{"0", false, ""},
	{"-1", true, ""},
	{"-0", false, ""},
	{"2", true, ""},
	{"0.5", false, ""}, // doubles are truncated toward zero
	{"-0.9", false, ""},
	{"1.5", true, ""},
	{"1e3", true, ""},
	{"1e-3", false, ""},
	{"0e5", false, ""},
	{"99999999999999999999999", true, ""}, // saturates
	{"1e999", true, ""},
	{`"1"`, true, ""},
	{`"0"`, false, ""},
	{`"-12"`, true, ""},
	{`"000"`, false, ""},
	{`"true"`, false, `"durable": the string "true" is read as false, as the C module read it; write true, false, 1 or 0`},
	{`"false"`, false, `"durable": the string "false" is read as false, as the C module read it; write true, false, 1 or 0`},
	{`""`, false, `"durable": the string "" is read as false, as the C module read it; write true, false, 1 or 0`},
	{`"12abc"`, true, `"durable": the string "12abc" is read as true, as the C module read it; write true, false, 1 or 0`},
	{`" 7"`, true, `"durable": the string " 7" is read as true, as the C module read it; write true, false, 1 or 0`},
	{`"0x1"`, false, `"durable": the string "0x1" is read as false, as the C module read it; write true, false, 1 or 0`},
}

var errorCases = []parseCase{
	{name: "empty", desc: ``, err: "description is not JSON: "},
	{name: "truncated", desc: `{"exchange": "x"`, err: "description is not JSON: "},
	{name: "array", desc: `[{"exchange": "x"}]`, err: "description must be a JSON object, not an array"},
	{name: "string", desc: `"x"`, err: "description must be a JSON object, not a string"},
	{name: "no exchange", desc: `{"type": "topic"}`, err: `"exchange": missing or empty exchange name`},
	{name: "empty exchange", desc: `{"exchange": "", "type": "topic"}`, err: `"exchange": missing or empty exchange name`},
	{name: "no type", desc: `{"exchange": "x", "routing": "r"}`, err: `"type": missing or empty exchange type`},
	{name: "empty type", desc: `{"exchange": "x", "type": ""}`, err: `"type": missing or empty exchange type`},
	{name: "type case", desc: `{"exchange": "x", "type": "Topic"}`, err: `"type": unknown exchange type "Topic"`},
	{name: "bare x- type", desc: `{"exchange": "x", "type": "x-"}`, err: `"type": unknown exchange type "x-"`},
	{name: "unknown type", desc: `{"exchange": "x", "type": "fan-out"}`, err: `"type": unknown exchange type "fan-out"`},
	{
		name: "type at the root with exchange-def",
		desc: `{"exchange": "x", "type": "topic", "exchange-def": {"durable": true}}`,
		err:  `"exchange-def"."type": missing or empty exchange type (want direct, fanout, topic, headers or x-...); a "type" at the root is ignored when "exchange-def" is given`,
	},
	{name: "routing number", desc: `{"exchange": "x", "type": "topic", "routing": 5}`, err: `"routing": must be a string or an array of strings, not a number`},
	{name: "routing object", desc: `{"exchange": "x", "type": "topic", "routing": {"a": 1}}`, err: `"routing": must be a string or an array of strings, not an object`},
	{name: "routing boolean", desc: `{"exchange": "x", "type": "topic", "routing": true}`, err: `"routing": must be a string or an array of strings, not a boolean`},
	{name: "routing element number", desc: `{"exchange": "x", "type": "topic", "routing": ["a", 2]}`, err: `"routing"[1]: routing key must be a string, not a number`},
	{name: "routing element null", desc: `{"exchange": "x", "type": "topic", "routing": [null]}`, err: `"routing"[0]: routing key must be a string, not null`},
	{name: "flag object", desc: `{"exchange": "x", "type": "topic", "federate": {}}`, err: `"federate": must be a boolean or an integer, not an object`},
	{name: "flag array", desc: `{"exchange": "x", "type": "topic", "durable": [1]}`, err: `"durable": must be a boolean or an integer, not an array`},
	{name: "queue-def flag", desc: `{"exchange": "x", "type": "topic", "queue-def": {"exclusive": []}}`, err: `"queue-def"."exclusive": must be a boolean or an integer, not an array`},
	{name: "queue number", desc: `{"exchange": "x", "type": "topic", "queue": 5}`, err: `"queue": must be a string, not a number`},
	{name: "exchange boolean", desc: `{"exchange": true, "type": "topic"}`, err: `"exchange": must be a string, not a boolean`},
	{name: "type number", desc: `{"exchange": "x", "type": 1}`, err: `"type": must be a string, not a number`},
	{name: "name array", desc: `{"exchange": "x", "type": "topic", "name": []}`, err: `"name": must be a string, not an array`},
	{name: "event_key number", desc: `{"exchange": "x", "type": "topic", "event_key": 1}`, err: `"event_key": must be a string, not a number`},
	{name: "event_subkey object", desc: `{"exchange": "x", "type": "topic", "event_subkey": {}}`, err: `"event_subkey": must be a string, not an object`},
	{name: "worker key", desc: `{"exchange": "x", "type": "topic", "consistent-worker-key": false}`, err: `"consistent-worker-key": must be a string, not a boolean`},
	{name: "exchange-def string", desc: `{"exchange": "x", "exchange-def": "topic"}`, err: `"exchange-def": must be an object, not a string`},
	{name: "queue-def array", desc: `{"exchange": "x", "type": "topic", "queue-def": []}`, err: `"queue-def": must be an object, not an array`},
	{name: "exchange-bindings array", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": ["a"]}`, err: `"exchange-bindings": must be an object, not an array`},
	{name: "exchange-bindings entry string", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"a": "topic"}}`, err: `"exchange-bindings"."a": must be an object, not a string`},
	{name: "exchange-bindings no type", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"a": {"routing": "k"}}}`, err: `"exchange-bindings"."a"."type": missing or empty exchange type`},
	{name: "exchange-bindings empty source", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"": {"type": "topic", "routing": "k"}}}`, err: `"exchange-bindings"."": missing or empty exchange name`},
	{name: "exchange-bindings bad type", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"a": {"type": "topic", "routing": "k"}, "d": {"type": "bogus", "routing": "k"}}}`, err: `"exchange-bindings"."d"."type": unknown exchange type "bogus"`},
	{name: "exchange-bindings routing type", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"a": {"type": "topic", "routing": 1}}}`, err: `"exchange-bindings"."a"."routing": must be a string or an array of strings, not a number`},
	{name: "exchange-bindings flag", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"a": {"type": "topic", "routing": "k", "durable": {}}}}`, err: `"exchange-bindings"."a"."durable": must be a boolean or an integer, not an object`},
	{name: "exchange-bindings long key", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"a": {"type": "topic", "routing": ["k", "` + long(256) + `"]}}}`, err: `"exchange-bindings"."a"."routing"[1]: routing key is 256 bytes long, AMQP allows at most 255`},
	{name: "exchange-bindings long source", desc: `{"exchange": "x", "type": "topic", "exchange-bindings": {"` + long(256) + `": {"type": "topic", "routing": "k"}}}`, err: `exchange name is 256 bytes long, AMQP allows at most 255`},
	{name: "long exchange", desc: `{"exchange": "` + long(256) + `", "type": "topic"}`, err: `"exchange": exchange name is 256 bytes long, AMQP allows at most 255`},
	{name: "long routing key", desc: `{"exchange": "x", "type": "topic", "routing": "` + long(256) + `"}`, err: `"routing": routing key is 256 bytes long, AMQP allows at most 255`},
	{name: "long routing element", desc: `{"exchange": "x", "type": "topic", "routing": ["a", "` + long(300) + `"]}`, err: `"routing"[1]: routing key is 300 bytes long, AMQP allows at most 255`},
	{name: "long queue", desc: `{"exchange": "x", "type": "topic", "queue": "` + long(256) + `"}`, err: `"queue": queue name is 256 bytes long, AMQP allows at most 255`},
	{name: "NUL in exchange", desc: `{"exchange": "a\u0000b", "type": "topic"}`, err: `"exchange": exchange name "a\x00b" contains a NUL byte`},
}

func TestParse(t *testing.T) {
	for _, c := range validCases {
		t.Run(c.name, func(t *testing.T) { checkParse(t, c) })
	}
	for _, c := range errorCases {
		t.Run("error/"+c.name, func(t *testing.T) { checkParse(t, c) })
	}
}

func checkParse(t *testing.T, c parseCase) {
	t.Helper()
	got, warn, err := Parse([]byte(c.desc))
	if c.err != "" {
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Fatalf("Parse(%s)\nerror %v\nwant  %q", c.desc, err, c.err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q spans lines; it must fit one log line", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse(%s): %v", c.desc, err)
	}
	if !reflect.DeepEqual(got, c.want) {
		t.Errorf("Parse(%s)\ngot  %+v\nwant %+v", c.desc, got, c.want)
	}
	if !reflect.DeepEqual(warn, c.warn) {
		t.Errorf("Parse(%s) warnings\ngot  %q\nwant %q", c.desc, warn, c.warn)
	}
}

func TestParseFlags(t *testing.T) {
	for _, c := range flagCases {
		desc := `{"exchange": "x", "type": "topic", "durable": ` + c.value + `}`
		s, warn, err := Parse([]byte(desc))
		if err != nil {
			t.Errorf("%s: %v", c.value, err)
			continue
		}
		if s.Exchange.Durable != c.want || s.Queue.Durable != c.want {
			t.Errorf("%s: durable exchange %v, queue %v, want %v", c.value, s.Exchange.Durable, s.Queue.Durable, c.want)
		}
		var wantWarn []string
		if c.warn != "" {
			wantWarn = []string{c.warn}
		}
		if !reflect.DeepEqual(warn, wantWarn) {
			t.Errorf("%s: warnings %q, want %q", c.value, warn, wantWarn)
		}
	}
}

// The defaults of a flag that is absent or null.
func TestParseFlagDefaults(t *testing.T) {
	for _, desc := range []string{
		`{"exchange": "x", "type": "topic"}`,
		`{"exchange": "x", "type": "topic", "no_ack": null, "wait_for_consumer_ack": null, "federate": null,
		  "consistent-worker": null, "passive": null, "durable": null, "auto_delete": null, "internal": null, "exclusive": null}`,
	} {
		s, _, err := Parse([]byte(desc))
		if err != nil {
			t.Fatal(err)
		}
		if want := base("x", "topic", "", ""); !reflect.DeepEqual(s, want) {
			t.Errorf("Parse(%s)\ngot  %+v\nwant %+v", desc, s, want)
		}
	}
}

// The module sends subscriptions to its consumer workers as encoding/json.
func TestJSONRoundTrip(t *testing.T) {
	for _, c := range validCases {
		if c.err != "" {
			continue
		}
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

func TestCStringInt(t *testing.T) {
	for _, c := range []struct {
		s              string
		nonZero, plain bool
	}{
		{"1", true, true}, {"+1", true, true}, {"-1", true, true}, {"0", false, true}, {"-0", false, true},
		{"", false, false}, {"-", false, false}, {"+", false, false}, {"abc", false, false},
		{"\t\n 3", true, false}, {"3 ", true, false}, {"0\x001", false, false}, {"1\x00", true, false},
		{"99999999999999999999999999", true, true},
	} {
		nz, plain := cStringInt(c.s)
		if nz != c.nonZero || plain != c.plain {
			t.Errorf("cStringInt(%q) = %v, %v; want %v, %v", c.s, nz, plain, c.nonZero, c.plain)
		}
	}
}
