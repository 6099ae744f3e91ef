package broker

import (
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Message is what a script publishes. The slices are only read during Publish.
type Message struct {
	Exchange   string
	RoutingKey string
	Headers    amqp.Table
	Body       []byte
}

var errNoConnection = errors.New("not connected")

// channel returns the publishing channel, opening one on the current connection when there
// is none or the broker closed the last one. Callers hold c.pubMu.
func (c *Conn) channel() (*pubChannel, error) {
	if c.pub != nil && !c.pub.isClosed() {
		return c.pub, nil
	}
	c.pub = nil
	conn := c.current()
	if conn == nil {
		return nil, errNoConnection
	}
	pc, err := c.openPubChannel(conn)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot open a channel: %v", errNoConnection, err)
	}
	c.pub = pc
	return pc, nil
}

// Publish sends m on this connection, from the caller's goroutine, and waits until deadline
// for the broker's confirm. The caller is a Kamailio process's own thread: handing the
// message to another goroutine would cost two more thread wake-ups per publish. Writing
// cannot block it past the timeout either: every socket write of the connection carries a
// deadline (deadlineConn), and a write that misses it closes the connection.
func (c *Conn) Publish(m Message, deadline time.Time) error {
	c.pubMu.Lock()
	pc, err := c.channel()
	var dc *amqp.DeferredConfirmation
	if err == nil {
		dc, err = pc.ch.PublishWithDeferredConfirm(m.Exchange, m.RoutingKey, false, false,
			amqp.Publishing{ContentType: "application/json", Headers: m.Headers, Body: m.Body})
	}
	c.pubMu.Unlock()
	if errors.Is(err, errNoConnection) || errors.Is(err, amqp.ErrClosed) {
		return status.Errorf(status.NoBroker, "broker %s: %v", c.Broker.Masked(), err)
	}
	if err != nil {
		return status.Errorf(status.Rejected, "broker %s: publish failed: %v", c.Broker.Masked(), err)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-dc.Done():
	case <-timer.C:
		return status.Errorf(status.Timeout, "broker %s: no confirm within the timeout", c.Broker.Masked())
	}
	if dc.Acked() {
		return nil
	}
	// Not acked: a nack, or the channel died (amqp091 resolves pending confirms as not acked
	// when a channel closes). The channel's close reason arrives just before or right after.
	grace := time.NewTimer(50 * time.Millisecond)
	defer grace.Stop()
	select {
	case <-pc.closed:
		if pc.closeErr != nil {
			return status.Errorf(status.Rejected, "broker %s refused the publish to exchange %q: %s",
				c.Broker.Masked(), m.Exchange, pc.closeErr.Reason)
		}
		return status.Errorf(status.NoBroker, "broker %s: connection lost before the confirm", c.Broker.Masked())
	case <-grace.C:
		return status.Errorf(status.Rejected, "broker %s nacked the publish to exchange %q", c.Broker.Masked(), m.Exchange)
	}
}
