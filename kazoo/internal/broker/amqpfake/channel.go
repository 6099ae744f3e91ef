package amqpfake

import (
	"fmt"
	"sync"
)

// channel is one open channel of a connection.
type channel struct {
	c  *Conn
	id uint16

	// touched by the reader goroutine only
	pending *Publish // a basic.publish waiting for its content
	left    uint64   // body bytes still to come

	mu        sync.Mutex
	confirm   bool
	seq       uint64 // last confirm sequence number given out
	consumers map[string]*consumer
	nextTag   uint64              // last delivery tag
	unacked   map[uint64]*message // deliveries waiting for the client's ack
	unackedQ  map[uint64]*queue
	closed    bool
}

func newChannel(c *Conn, id uint16) *channel {
	return &channel{c: c, id: id, consumers: map[string]*consumer{},
		unacked: map[uint64]*message{}, unackedQ: map[uint64]*queue{}}
}

// handle serves a method of the exchange, queue, basic or confirm class.
func (ch *channel) handle(class, id uint16, d *decoder) error {
	s := ch.c.s
	ev := Event{Conn: ch.c, Channel: ch.id}
	reply := func(class, id uint16, a *args) {
		if a == nil {
			a = method(class, id)
		}
		ch.c.send(encodeFrame(frameMethod, ch.id, a.b))
	}
	switch class<<8 | id {
	case 40<<8 | 10: // exchange.declare
		d.short()
		ev.Method, ev.Exchange = "exchange.declare", d.shortstr()
		kind := d.shortstr()
		bits := d.octet()
		d.table()
		s.events.add(ev)
		if d.bit(bits, 0) { // passive
			if !s.hasExchange(ev.Exchange) {
				ch.c.closeChannel(ch.id, 404, fmt.Sprintf("NOT_FOUND - no exchange '%s' in vhost '/'", ev.Exchange), class, id)
				return d.err
			}
		} else if err := s.declareExchange(ev.Exchange, kind); err != "" {
			ch.c.closeChannel(ch.id, 406, err, class, id)
			return d.err
		}
		if !d.bit(bits, 4) {
			reply(40, 11, nil)
		}
	case 40<<8 | 20: // exchange.delete
		d.short()
		ev.Method, ev.Exchange = "exchange.delete", d.shortstr()
		bits := d.octet()
		s.events.add(ev)
		s.deleteExchange(ev.Exchange)
		if !d.bit(bits, 1) {
			reply(40, 21, nil)
		}
	case 50<<8 | 10: // queue.declare
		d.short()
		ev.Method, ev.Queue = "queue.declare", d.shortstr()
		bits := d.octet()
		d.table()
		q, err := s.declareQueue(ch.c, ev.Queue, d.bit(bits, 0), d.bit(bits, 2), d.bit(bits, 3))
		if q != nil {
			ev.Queue = q.name
		}
		s.events.add(ev)
		if err != nil {
			ch.c.closeChannel(ch.id, err.code, err.text, class, id)
			return d.err
		}
		if !d.bit(bits, 4) {
			msgs, consumers := q.counts()
			reply(0, 0, method(50, 11).shortstr(q.name).long(uint32(msgs)).long(uint32(consumers)))
		}
	case 50<<8 | 20, 50<<8 | 50: // queue.bind, queue.unbind
		d.short()
		ev.Queue, ev.Exchange, ev.RoutingKey = d.shortstr(), d.shortstr(), d.shortstr()
		noWait := false
		if id == 20 {
			ev.Method = "queue.bind"
			noWait = d.bit(d.octet(), 0)
		} else {
			ev.Method = "queue.unbind"
		}
		d.table()
		s.events.add(ev)
		if err := s.bind(id == 20, ev.Queue, ev.Exchange, ev.RoutingKey); err != nil {
			ch.c.closeChannel(ch.id, err.code, err.text, class, id)
			return d.err
		}
		if id == 20 && !noWait {
			reply(50, 21, nil)
		} else if id == 50 {
			reply(50, 51, nil)
		}
	case 50<<8 | 30: // queue.purge
		d.short()
		ev.Method, ev.Queue = "queue.purge", d.shortstr()
		bits := d.octet()
		s.events.add(ev)
		n := s.purge(ev.Queue)
		if !d.bit(bits, 0) {
			reply(0, 0, method(50, 31).long(uint32(n)))
		}
	case 50<<8 | 40: // queue.delete
		d.short()
		ev.Method, ev.Queue = "queue.delete", d.shortstr()
		bits := d.octet()
		s.events.add(ev)
		n := s.deleteQueue(ev.Queue)
		if !d.bit(bits, 2) {
			reply(0, 0, method(50, 41).long(uint32(n)))
		}
	case 60<<8 | 10: // basic.qos
		d.long()
		d.short()
		d.octet()
		s.events.add(Event{Conn: ch.c, Channel: ch.id, Method: "basic.qos"})
		reply(60, 11, nil)
	case 60<<8 | 20: // basic.consume
		d.short()
		ev.Method, ev.Queue, ev.ConsumerTag = "basic.consume", d.shortstr(), d.shortstr()
		bits := d.octet()
		d.table()
		s.events.add(ev)
		if err := ch.consume(ev.Queue, ev.ConsumerTag, d.bit(bits, 1), d.bit(bits, 3)); err != nil {
			ch.c.closeChannel(ch.id, err.code, err.text, class, id)
		}
	case 60<<8 | 30: // basic.cancel
		ev.Method, ev.ConsumerTag = "basic.cancel", d.shortstr()
		bits := d.octet()
		s.events.add(ev)
		ch.cancel(ev.ConsumerTag)
		if !d.bit(bits, 0) {
			reply(0, 0, method(60, 31).shortstr(ev.ConsumerTag))
		}
	case 60<<8 | 31: // basic.cancel-ok, after a cancel of ours
		s.events.add(Event{Conn: ch.c, Channel: ch.id, Method: "basic.cancel-ok", ConsumerTag: d.shortstr()})
	case 60<<8 | 40: // basic.publish
		d.short()
		p := &Publish{Conn: ch.c, Channel: ch.id, ch: ch}
		p.Exchange, p.RoutingKey = d.shortstr(), d.shortstr()
		bits := d.octet()
		p.Mandatory, p.Immediate = d.bit(bits, 0), d.bit(bits, 1)
		ch.pending = p
	case 60<<8 | 70: // basic.get: the fake has nothing to get
		d.short()
		ev.Method, ev.Queue = "basic.get", d.shortstr()
		s.events.add(ev)
		reply(0, 0, method(60, 72).shortstr(""))
	case 60<<8 | 80, 60<<8 | 90, 60<<8 | 120: // basic.ack, basic.reject, basic.nack
		ev.DeliveryTag = d.longlong()
		bits := d.octet()
		switch id {
		case 80:
			ev.Method, ev.Multiple = "basic.ack", d.bit(bits, 0)
		case 90:
			ev.Method, ev.Requeue = "basic.reject", d.bit(bits, 0)
		case 120:
			ev.Method, ev.Multiple, ev.Requeue = "basic.nack", d.bit(bits, 0), d.bit(bits, 1)
		}
		s.events.add(ev)
		ch.settle(ev.DeliveryTag, ev.Multiple, id != 80 && ev.Requeue)
	case 60<<8 | 110: // basic.recover
		d.octet()
		s.events.add(Event{Conn: ch.c, Channel: ch.id, Method: "basic.recover"})
		reply(60, 111, nil)
	case 85<<8 | 10: // confirm.select
		noWait := d.bit(d.octet(), 0)
		ch.mu.Lock()
		ch.confirm = true
		ch.mu.Unlock()
		s.events.add(Event{Conn: ch.c, Channel: ch.id, Method: "confirm.select"})
		if !noWait {
			reply(85, 11, nil)
		}
	default:
		return fmt.Errorf("amqpfake: method %d.%d not handled", class, id)
	}
	return d.err
}

