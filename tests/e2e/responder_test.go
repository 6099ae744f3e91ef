package e2e

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// respond is how a test's Kazoo stand-in answers one request: the reply body (nil: no
// reply) and how long to wait before sending it.
type respond func(req map[string]any, d amqp.Delivery) (reply []byte, delay time.Duration)

// responder answers requests published to exchange with bindingKey the way Kazoo does:
// targeted_publish(Server-ID, reply) — exchange "targeted", routing key = the request's
// Server-ID. It counts the requests it saw.
type responder struct{ seen atomic.Int64 }

func startResponder(t *testing.T, r *harness.Rabbit, exchange, bindingKey string, answer respond) *responder {
	t.Helper()
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(exchange, "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("targeted", "direct", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, bindingKey, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	rs := &responder{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	go func() {
		for d := range deliveries {
			rs.seen.Add(1)
			var req map[string]any
			_ = json.Unmarshal(d.Body, &req)
			body, delay := answer(req, d)
			if body == nil {
				continue
			}
			serverID, _ := req["Server-ID"].(string)
			go func() {
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return
				}
				_ = pub.PublishWithContext(ctx, "targeted", serverID, false, false,
					amqp.Publishing{ContentType: "application/json", Body: body})
			}()
		}
	}()
	return rs
}

// echo answers {"Event-Name":"pong","Msg-ID":<request's>,"Request":<request>}.
func echo(delay time.Duration) respond {
	return func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		b, _ := json.Marshal(map[string]any{"Event-Category": "test", "Event-Name": "pong",
			"Msg-ID": req["Msg-ID"], "Request": req, "Headers": d.Headers})
		return b, delay
	}
}
