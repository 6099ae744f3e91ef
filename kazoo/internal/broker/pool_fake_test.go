package broker

import (
	"net"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// twoBrokers is a pool of two fake brokers, primary first, both connecting at once
// (ConnectAll, as in a consumer process).
func twoBrokers(t *testing.T, primaryRefuses, secondaryRefuses bool) (*Pool, *fixture, *amqpfake.Server, *amqpfake.Server) {
	p, f, primary, secondary := twoIdleBrokers(t, primaryRefuses, secondaryRefuses)
	p.ConnectAll()
	return p, f, primary, secondary
}

// twoIdleBrokers is a pool of two fake brokers that connects on demand.
func twoIdleBrokers(t *testing.T, primaryRefuses, secondaryRefuses bool) (*Pool, *fixture, *amqpfake.Server, *amqpfake.Server) {
	primary, secondary := amqpfake.NewServer(), amqpfake.NewServer()
	if primaryRefuses {
		primary.Refuse(nil)
	}
	if secondaryRefuses {
		secondary.Refuse(nil)
	}
	f := newFixture(t, amqpfake.Dialer(map[string]*amqpfake.Server{"primary:5672": primary, "secondary:5672": secondary}))
	p := NewPool([]config.Broker{broker(t, "amqp://guest:guest@primary:5672/", 1), broker(t, "amqp://guest:guest@secondary:5672/", 2)},
		f.opt, klog.NewWriter(f.log, klog.Debug))
	t.Cleanup(p.Close)
	t.Cleanup(primary.Close)
	t.Cleanup(secondary.Close)
	return p, f, primary, secondary
}

// publishedTo publishes and tells which of the two servers got it.
func publishedTo(t *testing.T, p *Pool, primary, secondary *amqpfake.Server) string {
	t.Helper()
	n1, n2 := primary.Count("basic.publish"), secondary.Count("basic.publish")
	if err := p.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
	switch {
	case primary.Count("basic.publish") == n1+1 && secondary.Count("basic.publish") == n2:
		return "primary"
	case secondary.Count("basic.publish") == n2+1 && primary.Count("basic.publish") == n1:
		return "secondary"
	}
	t.Fatal("published to neither or both")
	return ""
}

// The primary refuses: publishes go to the secondary (Pick waits for the primary's first
// attempt instead of failing). Once the primary accepts again, publishes return to it;
// when it is lost, they fail over at once.
func TestFakePoolFailover(t *testing.T) {
	p, f, primary, secondary := twoBrokers(t, true, false)
	f.until(2, true)
	if got := publishedTo(t, p, primary, secondary); got != "secondary" {
		t.Fatalf("published to %s while the primary refuses", got)
	}
	primary.Accept()
	f.until(1, true)
	if got := publishedTo(t, p, primary, secondary); got != "primary" {
		t.Fatalf("published to %s once the primary is back", got)
	}
	primary.Refuse(nil)
	primary.WaitAccepted(wait).Drop()
	f.until(1, false)
	if got := publishedTo(t, p, primary, secondary); got != "secondary" {
		t.Fatalf("published to %s after the primary was lost", got)
	}
}

// Right after start, a request waits for the first connect attempt rather than failing
// with "no broker". (Whether the publish or the connect comes first is up to the scheduler;
// either way the publish must succeed.)
func TestFakePoolFirstAttempt(t *testing.T) {
	srv := amqpfake.NewServer()
	gate := make(chan struct{})
	f := newFixture(t, func(network, addr string) (net.Conn, error) {
		<-gate
		return srv.Dial(network, addr)
	})
	p := NewPool([]config.Broker{broker(t, "amqp://guest:guest@fake:5672/", 1)}, f.opt, klog.NewWriter(f.log, klog.Debug))
	t.Cleanup(p.Close)
	t.Cleanup(srv.Close)
	go close(gate)
	if err := p.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
}

// With both brokers open, publishes go to the first one declared.
func TestFakePoolPrefersPrimary(t *testing.T) {
	p, f, primary, secondary := twoBrokers(t, false, false)
	open := map[int]bool{}
	for len(open) < 2 {
		if ch := f.next(); ch.open {
			open[ch.id] = true
		}
	}
	if got := publishedTo(t, p, primary, secondary); got != "primary" {
		t.Fatalf("published to %s", got)
	}
}

// A pool connects on demand: nothing before the first request, then the primary only;
// the second broker is connected when the first is lost, and the primary is used again
// once it is back.
func TestFakePoolConnectsOnDemand(t *testing.T) {
	p, f, primary, secondary := twoIdleBrokers(t, false, false)
	time.Sleep(20 * time.Millisecond)
	if n := len(primary.Conns()) + len(secondary.Conns()); n != 0 || p.Started() {
		t.Fatalf("%d connections before any request (started %v)", n, p.Started())
	}
	if st, _ := p.Conns()[0].State(); st != Idle {
		t.Fatalf("state %v before any request, want idle", st)
	}
	if got := publishedTo(t, p, primary, secondary); got != "primary" {
		t.Fatalf("published to %s", got)
	}
	if st, _ := p.Conns()[1].State(); st != Idle || len(secondary.Conns()) != 0 {
		t.Fatalf("the second broker is %v (%d connections) while the first serves", st, len(secondary.Conns()))
	}
	primary.Refuse(nil)
	primary.WaitAccepted(wait).Drop()
	f.until(1, false)
	if got := publishedTo(t, p, primary, secondary); got != "secondary" {
		t.Fatalf("published to %s after the primary was lost", got)
	}
	primary.Accept()
	f.until(1, true)
	if got := publishedTo(t, p, primary, secondary); got != "primary" {
		t.Fatalf("published to %s once the primary is back", got)
	}
}

// While the primary's first attempt is under way, the second broker is not started; when
// that attempt fails, it is, within the same request.
func TestFakePoolFailoverOnFirstAttempt(t *testing.T) {
	p, _, primary, secondary := twoIdleBrokers(t, true, false)
	if got := publishedTo(t, p, primary, secondary); got != "secondary" {
		t.Fatalf("published to %s while the primary refuses", got)
	}
}

// ByID connects the broker it names and waits for its first attempt; an idle connection
// closed before it started reports stopped.
func TestFakePoolByIDAndClose(t *testing.T) {
	p, _, _, secondary := twoIdleBrokers(t, false, false)
	c := p.ByID(2, deadline())
	if st, _ := c.State(); st != Open || len(secondary.Conns()) != 1 {
		t.Fatalf("broker 2 is %v after ByID", st)
	}
	if st, _ := p.Conns()[0].State(); st != Idle {
		t.Fatalf("broker 1 is %v, want idle", st)
	}
	p.Close()
	if st, _ := p.Conns()[0].State(); st != Stopped {
		t.Fatalf("an idle broker is %v after Close, want stopped", st)
	}
	p.Conns()[0].Start()
	if st, _ := p.Conns()[0].State(); st != Stopped {
		t.Fatalf("a closed broker is %v after Start, want stopped", st)
	}
}

// With every broker down, a request fails at once with NoBroker.
func TestFakePoolAllDown(t *testing.T) {
	p, f, _, _ := twoBrokers(t, true, true)
	f.until(1, false)
	f.until(2, false)
	wantCode(t, p.Publish(event, deadline()), status.NoBroker, "no AMQP broker connected (2 configured)")
	if c, err := p.Pick(deadline()); c != nil || err == nil {
		t.Fatalf("pick %v, %v", c, err)
	}
}

// A primary that accepts the connection but never answers does not hold requests back for
// its whole connect timeout: after hedgeAfter the next broker is connected too, and the
// request goes there.
func TestFakePoolHedgesSilentPrimary(t *testing.T) {
	secondary := amqpfake.NewServer()
	t.Cleanup(secondary.Close)
	f := newFixture(t, func(network, addr string) (net.Conn, error) {
		if addr == "secondary:5672" {
			return secondary.Dial(network, addr)
		}
		ours, theirs := net.Pipe()
		go func() { // reads what is sent, answers nothing
			buf := make([]byte, 4096)
			for {
				if _, err := theirs.Read(buf); err != nil {
					return
				}
			}
		}()
		t.Cleanup(func() { theirs.Close() })
		return ours, nil
	})
	f.opt.ConnectTimeout = 3 * time.Second
	p := NewPool([]config.Broker{broker(t, "amqp://guest:guest@silent:5672/", 1), broker(t, "amqp://guest:guest@secondary:5672/", 2)},
		f.opt, klog.NewWriter(f.log, klog.Debug))
	t.Cleanup(p.Close)
	start := time.Now()
	if err := p.Publish(event, time.Now().Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < hedgeAfter || took > hedgeAfter+time.Second {
		t.Errorf("the publish took %v, want a little over %v", took, hedgeAfter)
	}
	if n := secondary.Count("basic.publish"); n != 1 {
		t.Errorf("the secondary got %d publishes", n)
	}
	if st, _ := p.Conns()[0].State(); st != Connecting {
		t.Errorf("the silent broker is %v, want still connecting", st)
	}
}
