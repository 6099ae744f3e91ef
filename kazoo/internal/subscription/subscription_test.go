package subscription

import (
	"reflect"
	"strings"
	"testing"
)

// Simple gives what kz_amqp_subscribe_simple allocated: zeroed exchange
// flags, kz_amqp_queue_new's auto_delete queue, and no_ack.
func TestSimple(t *testing.T) {
	got, err := Simple("dialoginfo", "direct", "BLF-QUEUE-kam1", "BLF-kam1")
	if err != nil {
		t.Fatal(err)
	}
	want := Subscription{
		Exchange:    Exchange{Name: "dialoginfo", Type: "direct"},
		Queue:       Queue{Name: "BLF-QUEUE-kam1", AutoDelete: true},
		RoutingKeys: []string{"BLF-kam1"},
		NoAck:       true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	for _, c := range []struct {
		exchange, typ, queue, key string
		err                       string
	}{
		{"", "direct", "q", "k", "exchange: missing or empty exchange name"},
		{"x", "", "q", "k", "exchange type: missing or empty exchange type"},
		{"x", "Direct", "q", "k", `exchange type: unknown exchange type "Direct"`},
		{"x", "direct", long(256), "k", "queue: queue name is 256 bytes long"},
		{"x", "direct", "q", long(256), "routing_key: routing key is 256 bytes long"},
		{long(256), "direct", "q", "k", "exchange: exchange name is 256 bytes long"},
	} {
		_, err := Simple(c.exchange, c.typ, c.queue, c.key)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Simple(%q, %q, %q, %q): error %v, want %q", c.exchange, c.typ, c.queue, c.key, err, c.err)
		}
	}
	// The empty queue (broker-named) and routing key are valid, as in C.
	if _, err := Simple("x", "fanout", "", ""); err != nil {
		t.Errorf("Simple with empty queue and key: %v", err)
	}
}

func TestID(t *testing.T) {
	for _, c := range []struct {
		desc, want string
	}{
		{`{"name": "n", "exchange": "x", "type": "topic", "queue": "q", "routing": "r"}`, "n"},
		{`{"exchange": "x", "type": "topic", "queue": "q", "routing": "r"}`, "q"},
		{`{"exchange": "x", "type": "topic", "routing": ["r1", "r2"]}`, "x:r1"},
		{`{"exchange": "x", "type": "fanout"}`, "x:"},
	} {
		s, _, err := Parse([]byte(c.desc))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.ID(); got != c.want {
			t.Errorf("ID of %s = %q, want %q", c.desc, got, c.want)
		}
	}
	if got := (Subscription{Exchange: Exchange{Name: "x"}}).ID(); got != "x:" {
		t.Errorf("ID without routing keys = %q, want %q", got, "x:")
	}
}

func TestShared(t *testing.T) {
	for _, c := range []struct {
		desc string
		want bool
	}{
		{`{"exchange": "x", "type": "topic", "queue": "q"}`, true},
		{`{"exchange": "x", "type": "topic", "queue": "q", "exclusive": false}`, true},
		{`{"exchange": "x", "type": "topic"}`, false}, // broker-named: one per consumer
		{`{"exchange": "x", "type": "topic", "queue": "q", "exclusive": true}`, false},
		{`{"exchange": "x", "type": "topic", "queue": "q", "queue-def": {"exclusive": 1}}`, false},
		{`{"exchange": "x", "type": "topic", "queue": "q", "consistent-worker": true}`, false},
	} {
		s, _, err := Parse([]byte(c.desc))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Shared(); got != c.want {
			t.Errorf("Shared of %s = %v, want %v", c.desc, got, c.want)
		}
	}
}
