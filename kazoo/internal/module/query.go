package module

import (
	"strings"
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
	m.syncQuery.begin()
	m.reply = m.reply[:0]
	conn, msg, msgID, err := m.prepareQuery(exchange, routingKey, body, headers, timeout)
	if err != nil {
		return err
	}
	p, err := conn.StartQuery(msg, msgID, m.syncQuery.notifier(notifyFD))
	if err != nil {
		m.countIfReturned(err)
		return err
	}
	m.qcall.p = p
	m.syncQuery.started(&m.qcall, out)
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
	return m.syncQuery.finish(timedOut)
}

// queryCall is the broker side of the query StartQuery began.
type queryCall struct {
	m *Module
	p broker.Pending
}

func (q *queryCall) finish(timedOut bool) (done bool, err error) {
	m, p := q.m, &q.p
	reply, done, err := p.Result()
	if !done && !timedOut {
		return false, nil
	}
	p.Cancel()
	conn, sent, msgID := p.Conn(), p.SentAt(), p.MsgID()
	*p = broker.Pending{}
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
	return true, err
}

func (q *queryCall) abandon() {
	q.p.Cancel()
	q.p = broker.Pending{}
}

func (q *queryCall) reply() []byte { return q.m.reply }

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
	if _, isFlags := forkPublishFlags(headers); isFlags {
		headers = nil // the fork's flags (kazoo_async_query's 6th argument): a query is always mandatory
	}
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
		payload.Field{Key: "AMQP-Received", Value: m.receivedAt(time.Now()), Raw: true})
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
