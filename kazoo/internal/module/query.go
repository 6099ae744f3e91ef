package module

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Outcome is where the outcome of a synchronous query or publish is written, by the
// goroutine that learns it, before the waiting process is woken: the process then reads it
// where it waits, in C, without a second call into Go. Every call from a Kamailio thread into Go leaves the
// runtime's P with that thread when it returns to C, and the runtime takes it back with
// several thread wake-ups (sysmon, a spinning M) each time: measured, two calls per query
// cost about 12 voluntary thread switches, one call about half as many.
type Outcome interface {
	// Deliver stores the outcome: the reply of a query (a view, valid during the call
	// only; nil for a publish) when err is nil, else err.
	Deliver(reply []byte, err error)
}

// StartQuery begins kazoo_query: it publishes the request (completed like a publish, plus
// Server-ID = this process's reply queue) and returns; when the outcome is known it is
// written to out (may be nil) and notifyFD (an eventfd of the calling process) is written.
// The Kamailio process waits for notifyFD in C: blocking inside Go would cost a hand-over
// of the runtime between the waiting thread and the one that reads the reply, both ways,
// for every query. FinishQuery collects the outcome when out did not get it (a timeout, a
// reply that raced with StartQuery). A script-supplied Msg-ID or Server-ID is honoured.
func (m *Module) StartQuery(exchange, routingKey, body, headers []byte, timeout time.Duration, notifyFD int, out Outcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.pending.Sent() { // a query its caller never finished: forget it
		m.pending.Cancel()
		m.pending = broker.Pending{}
	}
	m.reply = m.reply[:0]
	m.outcomeKnown, m.outcomeErr, m.queryOut = false, nil, nil
	conn, msg, msgID, err := m.prepareQuery(exchange, routingKey, body, headers, timeout)
	if err != nil {
		return err
	}
	p, err := conn.StartQuery(msg, msgID, m.queryNotifier(notifyFD))
	if err != nil {
		m.countIfReturned(err)
		return err
	}
	m.pending, m.queryOut = p, out
	m.writeStatus() // queries in flight, for kazoo.status
	return nil
}

// FinishQuery collects the outcome of the query StartQuery began. Without an outcome yet
// it returns done false, unless timedOut: then the query fails with a timeout. On success
// the reply, completed with AMQP-Broker-Zone and AMQP-Received as the C module does, is
// kept in the module (Reply) until the next query. After the outcome went to StartQuery's
// out, it is that outcome again.
func (m *Module) FinishQuery(timedOut bool) (done bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.pending.Sent() && m.outcomeKnown {
		return true, m.outcomeErr
	}
	return m.finishLocked(timedOut)
}

func (m *Module) finishLocked(timedOut bool) (done bool, err error) {
	p := &m.pending
	if !p.Sent() {
		return true, status.Errorf(status.Internal, "no query in progress in this process")
	}
	reply, done, err := p.Result()
	if !done && !timedOut {
		return false, nil
	}
	p.Cancel()
	conn, sent, msgID := p.Conn(), p.SentAt(), p.MsgID()
	*p = broker.Pending{}
	m.queryOut = nil
	m.writeStatus()
	switch {
	case !done:
		err = status.Errorf(status.Timeout, "no reply within the timeout (Msg-ID %s)", msgID)
	case err != nil:
		m.countIfReturned(err)
	default:
		m.countQueryLatency(time.Since(sent))
		err = m.acceptReply(conn, reply)
	}
	m.outcomeKnown, m.outcomeErr = true, err
	return true, err
}

// deliverOutcome runs in the goroutine that learned something about the pending query
// (query true: its reply router) or publish (a confirm), before the process is woken: once
// that has its outcome, the outcome goes to the out its start call named (see Outcome).
// When the module is busy (the caller still in the start call, or already in the finish
// call after a timeout) it leaves the outcome to FinishQuery or FinishPublish.
func (m *Module) deliverOutcome(query bool) {
	if !m.mu.TryLock() {
		return
	}
	defer m.mu.Unlock()
	defer func() {
		if r := recover(); r != nil { // the finish call still answers; the process must not die
			m.Log.Errorf("BUG: Go panic delivering an outcome (query %v): %v", query, r)
		}
	}()
	switch {
	case query && m.queryOut != nil && m.pending.Sent():
		out := m.queryOut
		if done, err := m.finishLocked(false); done {
			out.Deliver(m.reply, err)
		}
	case !query && m.pubOut != nil && m.pendingPub.Sent():
		out := m.pubOut
		if done, err := m.finishPublishLocked(false); done {
			out.Deliver(nil, err)
		}
	}
}

// queryNotifier is what the reply router calls when the pending query's outcome is known,
// and notifier what a confirm calls while a publish waits: complete the outcome, then wake
// the process. Each is built once per eventfd (no allocation per call).
func (m *Module) queryNotifier(notifyFD int) func() {
	if m.queryNotify == nil || m.queryNotifyFD != notifyFD {
		m.queryNotifyFD, m.queryNotify = notifyFD, m.wakeAfterOutcome(notifyFD, true)
	}
	return m.queryNotify
}

