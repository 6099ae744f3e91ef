package module

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
)

// RouteCallback is the route index of a message event when a KEMI event_callback, not an
// event_route, takes it.
const RouteCallback = abi.RouteCallback

// Event is what a consumer worker's C thread does next.
type Event struct {
	Kind                  int
	TIndex, TLabel, Route uint32           // async: the transaction and its route; message: Route
	FailRoute             uint32           // async reply: the failure route, should the reply not fit
	Handle                uint32           // message: what EventDone acknowledges
	Body                  []byte           // async: reply or failure reason; message: $kzE
	Reply                 []byte           // async failure: $kzR in the failure route (returned request)
	RoutingKey            []byte           // message: $kzRK
	HasRoutingKey         bool             // false for connection events ($kzRK is $null)
	Source                *broker.Delivery // message: the delivery, for $kzProps (nil for connection events)
}

// CurrentProperties appends the AMQP properties of the message whose event route runs now,
// as JSON ($kzProps); false when no message's route runs (a connection event, an async
// query's route).
func (w *Worker) CurrentProperties(dst []byte) ([]byte, bool, error) {
	if w.current == nil {
		return dst, false, nil
	}
	b, err := w.current.PropertiesJSON(dst)
	return b, err == nil, err
}

// Size is how many bytes of the C thread's buffer the event needs.
func (ev *Event) Size() int { return len(ev.Body) + len(ev.RoutingKey) + len(ev.Reply) }

// Worker is the Go side of one "kazoo consumer" process: it runs async queries, consumes
// the subscriptions assigned to it, and queues what the process's C thread must do next
// (resume a transaction, run an event route). The C thread blocks in C on the notify pipe,
// not inside Go, so signals reach Kamailio's handlers as in any other process.
type Worker struct {
	m      *Module
	index  int // 1-based; worker 1 runs kazoo:mod-init and the connection events
	notify int

	// current is the delivery whose event route the C thread runs now (nil: none, or a
	// connection event); only the C thread's calls touch it
	current *broker.Delivery

	mu      sync.Mutex
	queue   []Event
	pending map[uint32]*delivery // message events taken or queued, not yet acknowledged
	handle  uint32

	subs *subscriptions

	acks     []pendingAck // routes that ran, not acknowledged yet (guarded by mu)
	ackSpare []pendingAck
	ackTotal int

	subsArea  subscriptionsArea // consumer 1: the list kazoo.subscriptions shows
	consumers consumerStates    // consumer 1: every worker's consumers, for that list

	connMu     sync.Mutex // connection events, in order
	connOpen   map[*broker.Conn]int
	connRoutes *routeResolver
}

// StartWorker makes this process consumer worker number index (1-based): it reads async
// queries from ipcFD (shared by all workers), control records from controlFD (its own), and
// wakes its C thread through notifyFD.
func (m *Module) StartWorker(index, ipcFD, notifyFD, controlFD int) (*Worker, error) {
	async, err := packetConn(ipcFD, "kazoo-async-ipc")
	if err != nil {
		return nil, err
	}
	control, err := packetConn(controlFD, "kazoo-control")
	if err != nil {
		return nil, err
	}
	w := &Worker{m: m, index: index, notify: notifyFD, pending: map[uint32]*delivery{},
		connOpen: map[*broker.Conn]int{}, connRoutes: newRouteResolver(m.Cfg.EventRoutes)}
	w.subs = newSubscriptions(w)
	go w.readAsync(async)
	go w.readControl(control)
	m.attachWorker(w)
	m.Pool.ConnectAll() // a consumer consumes from every broker
	return w, nil
}

func packetConn(fd int, name string) (net.PacketConn, error) {
	f := os.NewFile(uintptr(fd), name)
	pc, err := net.FilePacketConn(f) // dups fd
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("%s socket: %v", name, err)
	}
	return pc, nil
}

