package module

import (
	"strconv"
	"sync"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
)

// statusListener is the fork's name for the connections that carry requests; this
// module has one connection per broker and process, which carries everything.
const statusListener = "default"

// statusKey is one $xavp(amqpc) name and the connections it counts.
type statusKey struct {
	name  string
	conns []*broker.Conn
}

// statusKeys are built once (they depend on the configuration only): AppendStatus runs
// before every request route of every SIP worker and must not allocate.
type statusKeys struct {
	once sync.Once
	keys []statusKey
}

func (m *Module) statusKeys() []statusKey {
	m.keys.once.Do(func() {
		index := map[string]int{}
		add := func(name string, c *broker.Conn) {
			i, ok := index[name]
			if !ok {
				i = len(m.keys.keys)
				index[name] = i
				m.keys.keys = append(m.keys.keys, statusKey{name: name})
			}
			m.keys.keys[i].conns = append(m.keys.keys[i].conns, c)
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
	})
	return m.keys.keys
}

// AppendStatus appends this process's connection counters for $xavp(amqpc) as
// "name\0value\0" pairs, with the keys of 2600hz's fork: "<zone>", "<zone>::default",
// "default::<zone>", "default" and the broker URL (password masked) count open
// connections; each with "::error" counts failed connects and losses since start.
// A process that has not connected yet connects to the primary zone first (waiting at
// most amqp_connect_timeout): the stock configs read these counters before they call the
// module, and drop the request when they are 0.
func (m *Module) AppendStatus(dst []byte) []byte {
	if !m.Pool.Started() {
		_, _ = m.Pool.Pick(time.Now().Add(m.Cfg.ConnectTimeout))
	}
	for _, k := range m.statusKeys() {
		var open, errors int64
		for _, c := range k.conns {
			if st, _ := c.State(); st == broker.Open {
				open++
			}
			errors += c.Errors()
		}
		dst = appendPair(dst, k.name, "", open)
		dst = appendPair(dst, k.name, "::error", errors)
	}
	if w := m.worker.Load(); w != nil {
		dst = w.subs.appendListenerStatus(dst)
	}
	return dst
}

func appendPair(dst []byte, key, suffix string, v int64) []byte {
	dst = append(dst, key...)
	dst = append(dst, suffix...)
	dst = append(dst, 0)
	dst = strconv.AppendInt(dst, v, 10)
	return append(dst, 0)
}
