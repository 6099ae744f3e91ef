package broker

import (
	"context"
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

func (c *Conn) deliveryMode() uint8 {
	if c.opt.Persistent {
		return amqp.Persistent
	}
	return amqp.Transient
}

// channel returns the publishing channel (confirm) or the query channel, opening one on the
// current connection when there is none or the broker closed the last one. Callers hold
// c.pubMu.
func (c *Conn) channel(confirm bool) (*pubChannel, error) {
	slot := &c.qpub
	if confirm {
		slot = &c.pub
	}
	if *slot != nil && !(*slot).isClosed() {
		return *slot, nil
	}
	*slot = nil
	conn := c.current()
	if conn == nil {
		return nil, errNoConnection
	}
	pc, err := c.openPubChannel(conn, confirm)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot open a channel: %v", errNoConnection, err)
	}
	*slot = pc
	return pc, nil
}

// send publishes m on the publishing channel from the caller's goroutine (the caller is a
// Kamailio process's own thread: handing the message to another goroutine would cost two
// more thread wake-ups). Writing cannot block it past its timeout either: every socket
// write carries a deadline (deadlineConn), and a missed one closes the connection.
// msgID, when set, becomes the AMQP message-id, by which a basic.return finds its query.
// Without confirm (query requests: the reply proves delivery, and a confirm would wake the
// process once more per query) the returned confirmation is nil.
func (c *Conn) send(m Message, mandatory bool, msgID string, confirm bool) (*pubChannel, *amqp.DeferredConfirmation, error) {
	c.pubMu.Lock()
	pc, err := c.channel(confirm)
	var dc *amqp.DeferredConfirmation
	if err == nil {
		p := amqp.Publishing{ContentType: "application/json", Headers: m.Headers, Body: m.Body, MessageId: msgID,
			DeliveryMode: c.deliveryMode()}
		if confirm {
			dc, err = pc.ch.PublishWithDeferredConfirm(m.Exchange, m.RoutingKey, mandatory, false, p)
		} else {
			err = pc.ch.PublishWithContext(context.Background(), m.Exchange, m.RoutingKey, mandatory, false, p)
		}
	}
	c.pubMu.Unlock()
	if errors.Is(err, errNoConnection) || errors.Is(err, amqp.ErrClosed) {
		return nil, nil, status.Errorf(status.NoBroker, "broker %s: %v", c.Broker.Masked(), err)
	}
	if err != nil {
		return nil, nil, status.Errorf(status.Rejected, "broker %s: publish failed: %v", c.Broker.Masked(), err)
	}
	return pc, dc, nil
}

// refused explains a confirm that came back negative: a nack, or the channel died
// (amqp091 resolves pending confirms as not acked when a channel closes). The channel's
// close reason arrives just before or right after the confirm.
func (c *Conn) refused(pc *pubChannel, exchange string) error {
	grace := time.NewTimer(50 * time.Millisecond)
	defer grace.Stop()
	select {
	case <-pc.closed:
		if pc.closeErr != nil {
			return status.Errorf(status.Rejected, "broker %s refused the message to exchange %q: %s",
				c.Broker.Masked(), exchange, pc.closeErr.Reason)
		}
		return status.Errorf(status.NoBroker, "broker %s: connection lost before the confirm", c.Broker.Masked())
	case <-grace.C:
		return status.Errorf(status.Rejected, "broker %s nacked the message to exchange %q", c.Broker.Masked(), exchange)
	}
}

// Publish sends m and waits until deadline for the broker's confirm.
func (c *Conn) Publish(m Message, deadline time.Time) error {
	pc, dc, err := c.send(m, c.opt.Mandatory, "", true)
	if err != nil {
		return err
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
	return c.refused(pc, m.Exchange)
}
