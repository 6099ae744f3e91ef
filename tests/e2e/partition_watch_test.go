package e2e

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// partitionWatch notes, every 100 ms from a goroutine of its own, the moments a partition
// test measures: when the cut-off node's AMQP port refuses connections (a paused node
// closes its listener; a slow answer is no refusal), when every Kamailio process that used
// that node has let it go for another one (kazoo.status), and when each event's route
// first ran (Kamailio's log). Polling rabbitmqctl instead would take seconds per look.
type partitionWatch struct {
	stop chan struct{}
	once sync.Once
	done chan struct{}

	mu       sync.Mutex
	pausedAt time.Time
	movedAt  time.Time
	ranAt    map[string]time.Time
}

// watchPartition starts watching node r (broker index broker of Kamailio's amqp_connection
// list) and Kamailio k. users are the kazoo.status descriptions of the processes that had
// broker open before the cut.
func watchPartition(r *harness.Rabbit, k *harness.Kamailio, broker int, users map[string]bool) *partitionWatch {
	w := &partitionWatch{stop: make(chan struct{}), done: make(chan struct{}), ranAt: map[string]time.Time{}}
	addr := net.JoinHostPort(r.IP(), strconv.Itoa(r.Port()))
	go func() {
		defer close(w.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			now := time.Now()
			refused := false
			if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				c.Close()
			} else {
				refused = errors.Is(err, syscall.ECONNREFUSED)
			}
			status, err := k.KamcmdErr("kazoo.status")
			moved := err == nil && leftBroker(parseStatus(status), broker, users)
			runs := eventRuns(k)
			w.mu.Lock()
			if refused && w.pausedAt.IsZero() {
				w.pausedAt = now
			}
			if moved && w.movedAt.IsZero() {
				w.movedAt = now
			}
			for id := range runs {
				if _, ok := w.ranAt[id]; !ok {
					w.ranAt[id] = now
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// leftBroker: no process in users has broker open, and each has another one open.
func leftBroker(ps []procStatus, broker int, users map[string]bool) bool {
	seen := 0
	for _, p := range ps {
		if !users[p.desc] {
			continue
		}
		seen++
		other := false
		for i, st := range p.states {
			if st == "open" {
				if i == broker {
					return false
				}
				other = true
			}
		}
		if !other {
			return false
		}
	}
	return seen == len(users)
}

// brokerUsers are the descriptions of the processes that have broker open.
func brokerUsers(ps []procStatus, broker int) map[string]bool {
	users := map[string]bool{}
	for _, p := range ps {
		if broker < len(p.states) && p.states[broker] == "open" {
			users[p.desc] = true
		}
	}
	return users
}

// times returns what was noted so far (zero times: not yet).
func (w *partitionWatch) times() (pausedAt, movedAt time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pausedAt, w.movedAt
}

// ran returns when the route of event id was first seen in the log (zero: not yet).
func (w *partitionWatch) ran(id string) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ranAt[id]
}

// Stop ends the watch. It may be called again (a cleanup does).
func (w *partitionWatch) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}
