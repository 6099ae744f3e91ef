package broker

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Message is what a script publishes. Body is copied before Publish returns.
type Message struct {
	Exchange   string
	RoutingKey string
	Headers    amqp.Table
	Body       []byte
}

// request travels from the caller to the publisher goroutine. Two parties hold it; the
// last to let go returns it to the pool, so a caller that gave up on a stuck publisher never
// has its buffer reused under the publisher's feet.
type request struct {
	msg   Message
	body  []byte
	reply chan published
	refs  atomic.Int32
}

type published struct {
	dc  *amqp.DeferredConfirmation
	pc  *pubChannel
	err error
}

var requests = sync.Pool{New: func() any { return &request{reply: make(chan published, 1)} }}

func newRequest(m Message) *request {
	r := requests.Get().(*request)
	select { // a reply left by a publisher whose caller had given up
	case <-r.reply:
	default:
	}
	r.body = append(r.body[:0], m.Body...)
	r.msg = m
	r.msg.Body = r.body
	r.refs.Store(2)
	return r
}

func (r *request) release() {
	if r.refs.Add(-1) == 0 {
		r.msg = Message{}
		requests.Put(r)
	}
}

// publisher performs the publishes of this connection, one at a time, in order. It owns
// the publishing channel.
func (c *Conn) publisher() {
	var pc *pubChannel
	for {
		select {
		case <-c.stop:
			return
		case r := <-c.reqs:
			var p published
			if pc == nil || pc.isClosed() {
				pc = nil
				if conn := c.current(); conn != nil {
					if pc, p.err = openPubChannel(conn); p.err != nil {
						p.err = fmt.Errorf("%w: %v", errNoChannel, p.err)
					}
				} else {
					p.err = errNoChannel
				}
			}
			if pc != nil {
				p.pc = pc
				p.dc, p.err = pc.ch.PublishWithDeferredConfirm(r.msg.Exchange, r.msg.RoutingKey, false, false,
					amqp.Publishing{ContentType: "application/json", Headers: r.msg.Headers, Body: r.msg.Body})
			}
			r.reply <- p
			r.release()
		}
	}
}

var errNoChannel = errors.New("no open channel")

// Publish sends m on this connection and waits, until deadline, for the broker's confirm.
func (c *Conn) Publish(m Message, deadline time.Time) error {
	r := newRequest(m)
	defer r.release()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case c.reqs <- r:
	case <-timer.C:
		r.release() // never reached the publisher
		return status.Errorf(status.Timeout, "broker %s: publisher busy until the timeout", c.Broker.Masked())
	}
	var p published
	select {
	case p = <-r.reply:
	case <-timer.C:
		return status.Errorf(status.Timeout, "broker %s: publish not written within the timeout (connection blocked or stalled?)", c.Broker.Masked())
	}
	if errors.Is(p.err, errNoChannel) || errors.Is(p.err, amqp.ErrClosed) {
		return status.Errorf(status.NoBroker, "broker %s: not connected (%v)", c.Broker.Masked(), p.err)
	}
	if p.err != nil {
		return status.Errorf(status.Rejected, "broker %s: publish failed: %v", c.Broker.Masked(), p.err)
	}
	select {
	case <-p.dc.Done():
	case <-timer.C:
		return status.Errorf(status.Timeout, "broker %s: no confirm within the timeout", c.Broker.Masked())
	}
	if p.dc.Acked() {
		return nil
	}
	// Not acked: either a nack, or the channel died (amqp091 resolves pending confirms as
	// not acked when the channel closes). The channel's close reason says more; it arrives
	// just before, or right after, the confirm is resolved.
	grace := time.NewTimer(50 * time.Millisecond)
	defer grace.Stop()
	select {
	case <-p.pc.closed:
		if p.pc.closeErr != nil {
			return status.Errorf(status.Rejected, "broker %s refused the publish to exchange %q: %s",
				c.Broker.Masked(), m.Exchange, p.pc.closeErr.Reason)
		}
		return status.Errorf(status.Rejected, "broker %s: channel closed before the confirm", c.Broker.Masked())
	case <-grace.C:
		return status.Errorf(status.Rejected, "broker %s nacked the publish to exchange %q", c.Broker.Masked(), m.Exchange)
	}
}
