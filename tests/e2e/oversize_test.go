package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Big and hostile messages (issue 16, items 1 and 5): a message or reply above
// amqp_max_payload is refused before its body is held (the connection drops its body
// frames unread), rejected without requeue with one line, and memory stays where it was;
// a message below the limit that does not fit in a consumer's pkg memory is rejected
// instead of stopping Kamailio.

// bigCfg: one SIP worker (the one that gets the replies), one consumer worker; OPTIONS
// answers at once, any other request is a kazoo_query; every consumed event is logged.
var bigCfg = harness.CfgHead{Children: 1,
	Modules: "sl pv xlog textops"}.String() + `modparam("kazoo", "node_hostname", "e2e.big")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_consumer_workers", 1)
modparam("kazoo", "amqp_query_timeout_avp", "$avp(kz_timeout)")
modparam("kazoo", "go_mem_release_ms", 200)
{{.Extra.Params}}
event_route[kazoo:mod-init] {
	kazoo_subscribe('{{.Extra.Sub}}');
}
event_route[kazoo:consumer-event] {
	xlog("L_NOTICE", "EVENT $(kzE{kz.json,Msg-ID}) of $(kzE{s.len}) bytes\n");
}
event_route[kazoo:consumer-event-connection] {
	xlog("L_INFO", "connection event $(kzE{kz.json,Event-Name})\n");
}
request_route {
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	$avp(kz_timeout) = $(hdr(X-Timeout-Ms){s.int});
	$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb);
	append_to_reply("X-Rc: $var(rc)\r\nX-Pid: $pp\r\n");
	sl_send_reply("200", "Queried");
	exit;
}
`

type bigSetup struct {
	r          *harness.Rabbit
	k          *harness.Kamailio
	conn       *amqp.Connection
	ex, queue  string
	exchangeRQ string // where the query responders listen
}

// startBig starts Kamailio consuming a durable queue of its own (durable, so that its
// counters stay readable whatever the consumer does) with params added to the cfg.
func startBig(t *testing.T, params string) *bigSetup {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	s := &bigSetup{r: r, ex: "kz_e2e_big_" + u, queue: "kz-e2e-big-" + u, exchangeRQ: "kz_e2e_bigq_" + u}
	cmDeleteAtEnd(t, r, s.queue)
	sub := fmt.Sprintf(`{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "ev.#", "queue-def": {"durable": 1, "auto_delete": 0}}`, s.ex, s.queue)
	s.k = harness.StartKamailio(t, bigCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": cmURL(r), "Sub": sub, "Params": params}})
	cmConsumers(t, r, s.queue, 1)
	s.conn = r.Dial(t)
	return s
}

// event publishes a small good event and waits until its route ran.
func (s *bigSetup) event(t *testing.T, id string) {
	t.Helper()
	publishTo(t, s.conn, s.ex, "ev.ok", fmt.Sprintf(`{"Event-Category":"e2e","Event-Name":"ok","Msg-ID":%q}`, id))
	if !s.k.WaitLog(t, "EVENT "+id+" of", 20*time.Second) {
		t.Fatalf("event %s not consumed\n%s", id, tail(s.k.Log()))
	}
}

func (s *bigSetup) query(t *testing.T, rk, body string, timeoutMs int) (rc string, took time.Duration) {
	t.Helper()
	start := time.Now()
	rep := sipRequest(t, s.k.SipPort(), "MESSAGE", "q", map[string]string{"X-Exchange": s.exchangeRQ,
		"X-Routing-Key": rk, "X-Timeout-Ms": fmt.Sprint(timeoutMs)}, body)
	if rep.Code != 200 {
		t.Fatalf("query: SIP reply %d", rep.Code)
	}
	return rep.Headers["x-rc"], time.Since(start)
}

// pss is the Pss (kB) of the SIP worker and of each kazoo consumer.
func (s *bigSetup) pss(t *testing.T) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, p := range s.k.Procs(t) {
		if strings.Contains(p.Desc, "udp receiver") || strings.Contains(p.Desc, "kazoo consumer") {
			m[p.Desc] = p.PssKB
		}
	}
	return m
}

