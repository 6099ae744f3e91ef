package module

import (
	"strconv"
	"strings"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Query is kazoo_query: publish a request (completed like a publish, plus Server-ID = this
// process's reply queue) and wait up to timeout for the reply with the same Msg-ID. The
// reply, completed with AMQP-Broker-Zone and AMQP-Received as the C module does, is kept
// in the module (Reply) until the next query. A script-supplied Msg-ID or Server-ID is
// honoured.
func (m *Module) Query(exchange, routingKey, body, headers []byte, timeout time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.query(exchange, routingKey, body, headers, timeout)
}

// query is Query on m's buffers; the caller owns m.
func (m *Module) query(exchange, routingKey, body, headers []byte, timeout time.Duration) error {
	m.writeStatus() // queries in flight, for kazoo.status
	defer m.writeStatus()
	m.reply = m.reply[:0]
	hdrs, err := m.checkRequest(exchange, routingKey, body, headers)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	conn, err := m.Pool.Pick(deadline)
	if err != nil {
		return err
	}
	var perr error
	if m.strict, perr = m.norm.Normalize(m.strict[:0], body); perr != nil {
		return status.Errorf(status.Argument, "payload is not valid JSON: %v", perr)
	}
	msgID, ok := m.norm.TopLevelString(m.strict, "Msg-ID")
	if !ok || msgID == "" {
		m.msgID = payload.NewMsgID(m.msgID[:0])
		msgID = string(m.msgID)
	} else {
		msgID = strings.Clone(msgID) // TopLevelString's view dies with the next call
	}
	m.fields = append(m.defaultFields(msgID), payload.Field{Key: "Server-ID", Value: conn.ReplyQueue()})
	if m.body, perr = m.norm.AddMissing(m.body[:0], m.strict, m.fields); perr != nil {
		return status.Errorf(status.Argument, "payload must be a JSON object: %v", perr)
	}
	sent := time.Now()
	reply, err := conn.Query(broker.Message{Exchange: string(exchange), RoutingKey: string(routingKey),
		Headers: hdrs, Body: m.body}, msgID, deadline)
	if err != nil {
		if se, ok := err.(*status.Error); ok && se.Returned != nil {
			m.count(counterReturned)
		}
		return err
	}
	m.countQueryLatency(time.Since(sent))
	if len(reply) > m.Cfg.MaxPayload {
		return status.Errorf(status.Rejected, "reply of %d bytes is larger than amqp_max_payload (%d)", len(reply), m.Cfg.MaxPayload)
	}
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

// Reply is the last reply received by Query in this process (empty after a failed query).
// Valid until the next Query.
func (m *Module) Reply() []byte { return m.reply }