func (m *Module) notifier(notifyFD int) func() {
	if m.notify == nil || m.notifyFD != notifyFD {
		m.notifyFD, m.notify = notifyFD, m.wakeAfterOutcome(notifyFD, false)
	}
	return m.notify
}

func (m *Module) wakeAfterOutcome(notifyFD int, query bool) func() {
	return func() {
		m.deliverOutcome(query)
		wakeFD(notifyFD)
	}
}

// wakeFD wakes the process waiting for a query's outcome (an eventfd counts up).
func wakeFD(fd int) {
	one := [8]byte{1}
	_, _ = syscall.Write(fd, one[:])
}

// query is a whole query on m's buffers, blocking until the outcome (asynchronous queries,
// each in a goroutine of its own); the caller owns m.
func (m *Module) query(exchange, routingKey, body, headers []byte, timeout time.Duration) error {
	m.writeStatus() // queries in flight, for kazoo.status
	defer m.writeStatus()
	m.reply = m.reply[:0]
	conn, msg, msgID, err := m.prepareQuery(exchange, routingKey, body, headers, timeout)
	if err != nil {
		return err
	}
	sent := time.Now()
	reply, err := conn.Query(msg, msgID, sent.Add(timeout))
	if err != nil {
		m.countIfReturned(err)
		return err
	}
	m.countQueryLatency(time.Since(sent))
	return m.acceptReply(conn, reply)
}

// prepareQuery checks a request, picks a broker and builds the request in m.body.
func (m *Module) prepareQuery(exchange, routingKey, body, headers []byte, timeout time.Duration) (*broker.Conn, broker.Message, string, error) {
	var msg broker.Message
	hdrs, err := m.checkRequest(exchange, routingKey, body, headers)
	if err != nil {
		return nil, msg, "", err
	}
	conn, err := m.Pool.Pick(time.Now().Add(timeout))
	if err != nil {
		return nil, msg, "", err
	}
	var perr error
	if m.strict, perr = m.norm.Normalize(m.strict[:0], body); perr != nil {
		return nil, msg, "", status.Errorf(status.Argument, "payload is not valid JSON: %v", perr)
	}
	msgID, ok, repeated := m.norm.TopLevelStringRepeated(m.strict, "Msg-ID")
	if !ok || msgID == "" {
		m.msgID = payload.NewMsgID(m.msgID[:0])
		msgID = string(m.msgID)
	} else {
		msgID = strings.Clone(msgID) // TopLevelString's view dies with the next call
	}
	if repeated && ok && msgID != "" {
		// the reply is awaited for the last Msg-ID (json-c's rule, the C module's); Kazoo
		// reads the first, so every occurrence gets the value awaited
		if m.body, perr = m.norm.Set(m.body[:0], m.strict, []payload.Member{{Key: "Msg-ID", Value: msgID}}); perr != nil {
			return nil, msg, "", status.Errorf(status.Argument, "payload must be a JSON object: %v", perr)
		}
		m.strict, m.body = m.body, m.strict
	}
	m.fields = append(m.defaultFields(msgID), payload.Field{Key: "Server-ID", Value: conn.ReplyQueue()})
	if m.body, perr = m.norm.AddMissing(m.body[:0], m.strict, m.fields); perr != nil {
		return nil, msg, "", status.Errorf(status.Argument, "payload must be a JSON object: %v", perr)
	}
	msg = broker.Message{Exchange: string(exchange), RoutingKey: string(routingKey), Headers: hdrs, Body: m.body}
	return conn, msg, msgID, nil
}

// acceptReply checks a reply and completes it into m.reply.
func (m *Module) acceptReply(conn *broker.Conn, reply []byte) error {
	if len(reply) > scratchKept {
		// the scratch buffers grow to the reply's size: let them go once it is done with
		defer func() { m.strict, m.norm = nil, payload.Normalizer{} }()
	}
	if len(reply) > m.Cfg.MaxPayload {
		return status.Errorf(status.Rejected, "reply of %d bytes is larger than amqp_max_payload (%d)", len(reply), m.Cfg.MaxPayload)
	}
	var perr error
	if m.strict, perr = m.norm.Normalize(m.strict[:0], reply); perr != nil {
		return status.Errorf(status.Rejected, "reply is not valid JSON: %v", perr)
	}
	zone := conn.Broker.Zone
	if zone == "" {
		zone = m.Cfg.PrimaryZone
	}
	m.fields = append(m.fields[:0],
		payload.Field{Key: "AMQP-Broker-Zone", Value: zone},
		payload.Field{Key: "AMQP-Received", Value: strconv.FormatInt(time.Now().Unix(), 10), Raw: true})
	if m.reply, perr = m.norm.AddMissing(m.reply[:0], m.strict, m.fields); perr != nil {
		m.reply = m.reply[:0]
		return status.Errorf(status.Rejected, "reply is not a JSON object: %v", perr)
	}
	return nil
}

// countIfReturned counts a request the broker returned as unroutable.
func (m *Module) countIfReturned(err error) {
	if se, ok := err.(*status.Error); ok && se.Returned != nil {
		m.count(counterReturned)
	}
}

// Reply is the last reply received by a query in this process (empty after a failed one).
// Valid until the next query.
func (m *Module) Reply() []byte { return m.reply }
