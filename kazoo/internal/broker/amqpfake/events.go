package amqpfake

import (
	"sync"
	"time"
)

// Event is one method a client sent (a basic.publish once its body is complete). Only the
// fields that method carries are set.
type Event struct {
	Conn        *Conn
	Channel     uint16
	Method      string // "basic.ack", "queue.declare", ...
	Exchange    string
	Queue       string
	RoutingKey  string
	ConsumerTag string
	DeliveryTag uint64
	Multiple    bool
	Requeue     bool
	Code        uint16 // channel.close / connection.close
	Text        string
	Publish     *Publish // basic.publish
}

// eventLog keeps every event; waiters are woken through a channel closed on each append.
type eventLog struct {
	mu      sync.Mutex
	events  []Event
	changed chan struct{}
}

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	l.mu.Unlock()
}

// Events lists what clients sent so far, in order.
func (s *Server) Events() []Event {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return append([]Event(nil), s.events.events...)
}

// WaitEvent returns the first event (since the server started) that match accepts, waiting
// up to timeout for it; false when none came.
func (s *Server) WaitEvent(timeout time.Duration, match func(Event) bool) (Event, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	seen := 0
	for {
		l := &s.events
		l.mu.Lock()
		for ; seen < len(l.events); seen++ {
			if match(l.events[seen]) {
				e := l.events[seen]
				l.mu.Unlock()
				return e, true
			}
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return Event{}, false
		}
	}
}

// WaitMethod is WaitEvent for the first event of that method.
func (s *Server) WaitMethod(timeout time.Duration, method string) (Event, bool) {
	return s.WaitEvent(timeout, func(e Event) bool { return e.Method == method })
}

// Count is how many events of that method arrived so far.
func (s *Server) Count(method string) int {
	n := 0
	for _, e := range s.Events() {
		if e.Method == method {
			n++
		}
	}
	return n
}
