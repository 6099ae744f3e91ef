package amqpfake

import (
	"fmt"
	"strings"
)

// queue is a queue of the server; its fields are guarded by Server.mu.
type queue struct {
	s          *Server
	name       string
	owner      *Conn // exclusive queues die with their connection
	autoDelete bool
	messages   []*message
	consumers  []*consumer
	next       int // round robin
}

type message struct {
	exchange, routingKey string
	props                Properties
	body                 []byte
	redelivered          bool
}

type binding struct{ queue, exchange, key string }

type amqpError struct {
	code uint16
	text string
}

func (s *Server) hasExchange(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.exchanges[name]
	return ok
}

// declareExchange returns a 406 text when the exchange exists with another type.
func (s *Server) declareExchange(name, kind string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if have, ok := s.exchanges[name]; ok && have != kind {
		return fmt.Sprintf("PRECONDITION_FAILED - inequivalent arg 'type' for exchange '%s' in vhost '/': received '%s' but current is '%s'", name, kind, have)
	}
	s.exchanges[name] = kind
	return ""
}

func (s *Server) deleteExchange(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.exchanges, name)
	kept := s.bindings[:0]
	for _, b := range s.bindings {
		if b.exchange != name {
			kept = append(kept, b)
		}
	}
	s.bindings = kept
}

// HasQueue tells whether a queue of that name exists.
func (s *Server) HasQueue(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queues[name] != nil
}

// Bound tells whether queue is bound to exchange with that routing key.
func (s *Server) Bound(queue, exchange, key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bindings {
		if b == (binding{queue, exchange, key}) {
			return true
		}
	}
	return false
}

func (s *Server) declareQueue(c *Conn, name string, passive, exclusive, autoDelete bool) (*queue, *amqpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		s.genQueue++
		name = fmt.Sprintf("amq.gen-%d", s.genQueue)
	}
	q := s.queues[name]
	switch {
	case q == nil && passive:
		return nil, &amqpError{404, fmt.Sprintf("NOT_FOUND - no queue '%s' in vhost '/'", name)}
	case q != nil && q.owner != nil && q.owner != c:
		return nil, &amqpError{405, fmt.Sprintf("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '%s' in vhost '/'", name)}
	case q == nil:
		q = &queue{s: s, name: name, autoDelete: autoDelete}
		if exclusive {
			q.owner = c
		}
		s.queues[name] = q
	}
	return q, nil
}

func (q *queue) counts() (messages, consumers int) { return len(q.messages), len(q.consumers) }

func (s *Server) bind(add bool, queue, exchange, key string) *amqpError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues[queue] == nil {
		return &amqpError{404, fmt.Sprintf("NOT_FOUND - no queue '%s' in vhost '/'", queue)}
	}
	if _, ok := s.exchanges[exchange]; !ok {
		return &amqpError{404, fmt.Sprintf("NOT_FOUND - no exchange '%s' in vhost '/'", exchange)}
	}
	b := binding{queue, exchange, key}
	for i, have := range s.bindings {
		if have == b {
			if !add {
				s.bindings = append(s.bindings[:i], s.bindings[i+1:]...)
			}
			return nil
		}
	}
	if add {
		s.bindings = append(s.bindings, b)
	}
	return nil
}

func (s *Server) purge(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[name]
	if q == nil {
		return 0
	}
	n := len(q.messages)
	q.messages = nil
	return n
}

func (s *Server) deleteQueue(name string) int {
	s.mu.Lock()
	q := s.queues[name]
	s.mu.Unlock()
	if q == nil {
		return 0
	}
	return s.removeQueue(q)
}

// removeQueue deletes q and its bindings; its consumers get basic.cancel (RabbitMQ's
// consumer cancel notification).
func (s *Server) removeQueue(q *queue) int {
	s.mu.Lock()
	if s.queues[q.name] != q {
		s.mu.Unlock()
		return 0
	}
	delete(s.queues, q.name)
	kept := s.bindings[:0]
	for _, b := range s.bindings {
		if b.queue != q.name {
			kept = append(kept, b)
		}
	}
	s.bindings = kept
	consumers := q.consumers
	q.consumers = nil
	n := len(q.messages)
	s.mu.Unlock()
	for _, cons := range consumers {
		cons.ch.cancelledByServer(cons.tag)
	}
	return n
}

func (s *Server) dropExclusive(c *Conn) {
	s.mu.Lock()
	var owned []*queue
	for _, q := range s.queues {
		if q.owner == c {
			owned = append(owned, q)
		}
	}
	s.mu.Unlock()
	for _, q := range owned {
		s.removeQueue(q)
	}
}

// Publish is a message published by another client of the broker (Kazoo): routed by
// exchange and routing key like a client's. Returns how many queues it reached.
func (s *Server) Publish(exchange, routingKey string, props Properties, body []byte) int {
	return s.route(exchange, routingKey, props, body)
}

func (s *Server) route(exchange, key string, props Properties, body []byte) int {
	s.mu.Lock()
	kind, ok := s.exchanges[exchange]
	var targets []*queue
	switch {
	case !ok:
	case exchange == "":
		if q := s.queues[key]; q != nil {
			targets = append(targets, q)
		}
	default:
		seen := map[string]bool{}
		for _, b := range s.bindings {
			if b.exchange == exchange && !seen[b.queue] && matches(kind, b.key, key) {
				seen[b.queue] = true
				targets = append(targets, s.queues[b.queue])
			}
		}
	}
	s.mu.Unlock()
	for _, q := range targets {
		s.enqueue(q, &message{exchange: exchange, routingKey: key, props: props, body: body})
	}
	return len(targets)
}

// matches is the routing rule of an exchange type; a headers exchange routes nothing here.
func matches(kind, pattern, key string) bool {
	switch kind {
	case "fanout":
		return true
	case "direct":
		return pattern == key
	case "topic":
		return topicMatch(strings.Split(pattern, "."), strings.Split(key, "."))
	}
	return false
}

// topicMatch: "*" is one word, "#" zero or more.
func topicMatch(p, k []string) bool {
	if len(p) == 0 {
		return len(k) == 0
	}
	switch p[0] {
	case "#":
		for i := 0; i <= len(k); i++ {
			if topicMatch(p[1:], k[i:]) {
				return true
			}
		}
		return false
	case "*":
		return len(k) > 0 && topicMatch(p[1:], k[1:])
	}
	return len(k) > 0 && p[0] == k[0] && topicMatch(p[1:], k[1:])
}

// DeleteQueue deletes the queue, as rabbitmqctl delete_queue does: its consumers get
// basic.cancel. Returns the messages it held.
func (s *Server) DeleteQueue(name string) int { return s.deleteQueue(name) }