// push queues ev (with the delivery to acknowledge, for messages) and wakes the C thread.
func (w *Worker) push(ev Event, d *delivery) {
	w.mu.Lock()
	if d != nil {
		w.handle++
		if w.handle == 0 {
			w.handle = 1
		}
		ev.Handle = w.handle
		w.pending[ev.Handle] = d
	}
	wake := len(w.queue) == 0
	w.queue = append(w.queue, ev)
	w.mu.Unlock()
	// The C thread takes events until the queue is empty before it blocks on the pipe, so
	// only the push that finds the queue empty must wake it (one write per burst, not per
	// event). A full pipe is fine: it is awake then.
	for wake {
		if _, err := syscall.Write(w.notify, []byte{1}); err != syscall.EINTR {
			return
		}
	}
}

// Take returns the next event when it fits in limit bytes (else ok=false and its size,
// leaving it queued), or Kind EventNone. A message whose channel died while it waited is
// skipped: the broker redelivers it. A message of a subscription that acknowledges before
// the route (no_ack, or wait_for_consumer_ack false) is acknowledged here.
func (w *Worker) Take(limit int) (ev Event, size int, ok bool) {
	defer func() {
		if ok {
			w.current = ev.Source
		}
	}()
	w.mu.Lock()
	for {
		if len(w.queue) == 0 {
			acks := w.takeAcksLocked() // idle: the routes that ran are acknowledged now
			w.mu.Unlock()
			w.sendAcks(acks)
			return Event{Kind: EventNone}, 0, true
		}
		ev = w.queue[0]
		if ev.Size() > limit {
			w.mu.Unlock()
			return ev, ev.Size(), false
		}
		w.queue[0] = Event{}
		w.queue = w.queue[1:]
		d := w.pending[ev.Handle]
		if d != nil && d.dead() {
			delete(w.pending, ev.Handle)
			continue
		}
		if d != nil && !d.afterRoute {
			delete(w.pending, ev.Handle)
			w.mu.Unlock()
			d.ack()
			return ev, ev.Size(), true
		}
		w.mu.Unlock()
		return ev, ev.Size(), true
	}
}

// Refuse drops the next event, for which the C thread could not get size bytes of private
// (pkg) memory. Exiting instead would lose the process, and a message acknowledged after
// its route would still be queued and kill it again at every restart: a message is
// rejected without requeue (dead-lettered where its queue has a dead-letter exchange), an
// async query's outcome becomes its failure with a reason that fits. One log line each.
func (w *Worker) Refuse(size int64) {
	const why = "does not fit in this process's private memory (pkg: raise -M, or lower amqp_max_payload)"
	w.mu.Lock()
	if len(w.queue) == 0 {
		w.mu.Unlock()
		return
	}
	ev := w.queue[0]
	if ev.Kind == EventAsyncReply || ev.Kind == EventAsyncFail {
		route := ev.Route
		if ev.Kind == EventAsyncReply {
			route = ev.FailRoute
		}
		w.queue[0] = Event{Kind: EventAsyncFail, TIndex: ev.TIndex, TLabel: ev.TLabel, Route: route,
			Body: fmt.Appendf(nil, "kazoo_async_query: its outcome of %d bytes %s", size, why)}
		w.mu.Unlock() // the C thread logs the reason when it runs the failure route
		return
	}
	w.queue[0] = Event{}
	w.queue = w.queue[1:]
	d := w.pending[ev.Handle]
	delete(w.pending, ev.Handle)
	w.mu.Unlock()
	if d == nil { // a connection event
		w.m.Log.Errorf("connection event of %d bytes %s: not run", size, why)
		return
	}
	w.m.Log.Errorf("event from exchange '%s' with routing key '%s' (subscription %s) of %d bytes %s: rejected",
		d.exchange, ev.RoutingKey, d.subscription, size, why)
	w.m.count(counterRejected)
	if err := d.receipt.Reject(); err != nil {
		w.m.Log.Debugf("reject failed (the broker will redeliver): %v", err)
	}
}

