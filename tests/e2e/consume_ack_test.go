package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// This file tests when the module acknowledges what it consumes (at-most-once vs
// at-least-once when a worker dies in the route), that amqp_consumer_prefetch bounds what
// each worker holds unacknowledged, and that a large batch is consumed exactly once.

// ackSlowRoute logs the start of the route with the worker's PID, sleeps long enough for
// the test to SIGKILL that worker mid-route, and logs the end.
const ackSlowRoute = `
event_route[kazoo:consumer-event-ack-test-slow] {
	xlog("L_NOTICE", "ROUTE START $kzRK $(kzE{kz.json,Msg-ID}) pid=$pp\n");
	sleep("3");
	xlog("L_NOTICE", "ROUTE END $kzRK $(kzE{kz.json,Msg-ID}) pid=$pp\n");
}
`

var ackRouteStartRE = regexp.MustCompile(`ROUTE START (\S+) (\S+) pid=(\d+)`)

// ackQueueCounts reads messages_ready and messages_unacknowledged of queue from the broker
// (found false when the queue does not exist).
func ackQueueCounts(t *testing.T, r *harness.Rabbit, queue string) (ready, unacked int, found bool) {
	t.Helper()
	out := r.Ctl(t, "list_queues", "-q", "name", "messages_ready", "messages_unacknowledged")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == queue {
			ready, err1 := strconv.Atoi(f[1])
			unacked, err2 := strconv.Atoi(f[2])
			if err1 != nil || err2 != nil {
				t.Fatalf("list_queues: bad line %q", line)
			}
			return ready, unacked, true
		}
	}
	return 0, 0, false
}

// ackWaitQueue polls the queue until cond holds (bounded); returns the last counts.
func ackWaitQueue(t *testing.T, r *harness.Rabbit, queue string, timeout time.Duration, cond func(ready, unacked int) bool) (int, int, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ready, unacked, found := ackQueueCounts(t, r, queue)
		if found && cond(ready, unacked) {
			return ready, unacked, true
		}
		if time.Now().After(deadline) {
			if !found {
				t.Fatalf("queue %s does not exist", queue)
			}
			return ready, unacked, false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ackDeleteAtCleanup deletes the (durable, non-auto-delete) queue and exchange of a test
// at cleanup so that they do not linger in the shared broker. Registered before Kamailio is
// started, it runs after Kamailio's own cleanup.
func ackDeleteAtCleanup(t *testing.T, r *harness.Rabbit, exchange, queue string) {
	t.Helper()
	conn := r.Dial(t)
	t.Cleanup(func() {
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		defer ch.Close()
		_, _ = ch.QueueDelete(queue, false, false, false)
		_ = ch.ExchangeDelete(exchange, false, false)
	})
}

// ackLogLines keeps the log lines of the route markers and of the child's death.
func ackLogLines(log string) string {
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "ROUTE ") || strings.Contains(line, "by a signal") || strings.Contains(line, "SIGCHLD") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// ackCounter reads an integer item of the htable c through kamcmd (ok false while unset).
func ackCounter(k *harness.Kamailio, name string) (int, bool) {
	out, err := k.KamcmdErr("htable.get", "c", name)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(out, "\n") {
		if v, found := strings.CutPrefix(strings.TrimSpace(line), "value:"); found {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			return n, err == nil
		}
	}
	return 0, false
}

// ackPublishMany publishes n messages on one channel in confirm mode, pipelined: every
// publish goes out without waiting, the confirms are awaited at the end (the broker confirms
// in batches with multiple=true). Returns when all are confirmed.
func ackPublishMany(t *testing.T, conn *amqp.Connection, exchange, rk string, n int, body func(i int) string) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dcs := make([]*amqp.DeferredConfirmation, 0, n)
	for i := 0; i < n; i++ {
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, rk, false, false,
			amqp.Publishing{ContentType: "application/json", Body: []byte(body(i))})
		if err != nil {
			t.Fatalf("publish %d to %s/%s: %v", i, exchange, rk, err)
		}
		dcs = append(dcs, dc)
	}
	for i, dc := range dcs {
		ok, err := dc.WaitContext(ctx)
		if err != nil || !ok {
			t.Fatalf("publish %d to %s/%s: not confirmed (ack %v, %v)", i, exchange, rk, ok, err)
		}
	}
}

