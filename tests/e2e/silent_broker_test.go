package e2e

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// silentBroker accepts TCP connections and never answers (a hung node, a half-open
// firewall): it reads and drops what it gets. Returns its amqp:// URL.
func silentBroker(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	return fmt.Sprintf("amqp://guest:guest@%s/", l.Addr())
}

// A broker that accepts TCP but never answers: as the first of two brokers it costs a
// worker's first publish about 0.5 s (the next broker is connected once the first has not
// answered for that long), later publishes nothing; the connect failure is logged with the
// broker's URL. As the only broker, publishes fail (-1) within the publish timeout and
// Kamailio keeps answering.
func TestSilentBroker(t *testing.T) {
	r := harness.SharedRabbit(t)
	silent := silentBroker(t)
	masked := strings.Replace(silent, "guest:guest@", "guest:***@", 1)
	q := r.Bind(t, "kazoo_e2e", "topic", "silent.#")
	t.Run("first of two", func(t *testing.T) {
		k := startPublisher(t, r, map[string]any{"URL": silent, "Params": `modparam("kazoo", "amqp_connection", "` + r.URL() + `")`})
		for i := 0; i < 4; i++ {
			start := time.Now()
			if rc := publish(t, k, "kazoo_e2e", "silent.two", "", `{"n":1}`); rc != "1" {
				t.Fatalf("publish %d returned %q\n%s", i, rc, k.Log())
			}
			if took := time.Since(start); took > 1500*time.Millisecond {
				t.Errorf("publish %d took %v", i, took)
			}
			if _, ok := q.Next(t, 5*time.Second); !ok {
				t.Fatalf("publish %d did not arrive", i)
			}
		}
		if !k.WaitLog(t, "cannot connect to AMQP broker "+masked, 10*time.Second) {
			t.Errorf("no connect failure line for %s\n%s", masked, k.Log())
		}
	})
	t.Run("only broker", func(t *testing.T) {
		k := startPublisher(t, r, map[string]any{"URL": silent})
		for i := 0; i < 2; i++ {
			start := time.Now()
			if rc := publish(t, k, "kazoo_e2e", "silent.one", "", `{"n":1}`); rc != "-1" {
				t.Fatalf("publish %d returned %q, want -1\n%s", i, rc, k.Log())
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("publish %d took %v, want at most the 2 s publish timeout", i, took)
			}
			if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
				t.Fatalf("OPTIONS got %d", rep.Code)
			}
		}
		if !k.WaitLog(t, "cannot connect to AMQP broker "+masked, 10*time.Second) {
			t.Errorf("no connect failure line for %s\n%s", masked, k.Log())
		}
	})
}

// examples/kazoo-cluster.cfg as shipped, against three "nodes": the first refuses
// connections (stopped), the second accepts TCP and never answers (hung), the third is a
// real broker. Jobs sent as MESSAGEs are published persistent, reach the quorum queue the
// example subscribes, and each runs its event route, which publishes a "done" message.
func TestExampleCluster(t *testing.T) {
	r := harness.SharedRabbit(t)
	cfg, err := os.ReadFile("../../examples/kazoo-cluster.cfg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = r.CtlErr("delete_queue", "cluster-work") })
	stopped := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", harness.FreePort(t))
	tmpl := "#!define SIP_LISTEN udp:127.0.0.1:{{.SipPort}}\n" +
		"#!define AMQP_NODE1 \"" + stopped + "\"\n#!define AMQP_NODE2 \"" + silentBroker(t) + "\"\n" +
		"#!define AMQP_NODE3 \"{{.Extra.URL}}\"\n" +
		"#!define KAZOO_MODULE \"{{.Module}}\"\n#!define CTL_SOCKET \"unix:{{.CtlSocket}}\"\n" +
		strings.Replace(string(cfg), "log_stderror=no", "log_stderror=yes", 1)
	t.Cleanup(func() {
		_, _ = r.CtlErr("eval", `rabbit_exchange:delete(rabbit_misc:r(<<"/">>, exchange, <<"cluster_work">>), false, <<"test">>).`)
	})
	k := harness.StartKamailio(t, tmpl, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})
	quorum := regexp.MustCompile(`cluster-work\s+quorum\s+2`) // both consumer workers consume it
	waitFor(t, 15*time.Second, func() bool { return quorum.MatchString(r.Ctl(t, "list_queues", "name", "type", "consumers")) })
	if out := r.Ctl(t, "list_queues", "name", "type", "consumers"); !quorum.MatchString(out) {
		t.Fatalf("no quorum queue cluster-work with 2 consumers:\n%s\n%s", out, k.Log())
	}
	done := r.BindExisting(t, "cluster_work", "done.#") // the example declared it durable
	for i := 1; i <= 5; i++ {
		job := fmt.Sprintf("job%d", i)
		if rep := sipRequest(t, k.SipPort(), "MESSAGE", job, nil, ""); rep.Code != 202 {
			t.Fatalf("MESSAGE %s got %d\n%s", job, rep.Code, k.Log())
		}
		d, ok := done.Next(t, 10*time.Second)
		if !ok || d.RoutingKey != "done."+job {
			t.Fatalf("after %s: %v %q\n%s", job, ok, d.RoutingKey, k.Log())
		}
	}
}
