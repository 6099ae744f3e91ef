package broker

import (
	"sync"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// replyRouter hands replies that arrive on a process's reply queues to the query waiting for
// their Msg-ID. Kazoo answers a request with targeted_publish(Server-ID) and correlates by
// Msg-ID only (kz_amqp_worker), so the Msg-ID is the key. A query registers before it
// publishes, so a fast reply cannot arrive before anybody waits for it (the C module's
// race lost about one reply in a thousand); a late reply after a timeout finds nobody and
// is dropped, never delivered to the next query.
type replyRouter struct {
	mu      sync.Mutex
	waiting map[string]*waiter
}

// waiter is one query waiting: its outcome goes to ch, then notify (if any) is called.
type waiter struct {
	ch     chan replyEvent
	notify func()
	pc     *pubChannel // the channel the request went out on, once sent
}

type replyEvent struct {
	body     []byte           // the reply, when returned and closed are nil
	returned *status.Returned // why the broker returned the request unroutable
	closed   *pubChannel      // the request's channel closed before any reply
	// the reply's body was larger than amqp_max_payload and dropped unread
	oversized *Oversized
}

func newReplyRouter() *replyRouter {
	return &replyRouter{waiting: map[string]*waiter{}}
}

// register returns the channel the reply for msgID will arrive on; notify (may be nil) is
// called from the delivering goroutine after the outcome is on the channel. False when a
// query with that Msg-ID is already waiting.
func (r *replyRouter) register(msgID string, notify func()) (chan replyEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.waiting[msgID]; dup {
		return nil, false
	}
	w := &waiter{ch: make(chan replyEvent, 1), notify: notify}
	r.waiting[msgID] = w
	return w.ch, true
}

// sentOn records the channel msgID's request went out on, so that its closing ends the
// wait (failChannel).
func (r *replyRouter) sentOn(msgID string, pc *pubChannel) {
	r.mu.Lock()
	if w, ok := r.waiting[msgID]; ok {
		w.pc = pc
	}
	r.mu.Unlock()
}

func (r *replyRouter) unregister(msgID string) {
	r.mu.Lock()
	delete(r.waiting, msgID)
	r.mu.Unlock()
}

// deliver hands ev to the query waiting for msgID; false when none waits.
func (r *replyRouter) deliver(msgID string, ev replyEvent) bool {
	r.mu.Lock()
	w, ok := r.waiting[msgID]
	if ok {
		delete(r.waiting, msgID)
	}
	r.mu.Unlock()
	if ok {
		w.ch <- ev // buffered, never blocks
		if w.notify != nil {
			w.notify()
		}
	}
	return ok
}

// failChannel ends the wait of every query sent on pc, which the broker closed (an unknown
// exchange, the connection lost): none of them can be confirmed any more.
func (r *replyRouter) failChannel(pc *pubChannel) {
	var ended []*waiter
	r.mu.Lock()
	for id, w := range r.waiting {
		if w.pc == pc {
			delete(r.waiting, id)
			ended = append(ended, w)
		}
	}
	r.mu.Unlock()
	for _, w := range ended {
		w.ch <- replyEvent{closed: pc}
		if w.notify != nil {
			w.notify()
		}
	}
}

// InFlight counts queries waiting for a reply.
func (r *replyRouter) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiting)
}
