package broker

import (
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

var event = Message{Exchange: "amq.topic", RoutingKey: "call.event", Headers: amqp.Table{"h": "v"}, Body: []byte(`{"Event-Name":"x"}`)}

// A confirmed publish returns nil; the broker got the message as sent, persistent when
// configured so.
func TestFakePublishConfirmed(t *testing.T) {
	srv, c, _, _ := startFake(t, func(o *Options) { o.Persistent = true })
	if err := c.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
	e, _ := srv.WaitMethod(wait, "basic.publish")
	p := e.Publish
	if p.Exchange != "amq.topic" || p.RoutingKey != "call.event" || string(p.Body) != `{"Event-Name":"x"}` ||
		p.ContentType != "application/json" || p.DeliveryMode != 2 || p.Headers["h"] != "v" || p.Seq != 1 || p.Mandatory {
		t.Fatalf("published %+v", p)
	}
	if srv.Count("confirm.select") != 1 {
		t.Error("the publishing channel is not in confirm mode")
	}
}

// A nack is a Rejected error.
func TestFakePublishNacked(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	srv.OnPublish(func(p *amqpfake.Publish) { p.Nack() })
	wantCode(t, c.Publish(event, deadline()), status.Rejected, "nacked the message to exchange \"amq.topic\"")
	srv.OnPublish(nil)
	if err := c.Publish(event, deadline()); err != nil {
		t.Fatalf("the channel is still usable after a nack: %v", err)
	}
}

// No confirm before the deadline: Timeout; the late confirm changes nothing for the next
// publish.
func TestFakeConfirmTimeout(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	held := make(chan *amqpfake.Publish, 1)
	srv.OnPublish(func(p *amqpfake.Publish) { held <- p })
	wantCode(t, c.Publish(event, time.Now().Add(20*time.Millisecond)), status.Timeout, "no confirm within the timeout")
	srv.OnPublish(nil)
	(<-held).Ack()
	if err := c.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
}

// A mandatory publish nothing is bound for comes back by basic.return to OnReturn; its
// confirm is still positive (RabbitMQ acks a returned message).
func TestFakeMandatoryReturned(t *testing.T) {
	returned := make(chan Returned, 1)
	srv, c, _, _ := startFake(t, func(o *Options) {
		o.Mandatory = true
		o.OnReturn = func(_ *Conn, r Returned) { returned <- r }
	})
	if err := c.Publish(Message{Exchange: "amq.direct", RoutingKey: "nobody", Body: []byte(`{}`)}, deadline()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-returned:
		if r.Code != 312 || r.Reason != "NO_ROUTE" || r.RoutingKey != "nobody" {
			t.Fatalf("return %+v", r)
		}
	case <-time.After(wait):
		t.Fatal("no basic.return reached OnReturn")
	}
	if e, _ := srv.WaitMethod(wait, "basic.publish"); !e.Publish.Mandatory {
		t.Error("not published mandatory")
	}
}

// An unknown exchange closes the channel (404): Rejected with the broker's reason, and the
// next publish gets a fresh channel (the C module kept using the dead one).
func TestFakePublishUnknownExchange(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	wantCode(t, c.Publish(Message{Exchange: "nope", Body: []byte(`{}`)}, deadline()), status.Rejected,
		`refused the message to exchange "nope": NOT_FOUND - no exchange 'nope'`)
	if err := c.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("confirm.select"); n != 2 {
		t.Errorf("%d confirm channels opened, want 2", n)
	}
}

// A nack followed at once by the channel's close (either may reach the client first):
// Rejected either way, never a success or a timeout.
func TestFakeNackThenChannelClosed(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	srv.OnPublish(func(p *amqpfake.Publish) {
		p.Nack()
		p.Conn.CloseChannel(p.Channel, 406, "PRECONDITION_FAILED - test")
	})
	for i := 0; i < 20; i++ {
		wantCode(t, c.Publish(event, deadline()), status.Rejected, "")
	}
}

// The connection dies while a publish waits for its confirm: the publish may or may not
// have reached the broker, and the caller learns the connection was lost (NoBroker), not
// that the broker refused it.
func TestFakeConnectionLostBeforeConfirm(t *testing.T) {
	srv, c, f, _ := startFake(t, nil)
	srv.OnPublish(func(p *amqpfake.Publish) { p.Conn.Drop() })
	// amqp091 closes the channel with the connection's error (EOF): not the broker's refusal
	wantCode(t, c.Publish(event, deadline()), status.NoBroker, "connection lost before the confirm: EOF")
	f.until(1, true)
}

// The broker closes the connection (320 CONNECTION_FORCED: shut down, or closed by an
// operator) while a publish waits for its confirm: a lost connection too, with its reason.
func TestFakeForcedCloseBeforeConfirm(t *testing.T) {
	srv, c, f, _ := startFake(t, nil)
	srv.OnPublish(func(p *amqpfake.Publish) {
		p.Conn.Close(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
	})
	wantCode(t, c.Publish(event, deadline()), status.NoBroker, "connection lost before the confirm: CONNECTION_FORCED")
	f.until(1, true)
}

// StartPublish calls notify after the confirm; Result then has the outcome at once.
func TestFakeStartPublishNotify(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	held := make(chan *amqpfake.Publish, 1)
	srv.OnPublish(func(p *amqpfake.Publish) { held <- p })
	notified := make(chan struct{}, 16)
	p, err := c.StartPublish(event, func() { notified <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Done()
	if done, _ := p.Result(); done {
		t.Fatal("done before the confirm")
	}
	(<-held).Ack()
	select {
	case <-notified:
	case <-time.After(wait):
		t.Fatal("not notified of the confirm")
	}
	if done, err := p.Result(); !done || err != nil {
		t.Fatalf("result %v %v", done, err)
	}
}
