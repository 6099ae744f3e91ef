package broker

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// wait bounds every wait of these tests for something that is due to happen; it is only
// reached when it does not (a failure), so it can be generous.
const wait = 5 * time.Second

// change is one OnChange call.
type change struct {
	id     int // broker id
	open   bool
	reason string
	errors int64 // Conn.Errors() during the call
}

// fixture is a connection (or pool) to fake brokers, with its OnChange calls and log.
type fixture struct {
	t       *testing.T
	opt     Options
	changes chan change
	log     *logBuffer
}

func newFixture(t *testing.T, dial func(network, addr string) (net.Conn, error)) *fixture {
	f := &fixture{t: t, changes: make(chan change, 4096), log: &logBuffer{}}
	f.opt = Options{
		ConnectTimeout: wait,
		WriteTimeout:   wait,
		ConnectionName: "kamailio@test pid 1 test",
		Node:           "kamailio@test",
		Reconnect:      Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, Factor: 2, Jitter: 0.25},
		ReplyRetry:     Retry{Initial: 5 * time.Millisecond, Max: 50 * time.Millisecond, Factor: 2},
		Dial:           dial,
		OnChange: func(c *Conn, open bool, _ *Session, reason string) {
			select {
			case f.changes <- change{c.Broker.ID, open, reason, c.Errors()}:
			default: // a broker refused for long: later changes are not looked at
			}
		},
	}
	return f
}

func broker(t *testing.T, url string, id int) config.Broker {
	b, err := config.ParseBroker(url, id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// conn starts a connection to one fake broker.
func (f *fixture) conn(srv *amqpfake.Server) *Conn {
	c := NewConn(broker(f.t, "amqp://guest:guest@fake:5672/", 1), f.opt, klog.NewWriter(f.log, klog.Debug), newReplyRouter())
	f.t.Cleanup(c.Close)
	f.t.Cleanup(srv.Close)
	return c
}

// next is the next OnChange call.
func (f *fixture) next() change {
	f.t.Helper()
	select {
	case ch := <-f.changes:
		return ch
	case <-time.After(wait):
		f.t.Fatal("no OnChange call")
		return change{}
	}
}

// until skips OnChange calls up to the first with that broker id and open flag.
func (f *fixture) until(id int, open bool) change {
	f.t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ch := <-f.changes:
			if ch.id == id && ch.open == open {
				return ch
			}
		case <-timeout:
			f.t.Fatalf("no OnChange call for broker %d with open=%v", id, open)
		}
	}
}

// startFake is a fake broker with a connection to it, open.
func startFake(t *testing.T, tune func(*Options)) (*amqpfake.Server, *Conn, *fixture, *amqpfake.Conn) {
	t.Helper()
	srv := amqpfake.NewServer()
	f := newFixture(t, srv.Dial)
	if tune != nil {
		tune(&f.opt)
	}
	c := f.conn(srv)
	if ch := f.next(); !ch.open {
		t.Fatalf("first change %+v, want open", ch)
	}
	sc := srv.WaitAccepted(wait)
	if sc == nil {
		t.Fatal("the server saw no connection")
	}
	return srv, c, f, sc
}

func deadline() time.Time { return time.Now().Add(wait) }

func wantCode(t *testing.T, err error, code status.Code, text string) *status.Error {
	t.Helper()
	se, ok := err.(*status.Error)
	if !ok || se.Code != code || !strings.Contains(se.Msg, text) {
		t.Fatalf("error %v (%T), want code %d containing %q", err, err, code, text)
	}
	return se
}

// logBuffer keeps the log lines and lets a test wait for one.
type logBuffer struct {
	mu      sync.Mutex
	text    strings.Builder
	changed chan struct{}
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.text.Write(p)
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return len(p), nil
}

// waitFor waits until the log holds s.
func (b *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	if !b.seenWithin(s, wait) {
		t.Fatalf("log line %q not seen; log:\n%s", s, b.String())
	}
}

// seenWithin waits up to d until the log holds s.
func (b *logBuffer) seenWithin(s string, d time.Duration) bool {
	timeout := time.After(d)
	for {
		b.mu.Lock()
		if strings.Contains(b.text.String(), s) {
			b.mu.Unlock()
			return true
		}
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			return false
		}
	}
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text.String()
}
