package module

import (
	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// connChanged reacts to a broker connection of this process opening or closing: the
// consumers follow it, and worker 1 runs the connection events.
func (w *Worker) connChanged(bc *broker.Conn, open bool, s *broker.Session, reason string) {
	w.subs.connChanged(bc, open, s)
	if w.index == 1 {
		w.connMu.Lock()
		w.connectionEvents(bc, open, reason)
		w.connMu.Unlock()
	}
}

// connectionEvents fires, in worker 1 only (once per change of this process's connection,
// not once per process as in the C module), with the names of the C module and of 2600hz's
// fork that the stock configs define routes for:
//   - open / closed (upstream), error (a connect attempt failed; the first of a series)
//   - available / unavailable: this broker's connection (the fork's per-URI counter)
//   - zone-available / zone-unavailable: the first / last open broker of a zone
//   - zone-listener-*, listener-zone-*: the same per listener in the zone, where the
//     listeners are "default" (requests) and the name of each subscription consumed in that
//     zone (presence-reset.cfg resets a zone when listener "presence" goes away there)
//   - listener-available / -unavailable: the first / last zone of a listener
//
// Callers hold w.connMu.
func (w *Worker) connectionEvents(bc *broker.Conn, open bool, reason string) {
	was := w.connOpen[bc]
	switch {
	case open && was != connUp:
		zoneBefore, listenersBefore := w.openCounts(bc)
		w.connOpen[bc] = connUp
		w.connectionEvent("open", bc, "", "")
		w.availability("available", bc, zoneBefore, listenersBefore)
	case !open && was == connUp:
		zoneBefore, listenersBefore := w.openCounts(bc)
		w.connOpen[bc] = connDownReported
		w.connectionEvent("closed", bc, "", reason)
		w.availability("unavailable", bc, zoneBefore, listenersBefore)
	case !open && was == connUnknown:
		// the first failed attempt only: a broker that stays away does not flood the routes
		w.connOpen[bc] = connDownReported
		w.connectionEvent("error", bc, "", reason)
	}
}

// openCounts returns how many brokers of bc's zone are open, and per listener how many
// zones have an open broker.
func (w *Worker) openCounts(bc *broker.Conn) (int, map[string]int) {
	zone := w.zoneOf(bc)
	inZone := 0
	zonesOf := map[string]map[string]bool{}
	for c, st := range w.connOpen {
		if st != connUp {
			continue
		}
		z := w.zoneOf(c)
		if z == zone {
			inZone++
		}
		for _, l := range w.listeners(c) {
			if zonesOf[l] == nil {
				zonesOf[l] = map[string]bool{}
			}
			zonesOf[l][z] = true
		}
	}
	counts := map[string]int{}
	for l, zs := range zonesOf {
		counts[l] = len(zs)
	}
	return inZone, counts
}

func (w *Worker) availability(what string, bc *broker.Conn, zoneBefore int, listenersBefore map[string]int) {
	zoneAfter, listenersAfter := w.openCounts(bc)
	w.connectionEvent(what, bc, "", "")
	if (zoneBefore == 0) != (zoneAfter == 0) {
		w.connectionEvent("zone-"+what, bc, "", "")
		for _, l := range w.listeners(bc) {
			w.connectionEvent("zone-listener-"+what, bc, l, "")
		}
		for _, l := range w.listeners(bc) {
			w.connectionEvent("listener-zone-"+what, bc, l, "")
		}
	}
	for _, l := range w.listeners(bc) {
		if (listenersBefore[l] == 0) != (listenersAfter[l] == 0) {
			w.connectionEvent("listener-"+what, bc, l, "")
		}
	}
}

// listenerChanged fires, in worker 1, the listener events of a named subscription that
// was just made (or cancelled) while connections are open: its zones become available (or
// unavailable) to it without any connection changing.
func (w *Worker) listenerChanged(sub subscription.Subscription, added bool) {
	if w.index != 1 || sub.Name == "" {
		return
	}
	what := "unavailable"
	if added {
		what = "available"
	}
	w.connMu.Lock()
	defer w.connMu.Unlock()
	zones := map[string]bool{}
	for _, c := range w.m.Pool.Conns() { // declaration order: events in a stable order
		if w.connOpen[c] != connUp || (c.Broker.Zone != "" && !sub.Federate) || zones[w.zoneOf(c)] {
			continue
		}
		zones[w.zoneOf(c)] = true
		w.connectionEvent("zone-listener-"+what, c, sub.Name, "")
		w.connectionEvent("listener-zone-"+what, c, sub.Name, "")
		if len(zones) == 1 {
			defer w.connectionEvent("listener-"+what, c, sub.Name, "")
		}
	}
}

// listeners of a broker: "default" and the named subscriptions consumed in its zone.
func (w *Worker) listeners(bc *broker.Conn) []string {
	names := []string{statusListener}
	w.subs.mu.Lock()
	for _, sub := range w.subs.list {
		if sub.Name != "" && (bc.Broker.Zone == "" || sub.Federate) {
			names = append(names, sub.Name)
		}
	}
	w.subs.mu.Unlock()
	return names
}

func (w *Worker) zoneOf(bc *broker.Conn) string {
	if bc.Broker.Zone == "" {
		return w.m.Cfg.PrimaryZone
	}
	return bc.Broker.Zone
}

const (
	connUnknown = iota
	connUp
	connDownReported
)

// connectionEvent queues event_route[kazoo:consumer-event-connection-<name>] (through the
// naming chain, so kazoo:consumer-event catches it too) with the C module's payload:
// {"<event_key>": "connection", "<event_subkey>": name, "host": ..., "zone": ...}, plus
// the fork's "name" (listener), "message" and "Msg-ID" keys; $kzRK is $null.
func (w *Worker) connectionEvent(name string, bc *broker.Conn, listener, message string) {
	zone := w.zoneOf(bc)
	if listener == "" {
		listener = statusListener
	}
	var n payload.Normalizer
	fields := []payload.Field{
		{Key: w.m.Cfg.EventKey, Value: "connection"},
		{Key: w.m.Cfg.EventSubkey, Value: name},
		{Key: "host", Value: bc.Broker.URI.Host},
		{Key: "zone", Value: zone},
		{Key: "name", Value: listener},
		{Key: "message", Value: message},
		{Key: "Msg-ID", Value: string(payload.NewMsgID(nil))},
	}
	body, err := n.AddMissing(nil, []byte("{}"), fields)
	if err != nil {
		w.m.Log.Errorf("BUG: connection event: %v", err)
		return
	}
	route, ok := w.route(&n, w.connRoutes, body, w.m.Cfg.EventKey, w.m.Cfg.EventSubkey, false, false, true)
	if !ok {
		return
	}
	w.push(Event{Kind: EventMessage, Route: route, Body: body}, nil)
}