// A worker SIGKILLed in the middle of an event route: with "no_ack": false (and the
// default wait_for_consumer_ack true) the message was not acknowledged yet, so the broker
// holds it again and a new Kamailio runs the route for it to the end (at-least-once). With
// the default no_ack, and with wait_for_consumer_ack false, it was acknowledged when the
// worker took it, so it is gone (at-most-once). Durable, non-auto-delete queue (and
// exchange) so that the queue and the message survive Kamailio going away.
func TestConsumeAckAfterRoute(t *testing.T) {
	cases := []struct {
		name        string
		flags       string // extra subscription keys
		redelivered bool
	}{
		{"no_ack_false", `, "no_ack": false`, true},
		{"default_no_ack", ``, false},
		{"no_ack_false_no_wait", `, "no_ack": false, "wait_for_consumer_ack": false`, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := harness.SharedRabbit(t)
			exchange := fmt.Sprintf("kz_e2e_ack_%d", i)
			queue := fmt.Sprintf("kz-e2e-ack-%d", i)
			msgID := fmt.Sprintf("ack-%d-%d", i, time.Now().UnixNano())
			ackDeleteAtCleanup(t, r, exchange, queue)
			url := strings.TrimSuffix(r.URL(), "/")
			sub := fmt.Sprintf(`kazoo_subscribe('{"exchange": "%s", "type": "direct", "queue": "%s", "routing": "ack.test", "durable": true, "auto_delete": false%s}');`,
				exchange, queue, tc.flags)
			opts := consumeOpts(modulePath, url, map[string]any{
				"Params":  `modparam("kazoo", "amqp_consumer_workers", 2)`,
				"ModInit": sub,
				"Routes":  ackSlowRoute,
			})
			crashOpts := opts
			crashOpts.AllowCrash = true // we SIGKILL one of its children: Kamailio shuts down
			k := harness.StartKamailio(t, consumeCfg, crashOpts)
			waitBound(t, r, queue)
			descs := map[int]string{}
			for _, p := range k.Procs(t) {
				descs[p.PID] = p.Desc
			}

			conn := r.Dial(t)
			publishTo(t, conn, exchange, "ack.test",
				fmt.Sprintf(`{"Event-Category": "ack_test", "Event-Name": "slow", "Msg-ID": "%s"}`, msgID))
			if !k.WaitLog(t, "ROUTE START ack.test "+msgID, 15*time.Second) {
				t.Fatalf("the route did not start\n%s", k.Log())
			}
			m := ackRouteStartRE.FindStringSubmatch(k.Log())
			if m == nil {
				t.Fatalf("no pid in the route's marker\n%s", k.Log())
			}
			pid, _ := strconv.Atoi(m[3])
			if !strings.HasPrefix(descs[pid], "kazoo consumer ") {
				t.Fatalf("route ran in pid %d (%q), not in a kazoo consumer: %v", pid, descs[pid], descs)
			}
			// Still in sleep("3"): kill it mid-route. The PID is one of this Kamailio's
			// processes (core.psx above), alive (it just logged and sleeps).
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("kill %d: %v", pid, err)
			}
			t.Logf("SIGKILLed %s (pid %d) mid-route", descs[pid], pid)
			deadline := time.Now().Add(20 * time.Second)
			for k.Alive() && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if k.Alive() {
				t.Fatalf("Kamailio still runs 20 s after one of its children was killed\n%s", k.Log())
			}
			k.Stop(t) // reaps what is left; logs the (allowed) crash
			if !k.Crashed() {
				t.Errorf("the harness did not see the killed child")
			}
			t.Logf("what the first instance logged about the route and the kill:\n%s", ackLogLines(k.Log()))
			if strings.Contains(k.Log(), "ROUTE END") {
				t.Fatalf("the route ended before the kill: the test proves nothing\n%s", k.Log())
			}

			// Every connection of the dead instance is closed: nothing is unacknowledged
			// any more; what was not acknowledged is ready again. (With ack after the
			// route, the broker may requeue the message to the other worker of the dying
			// instance as soon as the killed worker's connection drops; that worker starts
			// the route too - a second ROUTE START above - and is stopped by Kamailio's
			// shutdown long before its sleep ends, so it does not acknowledge either.)
			ready, unacked, ok := ackWaitQueue(t, r, queue, 15*time.Second, func(_, unacked int) bool { return unacked == 0 })
			if !ok {
				t.Fatalf("queue %s: %d unacknowledged 15 s after Kamailio died", queue, unacked)
			}
			want := 0
			if tc.redelivered {
				want = 1
			}
			if ready != want {
				t.Fatalf("queue %s after the kill: messages_ready %d, want %d (redelivery expected: %v)", queue, ready, want, tc.redelivered)
			}
			t.Logf("queue %s after the kill: messages_ready %d, messages_unacknowledged %d", queue, ready, unacked)
			if !tc.redelivered {
				return
			}

			// A new Kamailio with the same cfg consumes the message again and runs the
			// route to the end; then the message is acknowledged.
			k2 := harness.StartKamailio(t, consumeCfg, opts)
			if !k2.WaitLog(t, "ROUTE END ack.test "+msgID, 20*time.Second) {
				t.Fatalf("the message was not redelivered to the new Kamailio\n%s", k2.Log())
			}
			t.Logf("the new instance:\n%s", ackLogLines(k2.Log()))
			if n := strings.Count(k2.Log(), "ROUTE START"); n != 1 {
				t.Errorf("new Kamailio ran the route %d times, want 1\n%s", n, k2.Log())
			}
			if ready, unacked, ok := ackWaitQueue(t, r, queue, 10*time.Second, func(ready, unacked int) bool { return ready == 0 && unacked == 0 }); !ok {
				t.Errorf("queue %s after the redelivered route: ready %d unacked %d, want 0 0", queue, ready, unacked)
			}
			k2.Stop(t)
		})
	}
}

