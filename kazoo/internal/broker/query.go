package broker

import (
	"bytes"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/valyala/fastjson"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// targetedExchange is where Kazoo sends replies: targeted_publish(Server-ID, ...) publishes
// to exchange "targeted" (direct) with the request's Server-ID as routing key. Declared as
// the C module declares it (non-durable, not auto-delete), so either can run first.
const targetedExchange = "targeted"

// ReplyQueue is this process's reply queue on this broker, and the Server-ID of its
// requests: deterministic (node, pid, broker id) so that it is recognisable in the broker's
// UI, exclusive and auto-delete so that it dies with the connection.
func (c *Conn) ReplyQueue() string { return c.replyQueue }

// setupReplies declares the reply queue, binds it to "targeted" and consumes it, on a
// channel of its own. Once the consumer stops without its connection ending (the broker
// cancelled it: basic.cancel, the queue was deleted; or it closed the channel), ended gets
// why; when the connection ends, conn.IsClosed() tells.
func (c *Conn) setupReplies(conn *amqp.Connection, oversized *oversizedLog) (ended <-chan string, err error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	fail := func(what string, err error) error {
		_ = ch.Close()
		return fmt.Errorf("%s: %v", what, err)
	}
	if err := ch.ExchangeDeclare(targetedExchange, "direct", false, false, false, false, nil); err != nil {
		return nil, fail("declaring exchange targeted", err)
	}
	if _, err := ch.QueueDeclare(c.replyQueue, false, true, true, false, nil); err != nil {
		return nil, fail("declaring reply queue "+c.replyQueue, err)
	}
	if err := ch.QueueBind(c.replyQueue, c.replyQueue, targetedExchange, false, nil); err != nil {
		return nil, fail("binding reply queue", err)
	}
	// amqp091 sends the cancel before it ends the deliveries
	cancels := ch.NotifyCancel(make(chan string, 1))
	closes := ch.NotifyClose(make(chan *amqp.Error, 1))
	deliveries, err := ch.Consume(c.replyQueue, "", true, true, false, false, nil)
	if err != nil {
		return nil, fail("consuming reply queue", err)
	}
	why := make(chan string, 1)
	go func() {
		c.receiveReplies(deliveries, oversized)
		reason := "its channel closed"
		select {
		case <-cancels:
			reason = "the broker cancelled its consumer (basic.cancel: the queue was deleted, or its node went down)"
		case e := <-closes:
			if e != nil {
				reason = "the broker closed its channel: " + e.Error()
			}
		default:
		}
		why <- reason
		_ = ch.Close() // a cancelled consumer's channel is still open
	}()
	return why, nil
}

// keepReplies keeps the reply queue consumed on conn until done (the connection ended):
// when setting it up failed (the usual cause: 405 RESOURCE_LOCKED while the broker still
// holds the queue for this process's previous connection, which it has not noticed dead)
// or the broker stopped its consumer (ended), it sets the queue up again, waiting
// Options.ReplyRetry between failures. Queries fail at once meanwhile (repliesReady is
// false). One log line when kazoo_query becomes unavailable and one when it is back. err
// and ended are the outcome of the first setup, which maintain did.
func (c *Conn) keepReplies(conn *amqp.Connection, oversized *oversizedLog, done <-chan struct{}, ended <-chan string, err error) {
	failures := 0   // failed setups in a row
	logged := false // kazoo_query reported unavailable, and not back yet
	for {
		if err != nil {
			if conn.IsClosed() { // the connection's loss is maintain's to report
				return
			}
			failures++
			if !logged {
				c.log.Errorf("broker %s: kazoo_query unavailable: %v; retrying", c.Broker.Masked(), err)
				logged = true
			}
			if !sleepUntil(c.opt.ReplyRetry.Delay(failures-1), done) {
				return
			}
			ended, err = c.setupReplies(conn, oversized)
			continue
		}
		if !c.setRepliesReady(done, true) {
			return
		}
		if logged {
			after := ""
			if failures > 0 {
				after = fmt.Sprintf(" after %d failed attempts", failures)
			}
			c.log.Infof("broker %s: kazoo_query available again: reply queue %s set up%s", c.Broker.Masked(), c.replyQueue, after)
			logged = false
		}
		failures = 0
		var why string
		select {
		case <-done:
			return
		case why = <-ended:
		}
		if !c.setRepliesReady(done, false) || conn.IsClosed() {
			return
		}
		c.log.Errorf("broker %s: kazoo_query unavailable: reply queue %s no longer consumed, %s; setting it up again",
			c.Broker.Masked(), c.replyQueue, why)
		logged = true
		ended, err = c.setupReplies(conn, oversized)
	}
}

// setRepliesReady sets repliesReady unless the connection of the caller ended (done);
// false when it did.
func (c *Conn) setRepliesReady(done <-chan struct{}, ready bool) bool {
	c.repliesMu.Lock()
	defer c.repliesMu.Unlock()
	select {
	case <-done:
		return false
	default:
	}
	c.repliesReady.Store(ready)
	return true
}

// sleepUntil waits d; false when done was closed first.
func sleepUntil(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		return true
	}
}

