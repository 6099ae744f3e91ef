package module

import (
	"bytes"
	"strconv"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// returnedPayload is 2600hz's fork's description of a message the broker returned as
// unroutable: the message as published, with AMQP-Broker-Zone, AMQP-Received,
// Original-Event-Category / -Name (the old values), Event-Category "amqp_error",
// Event-Name "message_returned", Error-Code and Error-Reason. Stock configs read it in
// $kzR in the failure route of kazoo_async_query (registrar-role.cfg) and in
// event_route[kazoo:consumer-event-amqp-error-message-returned].
// received is AMQP-Received's value (Module.receivedAt).
func returnedPayload(body []byte, zone, received string, ret *status.Returned) []byte {
	var n payload.Normalizer
	strict, err := n.Normalize(nil, body)
	if err != nil {
		strict = []byte("{}")
	}
	original := func(key string) payload.Member {
		m := payload.Member{Key: "Original-" + key, Value: "null", Raw: true}
		if v, ok := n.TopLevelString(strict, key); ok {
			m = payload.Member{Key: "Original-" + key, Value: v}
		}
		return m
	}
	members := []payload.Member{
		{Key: "AMQP-Broker-Zone", Value: zone},
		{Key: "AMQP-Received", Value: received, Raw: true},
		original("Event-Category"),
		original("Event-Name"),
		{Key: "Event-Category", Value: "amqp_error"},
		{Key: "Event-Name", Value: "message_returned"},
		{Key: "Error-Code", Value: strconv.Itoa(ret.Code), Raw: true},
		{Key: "Error-Reason", Value: ret.Reason},
	}
	out, err := n.Set(nil, strict, members)
	if err != nil {
		out, _ = n.Set(nil, []byte("{}"), members)
	}
	return out
}

// returned is broker.Options.OnReturn: a mandatory publish came back unroutable. Its
// event route runs in kazoo consumer 1 (event routes run in consumer workers only).
func (m *Module) returned(c *broker.Conn, r broker.Returned) {
	zone := c.Broker.Zone
	if zone == "" {
		zone = m.Cfg.PrimaryZone
	}
	m.count(counterReturned)
	m.Log.Warnf("broker %s returned a message to exchange '%s' with routing key '%s': %d %s", c.Broker.Masked(), r.Exchange, r.RoutingKey, r.Code, r.Reason)
	body := returnedPayload(r.Body, zone, m.receivedAt(time.Now()), &status.Returned{Code: r.Code, Reason: r.Reason})
	rec := append(append(append([]byte{ctlReturned}, r.RoutingKey...), 0), body...)
	if err := m.sendControl(0, rec); err != nil {
		m.Log.Errorf("cannot hand the returned message to kazoo consumer 1: %v", err)
	}
}

// returnedEvent runs the returned-message event (control record from any process).
func (w *Worker) returnedEvent(rec []byte) {
	rk, body, ok := bytes.Cut(rec, []byte{0})
	if !ok {
		return
	}
	var n payload.Normalizer
	route, ok := w.route(&n, newRouteResolver(w.m.Cfg.EventRoutes), body, w.m.Cfg.EventKey, w.m.Cfg.EventSubkey, false, false, false)
	if !ok {
		return
	}
	w.push(Event{Kind: EventMessage, Route: route, Body: append([]byte(nil), body...),
		RoutingKey: append([]byte(nil), rk...), HasRoutingKey: true}, nil)
}
