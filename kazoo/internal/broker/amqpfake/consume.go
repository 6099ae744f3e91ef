package amqpfake

import "fmt"

// consumer is a basic.consume of a channel on a queue.
type consumer struct {
	ch    *channel
	q     *queue
	tag   string
	noAck bool
}

func (ch *channel) consume(queueName, tag string, noAck, noWait bool) *amqpError {
	s := ch.c.s
	s.mu.Lock()
	q := s.queues[queueName]
	if q == nil {
		s.mu.Unlock()
		return &amqpError{404, fmt.Sprintf("NOT_FOUND - no queue '%s' in vhost '/'", queueName)}
	}
	if tag == "" {
		s.genQueue++
		tag = fmt.Sprintf("amq.ctag-%d", s.genQueue)
	}
	cons := &consumer{ch: ch, q: q, tag: tag, noAck: noAck}
	ch.mu.Lock()
	ch.consumers[tag] = cons
	ch.mu.Unlock()
	q.consumers = append(q.consumers, cons)
	s.mu.Unlock()
	if !noWait {
		ch.c.send(encodeFrame(frameMethod, ch.id, method(60, 21).shortstr(tag).b))
	}
	s.dispatch(q)
	return nil
}

// cancel ends a consumer the client cancelled.
func (ch *channel) cancel(tag string) {
	ch.mu.Lock()
	cons := ch.consumers[tag]
	delete(ch.consumers, tag)
	ch.mu.Unlock()
	if cons != nil {
		cons.q.removeConsumer(cons)
	}
}

// cancelledByServer tells the client its consumer is gone (queue deleted, CancelConsumer).
func (ch *channel) cancelledByServer(tag string) {
	ch.mu.Lock()
	delete(ch.consumers, tag)
	ch.mu.Unlock()
	ch.c.send(encodeFrame(frameMethod, ch.id, method(60, 30).shortstr(tag).bits(true).b))
}

// CancelConsumer cancels the consumer with that tag from the server side (basic.cancel,
// as RabbitMQ does when its queue is deleted or its node goes down); false when the
// connection has no such consumer.
func (c *Conn) CancelConsumer(tag string) bool {
	c.mu.Lock()
	var found *consumer
	for _, ch := range c.channels {
		ch.mu.Lock()
		if cons := ch.consumers[tag]; cons != nil {
			found = cons
		}
		ch.mu.Unlock()
	}
	c.mu.Unlock()
	if found == nil {
		return false
	}
	found.q.removeConsumer(found)
	found.ch.cancelledByServer(tag)
	return true
}

// ConsumerTags lists the consumer tags of the queue's consumers.
func (s *Server) ConsumerTags(queueName string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[queueName]
	if q == nil {
		return nil
	}
	var tags []string
	for _, cons := range q.consumers {
		tags = append(tags, cons.tag)
	}
	return tags
}

func (q *queue) removeConsumer(cons *consumer) {
	s := q.s
	s.mu.Lock()
	for i, have := range q.consumers {
		if have == cons {
			q.consumers = append(q.consumers[:i], q.consumers[i+1:]...)
			break
		}
	}
	empty := len(q.consumers) == 0 && q.autoDelete
	s.mu.Unlock()
	if empty {
		s.removeQueue(q)
	}
}

func (q *queue) requeue(m *message) {
	if q == nil {
		return
	}
	m.redelivered = true
	s := q.s
	s.mu.Lock()
	q.messages = append([]*message{m}, q.messages...)
	s.mu.Unlock()
	s.dispatch(q)
}

func (s *Server) enqueue(q *queue, m *message) {
	s.mu.Lock()
	q.messages = append(q.messages, m)
	s.mu.Unlock()
	s.dispatch(q)
}

// dispatch hands the queue's messages to its consumers, round robin (no prefetch limit).
func (s *Server) dispatch(q *queue) {
	for {
		s.mu.Lock()
		if len(q.messages) == 0 || len(q.consumers) == 0 || s.queues[q.name] != q {
			s.mu.Unlock()
			return
		}
		m := q.messages[0]
		q.messages = q.messages[1:]
		cons := q.consumers[q.next%len(q.consumers)]
		q.next++
		cons.deliver(m)
		s.mu.Unlock()
	}
}

// deliver sends basic.deliver; called with Server.mu held.
func (cons *consumer) deliver(m *message) {
	ch := cons.ch
	ch.mu.Lock()
	ch.nextTag++
	tag := ch.nextTag
	if !cons.noAck {
		ch.unacked[tag] = m
		ch.unackedQ[tag] = cons.q
	}
	ch.mu.Unlock()
	a := method(60, 60).shortstr(cons.tag).longlong(tag).bits(m.redelivered).shortstr(m.exchange).shortstr(m.routingKey)
	ch.c.send(ch.c.content(ch.id, a.b, m.props, m.body)...)
}

// settle forgets acked deliveries and requeues rejected ones with requeue set.
func (ch *channel) settle(tag uint64, multiple, requeue bool) {
	type done struct {
		m *message
		q *queue
	}
	var settled []done
	ch.mu.Lock()
	for t, m := range ch.unacked {
		if t == tag || (multiple && t < tag) {
			settled = append(settled, done{m, ch.unackedQ[t]})
			delete(ch.unacked, t)
			delete(ch.unackedQ, t)
		}
	}
	ch.mu.Unlock()
	if requeue {
		for _, d := range settled {
			d.q.requeue(d.m)
		}
	}
}