func (c *Conn) receiveReplies(deliveries <-chan amqp.Delivery, oversized *oversizedLog) {
	var p fastjson.Parser
	for d := range deliveries {
		if len(d.Body) == 0 {
			if o, ok := oversized.take(d.ConsumerTag, d.DeliveryTag); ok {
				c.oversizedReply(o)
				continue
			}
		}
		v, err := p.ParseBytes(d.Body)
		msgID := ""
		if err == nil {
			msgID = lastString(v, "Msg-ID")
		}
		if msgID == "" {
			c.log.LimitedErrorf("replies without a Msg-ID", "reply on %s without a Msg-ID (or not JSON), dropped: %.200s", c.replyQueue, d.Body)
			continue
		}
		if !c.replies.deliver(msgID, replyEvent{body: d.Body}) {
			c.log.LimitedDebugf("late or unknown replies", "late or unknown reply for Msg-ID %s dropped", msgID)
		}
	}
}

// oversizedReply ends the query that waits for a reply whose body was dropped unread for
// its size, when the body's first bytes name its Msg-ID; the query fails at once instead
// of waiting out its timeout. Otherwise the reply is reported and forgotten.
func (c *Conn) oversizedReply(o *Oversized) {
	msgID := msgIDInPrefix(o.Prefix())
	if msgID != "" && c.replies.deliver(msgID, replyEvent{oversized: o}) {
		return
	}
	c.log.Errorf("reply of %d bytes on %s is larger than amqp_max_payload (%d): dropped unread (Msg-ID %q, no query waits for it)",
		o.Size, c.replyQueue, o.Limit, msgID)
}

