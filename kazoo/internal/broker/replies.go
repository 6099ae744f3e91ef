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
	waiting map[string]chan replyEvent
}

type replyEvent struct {
	body     []byte           // the reply, when returned is nil
	returned *status.Returned // why the broker returned the request unroutable
}

func newReplyRouter() *replyRouter {
	return &replyRouter{waiting: map[string]chan replyEvent{}}
}

// register returns the channel the reply for msgID will arrive on; false when a query
// with that Msg-ID is already waiting.
func (r *replyRouter) register(msgID string) (chan replyEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.waiting[msgID]; dup {
		return nil, false
	}
	ch := make(chan replyEvent, 1)
	r.waiting[msgID] = ch
	return ch, true
}

func (r *replyRouter) unregister(msgID string) {
	r.mu.Lock()
	delete(r.waiting, msgID)
	r.mu.Unlock()
}

// deliver hands ev to the query waiting for msgID; false when none waits.
func (r *replyRouter) deliver(msgID string, ev replyEvent) bool {
	r.mu.Lock()
	ch, ok := r.waiting[msgID]
	if ok {
		delete(r.waiting, msgID)
	}
	r.mu.Unlock()
	if ok {
		ch <- ev // buffered, never blocks
	}
	return ok
}

// InFlight counts queries waiting for a reply.
func (r *replyRouter) InFlight() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiting)
}