// amqp_consumer_prefetch is the basic.qos of each worker's channel per subscription: with
// prefetch 5 and 2 workers consuming one shared queue, the broker never has more than 10 of
// its messages unacknowledged (ack after the route, so a message is unacknowledged from its
// delivery until its route has run), while a backlog waits in the queue.
func TestConsumePrefetchBound(t *testing.T) {
	const (
		prefetch = 5
		workers  = 2
		count    = 60 // 2 workers x ~3 routes/s: ~10 s of consumption, enough samples
	)
	r := harness.SharedRabbit(t)
	exchange, queue := "kz_e2e_prefetch", "kz-e2e-prefetch"
	ackDeleteAtCleanup(t, r, exchange, queue)
	url := strings.TrimSuffix(r.URL(), "/")
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, url, map[string]any{
		"Params": fmt.Sprintf("modparam(\"kazoo\", \"amqp_consumer_workers\", %d)\nmodparam(\"kazoo\", \"amqp_consumer_prefetch\", %d)", workers, prefetch),
		// $shtinc does not create a missing item (htable c has no initval): start at 0.
		"ModInit": fmt.Sprintf(`$sht(c=>n) = 0; kazoo_subscribe('{"exchange": "%s", "type": "direct", "queue": "%s", "routing": "pf", "no_ack": false}');`,
			exchange, queue),
		"Routes": `
event_route[kazoo:consumer-event-prefetch-test-slow] {
	usleep("300000");
	$var(n) = $shtinc(c=>n);
}
`,
	}))
	waitBound(t, r, queue)
	// Wait for both workers' consumers; each must carry the prefetch and require acks.
	var consumers []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		consumers = consumers[:0]
		out := r.Ctl(t, "list_consumers", "-q", "queue_name", "ack_required", "prefetch_count")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) == 3 && f[0] == queue {
				consumers = append(consumers, line)
				if f[1] != "true" || f[2] != strconv.Itoa(prefetch) {
					t.Errorf("consumer %q: want ack_required true, prefetch_count %d", line, prefetch)
				}
			}
		}
		if len(consumers) == workers || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(consumers) != workers {
		t.Fatalf("queue %s has %d consumers, want %d: %q", queue, len(consumers), workers, consumers)
	}

	conn := r.Dial(t)
	begin := time.Now()
	ackPublishMany(t, conn, exchange, "pf", count, func(i int) string {
		return fmt.Sprintf(`{"Event-Category": "prefetch_test", "Event-Name": "slow", "Seq": %d}`, i)
	})
	// Sample while consuming: rabbitmqctl takes around a second, so a handful of samples.
	maxUnacked, samples, sawUnacked, sawBacklog := 0, 0, false, false
	deadline = time.Now().Add(60 * time.Second)
	for {
		n, _ := ackCounter(k, "n")
		if n >= count {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d events consumed after 60 s\n%s", n, count, k.Log())
		}
		ready, unacked, found := ackQueueCounts(t, r, queue)
		if !found {
			t.Fatalf("queue %s vanished", queue)
		}
		samples++
		maxUnacked = max(maxUnacked, unacked)
		sawUnacked = sawUnacked || unacked > 0
		sawBacklog = sawBacklog || ready > 0
		if unacked > prefetch*workers {
			t.Errorf("messages_unacknowledged %d (ready %d) exceeds prefetch %d x %d workers", unacked, ready, prefetch, workers)
		}
	}
	elapsed := time.Since(begin)
	t.Logf("%d samples during consumption: max messages_unacknowledged %d (bound %d); all %d consumed in %v",
		samples, maxUnacked, prefetch*workers, count, elapsed.Round(time.Millisecond))
	if !sawUnacked {
		t.Errorf("never saw an unacknowledged message while %d were consumed (%d samples)", count, samples)
	}
	if !sawBacklog {
		// With 60 messages and at most 10 in flight, the first samples must see a backlog.
		t.Errorf("never saw messages ready in the queue: the prefetch did not hold them back")
	}
	time.Sleep(500 * time.Millisecond)
	if n, _ := ackCounter(k, "n"); n != count {
		t.Errorf("counter %d, want %d", n, count)
	}
	if ready, unacked, ok := ackWaitQueue(t, r, queue, 10*time.Second, func(ready, unacked int) bool { return ready == 0 && unacked == 0 }); !ok {
		t.Errorf("queue %s at the end: ready %d unacked %d, want 0 0", queue, ready, unacked)
	}
}

