package module

import "github.com/kazoo-so/kazoo-go/kazoo/internal/broker"

// listenerCount is one $xavp(amqpc) key of a named subscription and its counts.
type listenerCount struct {
	key          string
	open, errors int64
}

// appendListenerStatus appends, in a consumer worker, the fork's keys of each named
// subscription (the fork made a listener of each, with connections of its own):
// "<name>", "<name>::<zone>" and "<zone>::<name>" count this worker's connections that
// consume it, each with "::error" for the failed connects and losses of those
// connections. A subscription named "default" is left out: that name is the requests'
// listener (statusListener). Other processes consume nothing and have no such keys.
func (s *subscriptions) appendListenerStatus(dst []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var counts []listenerCount
	add := func(key string, open bool, errors int64) {
		for i := range counts {
			if counts[i].key == key {
				if open {
					counts[i].open++
				}
				counts[i].errors += errors
				return
			}
		}
		c := listenerCount{key: key, errors: errors}
		if open {
			c.open = 1
		}
		counts = append(counts, c)
	}
	for _, sub := range s.list {
		name := sub.Name
		if name == "" || name == statusListener {
			continue
		}
		for _, bc := range s.w.m.Pool.Conns() {
			if !s.assigned(sub, bc) {
				continue
			}
			zone := s.w.zoneOf(bc)
			open := s.consuming(bc, sub.ID())
			errors := bc.Errors()
			add(name, open, errors)
			add(name+"::"+zone, open, errors)
			add(zone+"::"+name, open, errors)
		}
	}
	for _, c := range counts {
		dst = appendPair(dst, c.key, "", c.open)
		dst = appendPair(dst, c.key, "::error", c.errors)
	}
	return dst
}

// consuming reports whether the subscription id has a consumer on bc's open connection.
// Callers hold s.mu.
func (s *subscriptions) consuming(bc *broker.Conn, id string) bool {
	cc := s.conns[bc]
	return cc != nil && cc.running[id] != nil
}
