package amqpfake

import (
	"reflect"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// What the encoder writes, the decoder reads back (the fake sends tables and properties
// with the one and reads the client's with the other).
func TestPropertiesRoundTrip(t *testing.T) {
	p := Properties{ContentType: "application/json", Headers: amqp.Table{"s": "v", "n": int32(7), "l": int64(-1),
		"b": true, "t": amqp.Table{"x": []byte("y")}, "a": []any{"p", int64(2)}, "nil": nil},
		DeliveryMode: 2, CorrelationID: "c", MessageID: "m", Timestamp: time.Unix(1700000000, 0), AppID: "app"}
	d := &decoder{b: (&args{}).properties(p).b}
	got := d.properties()
	if d.err != nil || len(d.b) != 0 || !reflect.DeepEqual(got, p) {
		t.Fatalf("got %+v (%v, %d left), want %+v", got, d.err, len(d.b), p)
	}
}

func TestTopicMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, key string
		want         bool
	}{
		{"a.b", "a.b", true}, {"a.*", "a.b", true}, {"a.*", "a.b.c", false}, {"a.#", "a", true},
		{"a.#", "a.b.c", true}, {"#", "", true}, {"#.c", "a.b.c", true}, {"*.b.#", "a.b", true}, {"a.b", "a.c", false},
	} {
		if got := matches("topic", c.pattern, c.key); got != c.want {
			t.Errorf("%q ~ %q: %v", c.pattern, c.key, got)
		}
	}
}
