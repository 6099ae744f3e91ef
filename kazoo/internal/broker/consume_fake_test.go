package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// consumed is a Consumer under test: its states and message bodies as they come.
type consumed struct {
	states chan ConsumerState
	bodies chan string
}

func consumeFake(t *testing.T, f *fixture, c *Conn, desc string) (*consumed, *Consumer) {
	t.Helper()
	sub, _, err := subscription.Parse([]byte(desc))
	if err != nil {
		t.Fatal(err)
	}
	got := &consumed{states: make(chan ConsumerState, 64), bodies: make(chan string, 64)}
	spec := ConsumeSpec{Sub: sub, Tag: "test-1-" + sub.ID(), Prefetch: 8,
		OnState: func(st ConsumerState) { got.states <- st }}
	cons := c.Session().Consume(spec, func(d *Delivery) {
		got.bodies <- string(d.Body)
		_ = d.Ack()
	})
	t.Cleanup(cons.Cancel)
	return got, cons
}

func (g *consumed) state(t *testing.T, want ConsumerPhase) ConsumerState {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case st := <-g.states:
			if st.Phase == want {
				return st
			}
		case <-timeout:
			t.Fatalf("consumer never %v", want)
			return ConsumerState{}
		}
	}
}

func (g *consumed) body(t *testing.T, want string) {
	t.Helper()
	select {
	case b := <-g.bodies:
		if b != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	case <-time.After(wait):
		t.Fatalf("%q not delivered", want)
	}
}

// A consumer the broker cancels while its channel stays open (the queue deleted, its node
// down) reports Cancelled with the queue's name, declares the queue again after the first
// Reconnect wait (as for a lost connection, not ConsumeRetry's) and consumes again; the
// same after a bare basic.cancel.
func TestFakeConsumerCancelledIsRestored(t *testing.T) {
	srv := amqpfake.NewServer()
	f := newFixture(t, srv.Dial)
	f.opt.ConsumeRetry = Retry{Initial: time.Minute, Max: time.Minute, Factor: 2} // never waited here
	c := f.conn(srv)
	f.until(1, true)
	got, _ := consumeFake(t, f, c, `{"name": "work", "exchange": "kz_work", "type": "topic", "queue": "work-q", "routing": "w.#"}`)
	got.state(t, Consuming)
	srv.Publish("kz_work", "w.1", amqpfake.Properties{}, []byte("one"))
	got.body(t, "one")

	srv.DeleteQueue("work-q")
	st := got.state(t, Cancelled)
	if !strings.Contains(st.Reason, `queue "work-q"`) || !strings.Contains(st.Reason, "cancelled") {
		t.Errorf("reason %q", st.Reason)
	}
	if wait := st.Next.Sub(st.Since); wait > 10*time.Millisecond {
		t.Errorf("next attempt in %v, want Reconnect's first wait (1 ms ±25 %%)", wait)
	}
	got.state(t, Consuming)
	if !srv.HasQueue("work-q") {
		t.Fatal("the queue was not declared again")
	}
	srv.Publish("kz_work", "w.2", amqpfake.Properties{}, []byte("two"))
	got.body(t, "two")

	tags := srv.ConsumerTags("work-q")
	if len(tags) != 1 || !srv.Conns()[0].CancelConsumer(tags[0]) {
		t.Fatalf("consumer tags %v", tags)
	}
	got.state(t, Cancelled)
	got.state(t, Consuming)
	srv.Publish("kz_work", "w.3", amqpfake.Properties{}, []byte("three"))
	got.body(t, "three")
}

// Cancel (ours) ends the consumer without a Cancelled or Retrying report.
func TestFakeConsumerCancelByUs(t *testing.T) {
	srv := amqpfake.NewServer()
	f := newFixture(t, srv.Dial)
	c := f.conn(srv)
	f.until(1, true)
	got, cons := consumeFake(t, f, c, `{"name": "work", "exchange": "kz_work", "type": "topic", "queue": "work-q", "routing": "w.#"}`)
	got.state(t, Consuming)
	cons.Cancel()
	select {
	case st := <-got.states:
		t.Fatalf("state %v after our own Cancel", st.Phase)
	case <-time.After(200 * time.Millisecond):
	}
	if n := len(srv.ConsumerTags("work-q")); n != 0 {
		t.Errorf("%d consumers left", n)
	}
}
