package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// procStatus is one process of kamcmd kazoo.status.
type procStatus struct {
	desc       string
	goroutines int
	states     []string // per broker, in declaration order
}

// parseStatus reads kamcmd's rendering of kazoo.status: each process's fields, then its
// brokers' fields, one "name: value" per line.
func parseStatus(s string) []procStatus {
	var out []procStatus
	for _, line := range strings.Split(s, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch name {
		case "pid":
			out = append(out, procStatus{})
		case "process":
			if len(out) > 0 {
				out[len(out)-1].desc = value
			}
		case "goroutines":
			if len(out) > 0 {
				out[len(out)-1].goroutines, _ = strconv.Atoi(value)
			}
		case "state":
			if len(out) > 0 {
				out[len(out)-1].states = append(out[len(out)-1].states, value)
			}
		}
	}
	return out
}

// waitStatus polls kazoo.status until ok accepts it (bounded).
func waitStatus(t *testing.T, k *harness.Kamailio, what string, ok func([]procStatus) bool) []procStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := k.Kamcmd(t, "kazoo.status")
		ps := parseStatus(s)
		if ok(ps) {
			return ps
		}
		if time.Now().After(deadline) {
			t.Fatalf("kazoo.status: %s after 15 s:\n%s", what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func consumersOpen(ps []procStatus) bool {
	n := 0
	for _, p := range ps {
		if strings.HasPrefix(p.desc, "kazoo consumer") {
			n++
			for _, st := range p.states {
				if st != "open" {
					return false
				}
			}
		}
	}
	return n > 0
}

// A SIP worker connects when it first needs a broker, to the first broker only: before any
// request its brokers are idle (no connection on the broker side either), after one request
// the worker that ran it holds one connection and its failover broker stays idle. The
// consumer processes connect to every broker at start. amqp_connect_at_start 1 connects
// every process to every broker at start.
func TestConnectOnDemand(t *testing.T) {
	r := harness.SharedRabbit(t)
	params := `modparam("kazoo", "amqp_connection", "` + r.URL() + `")
modparam("kazoo", "amqp_consumer_workers", 1)
modparam("kazoo", "amqp_heartbeats", 3)`
	t.Run("on demand", func(t *testing.T) {
		k := startPublisher(t, r, map[string]any{"Params": params})
		ps := waitStatus(t, k, "consumer 1 not connected to both brokers", consumersOpen)
		time.Sleep(500 * time.Millisecond) // a worker that connected by itself would show by now
		ps = parseStatus(k.Kamcmd(t, "kazoo.status"))
		workers := 0
		for _, p := range ps {
			if !strings.Contains(p.desc, "receiver") {
				continue
			}
			workers++
			if strings.Join(p.states, ",") != "idle,idle" {
				t.Errorf("%s before any request: brokers %v, want idle,idle", p.desc, p.states)
			}
			if p.goroutines <= 0 {
				t.Errorf("%s: goroutines %d", p.desc, p.goroutines)
			}
		}
		if workers < 3 {
			t.Fatalf("kazoo.status lists %d SIP workers, want the 2 udp and 1 tcp receivers:\n%s", workers, k.Kamcmd(t, "kazoo.status"))
		}
		if rc := publish(t, k, "amq.topic", "connect.demand", "", `{"a":1}`); rc != "1" {
			t.Fatalf("kazoo_publish returned %q\n%s", rc, k.Log())
		}
		ps = parseStatus(k.Kamcmd(t, "kazoo.status"))
		used := 0
		for _, p := range ps {
			if !strings.Contains(p.desc, "receiver") {
				continue
			}
			switch strings.Join(p.states, ",") {
			case "open,idle":
				used++
			case "idle,idle":
			default:
				t.Errorf("%s after one request: brokers %v, want open,idle or idle,idle", p.desc, p.states)
			}
		}
		if used != 1 {
			t.Errorf("%d SIP workers connected after one request, want 1:\n%s", used, k.Kamcmd(t, "kazoo.status"))
		}
	})
	t.Run("amqp_connect_at_start", func(t *testing.T) {
		k := startPublisher(t, r, map[string]any{"Params": params + "\nmodparam(\"kazoo\", \"amqp_connect_at_start\", 1)"})
		waitStatus(t, k, "not every process connected to every broker", func(ps []procStatus) bool {
			workers := 0
			for _, p := range ps {
				if strings.Contains(p.desc, "receiver") {
					workers++
				}
				if strings.Join(p.states, ",") != "open,open" {
					return false
				}
			}
			return workers >= 3 && consumersOpen(ps)
		})
	})
}
