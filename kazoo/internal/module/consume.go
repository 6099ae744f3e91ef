package module

import (
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

type amqpConnection = amqp.Connection

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
	conn    *amqp.Connection
	running map[string]*consumer // by subscription ID
}

type consumer struct {
	stop chan struct{}
	mu   sync.Mutex
	ch   *amqp.Channel
}

func (c *consumer) cancel() {
	close(c.stop)
	c.mu.Lock()
	if c.ch != nil {
		_ = c.ch.Close()
	}
	c.mu.Unlock()
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
	for _, cc := range s.conns {
		if c := cc.running[id]; c != nil {
			c.cancel()
			delete(cc.running, id)
		}
	}
}

// startLocked starts every assigned consumer that does not run yet.
func (s *subscriptions) startLocked() {
	if !s.ready {
		return
	}
	for bc, cc := range s.conns {
		for _, sub := range s.list {
			id := sub.ID()
			if cc.running[id] != nil || !s.assigned(sub, bc) {
				continue
			}
			c := &consumer{stop: make(chan struct{})}
			cc.running[id] = c
			go s.run(c, bc, cc.conn, sub)
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
func (s *subscriptions) connChanged(bc *broker.Conn, open bool, conn *amqp.Connection) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cc := s.conns[bc]; cc != nil {
		if open && cc.conn == conn {
			return // reported twice (attach raced with the open)
		}
		for _, c := range cc.running {
			c.cancel()
		}
		delete(s.conns, bc)
	}
	if open {
		s.conns[bc] = &connConsumers{conn: conn, running: map[string]*consumer{}}
		s.startLocked()
	}
}

// run keeps one subscription consumed on one connection until cancelled or the connection
// dies; a channel error (a declaration the broker refuses, 406 PRECONDITION_FAILED for
// flags that differ from an existing queue, ...) is logged and retried with backoff, so
// one bad subscription neither stops the others nor floods the log.
func (s *subscriptions) run(c *consumer, bc *broker.Conn, conn *amqp.Connection, sub subscription.Subscription) {
	backoff, failures := time.Second, 0
	st := newDeliveryState(s.w, bc, sub)
	for {
		err := s.consumeOnce(c, conn, sub, st)
		select {
		case <-c.stop:
			return
		default:
		}
		if conn.IsClosed() {
			return
		}
		failures++
		if failures == 1 || failures%10 == 0 {
			s.w.m.Log.Errorf("subscription %s on broker %s: %v; retrying in %v", sub.ID(), bc.Broker.Masked(), err, backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (s *subscriptions) consumeOnce(c *consumer, conn *amqp.Connection, sub subscription.Subscription, st *deliveryState) error {
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	c.mu.Lock()
	select {
	case <-c.stop:
		c.mu.Unlock()
		_ = ch.Close()
		return nil
	default:
	}
	c.ch = ch
	c.mu.Unlock()
	defer ch.Close()
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	queue, err := declare(ch, sub)
	if err != nil {
		return err
	}
	if err := ch.Qos(s.w.m.Cfg.ConsumerPrefetch, 0, false); err != nil {
		return err
	}
	tag := s.w.m.Cfg.Node() + "-" + strconv.Itoa(s.w.index) + "-" + sub.ID()
	deliveries, err := ch.Consume(queue, tag, false, false, false, false, nil)
	if err != nil {
		return err
	}
	for d := range deliveries {
		st.deliver(ch, d)
	}
	if e := <-closed; e != nil {
		return e
	}
	return errChannelClosed
}

// declare declares what the C module declares for a binding, with the same names, flags
// and (empty) arguments, so that objects it created are accepted as they are: the exchange,
// the exchanges bound to it, the queue and its bindings. Returns the queue's name (the
// broker's for an unnamed queue).
func declare(ch *amqp.Channel, sub subscription.Subscription) (string, error) {
	x := sub.Exchange
	if err := exchangeDeclare(ch, x); err != nil {
		return "", err
	}
	for _, eb := range sub.ExchangeBindings {
		if err := exchangeDeclare(ch, eb.Source); err != nil {
			return "", err
		}
		for _, rk := range eb.RoutingKeys {
			if err := ch.ExchangeBind(x.Name, rk, eb.Source.Name, false, nil); err != nil {
				return "", err
			}
		}
	}
	q := sub.Queue
	var declared amqp.Queue
	var err error
	if q.Passive {
		declared, err = ch.QueueDeclarePassive(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, nil)
	} else {
		declared, err = ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, nil)
	}
	if err != nil {
		return "", err
	}
	for _, rk := range sub.RoutingKeys {
		if err := ch.QueueBind(declared.Name, rk, x.Name, false, nil); err != nil {
			return "", err
		}
	}
	return declared.Name, nil
}

func exchangeDeclare(ch *amqp.Channel, x subscription.Exchange) error {
	if x.Passive {
		return ch.ExchangeDeclarePassive(x.Name, x.Type, x.Durable, x.AutoDelete, x.Internal, false, nil)
	}
	return ch.ExchangeDeclare(x.Name, x.Type, x.Durable, x.AutoDelete, x.Internal, false, nil)
}
