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
	Headers    Headers
	Body       []byte
	Mandatory  bool // this message is mandatory even without Options.Mandatory
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
		return c.channelEnded(pc, exchange, "confirm")
	case <-grace.C:
		return status.Errorf(status.Rejected, "broker %s nacked the message to exchange %q", c.Broker.Masked(), exchange)
	}
}

// channelEnded is the error of a request whose channel pc closed (pc.closed is closed)
// before its confirm or reply (awaited): the broker refused the message (a channel
// exception such as 404 for an unknown exchange), or the connection was lost, and with it
// every channel (amqp091 closes each with the connection's error: EOF, 320
// CONNECTION_FORCED). A lost connection is NoBroker, as for a publish with no connection:
// the message may or may not have reached the broker, and a spool takes it.
func (c *Conn) channelEnded(pc *pubChannel, exchange, awaited string) error {
	switch {
	case pc.closeErr == nil:
		return status.Errorf(status.NoBroker, "broker %s: connection lost before the %s", c.Broker.Masked(), awaited)
	case pc.connLost:
		return status.Errorf(status.NoBroker, "broker %s: connection lost before the %s: %s", c.Broker.Masked(), awaited, pc.closeErr.Reason)
	}
	return status.Errorf(status.Rejected, "broker %s refused the message to exchange %q: %s",
		c.Broker.Masked(), exchange, pc.closeErr.Reason)
}

// PublishPending is a publish sent and waiting for the broker's confirm (a value, kept by
// its caller).
type PublishPending struct {
	c        *Conn
	pc       *pubChannel
	dc       *amqp.DeferredConfirmation
	exchange string
}

// StartPublish sends m and returns without waiting for the confirm. notify (may be nil) is
// called from another goroutine after each confirm the broker sends on this connection's
// publishing channel, and when that channel closes, until Done: the caller then looks at
// Result (a Kamailio process waits for that in C, see Module.StartPublish).
func (c *Conn) StartPublish(m Message, notify func()) (PublishPending, error) {
	if notify != nil {
		c.confirmNotify.Store(&notify)
	}
	pc, dc, err := c.send(m, c.opt.Mandatory || m.Mandatory, "", true)
	if err != nil {
		if notify != nil { // only what this call set: a spool flush must not unset a waiter's
			c.confirmNotify.Store(nil)
		}
		return PublishPending{}, err
	}
	return PublishPending{c: c, pc: pc, dc: dc, exchange: m.Exchange}, nil
}

// Sent tells a started publish from the zero PublishPending.
func (p *PublishPending) Sent() bool { return p.c != nil }

// Confirmed is closed when the broker confirmed or refused the publish.
func (p *PublishPending) Confirmed() <-chan struct{} { return p.dc.Done() }

// Result is the publish's outcome once it has one (done). Never blocks, except for up to
// 50 ms to tell a nack from a closed channel.
func (p *PublishPending) Result() (done bool, err error) {
	select {
	case <-p.dc.Done():
	default:
		return false, nil
	}
	if p.dc.Acked() {
		return true, nil
	}
	return true, p.c.refused(p.pc, p.exchange)
}

// TimedOut is the error of a publish whose confirm did not come in time.
func (p *PublishPending) TimedOut() error {
	return status.Errorf(status.Timeout, "broker %s: no confirm within the timeout", p.c.Broker.Masked())
}

// Done stops the notifications of StartPublish.
func (p *PublishPending) Done() { p.c.confirmNotify.Store(nil) }

// notifyConfirm tells the process waiting for a publish's confirm (StartPublish) to look.
func (c *Conn) notifyConfirm() {
	if f := c.confirmNotify.Load(); f != nil {
		(*f)()
	}
}

// Publish sends m and waits until deadline for the broker's confirm.
func (c *Conn) Publish(m Message, deadline time.Time) error {
	p, err := c.StartPublish(m, nil)
	if err != nil {
		return err
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-p.Confirmed():
	case <-timer.C:
		return p.TimedOut()
	}
	_, err = p.Result()
	return err
}