// 50 000 events through 4 workers (default prefetch 64), ack after the route: every one
// runs its route exactly once (the counter equals the count, no Seq is seen twice) and the
// queue ends empty with nothing unacknowledged. Logs the throughput.
func TestConsume50000Events(t *testing.T) {
	const count = 50000
	r := harness.SharedRabbit(t)
	exchange, queue := "kz_e2e_load", "kz-e2e-load"
	ackDeleteAtCleanup(t, r, exchange, queue)
	url := strings.TrimSuffix(r.URL(), "/")
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, url, map[string]any{
		// htable s: one item per Seq seen, to count duplicates (2^16 slots for 50 000 items)
		"Params": "modparam(\"kazoo\", \"amqp_consumer_workers\", 4)\nmodparam(\"htable\", \"htable\", \"s=>size=16;\")",
		// $shtinc does not create a missing item (htable c has no initval): start at 0.
		"ModInit": fmt.Sprintf(`$sht(c=>n) = 0; $sht(c=>dup) = 0; kazoo_subscribe('{"exchange": "%s", "type": "direct", "queue": "%s", "routing": "load", "no_ack": false}');`,
			exchange, queue),
		"Routes": `
event_route[kazoo:consumer-event-load-test-tick] {
	$var(seq) = $(kzE{kz.json,Seq});
	if ($sht(s=>$var(seq)) != $null) {
		xlog("L_ERR", "DUPLICATE $var(seq)\n");
		$var(d) = $shtinc(c=>dup);
	}
	$sht(s=>$var(seq)) = 1;
	$var(n) = $shtinc(c=>n);
}
`,
	}))
	waitBound(t, r, queue)
	conn := r.Dial(t)

	begin := time.Now()
	ackPublishMany(t, conn, exchange, "load", count, func(i int) string {
		return fmt.Sprintf(`{"Event-Category": "load_test", "Event-Name": "tick", "Seq": %d}`, i)
	})
	published := time.Since(begin)
	t.Logf("published and confirmed %d messages in %v (%.0f msg/s)", count, published.Round(time.Millisecond), count/published.Seconds())

	n, last, lastChange := 0, 0, time.Now()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		n, _ = ackCounter(k, "n")
		if n >= count {
			break
		}
		if n != last {
			last, lastChange = n, time.Now()
		}
		if time.Now().After(deadline) || time.Since(lastChange) > 30*time.Second {
			ready, unacked, _ := ackQueueCounts(t, r, queue)
			t.Fatalf("%d of %d events consumed after %v (queue: ready %d, unacked %d)\n%s",
				n, count, time.Since(begin).Round(time.Second), ready, unacked, k.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(begin)
	t.Logf("%d events consumed in %v from the first publish: %.0f events/s", count, elapsed.Round(time.Millisecond), count/elapsed.Seconds())

	// Nothing more must come: no duplicate, nothing left in the queue, nothing in flight.
	ready, unacked, ok := ackWaitQueue(t, r, queue, 10*time.Second, func(ready, unacked int) bool { return ready == 0 && unacked == 0 })
	if !ok {
		t.Errorf("queue %s at the end: ready %d unacked %d, want 0 0", queue, ready, unacked)
	}
	if n, _ = ackCounter(k, "n"); n != count {
		t.Errorf("counter %d, want exactly %d", n, count)
	}
	if dup, ok := ackCounter(k, "dup"); ok && dup != 0 {
		t.Errorf("%d events ran their route twice", dup)
	}
	if strings.Contains(k.Log(), "DUPLICATE") {
		t.Errorf("duplicates logged:\n%s", k.Log())
	}
	// the statistics saw them too
	stats := k.Kamcmd(t, "stats.get_statistics", "kazoo:")
	if !strings.Contains(stats, fmt.Sprintf("kazoo:acked = %d", count)) || !strings.Contains(stats, fmt.Sprintf("kazoo:events = %d", count)) {
		t.Errorf("statistics after %d events: %s", count, stats)
	}
}
