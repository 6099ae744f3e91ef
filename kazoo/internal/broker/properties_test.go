package broker

import (
	"encoding/json"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// $kzProps: the set properties, the headers with their AMQP types made JSON, nothing for
// properties the message does not carry.
func TestPropertiesJSON(t *testing.T) {
	d := &Delivery{Exchange: "ex", RoutingKey: "a.b", Redelivered: true,
		Properties: propertiesOf(&amqp.Delivery{ContentType: "application/json", DeliveryMode: 2,
			CorrelationId: "c-1", ReplyTo: "q", MessageId: "m-1", AppId: "kazoo",
			Timestamp: time.Unix(1700000000, 0),
			Headers: amqp.Table{"s": "x", "i": int32(7), "b": true, "raw": []byte{0xff, 0}, "txt": []byte("hi"),
				"t": time.Unix(1700000001, 0), "d": amqp.Decimal{Scale: 2, Value: 1234},
				"nested": amqp.Table{"l": []any{int64(1), "two"}}}})}
	b, err := d.PropertiesJSON([]byte("prefix:"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:7]) != "prefix:" {
		t.Fatalf("not appended: %s", b)
	}
	var got map[string]any
	if err := json.Unmarshal(b[7:], &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]any{"exchange": "ex", "routing_key": "a.b", "redelivered": true,
		"content_type": "application/json", "delivery_mode": 2.0, "correlation_id": "c-1", "reply_to": "q",
		"message_id": "m-1", "app_id": "kazoo", "timestamp": 1700000000.0}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, absent := range []string{"priority", "expiration", "type", "user_id", "content_encoding"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s present", absent)
		}
	}
	h := got["headers"].(map[string]any)
	if h["s"] != "x" || h["i"] != 7.0 || h["b"] != true || h["raw"] != "/wA=" || h["txt"] != "hi" ||
		h["t"] != 1700000001.0 || h["d"] != 12.34 {
		t.Errorf("headers %v", h)
	}
	if l := h["nested"].(map[string]any)["l"].([]any); l[0] != 1.0 || l[1] != "two" {
		t.Errorf("nested %v", h["nested"])
	}
	// no properties, no headers: the delivery fields only
	b, _ = (&Delivery{Exchange: "ex", RoutingKey: "k"}).PropertiesJSON(nil)
	if string(b) != `{"exchange":"ex","redelivered":false,"routing_key":"k"}` {
		t.Errorf("bare: %s", b)
	}
}