// waitPss waits (up to 15 s: idle processes give memory back on a timer) until every
// process is within 1 MB of its baseline; fails with the last numbers otherwise.
func (s *bigSetup) waitPss(t *testing.T, what string, base map[string]int) {
	t.Helper()
	var last map[string]int
	for deadline := time.Now().Add(15 * time.Second); ; {
		last = s.pss(t)
		over := false
		for name, kb := range base {
			if last[name]-kb > 1024 {
				over = true
			}
		}
		if !over {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: Pss not back within 1 MB of its baseline: before %v, after %v", what, base, last)
			for _, p := range s.k.Procs(t) {
				if _, ok := base[p.Desc]; ok {
					t.Logf("%s mappings with Pss over 256 kB:\n%s", p.Desc, bigMappings(p.PID))
				}
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("%s: Pss kB before %v, after %v", what, base, last)
}

// bigMappings lists the mappings of a process with Pss over 256 kB (which memory grew).
func bigMappings(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	var out []string
	var head string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			head = l
		case len(f) >= 2 && f[0] == "Pss:":
			if kb, _ := strconv.Atoi(f[1]); kb > 256 {
				out = append(out, fmt.Sprintf("%6d kB %s", kb, head))
			}
		}
	}
	return strings.Join(out, "\n")
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// bigBody is a JSON event of about n bytes.
func bigBody(id string, n int) string {
	return fmt.Sprintf(`{"Event-Category":"e2e","Event-Name":"big","Msg-ID":%q,"Pad":"%s"}`, id, strings.Repeat("x", n))
}

// Item 1: amqp_max_payload 32 MB let a 16 MB message through, which did not fit in the
// consumer's pkg memory (8 MB by default): Kamailio stopped (exit(-1) after the failed
// pkg_realloc), and, the message still queued, at every restart. Such a value is refused at
// `kamailio -c` now (TestConfigRefusedAtCheck); with the largest accepted one (a quarter of
// the pkg pool) the 16 MB message is rejected without requeue - dead-lettered whole: a
// policy gives the queue a dead-letter exchange - with one log line, Kamailio stays up, and
// the next message is consumed. (The consumer's own answer to a failed pkg allocation,
// reject and go on, is no longer reachable with an accepted configuration.)
func TestOversizedEventDoesNotStopKamailio(t *testing.T) {
	s := startBig(t, `modparam("kazoo", "amqp_max_payload", 2097152)`)
	dlx := "kz_e2e_dlx_" + strings.TrimPrefix(s.queue, "kz-e2e-big-")
	ch, err := s.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(dlx, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	dlq, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(dlq.Name, "", dlx, false, nil); err != nil {
		t.Fatal(err)
	}
	policy := "kz-e2e-dlx-" + dlx
	s.r.Ctl(t, "set_policy", "--apply-to", "queues", policy, "^"+s.queue+"$", `{"dead-letter-exchange":"`+dlx+`"}`)
	t.Cleanup(func() { _, _ = s.r.CtlErr("clear_policy", policy) })
	s.event(t, "before")

	publishTo(t, s.conn, s.ex, "ev.big", bigBody("big16", 16<<20))
	s.event(t, "after")
	if !s.k.Alive() {
		t.Fatalf("Kamailio stopped\n%s", tail(s.k.Log()))
	}
	lines := cmWaitLines(s.k, 0, 5*time.Second, "ERROR", "larger than amqp_max_payload", "dropped unread", "rejected")
	if len(lines) != 1 || !strings.Contains(lines[0], s.ex) || !strings.Contains(lines[0], "ev.big") {
		t.Errorf("want one ERROR line naming the exchange and routing key, got:\n%s", strings.Join(lines, "\n"))
	}
	if strings.Contains(s.k.Log(), "EVENT big16") {
		t.Errorf("the 16 MB event ran its route")
	}
	// dead-lettered: the whole message reached the dead-letter queue
	var got amqp.Delivery
	var ok bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got, ok, err = ch.Get(dlq.Name, true); err != nil || ok {
			break
		}
	}
	if !ok || len(got.Body) < 16<<20 {
		t.Fatalf("nothing (or not the message: %d bytes) dead-lettered: %v", len(got.Body), err)
	}
	if q := cmQueueState(t, s.r, s.queue); q.ready != 0 {
		t.Errorf("queue %s still holds %d messages", s.queue, q.ready)
	}
	if rep := sipRequest(t, s.k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS: %d", rep.Code)
	}
}

// Item 5: above amqp_max_payload (1 MB by default), ten 16 MB events and a 10 MB reply
// cost no memory: the bodies are dropped as they arrive; each event is rejected with one
// line, the query fails at once (not after its timeout), and the Pss of the consumer and
// of the SIP worker that got the reply stay within 1 MB of their level before.
func TestOversizedMemoryReturns(t *testing.T) {
	s := startBig(t, "")
	startResponder(t, s.r, s.exchangeRQ, "big.#", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		return []byte(fmt.Sprintf(`{"Msg-ID":%q,"Pad":"%s"}`, req["Msg-ID"], strings.Repeat("r", 10<<20))), 0
	})
	startResponder(t, s.r, s.exchangeRQ, "ok.#", echo(0))
	for i := 0; i < 3; i++ { // warm up: both paths have run before the baseline
		s.event(t, fmt.Sprint("warm", i))
		if rc, _ := s.query(t, "ok.x", `{"Event-Name":"ping"}`, 3000); rc != "1" {
			t.Fatalf("warm-up query: rc %s\n%s", rc, tail(s.k.Log()))
		}
	}
	time.Sleep(time.Second)
	base := s.pss(t)

	for i := 0; i < 10; i++ {
		publishTo(t, s.conn, s.ex, "ev.big", bigBody(fmt.Sprint("huge", i), 16<<20))
	}
	s.event(t, "after-events")
	// one line each, or, past the log's rate limit (5 a second), counted as suppressed
	l := cmWaitLines(s.k, 0, 5*time.Second, "ERROR", "larger than amqp_max_payload", "dropped unread", "rejected")
	if n := len(l) + suppressedCount(s.k, 2*time.Second); n != 10 {
		t.Errorf("want 10 ERROR lines (logged or counted as suppressed), one per 16 MB event, got %d:\n%s", n, strings.Join(l, "\n"))
	}
	if q := cmQueueState(t, s.r, s.queue); q.ready != 0 {
		t.Errorf("queue %s: %d messages left (requeued?)", s.queue, q.ready)
	}
	rc, took := s.query(t, "big.x", `{"Event-Name":"big"}`, 5000)
	if rc != "-1" || took > 3*time.Second {
		t.Errorf("query with a 10 MB reply: rc %s after %v, want -1 at once", rc, took)
	}
	if !s.k.WaitLog(t, "reply of", 5*time.Second) || !strings.Contains(s.k.Log(), "larger than amqp_max_payload (1048576): dropped unread") {
		t.Errorf("no log line for the 10 MB reply\n%s", tail(s.k.Log()))
	}
	if rc, _ := s.query(t, "ok.x", `{"Event-Name":"ping"}`, 3000); rc != "1" {
		t.Errorf("query after the big reply: rc %s", rc)
	}
	s.waitPss(t, "10 x 16 MB events and a 10 MB reply", base)
}

// The attack list of a hostile broker or Kazoo app, as events and as replies: Kamailio
// answers OPTIONS throughout (every 100 ms, each within 2 s), never stops, consumes a good
// event after them, and its memory comes back within 1 MB of where it was.
func TestHostileBroker(t *testing.T) {
	s := startBig(t, "")
	startResponder(t, s.r, s.exchangeRQ, "hostile.#", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		id := fmt.Sprint(req["Msg-ID"])
		switch d.RoutingKey {
		case "hostile.nonobject":
			return []byte(`["Msg-ID","` + id + `"]`), 0
		case "hostile.huge":
			return []byte(fmt.Sprintf(`{"Msg-ID":%q,"Pad":"%s"}`, id, strings.Repeat("h", 10<<20))), 0
		case "hostile.late":
			return []byte(fmt.Sprintf(`{"Msg-ID":%q,"Late":true}`, id)), 700 * time.Millisecond
		case "hostile.dup":
			return []byte(fmt.Sprintf(`{"Msg-ID":%q,"N":1}`, id)), 0
		}
		return nil, 0
	})
	// the duplicate reply: a second responder on the same requests
	startResponder(t, s.r, s.exchangeRQ, "hostile.dup", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		return []byte(fmt.Sprintf(`{"Msg-ID":%q,"N":2}`, req["Msg-ID"])), 50 * time.Millisecond
	})
	startResponder(t, s.r, s.exchangeRQ, "ok.#", echo(0))
	for i := 0; i < 3; i++ {
		s.event(t, fmt.Sprint("warm", i))
		if rc, _ := s.query(t, "ok.x", `{"Event-Name":"ping"}`, 3000); rc != "1" {
			t.Fatalf("warm-up query: rc %s", rc)
		}
	}
	time.Sleep(time.Second)
	base := s.pss(t)

	// OPTIONS every 100 ms from now until the end
	stop := make(chan struct{})
	var pings, missed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			pings.Add(1)
			if rep, err := harness.TrySipRequest(s.k.SipPort(), "OPTIONS", "ping", nil, "", 2*time.Second); err != nil || rep[":code"] != "200" {
				missed.Add(1)
			}
		}
	}()

	// twice: the first round also pages in code that had not run yet (error paths, in
	// kazoo.so and kamailio, counted in Pss), the second shows what a burst keeps
	attack(t, s)
	time.Sleep(2 * time.Second)
	first := s.pss(t)
	t.Logf("after the first round: Pss kB %v (before it: %v)", first, base)
	base = first
	attack(t, s)
	time.Sleep(time.Second) // the late and the duplicate replies arrive
	if rc, _ := s.query(t, "ok.x", `{"Event-Name":"ping"}`, 3000); rc != "1" {
		t.Errorf("query after the hostile replies: rc %s", rc)
	}
	s.event(t, "after-hostile")
	close(stop)
	wg.Wait()
	if !s.k.Alive() {
		t.Fatalf("Kamailio stopped\n%s", tail(s.k.Log()))
	}
	if m := missed.Load(); m > 0 {
		t.Errorf("%d of %d OPTIONS not answered within 2 s", m, pings.Load())
	}
	if q := cmQueueState(t, s.r, s.queue); q.ready != 0 {
		t.Errorf("queue %s: %d messages left (requeued?)", s.queue, q.ready)
	}
	if n := cmUnacked(t, s.r, s.queue); n != 0 {
		t.Errorf("queue %s: %d messages unacknowledged", s.queue, n)
	}
	for _, bad := range []string{"BUG", "panic", "CRITICAL"} {
		if strings.Contains(s.k.Log(), bad) {
			t.Errorf("log has %q:\n%s", bad, strings.Join(cmLines(s.k.Log(), bad), "\n"))
		}
	}
	s.waitPss(t, "hostile broker", base)
	t.Logf("%d OPTIONS answered", pings.Load())
}

