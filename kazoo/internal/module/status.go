package module

import (
	"strconv"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
)

// statusListener is the fork's name for the connections that carry requests; this
// module has one connection per broker and process, which carries everything.
const statusListener = "default"

// AppendStatus appends this process's connection counters for $xavp(amqpc) as
// "name\0value\0" pairs, with the keys of 2600hz's fork: "<zone>", "<zone>::default",
// "default::<zone>", "default" and the broker URL (password masked) count open
// connections; each with "::error" counts failed connects and losses since start.
func (m *Module) AppendStatus(dst []byte) []byte {
	type count struct{ open, errors int64 }
	var order []string
	counts := map[string]*count{}
	add := func(key string, c *broker.Conn) {
		n := counts[key]
		if n == nil {
			n = &count{}
			counts[key] = n
			order = append(order, key)
		}
		if st, _ := c.State(); st == broker.Open {
			n.open++
		}
		n.errors += c.Errors()
	}
	for _, c := range m.Pool.Conns() {
		zone := c.Broker.Zone
		if zone == "" {
			zone = m.Cfg.PrimaryZone
		}
		add(c.Broker.Masked(), c)
		add(zone, c)
		add(zone+"::"+statusListener, c)
		add(statusListener+"::"+zone, c)
		add(statusListener, c)
	}
	for _, key := range order {
		n := counts[key]
		dst = appendPair(dst, key, n.open)
		dst = appendPair(dst, key+"::error", n.errors)
	}
	return dst
}

func appendPair(dst []byte, key string, v int64) []byte {
	dst = append(dst, key...)
	dst = append(dst, 0)
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, 0)
}
