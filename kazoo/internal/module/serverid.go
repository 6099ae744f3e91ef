package module

import (
	"strconv"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// consumeServerID consumes, on a broker, the queue of the Server-ID that kazoo_publish
// gives messages sent through it (broker.Conn.ServerIDSubscription), so that what Kazoo
// sends back to it - a reply to a reg_success, a search_resp, anything targeted at this
// node - runs an event route, named from the message as for a subscription. Every
// consumer worker consumes it on every broker it connects to: the broker gives each
// message to one of them, and a worker busy in a long route does not hold the others up.
// It starts with the subscriptions, once kazoo:mod-init has run.
func (s *subscriptions) consumeServerID(bc *broker.Conn, session *broker.Session) *broker.Consumer {
	sub := bc.ServerIDSubscription()
	spec := broker.ConsumeSpec{Sub: sub, Prefetch: s.w.m.Cfg.ConsumerPrefetch,
		Tag: s.w.m.Cfg.Node() + "-" + strconv.Itoa(s.w.index) + "-" + sub.ID()}
	prev := new(broker.ConsumerPhase) // the phase reported last
	spec.OnState = func(st broker.ConsumerState) { s.serverIDState(bc, sub, prev, st) }
	return session.Consume(spec, newDeliveryState(s.w, bc, sub).deliver)
}

// serverIDState logs what the broker did to the Server-ID queue's consumer: a cancel (the
// queue deleted, its node down; replies sent to it meanwhile are lost) and the recovery,
// once, from worker 1 (every worker sees the same). Failures to declare or consume are
// logged where they are retried.
func (s *subscriptions) serverIDState(bc *broker.Conn, sub subscription.Subscription, prev *broker.ConsumerPhase, st broker.ConsumerState) {
	s.w.reportCancel(bc, "Server-ID queue "+sub.Queue.Name, s.w.index == 1, prev, st)
}