// attack publishes the attack list as events and makes the hostile queries.
func attack(t *testing.T, s *bigSetup) {
	t.Helper()
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	events := []struct{ name, rk, body string }{
		{"non-object top level", "ev.a", `["Event-Category","e2e"]`},
		{"string top level", "ev.a", `"just a string"`},
		{"100k-deep nesting", "ev.a", deep},
		{"100k-deep in an object", "ev.a", `{"Event-Category":"e2e","Deep":` + deep + `}`},
		{"NUL in body", "ev.a", "{\"Event-Category\":\"e2e\",\"Msg-ID\":\"nul\x00x\"}"},
		{"raw NUL", "ev.a", "\x00\x00\x00"},
		{"16 MB", "ev.a", bigBody("h16", 16<<20)},
		{"1 MB key", "ev.a", `{"` + strings.Repeat("k", 1<<20) + `":1}`},
		{"huge routing names", "ev." + strings.Repeat("r", 200), `{"Event-Category":"` + strings.Repeat("c", 100000) + `","Event-Name":"` + strings.Repeat("n", 100000) + `"}`},
		{"duplicate Event-Category", "ev.a", `{"Event-Category":"e2e","Event-Category":"other","Event-Name":"dup","Msg-ID":"dupcat"}`},
		{"empty body", "ev.a", ``},
	}
	for _, e := range events {
		publishTo(t, s.conn, s.ex, e.rk, e.body)
	}
	for _, q := range []struct {
		name, rk  string
		timeoutMs int
	}{
		{"non-object reply", "hostile.nonobject", 1000},
		{"10 MB reply", "hostile.huge", 3000},
		{"late reply", "hostile.late", 300},
		{"duplicate reply", "hostile.dup", 2000},
	} {
		rc, took := s.query(t, q.rk, `{"Event-Name":"hostile"}`, q.timeoutMs)
		want := map[string]string{"hostile.dup": "1"}[q.rk]
		if want == "" {
			want = "-1"
		}
		if rc != want {
			t.Errorf("%s: rc %s after %v, want %s", q.name, rc, took, want)
		}
	}
}

// suppressedCount waits up to d for the rate limiter's summary lines and adds up their counts.
func suppressedCount(k *harness.Kamailio, d time.Duration) int {
	re := regexp.MustCompile(`suppressed (\d+) similar lines`)
	sum := 0
	for deadline := time.Now().Add(d); ; time.Sleep(100 * time.Millisecond) {
		sum = 0
		for _, m := range re.FindAllStringSubmatch(k.Log(), -1) {
			n, _ := strconv.Atoi(m[1])
			sum += n
		}
		if sum > 0 || time.Now().After(deadline) {
			return sum
		}
	}
}