// content takes a content header or body frame of the publish under way.
func (ch *channel) content(f frame) {
	p := ch.pending
	if p == nil {
		return
	}
	d := &decoder{b: f.payload}
	if f.typ == frameHeader {
		d.short()
		d.short()
		ch.left = d.longlong()
		p.Properties = d.properties()
	} else {
		p.Body = append(p.Body, f.payload...)
		ch.left -= min(ch.left, uint64(len(f.payload)))
	}
	if ch.left == 0 {
		ch.pending = nil
		ch.published(p)
	}
}

// published handles a complete basic.publish: a confirm sequence number when the channel
// is in confirm mode, then 404 for an unknown exchange (as RabbitMQ: the channel closes and
// the publish is never confirmed), else the test's hook or the default.
func (ch *channel) published(p *Publish) {
	ch.mu.Lock()
	if ch.confirm {
		ch.seq++
		p.Seq = ch.seq
	}
	ch.mu.Unlock()
	s := ch.c.s
	s.events.add(Event{Conn: ch.c, Channel: ch.id, Method: "basic.publish", Exchange: p.Exchange,
		RoutingKey: p.RoutingKey, Publish: p})
	if !s.hasExchange(p.Exchange) {
		ch.c.closeChannel(ch.id, 404, fmt.Sprintf("NOT_FOUND - no exchange '%s' in vhost '/'", p.Exchange), 60, 40)
		return
	}
	if hook := s.hookPublish(); hook != nil {
		hook(p)
		return
	}
	p.Default()
}

// close ends the channel: its consumers go, its unacked deliveries are requeued.
func (ch *channel) close() {
	ch.mu.Lock()
	if ch.closed {
		ch.mu.Unlock()
		return
	}
	ch.closed = true
	consumers := ch.consumers
	ch.consumers = map[string]*consumer{}
	unacked, unackedQ := ch.unacked, ch.unackedQ
	ch.unacked, ch.unackedQ = map[uint64]*message{}, map[uint64]*queue{}
	ch.mu.Unlock()
	for _, cons := range consumers {
		cons.q.removeConsumer(cons)
	}
	for tag, m := range unacked {
		unackedQ[tag].requeue(m)
	}
}
