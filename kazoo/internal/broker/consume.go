package broker

import (
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

var errChannelClosed = errors.New("channel closed")

// ConsumeSpec is what a Consumer consumes.
type ConsumeSpec struct {
	Sub      subscription.Subscription // declared as the C module declares it (declare)
	Tag      string                    // the consumer tag
	Prefetch int                       // basic.qos: unacknowledged messages at most
	// OnState, when set, is called on the consumer's goroutine at each change of its
	// state; it must not block.
	OnState func(ConsumerState)
}

// ConsumerPhase is where a Consumer stands.
type ConsumerPhase int

const (
	Consuming ConsumerPhase = iota // basic.consume-ok came
	Cancelled                      // the broker cancelled it (basic.cancel); set up again after Options.Reconnect's wait
	Retrying                       // its channel failed (a refused declaration, a closed channel); tried again after a wait
)

func (p ConsumerPhase) String() string {
	return [...]string{"consuming", "cancelled", "retrying"}[p]
}

// ConsumerState is a Consumer's phase, since when, why (Cancelled, Retrying) and when the
// next attempt is due.
type ConsumerState struct {
	Phase  ConsumerPhase
	Since  time.Time
	Reason string
	Next   time.Time
}

// ErrCancelled is what a Consumer's channel ended with when the broker cancelled the
// consumer (RabbitMQ sends basic.cancel when the queue is deleted, its node goes down, or
// a quorum queue's leader changes in some versions) while the channel stays open.
var ErrCancelled = errors.New("the broker cancelled the consumer (queue deleted, its node down, or a leader change)")

// Delivery is a consumed message, valid during the handler's call; its Receipt (a value)
// may be kept to acknowledge it later.
type Delivery struct {
	Receipt
	Exchange, RoutingKey string
	Redelivered          bool
	Properties           Properties
	Body                 []byte
	// Oversized is set when the body, empty here, was dropped unread for its size
	// (Options.MaxBody).
	Oversized *Oversized
}

// Receipt acknowledges or rejects one consumed message, on the channel it came on. Once
// that channel is closed, the broker redelivers the message and these fail.
type Receipt struct {
	ch  *amqp.Channel
	Tag uint64 // the delivery tag
}

// Ack acknowledges the message.
func (r Receipt) Ack() error { return r.ch.Ack(r.Tag, false) }

// AckThrough acknowledges the message and every earlier unacknowledged one of its channel
// (basic.ack with multiple set).
func (r Receipt) AckThrough() error { return r.ch.Ack(r.Tag, true) }

// Reject refuses the message without requeue (dead-lettered when its queue has a
// dead-letter exchange).
func (r Receipt) Reject() error { return r.ch.Reject(r.Tag, false) }

// ChannelClosed tells whether the message's channel is gone (the broker redelivers it).
func (r Receipt) ChannelClosed() bool { return r.ch.IsClosed() }

// SameChannel tells whether two messages came on the same channel (AckThrough of the later
// one acknowledges both).
func (r Receipt) SameChannel(o Receipt) bool { return r.ch == o.ch }

// Consumer keeps one subscription consumed on one session until cancelled or the session
// ends. A channel error (a declaration the broker refuses, 406 PRECONDITION_FAILED for
// flags that differ from an existing queue, ...) is logged and retried after
// Options.ConsumeRetry's wait, so one bad subscription neither stops the others nor floods
// the log. A consumer the broker cancels (basic.cancel while the channel stays open) is
// declared and consumed again after Options.Reconnect's waits, as a lost connection is.
type Consumer struct {
	stop chan struct{}
	mu   sync.Mutex
	ch   *amqp.Channel // the current channel, closed by Cancel
}

// Consume starts a Consumer; handle gets each message in order, on the consumer's goroutine.
func (s *Session) Consume(spec ConsumeSpec, handle func(*Delivery)) *Consumer {
	c := &Consumer{stop: make(chan struct{})}
	go c.run(s, spec, handle)
	return c
}

// Cancel stops the consumer and closes its channel (the broker requeues what it had not
// acknowledged). Later calls do nothing.
func (c *Consumer) Cancel() {
	c.mu.Lock()
	if c.stopped() {
		c.mu.Unlock()
		return
	}
	close(c.stop)
	if c.ch != nil {
		_ = c.ch.Close()
	}
	c.mu.Unlock()
}

func (c *Consumer) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

func (c *Consumer) run(s *Session, spec ConsumeSpec, handle func(*Delivery)) {
	bc := s.c
	failures := 0
	afterCancel := false
	for {
		consumed, err := c.consumeOnce(s, spec, handle)
		if c.stopped() || s.Closed() {
			return
		}
		if consumed {
			failures, afterCancel = 0, false // it ran: what ended it is a new fault
		}
		phase := Retrying
		if errors.Is(err, ErrCancelled) {
			phase, afterCancel = Cancelled, true
		}
		// a cancel comes from the broker's side (a deleted queue, a node gone), like a lost
		// connection, and is retried as fast; a refused declaration fails the same way
		// until the broker or the script changes, and is retried slowly
		retry := bc.opt.ConsumeRetry
		if afterCancel {
			retry = bc.opt.Reconnect
		}
		wait := retry.Delay(failures)
		failures++
		now := time.Now()
		spec.report(ConsumerState{Phase: phase, Since: now, Reason: err.Error(), Next: now.Add(wait)})
		switch {
		case phase == Cancelled:
			// logged by OnState's owner, which knows whether other workers report the same
		case failures == 1 || failures%10 == 0:
			bc.log.Errorf("subscription %s on broker %s: %v; retrying in %v", spec.Sub.ID(), bc.Broker.Masked(), err, wait.Round(time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (spec ConsumeSpec) report(st ConsumerState) {
	if spec.OnState != nil {
		spec.OnState(st)
	}
}

// consumeOnce opens a channel, declares, consumes until the channel closes or the broker
// cancels the consumer; returns whether it consumed, and why it ended.
func (c *Consumer) consumeOnce(s *Session, spec ConsumeSpec, handle func(*Delivery)) (bool, error) {
	ch, err := s.conn.Channel()
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	if c.stopped() {
		c.mu.Unlock()
		_ = ch.Close()
		return false, nil
	}
	c.ch = ch
	c.mu.Unlock()
	defer ch.Close()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	// amqp091 sends the tag here before it ends the deliveries of a cancelled consumer,
	// and closes it with the channel
	cancelled := ch.NotifyCancel(make(chan string, 1))
	queue, err := declare(ch, spec.Sub)
	if err != nil {
		return false, err
	}
	if err := ch.Qos(spec.Prefetch, 0, false); err != nil {
		return false, err
	}
	deliveries, err := ch.Consume(queue, spec.Tag, false, false, false, false, nil)
	if err != nil {
		return false, err
	}
	spec.report(ConsumerState{Phase: Consuming, Since: time.Now()})
	for d := range deliveries {
		dv := Delivery{Receipt: Receipt{ch: ch, Tag: d.DeliveryTag}, Exchange: d.Exchange, RoutingKey: d.RoutingKey,
			Redelivered: d.Redelivered, Properties: propertiesOf(&d), Body: d.Body}
		if len(d.Body) == 0 {
			// an empty body may be one the connection dropped unread for its size
			if o, ok := s.c.TakeOversized(d.ConsumerTag, d.DeliveryTag); ok {
				dv.Oversized = o
			}
		}
		handle(&dv)
	}
	// the deliveries end with the channel, or with a basic.cancel while it stays open
	if _, ok := <-cancelled; ok && !ch.IsClosed() {
		return true, fmt.Errorf("queue %q: %w", queue, ErrCancelled)
	}
	if e := <-closed; e != nil {
		return true, e
	}
	return true, errChannelClosed
}
