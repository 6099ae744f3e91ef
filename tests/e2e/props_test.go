package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// propsRoutes report $kzProps of a consumed message, one header read with kz.json, and
// $kzProps in a connection event's route (no message: $null).
const propsRoutes = `
event_route[kazoo:consumer-event-props-x] {
	kazoo_publish("kz_e2e_out", "out", '{"Route": "props", "P": $kzProps, "Zone": "$(kzProps{kz.json,headers.x-zone})", "E": $kzE}');
}
event_route[kazoo:consumer-event-connection-open] {
	xlog("L_NOTICE", "CONNPROPS [$kzProps]\n");
}
`

// $kzProps: a consumed message's AMQP properties and headers, as JSON, in its event route.
func TestEventProperties(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kz_e2e_out", "topic", "out")
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{
		"ModInit": `	kazoo_subscribe('{"exchange": "kz_e2e_props", "type": "topic", "queue": "kz-e2e-props", "routing": "p.*"}');`,
		"Routes":  propsRoutes}))
	if !k.WaitLog(t, "CONNPROPS [<null>]", 10*time.Second) {
		t.Fatalf("the connection event's $kzProps is not null\n%s", k.Log())
	}
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	var got map[string]any
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		// the subscription may not be bound yet: publish until a report comes back
		err := ch.PublishWithContext(context.Background(), "kz_e2e_props", "p.1", false, false, amqp.Publishing{
			ContentType: "application/json", CorrelationId: "corr-7", ReplyTo: "reply-q", MessageId: "mid-1",
			AppId: "e2e", Priority: 3, Timestamp: time.Unix(1700000000, 0),
			Headers: amqp.Table{"x-zone": "east", "x-try": int32(2), "x-raw": []byte{0xff}},
			Body:    []byte(`{"Event-Category": "props", "Event-Name": "x"}`)})
		if err != nil && !strings.Contains(err.Error(), "NOT_FOUND") {
			t.Fatal(err)
		}
		// consumeCfg's other routes report connection events to the same queue
		for d, ok := q.Next(t, 500*time.Millisecond); ok; d, ok = q.Next(t, 100*time.Millisecond) {
			if err := json.Unmarshal(d.Body, &got); err != nil {
				t.Fatalf("%s: %v", d.Body, err)
			}
			if got["Route"] == "props" {
				break
			}
			got = nil
		}
		if got != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no event route ran\n%s", k.Log())
		}
		if err != nil { // the exchange did not exist yet: the channel is closed
			if ch, err = conn.Channel(); err != nil {
				t.Fatal(err)
			}
		}
	}
	p, _ := got["P"].(map[string]any)
	want := map[string]any{"exchange": "kz_e2e_props", "routing_key": "p.1", "redelivered": false,
		"content_type": "application/json", "correlation_id": "corr-7", "reply_to": "reply-q",
		"message_id": "mid-1", "app_id": "e2e", "priority": 3.0, "timestamp": 1700000000.0}
	for key, v := range want {
		if p[key] != v {
			t.Errorf("$kzProps %s = %v, want %v (all: %v)", key, p[key], v, p)
		}
	}
	h, _ := p["headers"].(map[string]any)
	if h["x-zone"] != "east" || h["x-try"] != 2.0 || h["x-raw"] != "/w==" {
		t.Errorf("$kzProps headers %v", h)
	}
	if got["Zone"] != "east" {
		t.Errorf("$(kzProps{kz.json,headers.x-zone}) = %v", got["Zone"])
	}
	if e, _ := got["E"].(map[string]any); e["Event-Name"] != "x" {
		t.Errorf("$kzE %v", got["E"])
	}
}