// Done is called by the C thread when the route of message event handle has run: a
// subscription with ack after the route (no_ack false, wait_for_consumer_ack true) is
// acknowledged now. Had the process died in the route, the broker would redeliver.
//
// Acknowledgements are batched: one basic.ack with multiple=true per channel covers every
// route that ran, sent when the C thread finds no more events or after ackBatchMax routes.
// That is safe because a channel's messages run in order in this one thread: when the
// route of tag N has run, so have those of every earlier tag (or they were acknowledged or
// rejected already). A crash before the batch is sent redelivers those messages.
func (w *Worker) Done(handle uint32) {
	w.mu.Lock()
	d := w.pending[handle]
	delete(w.pending, handle)
	var acks []pendingAck
	if d != nil {
		w.addAckLocked(d)
		if w.ackTotal >= ackBatchMax {
			acks = w.takeAcksLocked()
		}
	}
	w.mu.Unlock()
	w.sendAcks(acks)
}

const ackBatchMax = 32

// pendingAck is the highest delivery tag of a channel whose route ran, and how many.
type pendingAck struct {
	d delivery
	n int
}

func (w *Worker) addAckLocked(d *delivery) {
	for i := range w.acks {
		if w.acks[i].d.receipt.SameChannel(d.receipt) {
			if d.receipt.Tag > w.acks[i].d.receipt.Tag {
				w.acks[i].d.receipt.Tag = d.receipt.Tag
			}
			w.acks[i].n++
			w.ackTotal++
			return
		}
	}
	w.acks = append(w.acks, pendingAck{d: *d, n: 1})
	w.ackTotal++
}

// takeAcksLocked hands over the pending acknowledgements (nil when none). Two buffers
// alternate: only the C thread takes and sends, so the one handed over is sent before it
// is reused.
func (w *Worker) takeAcksLocked() []pendingAck {
	if w.ackTotal == 0 {
		return nil
	}
	acks := w.acks
	w.acks, w.ackSpare, w.ackTotal = w.ackSpare[:0], acks, 0
	return acks
}

func (w *Worker) sendAcks(acks []pendingAck) {
	for _, a := range acks {
		if err := a.d.receipt.AckThrough(); err != nil {
			w.m.Log.Debugf("ack failed (the broker will redeliver): %v", err)
			continue
		}
		w.m.countN(counterAcked, a.n)
	}
}

// attachWorker makes w receive the connection changes of this process's brokers; the
// brokers already open are reported at once.
func (m *Module) attachWorker(w *Worker) {
	m.worker.Store(w)
	for _, c := range m.Pool.Conns() {
		if s := c.Session(); s != nil {
			w.connChanged(c, true, s, "")
		}
	}
}

// connChanged is broker.Options.OnChange: it runs on the connection's goroutine.
func (m *Module) connChanged(c *broker.Conn, open bool, s *broker.Session, reason string) {
	if open && c.Errors() > 0 {
		m.count(counterReconnects)
	}
	m.writeStatus()
	m.RefreshRuntimeStatus()
	m.statusMoved()
	if w := m.worker.Load(); w != nil {
		w.connChanged(c, open, s, reason)
	}
}

// connRetrying is broker.Options.OnRetry: worker 1 runs the fork's connection-message
// event, "reconnecting in <n> ms".
func (m *Module) connRetrying(c *broker.Conn, wait time.Duration) {
	if w := m.worker.Load(); w != nil && w.index == 1 {
		w.connMu.Lock()
		w.connectionEvent("message", c, "", "reconnecting in "+strconv.FormatInt(wait.Milliseconds(), 10)+" ms")
		w.connMu.Unlock()
	}
}

// statusMoved tells the shim that AppendStatus's counters changed: $xavp(amqpc) is fetched
// again before the next route.
func (m *Module) statusMoved() {
	if f := m.statusChanged.Load(); f != nil {
		(*f)()
	}
}

// SetStatusChanged sets what is called after each change of AppendStatus's counters.
func (m *Module) SetStatusChanged(f func()) { m.statusChanged.Store(&f) }
