package module

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// delivery is a consumed message until it is acknowledged.
type delivery struct {
	receipt    broker.Receipt
	afterRoute bool // acknowledge when the route has run (else when the C thread takes it)
	w          *Worker
	// for the log line of a message refused in C (Worker.Refuse)
	exchange, subscription string
}

func (d *delivery) dead() bool { return d.receipt.ChannelClosed() }

func (d *delivery) ack() {
	if err := d.receipt.Ack(); err != nil {
		// the channel died: the broker redelivers the message
		d.w.m.Log.Debugf("ack failed (the broker will redeliver): %v", err)
		return
	}
	d.w.m.count(counterAcked)
}

// deliveryState turns deliveries of one subscription on one broker into events; each
// consumer goroutine has its own (the normaliser and resolver are not shared).
type deliveryState struct {
	w         *Worker
	bc        *broker.Conn
	sub       subscription.Subscription
	zone      string
	key, sub2 string
	norm      payload.Normalizer
	routes    *routeResolver
	strict    []byte
	members   []payload.Member
	id        string // sub.ID()
}

func newDeliveryState(w *Worker, bc *broker.Conn, sub subscription.Subscription) *deliveryState {
	st := &deliveryState{w: w, bc: bc, sub: sub, zone: bc.Broker.Zone,
		key: w.m.Cfg.EventKey, sub2: w.m.Cfg.EventSubkey, routes: newRouteResolver(w.m.Cfg.EventRoutes), id: sub.ID()}
	if st.zone == "" {
		st.zone = w.m.Cfg.PrimaryZone
	}
	if sub.EventKey != "" {
		st.key = sub.EventKey
	}
	if sub.EventSubkey != "" {
		st.sub2 = sub.EventSubkey
	}
	return st
}

// deliver prepares $kzE as the C module does - AMQP-Broker-Zone and AMQP-Received
// (seconds) set, a non-empty Server-ID rewritten to consumer://<broker id>/<Server-ID> so a
// reply goes back through this broker, an empty one removed - picks the event route and
// queues the event. What cannot be handled is rejected without requeue (dead-lettered when
// the queue has a dead-letter exchange) or, without a route, acknowledged, with one log line.
func (st *deliveryState) deliver(d *broker.Delivery) {
	st.prepare(d)
	if len(d.Body) > scratchKept {
		// the scratch buffers grew to the size of this message: let them go rather than
		// hold up to amqp_max_payload several times for good
		st.strict, st.norm = nil, payload.Normalizer{}
	}
}

// scratchKept is the largest message whose scratch buffers are kept for the next one.
const scratchKept = 64 << 10

func (st *deliveryState) prepare(d *broker.Delivery) {
	m := st.w.m
	if d.Redelivered {
		m.count(counterRedelivered)
	}
	if o := d.Oversized; o != nil {
		st.reject(d, fmt.Sprintf(": %d bytes, larger than amqp_max_payload (%d), dropped unread", o.Size, o.Limit))
		return
	}
	if len(d.Body) > m.Cfg.MaxPayload {
		st.reject(d, fmt.Sprintf(": %d bytes, larger than amqp_max_payload (%d)", len(d.Body), m.Cfg.MaxPayload))
		return
	}
	var err error
	if st.strict, err = st.norm.Normalize(st.strict[:0], d.Body); err != nil {
		st.reject(d, fmt.Sprintf(" is not JSON (%v)", err))
		return
	}
	now := time.Now()
	st.members = append(st.members[:0],
		payload.Member{Key: "AMQP-Broker-Zone", Value: st.zone},
		payload.Member{Key: "AMQP-Received", Value: m.receivedAt(now), Raw: true})
	if m.Cfg.ReceivedMicro {
		if us, ok := elapsedMicro(now, d.Properties.TimestampNumber()); ok {
			st.members = append(st.members, payload.Member{Key: "AMQP-Elapsed-Micro", Value: strconv.FormatInt(us, 10), Raw: true})
		}
	}
	if sid, ok := st.norm.TopLevelString(st.strict, "Server-ID"); ok {
		if sid == "" {
			st.members = append(st.members, payload.Member{Key: "Server-ID", Delete: true})
		} else {
			st.members = append(st.members, payload.Member{Key: "Server-ID",
				Value: "consumer://" + strconv.Itoa(st.bc.Broker.ID) + "/" + sid})
		}
	}
	body, err := st.norm.Set(nil, st.strict, st.members)
	if err != nil {
		st.reject(d, fmt.Sprintf(" is not a JSON object (%v)", err))
		return
	}
	route, ok := st.route(body)
	if !ok {
		if d.Ack() == nil {
			m.count(counterAcked)
		}
		return
	}
	d.Body = nil // $kzE is body; only the properties are kept for $kzProps
	st.w.push(Event{Kind: EventMessage, Route: route, Body: body, RoutingKey: []byte(d.RoutingKey), HasRoutingKey: true, Source: d},
		&delivery{receipt: d.Receipt, afterRoute: !st.sub.NoAck && st.sub.WaitForConsumerAck, w: st.w,
			exchange: d.Exchange, subscription: st.id})
}

// reject refuses a delivery without requeue (dead-lettered when the queue has a
// dead-letter exchange) and says why in one line. Only on this path are the strings built.
func (st *deliveryState) reject(d *broker.Delivery, why string) {
	st.w.m.Log.LimitedErrorf("rejected events", "event from exchange '%s' with routing key '%s' (subscription %s)%s: rejected: %.200s",
		d.Exchange, d.RoutingKey, st.sub.ID(), why, d.Body)
	st.w.m.count(counterRejected)
	_ = d.Reject()
}

// route picks the event route of a prepared payload (or the KEMI callback).
func (st *deliveryState) route(body []byte) (uint32, bool) {
	return st.w.route(&st.norm, st.routes, body, st.key, st.sub2, st.sub.EventKey != "", st.sub.EventSubkey != "", false)
}

// route applies the naming chain to body; an event without a route is reported once per
// route name (the C module logged every one), as an error for a consumed message, at debug
// level for a connection event (a cfg need not handle those).
func (w *Worker) route(n *payload.Normalizer, r *routeResolver, body []byte, key, subkey string, ownKey, ownSubkey, quiet bool) (uint32, bool) {
	if w.m.Cfg.EventCallback {
		return RouteCallback, true
	}
	category, _ := n.TopLevelText(body, key)
	category = strings.Clone(category) // the next lookup reuses n's buffer
	name, _ := n.TopLevelText(body, subkey)
	if category == "" && ownKey {
		category = key
	}
	if name == "" && ownSubkey {
		name = subkey
	}
	idx, ok := r.resolve(category, name, key, subkey)
	if ok {
		return uint32(idx), true
	}
	missing := r.mostSpecific(category, name)
	w.subs.mu.Lock()
	first := !w.subs.unknown[missing] && len(w.subs.unknown) < 1000
	if first {
		w.subs.unknown[missing] = true
	}
	w.subs.mu.Unlock()
	if first && quiet {
		w.m.Log.Debugf("no event_route[%s] nor a fallback: connection event not run", missing)
	} else if first {
		w.m.Log.Errorf("no event_route[%s] nor any of its fallbacks down to event_route[kazoo:consumer-event]: such events are acknowledged and dropped (logged once)", missing)
	}
	return 0, false
}
