//go:build bench

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"
)

// sipLoad is a UDP SIP load generator: OPTIONS sip:<user>@… requests from one socket, each
// with its own Call-ID, replies matched by Call-ID. Open loop at a fixed rate (latency) or
// closed loop with K requests outstanding (throughput). A request without a final reply
// within timeout counts as lost.
type sipLoad struct {
	conn    *net.UDPConn
	port    int
	user    string
	timeout time.Duration
	alive   func() bool // false once the target died: the run stops
	// onFinal, when set, is told every final reply to a pending request (the storm bench
	// maps each request to what the route returned); set under mu.
	onFinal func(callID string, code int)

	mu      sync.Mutex
	pending map[string]time.Time // Call-ID -> sent
	lat     []float64            // ms, 200 replies
	ok      int
	failed  int           // non-200 final replies and lost requests
	slots   chan struct{} // closed loop: one token per finished request
	seq     int
}

// loadResult is one phase of load.
type loadResult struct {
	lat        []float64 // ms, sorted
	ok, failed int
	took       time.Duration // until the end of the phase or the target's death
	died       bool
}

func (r loadResult) perSec() float64 {
	if r.took <= 0 {
		return nan
	}
	return float64(r.ok) / r.took.Seconds()
}

func newSipLoad(port int, user string, alive func() bool) (*sipLoad, error) {
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		return nil, err
	}
	_ = c.SetReadBuffer(4 << 20)
	_ = c.SetWriteBuffer(4 << 20)
	l := &sipLoad{conn: c, port: port, user: user, timeout: 3 * time.Second, alive: alive,
		pending: map[string]time.Time{}}
	go l.read()
	return l, nil
}

func (l *sipLoad) Close() { l.conn.Close() }

var callIDHdr = []byte("\r\nCall-ID:")

func (l *sipLoad) read() {
	buf := make([]byte, 65536)
	for {
		n, err := l.conn.Read(buf)
		if err != nil {
			if isClosed(err) {
				return
			}
			continue // ECONNREFUSED (ICMP port unreachable after a crash): read on until Close
		}
		now := time.Now()
		msg := buf[:n]
		sp := bytes.IndexByte(msg, ' ')
		if sp < 0 || len(msg) < sp+4 {
			continue
		}
		code, _ := strconv.Atoi(string(msg[sp+1 : sp+4]))
		if code < 200 {
			continue
		}
		i := bytes.Index(msg, callIDHdr)
		if i < 0 {
			continue
		}
		rest := msg[i+len(callIDHdr):]
		if j := bytes.Index(rest, []byte("\r\n")); j >= 0 {
			rest = rest[:j]
		}
		id := string(bytes.TrimSpace(rest))
		l.mu.Lock()
		sent, ok := l.pending[id]
		if ok {
			delete(l.pending, id)
			if code == 200 {
				l.ok++
				l.lat = append(l.lat, float64(now.Sub(sent).Microseconds())/1000)
			} else {
				l.failed++
			}
		}
		slots, final := l.slots, l.onFinal
		l.mu.Unlock()
		if ok && final != nil {
			final(id, code)
		}
		if ok && slots != nil {
			slots <- struct{}{}
		}
	}
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }

// send sends one request and returns its Call-ID.
func (l *sipLoad) send() string {
	l.mu.Lock()
	l.seq++
	seq := l.seq
	id := fmt.Sprintf("b%d-%d@bench", time.Now().UnixNano()&0xffffff, seq)
	l.mu.Unlock()
	local := l.conn.LocalAddr().String()
	msg := fmt.Sprintf("OPTIONS sip:%s@127.0.0.1:%d SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"+
		"From: <sip:bench@127.0.0.1>;tag=%d\r\nTo: <sip:%s@127.0.0.1>\r\n"+
		"Call-ID: %s\r\nCSeq: %d OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		l.user, l.port, local, id, seq, l.user, id, seq)
	l.mu.Lock()
	l.pending[id] = time.Now()
	l.mu.Unlock()
	if _, err := l.conn.Write([]byte(msg)); err != nil {
		l.mu.Lock()
		if _, ok := l.pending[id]; ok {
			delete(l.pending, id)
			l.failed++
		}
		l.mu.Unlock()
	}
	return id
}

// expire counts requests older than timeout as failed; returns how many.
func (l *sipLoad) expire(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for id, sent := range l.pending {
		if now.Sub(sent) > l.timeout {
			delete(l.pending, id)
			l.failed++
			n++
		}
	}
	return n
}

// reset starts a phase: counters to zero (requests still pending from a previous phase
// are forgotten).
func (l *sipLoad) reset(slots chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = map[string]time.Time{}
	l.lat, l.ok, l.failed, l.slots = nil, 0, 0, slots
}

// drain waits for the outstanding requests (at most timeout) and returns the phase's result.
func (l *sipLoad) drain(took time.Duration, died bool) loadResult {
	deadline := time.Now().Add(l.timeout + 200*time.Millisecond)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		n := len(l.pending)
		l.mu.Unlock()
		if n == 0 || died {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	l.expire(time.Now().Add(time.Hour))
	l.mu.Lock()
	defer l.mu.Unlock()
	lat := append([]float64(nil), l.lat...)
	sort.Float64s(lat)
	return loadResult{lat: lat, ok: l.ok, failed: l.failed, took: took, died: died || !l.alive()}
}

// fixedRate sends rate requests per second for d (open loop: a late reply does not delay
// the next request), then waits for the last replies.
func (l *sipLoad) fixedRate(rate int, d time.Duration) loadResult {
	l.reset(nil)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	died := false
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= d {
			break
		}
		if i%rate == 0 && !l.alive() { // once a second
			died = true
			break
		}
		time.Sleep(time.Until(next))
		l.send()
	}
	return l.drain(time.Since(start), died)
}

// closedLoop keeps k requests outstanding for d and counts the 200 replies; it stops at
// the target's death (the rate is then over the time until it died).
func (l *sipLoad) closedLoop(k int, d time.Duration) loadResult {
	slots := make(chan struct{}, k*2)
	l.reset(slots)
	start := time.Now()
	for i := 0; i < k; i++ {
		l.send()
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	died := false
loop:
	for time.Since(start) < d {
		select {
		case <-slots:
			l.send()
		case now := <-tick.C:
			if !l.alive() {
				died = true
				break loop
			}
			for n := l.expire(now); n > 0; n-- {
				l.send()
			}
		}
	}
	took := time.Since(start)
	l.mu.Lock()
	l.slots = nil
	l.mu.Unlock()
	// only replies within the window count: take the counters now
	l.mu.Lock()
	ok, failed := l.ok, l.failed
	lat := append([]float64(nil), l.lat...)
	l.mu.Unlock()
	l.drain(0, died)
	sort.Float64s(lat)
	return loadResult{lat: lat, ok: ok, failed: failed, took: took, died: died || !l.alive()}
}
