package broker

import (
	"errors"
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
}

// Delivery is a consumed message, valid during the handler's call; its Receipt (a value)
// may be kept to acknowledge it later.
type Delivery struct {
	Receipt
	Exchange, RoutingKey string
	Redelivered          bool
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
// the log.
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
// acknowledged). Call it once.
func (c *Consumer) Cancel() {
	close(c.stop)
	c.mu.Lock()
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
	for {
		err := c.consumeOnce(s, spec, handle)
		if c.stopped() || s.Closed() {
			return
		}
		wait := bc.opt.ConsumeRetry.Delay(failures)
		failures++
		if failures == 1 || failures%10 == 0 {
			bc.log.Errorf("subscription %s on broker %s: %v; retrying in %v", spec.Sub.ID(), bc.Broker.Masked(), err, wait)
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

// consumeOnce opens a channel, declares, consumes until the channel closes; returns why.
func (c *Consumer) consumeOnce(s *Session, spec ConsumeSpec, handle func(*Delivery)) error {
	ch, err := s.conn.Channel()
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.stopped() {
		c.mu.Unlock()
		_ = ch.Close()
		return nil
	}
	c.ch = ch
	c.mu.Unlock()
	defer ch.Close()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	queue, err := declare(ch, spec.Sub)
	if err != nil {
		return err
	}
	if err := ch.Qos(spec.Prefetch, 0, false); err != nil {
		return err
	}
	deliveries, err := ch.Consume(queue, spec.Tag, false, false, false, false, nil)
	if err != nil {
		return err
	}
	for d := range deliveries {
		dv := Delivery{Receipt: Receipt{ch: ch, Tag: d.DeliveryTag}, Exchange: d.Exchange, RoutingKey: d.RoutingKey,
			Redelivered: d.Redelivered, Body: d.Body}
		if len(d.Body) == 0 {
			// an empty body may be one the connection dropped unread for its size
			if o, ok := s.c.TakeOversized(d.ConsumerTag, d.DeliveryTag); ok {
				dv.Oversized = o
			}
		}
		handle(&dv)
	}
	if e := <-closed; e != nil {
		return e
	}
	return errChannelClosed
}
