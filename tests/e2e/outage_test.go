package e2e

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// The broker goes away: queries and publishes fail at once (no worker waits for a timeout),
// SIP is still answered, and when the broker is back the module reconnects by itself,
// reply queues included.
func TestBrokerStopAndRestart(t *testing.T) {
	r := harness.StartRabbit(t) // a node of its own: this test stops it
	startResponder(t, r, "kz_query_e2e", "ok.#", echo(0))
	k := startPublisher(t, r, nil)
	if res := query(t, k, "3", "kz_query_e2e", "ok.x", `{"Event-Name":"before"}`, nil); res.rc != "1" {
		t.Fatalf("query before the outage: %s\n%s", res.rc, k.Log())
	}

	r.Stop(t)
	// every process notices the closed connection; then nothing waits
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := query(t, k, "3", "kz_query_e2e", "ok.x", `{"Event-Name":"during"}`, nil)
		if res.rc != "-1" {
			t.Fatalf("query during the outage returned %s", res.rc)
		}
		if res.took < 50*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queries still take %v 10 s into the outage", res.took)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		start := time.Now()
		if res := query(t, k, "4", "kz_query_e2e", "ok.x", `{"Event-Name":"during"}`, nil); res.rc != "-1" || res.kzR != nil {
			t.Fatalf("query during the outage: rc %s", res.rc)
		}
		if rc := publish(t, k, "kazoo_e2e", "outage.x", "", `{"a":1}`); rc != "-1" {
			t.Fatalf("publish during the outage returned %s", rc)
		}
		if took := time.Since(start); took > 100*time.Millisecond {
			t.Errorf("a query and a publish during the outage took %v", took)
		}
		if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
			t.Fatalf("OPTIONS got %d during the outage", rep.Code)
		}
	}
	if !k.WaitLog(t, "lost AMQP broker", 2*time.Second) {
		t.Errorf("no log line about the lost broker:\n%s", k.Log())
	}

	r.Start(t)
	back := time.Now()
	startResponder(t, r, "kz_query_e2e", "ok.#", echo(0))
	// each process reconnects on its own (jittered backoff): wait until 20 query+publish
	// rounds in a row succeed, whichever worker gets them
	q := r.Bind(t, "kazoo_e2e", "topic", "outage.#")
	for ok := 0; ok < 20; {
		res := query(t, k, "3", "kz_query_e2e", "ok.x", `{"Event-Name":"after"}`, nil)
		if res.rc == "1" && publish(t, k, "kazoo_e2e", "outage.after", "", `{"a":2}`) == "1" {
			ok++
			continue
		}
		ok = 0
		if time.Since(back) > 15*time.Second {
			t.Fatalf("not every worker is back 15 s after the broker came back\n%s", k.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("every worker queries and publishes again %v after the broker accepted connections", time.Since(back).Round(10*time.Millisecond))
	if _, ok := q.Next(t, 5*time.Second); !ok {
		t.Fatal("the publish after the outage did not arrive")
	}
}

// A memory alarm makes the broker block publishing connections (connection.blocked):
// publishes fail at once with a reason instead of each waiting out its timeout, SIP is
// answered, and publishing resumes when the alarm clears.
func TestBrokerBlocksPublishing(t *testing.T) {
	r := harness.StartRabbit(t)
	q := r.Bind(t, "kazoo_e2e", "topic", "blocked.#")
	k := startPublisher(t, r, nil)
	if rc := publish(t, k, "kazoo_e2e", "blocked.before", "", `{"a":1}`); rc != "1" {
		t.Fatalf("publish before the alarm: %s", rc)
	}
	r.Ctl(t, "set_vm_memory_high_watermark", "0.00001")
	defer r.CtlErr("set_vm_memory_high_watermark", "0.4")
	// the first publish after the alarm may wait for its confirm (bounded by
	// amqp_publish_timeout); once the broker said "blocked", publishes fail at once
	deadline := time.Now().Add(15 * time.Second)
	for {
		start := time.Now()
		rc := publish(t, k, "kazoo_e2e", "blocked.during", "", `{"a":2}`)
		if rc == "-1" && time.Since(start) < 100*time.Millisecond && strings.Contains(k.Log(), "blocks publishing") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publishes do not fail fast during the alarm (last rc %s)\n%s", rc, k.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d during the alarm", rep.Code)
	}
	r.Ctl(t, "set_vm_memory_high_watermark", "0.4")
	deadline = time.Now().Add(15 * time.Second)
	for publish(t, k, "kazoo_e2e", "blocked.after", "", `{"a":3}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("publishing did not resume after the alarm\n%s", k.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	got := map[string]bool{}
	for {
		d, ok := q.Next(t, 2*time.Second)
		if !ok {
			break
		}
		got[d.RoutingKey] = true
	}
	if !got["blocked.before"] || !got["blocked.after"] {
		t.Errorf("delivered: %v", got)
	}
}

// A broker that stops answering without closing TCP (frozen, or a cable pulled) is noticed
// through heartbeats (here amqp_heartbeats 1): the connection is dropped, publishes fail
// instead of hanging, and the module reconnects when the broker answers again.
func TestHeartbeatDetectsFrozenBroker(t *testing.T) {
	r := harness.StartRabbit(t)
	k := startPublisher(t, r, map[string]any{"Params": `modparam("kazoo", "amqp_heartbeats", 1)`})
	if rc := publish(t, k, "amq.topic", "hb.before", "", `{"a":1}`); rc != "1" {
		t.Fatalf("publish before: %s", rc)
	}
	if err := syscall.Kill(r.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	defer syscall.Kill(r.PID(), syscall.SIGCONT)
	if !k.WaitLog(t, "lost AMQP broker", 15*time.Second) {
		t.Fatalf("a frozen broker was not noticed within 15 s\n%s", k.Log())
	}
	t.Logf("frozen broker noticed after %v", time.Since(frozen).Round(100*time.Millisecond))
	start := time.Now()
	if rc := publish(t, k, "amq.topic", "hb.during", "", `{"a":2}`); rc != "-1" {
		t.Errorf("publish to a frozen broker returned %s", rc)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("publish to a frozen broker took %v", took)
	}
	if err := syscall.Kill(r.PID(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for publish(t, k, "amq.topic", "hb.after", "", `{"a":3}`) != "1" {
		if time.Now().After(deadline) {
			t.Fatalf("no publish 20 s after the broker thawed\n%s", k.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
