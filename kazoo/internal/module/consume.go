package module

import (
	"hash/fnv"
	"strconv"
	"sync"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// subscriptions is what one consumer worker consumes: every subscription made in this
// Kamailio instance, and for each open broker connection of this process the consumers of
// the subscriptions assigned to this worker.
//
// Assignment: a shared queue (named, not exclusive, no consistent-worker) is consumed by
// every worker, so the broker spreads its messages over them round robin, each bounded by
// the prefetch. Any other subscription (exclusive or broker-named queue, consistent-worker)
// is consumed by one worker, chosen by a hash of its ID: one consumer per queue keeps an
// exclusive queue usable and keeps the order of its messages (what consistent-worker is for).
// Brokers outside the primary zone consume only subscriptions with "federate".
type subscriptions struct {
	w *Worker

	mu      sync.Mutex
	ready   bool // kazoo:mod-init has run: consumers may start
	list    []subscription.Subscription
	conns   map[*broker.Conn]*connConsumers
	unknown map[string]bool // route names already reported as missing
}

type connConsumers struct {
	session  *broker.Session
	running  map[string]*broker.Consumer // by subscription ID
	serverID *broker.Consumer            // the queue of the Server-ID of publishes (serverid.go)
}

func newSubscriptions(w *Worker) *subscriptions {
	return &subscriptions{w: w, conns: map[*broker.Conn]*connConsumers{}, unknown: map[string]bool{}}
}

// add adds sub, or replaces the subscription with the same ID; true when it is new.
func (s *subscriptions) add(sub subscription.Subscription) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := sub.ID()
	replaced := false
	for i := range s.list {
		if s.list[i].ID() == id {
			s.stopLocked(id)
			s.list[i], replaced = sub, true
		}
	}
	if !replaced {
		s.list = append(s.list, sub)
	}
	if s.w.index == 1 {
		s.w.m.Log.Infof("subscribed %s: exchange %q (%s), queue %q, routing keys %q", id, sub.Exchange.Name, sub.Exchange.Type, sub.Queue.Name, sub.RoutingKeys)
	}
	s.startLocked()
	return !replaced
}

// remove cancels the subscription with that ID; returns it when there was one.
func (s *subscriptions) remove(id string) (subscription.Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed subscription.Subscription
	kept := s.list[:0]
	found := false
	for _, sub := range s.list {
		if sub.ID() == id {
			found, removed = true, sub
			continue
		}
		kept = append(kept, sub)
	}
	s.list = kept
	s.stopLocked(id)
	if s.w.index == 1 {
		if found {
			s.w.m.Log.Infof("unsubscribed %s", id)
		} else {
			s.w.m.Log.Errorf("kazoo_unsubscribe: no subscription named %q", id)
		}
	}
	return removed, found
}

// start lets consumers run (after kazoo:mod-init).
func (s *subscriptions) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready = true
	s.startLocked()
}

func (s *subscriptions) stopLocked(id string) {
	defer s.w.m.statusMoved()
	for bc, cc := range s.conns {
		if c := cc.running[id]; c != nil {
			c.Cancel()
			delete(cc.running, id)
			s.w.consumerGone(bc, id)
		}
	}
}

// startLocked starts every assigned consumer that does not run yet.
func (s *subscriptions) startLocked() {
	defer s.w.m.statusMoved() // the named subscriptions' $xavp(amqpc) keys
	if !s.ready {
		return
	}
	for bc, cc := range s.conns {
		if cc.serverID == nil {
			cc.serverID = s.consumeServerID(bc, cc.session)
		}
		for _, sub := range s.list {
			id := sub.ID()
			if cc.running[id] != nil || !s.assigned(sub, bc) {
				continue
			}
			spec := broker.ConsumeSpec{Sub: sub, Prefetch: s.w.m.Cfg.ConsumerPrefetch,
				Tag: s.w.m.Cfg.Node() + "-" + strconv.Itoa(s.w.index) + "-" + id}
			bc, sub, prev := bc, sub, new(broker.ConsumerPhase) // prev: the phase reported last
			spec.OnState = func(st broker.ConsumerState) { s.consumerState(bc, sub, prev, st) }
			cc.running[id] = cc.session.Consume(spec, newDeliveryState(s.w, bc, sub).deliver)
		}
	}
}

func (s *subscriptions) assigned(sub subscription.Subscription, bc *broker.Conn) bool {
	if bc.Broker.Zone != "" && !sub.Federate {
		return false
	}
	if sub.Shared() {
		return true
	}
	h := fnv.New32a()
	h.Write([]byte(sub.ID()))
	return int(h.Sum32()%uint32(max(1, s.w.m.Cfg.ConsumerWorkers)))+1 == s.w.index
}

// connChanged starts the consumers on a connection that opened and forgets those of one
// that closed (their channels died with it; the broker requeues what they had not acked).
func (s *subscriptions) connChanged(bc *broker.Conn, open bool, session *broker.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cc := s.conns[bc]; cc != nil {
		if open && cc.session == session {
			return // reported twice (attach raced with the open)
		}
		for id, c := range cc.running {
			c.Cancel()
			s.w.consumerGone(bc, id)
		}
		if cc.serverID != nil {
			cc.serverID.Cancel()
		}
		delete(s.conns, bc)
		s.w.m.statusMoved()
	}
	if open {
		s.conns[bc] = &connConsumers{session: session, running: map[string]*broker.Consumer{}}
		s.startLocked()
	}
}