// msgIDInPrefix finds "Msg-ID":"<id>" in the first bytes of a JSON object (not parsed:
// the rest of it was never read). Kazoo puts its default headers, Msg-ID among them, at the
// start of a message. "" when absent or escaped.
func msgIDInPrefix(b []byte) string {
	i := bytes.Index(b, []byte(`"Msg-ID"`))
	if i < 0 {
		return ""
	}
	b = bytes.TrimLeft(b[i+len(`"Msg-ID"`):], " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return ""
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if len(b) == 0 || b[0] != '"' {
		return ""
	}
	end := bytes.IndexAny(b[1:], `"\`)
	if end < 0 || b[1+end] != '"' {
		return ""
	}
	return string(b[1 : 1+end])
}

// Pending is a query on its way: published, waiting for its outcome. A value, kept by its
// caller: no allocation per query beyond the reply router's.
type Pending struct {
	c        *Conn
	pc       *pubChannel
	msgID    string
	m        Message
	wait     chan replyEvent
	ev       replyEvent
	finished bool
	sentAt   time.Time
}

// StartQuery publishes a request whose Msg-ID is msgID and whose Server-ID is
// c.ReplyQueue(), and returns without waiting. notify (may be nil) is called from another
// goroutine once the outcome is known (a reply, the request returned, its channel closed):
// a Kamailio process waits for that in C, not inside Go (see Module.StartQuery). The
// request is published with mandatory set: when nothing is bound to receive it, the broker
// returns it and the query ends at once instead of waiting out its timeout.
func (c *Conn) StartQuery(m Message, msgID string, notify func()) (Pending, error) {
	if !c.repliesReady.Load() {
		why := "not connected"
		if c.current() != nil {
			why = "kazoo_query unavailable on this connection, see the log"
		}
		return Pending{}, status.Errorf(status.NoBroker, "broker %s: no reply queue (%s)", c.Broker.Masked(), why)
	}
	wait, ok := c.replies.register(msgID, notify)
	if !ok {
		return Pending{}, status.Errorf(status.Argument, "a query with Msg-ID %s is already waiting for its reply", msgID)
	}
	pc, _, err := c.send(m, true, msgID, false)
	if err != nil {
		c.replies.unregister(msgID)
		return Pending{}, err
	}
	c.replies.sentOn(msgID, pc)
	if pc.isClosed() { // closed before sentOn: failChannel did not see this query
		c.replies.deliver(msgID, replyEvent{closed: pc})
	}
	return Pending{c: c, pc: pc, msgID: msgID, m: m, wait: wait, sentAt: time.Now()}, nil
}

// Result is the query's outcome, if it has one (done): the reply, or why there is none.
// Never blocks.
func (p *Pending) Result() (reply []byte, done bool, err error) {
	if !p.finished {
		select {
		case p.ev = <-p.wait:
			p.finished = true
		default:
			return nil, false, nil
		}
	}
	switch {
	case p.ev.returned != nil:
		err := status.Errorf(status.Rejected, "broker %s returned the request: %d %s (nothing bound to exchange %q with routing key %q)",
			p.c.Broker.Masked(), p.ev.returned.Code, p.ev.returned.Reason, p.m.Exchange, p.m.RoutingKey)
		err.Returned = p.ev.returned
		return nil, true, err
	case p.ev.oversized != nil:
		return nil, true, status.Errorf(status.Rejected, "reply of %d bytes is larger than amqp_max_payload (%d): dropped unread",
			p.ev.oversized.Size, p.ev.oversized.Limit)
	case p.ev.closed != nil:
		return nil, true, p.c.channelEnded(p.ev.closed, p.m.Exchange, "reply")
	}
	return p.ev.body, true, nil
}

// Sent tells a started query from the zero Pending.
func (p *Pending) Sent() bool { return p.c != nil }

// Conn is the broker the request went to.
func (p *Pending) Conn() *Conn { return p.c }

// SentAt is when the request was published.
func (p *Pending) SentAt() time.Time { return p.sentAt }

// MsgID is the request's Msg-ID.
func (p *Pending) MsgID() string { return p.msgID }

// Cancel stops waiting: a reply arriving later is dropped.
func (p *Pending) Cancel() { p.c.replies.unregister(p.msgID) }

// Query is StartQuery and a wait until deadline for the outcome, for callers that may block
// (asynchronous queries, each in a goroutine of its own).
func (c *Conn) Query(m Message, msgID string, deadline time.Time) ([]byte, error) {
	p, err := c.StartQuery(m, msgID, nil)
	if err != nil {
		return nil, err
	}
	defer p.Cancel()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case p.ev = <-p.wait:
		p.finished = true
		reply, _, err := p.Result()
		return reply, err
	case <-timer.C:
		return nil, status.Errorf(status.Timeout, "no reply within the timeout (Msg-ID %s)", msgID)
	}
}

// watchReturns turns basic.return of a query into an immediate failure of that query; any
// other returned message (a mandatory publish) goes to Options.OnReturn.
func (c *Conn) watchReturns(returns <-chan amqp.Return) {
	for r := range returns {
		ret := &status.Returned{Code: int(r.ReplyCode), Reason: r.ReplyText}
		if r.MessageId != "" && c.replies.deliver(r.MessageId, replyEvent{returned: ret}) {
			continue
		}
		if c.opt.OnReturn != nil {
			c.opt.OnReturn(c, Returned{Exchange: r.Exchange, RoutingKey: r.RoutingKey, Code: int(r.ReplyCode),
				Reason: r.ReplyText, Body: r.Body})
			continue
		}
		c.log.Debugf("broker returned an unroutable message to exchange %q, routing key %q", r.Exchange, r.RoutingKey)
	}
}
