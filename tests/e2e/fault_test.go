package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// faultCfg publishes (user "pub", persistent, with the sequence number of X-Seq) or queries
// (user "query") and reports the return code and the time the call took inside Kamailio.
var faultCfg = harness.CfgHead{Children: 2,
	Modules: "tm sl pv textops kex"}.String() + `modparam("kazoo", "node_hostname", "e2e.fault")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_consumer_workers", 1)
modparam("kazoo", "amqp_publish_persistent", 1)
{{range .Extra.URLs}}modparam("kazoo", "amqp_connection", "{{.}}")
{{end}}{{.Extra.Params}}
request_route {
	if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
	$var(s0) = $TV(sn);
	$var(u0) = $TV(un);
	if ($rU == "pub") {
		$var(rc) = kazoo_publish("kz_fault", "fault.pub", "{\"Event-Category\": \"fault\", \"Event-Name\": \"pub\", \"Seq\": $hdr(X-Seq), \"Pid\": $pp}");
	} else {
		$var(rc) = kazoo_query("kz_fault_query", "fault.q", '{"Event-Category": "fault", "Event-Name": "query"}');
	}
	$var(us) = ($TV(sn) - $var(s0)) * 1000000 + ($TV(un) - $var(u0));
	append_to_reply("X-Rc: $var(rc)\r\nX-Us: $var(us)\r\nX-Broker: $(kzR{kz.json,Broker})\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

// faultTopology declares, on a (re)started broker, the durable exchange and queue the
// published messages go to: they survive kill -9 when persistent and confirmed.
func faultTopology(r *harness.Rabbit) error {
	conn, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
	if err != nil {
		return err
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return err
	}
	if err := ch.ExchangeDeclare("kz_fault", "topic", true, false, false, false, nil); err != nil {
		return err
	}
	if _, err := ch.QueueDeclare("kz-fault-published", true, false, false, false, nil); err != nil {
		return err
	}
	return ch.QueueBind("kz-fault-published", "fault.#", "kz_fault", false, nil)
}

// faultResponder answers queries on exchange kz_fault_query, reconnecting by itself after
// each broker restart (quickly: its delay would count as the module's recovery time).
func faultResponder(ctx context.Context, url, name string) {
	for ctx.Err() == nil {
		conn, err := amqp.DialConfig(url, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		func() {
			defer conn.Close()
			ch, err := conn.Channel()
			if err != nil {
				return
			}
			if ch.ExchangeDeclare("kz_fault_query", "topic", false, false, false, false, nil) != nil {
				return
			}
			q, err := ch.QueueDeclare("", false, true, true, false, nil)
			if err != nil || ch.QueueBind(q.Name, "fault.#", "kz_fault_query", false, nil) != nil {
				return
			}
			deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
			if err != nil {
				return
			}
			closed := conn.NotifyClose(make(chan *amqp.Error, 1))
			for {
				select {
				case <-ctx.Done():
					return
				case <-closed:
					return
				case d, ok := <-deliveries:
					if !ok {
						return
					}
					var req map[string]any
					_ = json.Unmarshal(d.Body, &req)
					sid, _ := req["Server-ID"].(string)
					body, _ := json.Marshal(map[string]any{"Event-Category": "fault", "Event-Name": "answer", "Msg-ID": req["Msg-ID"], "Broker": name})
					_ = ch.PublishWithContext(ctx, "targeted", sid, false, false, amqp.Publishing{ContentType: "application/json", Body: body})
				}
			}
		}()
	}
}

type faultCall struct {
	rc      string
	broker  string // which broker's responder answered a query
	inRoute time.Duration
	at      time.Time
}

func faultRequest(port int, user string, seq int) (faultCall, error) {
	h := map[string]string{}
	if user == "pub" {
		h["X-Seq"] = strconv.Itoa(seq)
	}
	rep, err := harness.TrySipRequest(port, "MESSAGE", user, h, "", 5*time.Second)
	if err != nil {
		return faultCall{}, err
	}
	us, _ := strconv.Atoi(rep["x-us"])
	return faultCall{rc: rep["x-rc"], broker: rep["x-broker"], inRoute: time.Duration(us) * time.Microsecond, at: time.Now()}, nil
}

// kill -9 of the broker, 20 times, under publish and query load: Kamailio stays up and
// answers SIP throughout, calls during the outage fail at once, service is back within a
// second of the broker accepting connections, and no confirmed (persistent) publish is lost.
func TestBrokerKill20Cycles(t *testing.T) {
	cycles := 20
	if s := os.Getenv("FAULT_CYCLES"); s != "" {
		cycles, _ = strconv.Atoi(s)
	}
	r := harness.StartRabbit(t)
	if err := faultTopology(r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go faultResponder(ctx, r.URL(), "only")
	k := harness.StartKamailio(t, faultCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URLs": []string{r.URL()}, "Params": ""}})
	port := k.SipPort()

	var (
		mu        sync.Mutex
		confirmed = map[int]bool{}
		calls     []faultCall // every query and publish, in order of completion
		seq       atomic.Int64
		sipErrors atomic.Int64
		wg        sync.WaitGroup
	)
	load := func(user string) {
		defer wg.Done()
		for ctx.Err() == nil {
			n := int(seq.Add(1))
			c, err := faultRequest(port, user, n)
			if err != nil {
				sipErrors.Add(1)
				continue
			}
			mu.Lock()
			calls = append(calls, c)
			if user == "pub" && c.rc == "1" {
				confirmed[n] = true
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}
	wg.Add(4)
	go load("pub")
	go load("pub")
	go load("query")
	go load("query")

	// since returns the calls completed after t0
	since := func(t0 time.Time) []faultCall {
		mu.Lock()
		defer mu.Unlock()
		var out []faultCall
		for _, c := range calls {
			if c.at.After(t0) {
				out = append(out, c)
			}
		}
		return out
	}
	var recoveries []time.Duration
	var slowFails, outageCalls int
	var slowestFail time.Duration
	for cycle := 1; cycle <= cycles; cycle++ {
		time.Sleep(500 * time.Millisecond)
		r.Kill(t)
		killed := time.Now()
		time.Sleep(700 * time.Millisecond)
		// once every process saw the connection die (a few ms), calls fail at once
		for _, c := range since(killed.Add(200 * time.Millisecond)) {
			if c.rc != "-1" {
				t.Errorf("cycle %d: a call succeeded while the broker was dead: %+v", cycle, c)
			}
			outageCalls++
			if c.inRoute > 10*time.Millisecond {
				slowFails++
			}
			slowestFail = max(slowestFail, c.inRoute)
		}
		if rep, err := harness.TrySipRequest(port, "OPTIONS", "ping", nil, "", 2*time.Second); err != nil || rep[":code"] != "200" {
			t.Errorf("cycle %d: OPTIONS not answered during the outage: %v %v", cycle, rep, err)
		}
		r.Start(t)
		up := time.Now()
		if err := faultTopology(r); err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		// back: 8 publishes and 8 queries in a row succeed (both SIP workers answer them)
		back := time.Duration(-1)
		for time.Since(up) < 10*time.Second {
			ok := 0
			for _, c := range since(up) {
				if c.rc == "1" {
					ok++
					if ok == 16 {
						back = c.at.Sub(up)
						break
					}
				} else {
					ok = 0
				}
			}
			if back >= 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if back < 0 {
			t.Fatalf("cycle %d: service not back 10 s after the broker accepted connections\n%s", cycle, k.Log())
		}
		recoveries = append(recoveries, back)
		if !k.Alive() {
			t.Fatalf("cycle %d: Kamailio died", cycle)
		}
	}
	cancel()
	wg.Wait()

	// every confirmed publish is in the durable queue
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume("kz-fault-published", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := map[int]bool{}
	for done := false; !done; {
		select {
		case d := <-deliveries:
			var m struct{ Seq int }
			if json.Unmarshal(d.Body, &m) == nil {
				found[m.Seq] = true
			}
		case <-time.After(2 * time.Second):
			done = true
		}
	}
	lost := 0
	for n := range confirmed {
		if !found[n] {
			lost++
		}
	}
	worst := time.Duration(0)
	for _, d := range recoveries {
		worst = max(worst, d)
	}
	total := len(calls)
	t.Logf("%d kill -9 cycles: %d calls, %d confirmed publishes, %d lost, %d SIP timeouts; recovery after the broker accepted connections: %v (worst %v); failed calls over 10 ms in the route: %d of %d (slowest %v)",
		cycles, total, len(confirmed), lost, sipErrors.Load(), recoveries, worst, slowFails, outageCalls, slowestFail)
	if lost > 0 {
		t.Errorf("%d confirmed publishes lost", lost)
	}
	if worst > time.Second {
		t.Errorf("service came back after %v (worst cycle), want within 1 s", worst)
	}
	// "at once" means no call waits for the broker (that takes the query timeout or a
	// connect attempt); on a loaded 2-core machine one call in thousands is descheduled
	// for a few ms, which is no wait
	if slowestFail > 100*time.Millisecond {
		t.Errorf("a call during an outage took %v to fail, want under 100 ms", slowestFail)
	}
	if slowFails*1000 > outageCalls {
		t.Errorf("%d of %d calls during outages took over 10 ms to fail, want at most 1 in 1000", slowFails, outageCalls)
	}
	if sipErrors.Load() > 0 {
		t.Errorf("%d SIP requests went unanswered", sipErrors.Load())
	}
	if len(confirmed) == 0 {
		t.Error("nothing was published")
	}
}

// Two brokers in the primary zone: requests go to the first one declared; when it stops
// they move to the second at once, and back to the first when it returns.
func TestFailoverTwoBrokers(t *testing.T) {
	r1, r2 := harness.StartRabbit(t), harness.StartRabbit(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go faultResponder(ctx, r1.URL(), "first")
	go faultResponder(ctx, r2.URL(), "second")
	for _, r := range []*harness.Rabbit{r1, r2} {
		if err := faultTopology(r); err != nil {
			t.Fatal(err)
		}
	}
	k := harness.StartKamailio(t, faultCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URLs": []string{r1.URL(), r2.URL()}, "Params": ""}})
	// answeredBy waits until 10 queries in a row are answered through broker name
	answeredBy := func(name string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for ok := 0; ok < 10; {
			c, err := faultRequest(k.SipPort(), "query", 0)
			if err == nil && c.rc == "1" && c.broker == name {
				ok++
				continue
			}
			ok = 0
			if time.Since(start) > within {
				t.Fatalf("queries not answered through the %s broker after %v (last: %+v %v)\n%s", name, within, c, err, k.Log())
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	answeredBy("first", 10*time.Second)
	if c, err := faultRequest(k.SipPort(), "pub", 1); err != nil || c.rc != "1" {
		t.Fatalf("publish: %+v %v", c, err)
	}

	r1.Stop(t)
	t.Logf("first broker stopped: queries through the second after %v", answeredBy("second", 5*time.Second))
	for i := 2; i < 12; i++ {
		if c, err := faultRequest(k.SipPort(), "pub", i); err != nil || c.rc != "1" {
			t.Fatalf("publish %d while the first broker is down: %+v %v", i, c, err)
		}
	}
	r1.Start(t)
	if err := faultTopology(r1); err != nil {
		t.Fatal(err)
	}
	t.Logf("first broker back: queries through it again after %v", answeredBy("first", 5*time.Second))
	if c, err := faultRequest(k.SipPort(), "pub", 12); err != nil || c.rc != "1" {
		t.Fatalf("publish after failback: %+v %v", c, err)
	}
	// the publishes made while the first broker was down are on the second one
	conn := r2.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclarePassive("kz-fault-published", true, false, false, false, nil)
	if err != nil || q.Messages != 10 {
		t.Errorf("second broker holds %d publishes (%v), want the 10 made during the outage", q.Messages, err)
	}
}

// amqp_spool_max: while no broker is connected, each process keeps up to that many
// publishes (kazoo_publish returns 2) and refuses more (-1, counted); on reconnect they are
// sent in order, before anything published later.
func TestPublishSpool(t *testing.T) {
	r := harness.StartRabbit(t)
	if err := faultTopology(r); err != nil {
		t.Fatal(err)
	}
	k := harness.StartKamailio(t, faultCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URLs": []string{r.URL()}, "Params": `modparam("kazoo", "amqp_spool_max", 3)`}})
	rc := map[int]string{}
	pub := func(seq int) string {
		c, err := faultRequest(k.SipPort(), "pub", seq)
		if err != nil {
			t.Fatal(err)
		}
		rc[seq] = c.rc
		return c.rc
	}
	if pub(1) != "1" {
		t.Fatalf("publish before the outage: %s\n%s", rc[1], k.Log())
	}
	r.Stop(t)
	time.Sleep(300 * time.Millisecond)
	spooled, refused := 0, 0
	for seq := 2; seq <= 11; seq++ {
		switch pub(seq) {
		case "2":
			spooled++
		case "-1":
			refused++
		default:
			t.Fatalf("publish %d during the outage returned %s", seq, rc[seq])
		}
	}
	// two SIP workers, each with a spool of 3
	if spooled < 3 || spooled > 6 || spooled+refused != 10 {
		t.Errorf("during the outage: %d spooled, %d refused", spooled, refused)
	}
	stats := k.Kamcmd(t, "stats.get_statistics", "kazoo:")
	if !strings.Contains(stats, fmt.Sprintf("kazoo:spooled = %d", spooled)) || !strings.Contains(stats, fmt.Sprintf("kazoo:spool_overflow = %d", refused)) {
		t.Errorf("statistics: %s (want spooled %d, overflow %d)", stats, spooled, refused)
	}
	r.Start(t)
	if err := faultTopology(r); err != nil {
		t.Fatal(err)
	}
	// published after the broker is back: sent after what the spool held
	// (until each process flushed its spool and sends directly: 4 direct sends in a row)
	deadline := time.Now().Add(10 * time.Second)
	for seq, ok := 12, 0; ok < 4; seq++ {
		if pub(seq) == "1" {
			ok++
		} else {
			ok = 0
		}
		if time.Now().After(deadline) {
			t.Fatalf("publishing not back 10 s after the broker: %v\n%s", rc, k.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume("kz-fault-published", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	lastByPid := map[int]int{}
	found := map[int]bool{}
	for done := false; !done; {
		select {
		case d := <-deliveries:
			var m struct{ Seq, Pid int }
			if err := json.Unmarshal(d.Body, &m); err != nil {
				t.Fatal(err)
			}
			if m.Seq < lastByPid[m.Pid] {
				t.Errorf("process %d: publish %d arrived after %d", m.Pid, m.Seq, lastByPid[m.Pid])
			}
			lastByPid[m.Pid] = m.Seq
			found[m.Seq] = true
		case <-time.After(2 * time.Second):
			done = true
		}
	}
	for seq, code := range rc {
		if (code == "1" || code == "2") != found[seq] {
			t.Errorf("publish %d returned %s, delivered %v", seq, code, found[seq])
		}
	}
	t.Logf("outage: %d spooled, %d refused; delivered after reconnect, in order per process: %d", spooled, refused, len(found))
}

// The statistics (kamcmd stats.get_statistics kazoo:) count what the scripts did.
func TestStatistics(t *testing.T) {
	r := harness.SharedRabbit(t)
	if err := faultTopology(r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go faultResponder(ctx, r.URL(), "only")
	k := harness.StartKamailio(t, faultCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URLs": []string{r.URL()}, "Params": ""}})
	for seq := 1; seq <= 3; seq++ {
		if c, err := faultRequest(k.SipPort(), "pub", seq); err != nil || c.rc != "1" {
			t.Fatalf("publish: %+v %v", c, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := faultRequest(k.SipPort(), "query", 0)
		if err == nil && c.rc == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no query answered: %+v %v", c, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel() // the responder goes: the next query is unroutable and fails at once
	time.Sleep(300 * time.Millisecond)
	if c, err := faultRequest(k.SipPort(), "query", 0); err != nil || c.rc != "-1" {
		t.Fatalf("query without a responder: %+v %v", c, err)
	}
	stats := map[string]int{}
	for _, line := range strings.Split(k.Kamcmd(t, "stats.get_statistics", "kazoo:"), "\n") {
		if name, val, ok := strings.Cut(strings.TrimSpace(line), " = "); ok {
			stats[name], _ = strconv.Atoi(val)
		}
	}
	if stats["kazoo:published"] != 3 || stats["kazoo:query_ok"] < 1 || stats["kazoo:query_failed"] < 1 || stats["kazoo:publish_failed"] != 0 {
		t.Errorf("statistics: %v", stats)
	}
	latency := 0
	for _, b := range []string{"le_10ms", "le_50ms", "le_100ms", "le_500ms", "le_1s", "gt_1s"} {
		latency += stats["kazoo:query_latency_"+b]
	}
	if latency != stats["kazoo:query_ok"] || stats["kazoo:returned"] < 1 {
		t.Errorf("latency buckets %d for %d answered queries, returned %d: %v", latency, stats["kazoo:query_ok"], stats["kazoo:returned"], stats)
	}
	for _, name := range []string{"spooled", "spool_overflow", "query_timeout", "async_query_ok", "async_query_failed", "events",
		"acked", "redelivered", "rejected", "reconnects"} {
		if _, ok := stats["kazoo:"+name]; !ok {
			t.Errorf("statistic kazoo:%s missing: %v", name, stats)
		}
	}
}
