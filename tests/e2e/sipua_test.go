package e2e

import (
	"net"
	"sync"
	"testing"
	"time"
)

// sipInbox is what a test UA on UDP received: it reads conn until the test ends, answers
// with what reply returns (nil: nothing), keeps every message and lets tests wait for one.
type sipInbox struct {
	mu   sync.Mutex
	msgs []presSipMsg
	seen chan struct{}
}

// listenSIP starts reading conn; conn is closed when the test ends.
func listenSIP(t *testing.T, conn *net.UDPConn, reply func(m presSipMsg) []byte) *sipInbox {
	in := &sipInbox{seen: make(chan struct{}, 1)}
	done := make(chan struct{})
	t.Cleanup(func() { conn.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			m := presParseSip(buf[:n])
			m.from, m.at = from, time.Now()
			if reply != nil {
				if b := reply(m); b != nil {
					_, _ = conn.WriteToUDP(b, from)
				}
			}
			in.mu.Lock()
			in.msgs = append(in.msgs, m)
			in.mu.Unlock()
			select {
			case in.seen <- struct{}{}:
			default:
			}
		}
	}()
	return in
}

// received returns a copy of the messages received so far.
func (in *sipInbox) received() []presSipMsg {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]presSipMsg(nil), in.msgs...)
}

// wait returns the first message received (so far or within timeout) for which ok is true.
func (in *sipInbox) wait(timeout time.Duration, ok func(presSipMsg) bool) (presSipMsg, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range in.received() {
			if ok(m) {
				return m, true
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			return presSipMsg{}, false
		}
		select {
		case <-in.seen:
		case <-time.After(min(left, 100*time.Millisecond)):
		}
	}
}
