package module

import (
	"encoding/json"
	"net"
	"syscall"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// Control records, one datagram each, sent by any process to every consumer worker's
// control socket (created in mod_init, so even a worker that has not started yet finds
// them queued): subscribe, unsubscribe, and "mod-init has run, start consuming".
const (
	ctlSubscribe   = 'S' // + JSON of a subscription.Subscription
	ctlUnsubscribe = 'U' // + the subscription's ID
	ctlReady       = 'R'
	ctlReturned    = 'E' // + routing key, 0, the returned-message payload (to worker 1)
	// + JSON of a consumerStatus (to worker 1, for kazoo.subscriptions)
	ctlConsumerState = 'C'
)

// Subscribe is kazoo_subscribe(json): the description is checked here, in the calling
// process, so that the script gets -1 and a reason for a bad one; then every consumer
// worker is told. Warnings (unknown keys) are logged, the subscription is made.
func (m *Module) Subscribe(desc []byte) error {
	sub, warnings, err := subscription.Parse(desc)
	if err != nil {
		return status.Errorf(status.Argument, "kazoo_subscribe: %v", err)
	}
	for _, w := range warnings {
		m.Log.Warnf("kazoo_subscribe %s: %s", sub.ID(), w)
	}
	return m.broadcastSubscription(sub)
}

// SubscribeSimple is kazoo_subscribe(exchange, type, queue, routing_key).
func (m *Module) SubscribeSimple(exchange, exchangeType, queue, routingKey string) error {
	sub, err := subscription.Simple(exchange, exchangeType, queue, routingKey)
	if err != nil {
		return status.Errorf(status.Argument, "kazoo_subscribe: %v", err)
	}
	return m.broadcastSubscription(sub)
}

func (m *Module) broadcastSubscription(sub subscription.Subscription) error {
	if err := m.declareExchanges(sub); err != nil {
		return err
	}
	rec, err := json.Marshal(sub)
	if err != nil {
		return status.Errorf(status.Internal, "kazoo_subscribe: %v", err)
	}
	return m.broadcast(append([]byte{ctlSubscribe}, rec...))
}

// declareExchanges declares the subscription's exchanges from the calling process, on its
// own connection, before the workers consume: a publish right after kazoo_subscribe finds
// the exchange, and a declaration the broker refuses (an exchange that exists with other
// flags or type: 406) fails kazoo_subscribe itself with the broker's reason. Queues are
// left to the workers: an exclusive queue belongs to the connection that declares it.
// Without an open connection the workers declare everything when they connect.
func (m *Module) declareExchanges(sub subscription.Subscription) error {
	c, err := m.Pool.Pick(time.Now().Add(m.Cfg.PublishTimeout))
	if err != nil {
		return nil
	}
	if err := c.DeclareExchanges(sub, m.Cfg.PublishTimeout); err != nil {
		return status.Errorf(status.Rejected, "kazoo_subscribe %s: broker %s refused exchange %q: %v", sub.ID(), c.Broker.Masked(), sub.Exchange.Name, err)
	}
	return nil
}

// Unsubscribe is kazoo_unsubscribe(id): every consumer worker cancels the consumers of the
// subscription whose ID (name, else queue) is id. The queue itself is left to the broker
// (an auto_delete queue goes with its last consumer, a durable one keeps its messages).
func (m *Module) Unsubscribe(id string) error {
	if id == "" {
		return status.Errorf(status.Argument, "kazoo_unsubscribe: empty subscription name")
	}
	return m.broadcast(append([]byte{ctlUnsubscribe}, id...))
}

// ConsumersReady tells every worker that event_route[kazoo:mod-init] has run.
func (m *Module) ConsumersReady() error { return m.broadcast([]byte{ctlReady}) }

func (m *Module) broadcast(rec []byte) error {
	if len(m.Cfg.ControlFDs) == 0 {
		return status.Errorf(status.Config, "no consumer processes (amqp_consumer_workers is 0)")
	}
	for i := range m.Cfg.ControlFDs {
		if err := m.sendControl(i, rec); err != nil {
			return err
		}
	}
	return nil
}

// sendControl sends rec to consumer worker i+1.
func (m *Module) sendControl(i int, rec []byte) error {
	if i >= len(m.Cfg.ControlFDs) {
		return status.Errorf(status.Config, "no kazoo consumer %d", i+1)
	}
	var err error
	for {
		if _, err = syscall.Write(m.Cfg.ControlFDs[i], rec); err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return status.Errorf(status.Internal, "cannot reach kazoo consumer %d: %v", i+1, err)
	}
	return nil
}

// readControl applies the control records that reach this worker.
func (w *Worker) readControl(pc net.PacketConn) {
	buf := recvBuffer(1 << 20)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			w.m.Log.Errorf("control socket: %v", err)
			time.Sleep(time.Second)
			continue
		}
		if n == 0 {
			continue
		}
		rec := buf[1:n]
		switch buf[0] {
		case ctlSubscribe:
			var sub subscription.Subscription
			if err := json.Unmarshal(rec, &sub); err != nil {
				w.m.Log.Errorf("BUG: control record: %v", err)
				continue
			}
			if w.subs.add(sub) {
				w.listenerChanged(sub, true)
			}
			w.publishSubscriptions()
		case ctlUnsubscribe:
			if sub, ok := w.subs.remove(string(rec)); ok {
				w.listenerChanged(sub, false)
			}
			w.publishSubscriptions()
		case ctlReady:
			w.subs.start()
		case ctlReturned:
			w.returnedEvent(rec)
		case ctlConsumerState:
			w.consumerStateRecord(rec)
		}
	}
}
