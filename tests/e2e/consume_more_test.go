package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Consumption beyond the naming chain: replies through consumer:// Server-IDs, runtime
// kazoo_subscribe / kazoo_unsubscribe (script, RPC, 4-argument form), bad input of every
// kind, connection events and $xavp(amqpc) across a broker outage, and the consumption
// patterns of a cluster (shared queue, fanout, topic). Every test uses names of its own
// (cmUniq), so that a leftover of an earlier run on the shared broker cannot interfere.

// cmWorkers keeps the consumer processes to two (the module's default is 8): enough to
// show that a shared queue is consumed by every worker and that an unsubscribe reaches
// every worker, cheap on a loaded 2-core machine.
const cmWorkers = `modparam("kazoo", "amqp_consumer_workers", 2)`

// cmUniq is a suffix for exchange and queue names unique to one test run.
func cmUniq() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// cmURL is the broker URL as the cfg gets it (no trailing '/', as runNaming does).
func cmURL(r *harness.Rabbit) string { return strings.TrimSuffix(r.URL(), "/") }

// cmQueue is what a passive queue.declare tells of a queue.
type cmQueue struct {
	exists           bool
	ready, consumers int
}

// cmQueueState asks the broker over AMQP (a passive declare on a connection of its own,
// which also works across a broker restart): far cheaper than rabbitmqctl, which starts an
// Erlang VM per call and takes seconds on a loaded machine.
func cmQueueState(t *testing.T, r *harness.Rabbit, name string) cmQueue {
	t.Helper()
	conn, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("dial %s: %v", r.URL(), err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(name, false, false, false, false, nil)
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return cmQueue{}
	}
	if err != nil {
		t.Fatalf("passive declare of queue %s: %v", name, err)
	}
	return cmQueue{exists: true, ready: q.Messages, consumers: q.Consumers}
}

// cmUnacked is the queue's messages_unacknowledged (rabbitmqctl: AMQP does not tell), -1
// when the queue is not listed.
func cmUnacked(t *testing.T, r *harness.Rabbit, name string) int {
	t.Helper()
	out := r.Ctl(t, "list_queues", "-q", "name", "messages_unacknowledged")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == name {
			n, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("list_queues line %q: %v", line, err)
			}
			return n
		}
	}
	return -1
}

// cmWaitQueue polls the queue's state until ok accepts it; consumers start and stop
// asynchronously (control socket, then a channel per worker), so tests wait for the
// broker to show the result rather than sleeping.
func cmWaitQueue(t *testing.T, r *harness.Rabbit, name, what string, timeout time.Duration, ok func(cmQueue) bool) cmQueue {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := cmQueueState(t, r, name)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: not %s within %v (last state %+v)", name, what, timeout, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// cmConsumers waits until queue has exactly n consumers.
func cmConsumers(t *testing.T, r *harness.Rabbit, queue string, n int) {
	t.Helper()
	cmWaitQueue(t, r, queue, fmt.Sprintf("consumed by %d consumers", n), 20*time.Second,
		func(q cmQueue) bool { return q.exists && q.consumers == n })
}

// cmLines returns the lines of log that contain every one of subs.
func cmLines(log string, subs ...string) []string {
	var found []string
next:
	for _, l := range strings.Split(log, "\n") {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		found = append(found, l)
	}
	return found
}

// cmWaitLines waits until the log after offset has at least one line containing every one
// of subs and returns those lines a moment later (to catch a duplicate). The Go side's own
// lines reach the log through the "kazoo log relay" process, after the route that caused
// them may have logged and replied: poll, never read the log just once.
func cmWaitLines(k *harness.Kamailio, offset int, timeout time.Duration, subs ...string) []string {
	deadline := time.Now().Add(timeout)
	for len(cmLines(k.Log()[offset:], subs...)) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	return cmLines(k.Log()[offset:], subs...)
}

// cmWaitOut returns route[OUT]'s report of the event with Msg-ID id, skipping others.
func cmWaitOut(t *testing.T, q *harness.Queue, id string, timeout time.Duration) (out, bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o, ok := nextOut(t, q, time.Until(deadline))
		if !ok {
			return out{}, false
		}
		if fmt.Sprint(o.E["Msg-ID"]) == id {
			return o, true
		}
	}
}

// cmNoOut fails when route[OUT] reports, within d, an event whose Msg-ID starts with
// prefix ("": any event).
func cmNoOut(t *testing.T, q *harness.Queue, prefix string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		o, ok := nextOut(t, q, time.Until(deadline))
		if !ok {
			return
		}
		if o.E["Event-Category"] == "connection" { // listener events of (un)subscribing
			continue
		}
		if id := fmt.Sprint(o.E["Msg-ID"]); strings.HasPrefix(id, prefix) {
			t.Errorf("event %s was consumed (route %s, pid %s) although it should not have been", id, o.Route, o.Pid)
		}
	}
}

// cmPublishMandatory publishes with the mandatory flag and reports whether the broker
// returned the message as unroutable (no queue bound for the routing key).
func cmPublishMandatory(t *testing.T, conn *amqp.Connection, exchange, rk, body string) (returned bool) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	returns := ch.NotifyReturn(make(chan amqp.Return, 1))
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), exchange, rk, true, false,
		amqp.Publishing{ContentType: "application/json", Body: []byte(body)})
	if err != nil {
		t.Fatalf("publish to %s/%s: %v", exchange, rk, err)
	}
	if !dc.Wait() {
		t.Fatalf("publish to %s/%s: nack", exchange, rk)
	}
	// basic.return precedes the confirm on the wire; allow the dispatch a moment
	select {
	case <-returns:
		return true
	case <-time.After(time.Second):
		return false
	}
}

// cmDeleteAtEnd deletes durable queues a test leaves on the shared broker.
func cmDeleteAtEnd(t *testing.T, r *harness.Rabbit, queues ...string) {
	t.Cleanup(func() {
		conn, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
		if err != nil {
			t.Logf("cleanup: %v", err)
			return
		}
		defer conn.Close()
		for _, q := range queues {
			if ch, err := conn.Channel(); err == nil {
				if _, err := ch.QueueDelete(q, false, false, false); err != nil {
					t.Logf("cleanup: delete queue %s: %v", q, err)
				}
				ch.Close()
			}
		}
	})
}

// 1. A request carrying Server-ID X is answered by the cfg with
// kazoo_publish("targeted", $(kzE{kz.json,Server-ID}), ...): the module rewrote X to
// consumer://1/X, and the publish of that goes to exchange targeted, routing key X, so the
// requester's own queue gets the reply with the request's Msg-ID.
func TestConsumeReplyToServerID(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	ex, queue, requester := "kz_e2e_reply_"+u, "kz-e2e-reply-"+u, "kz-e2e-requester-"+u
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	replies := r.Bind(t, "targeted", "direct", requester)
	modInit := fmt.Sprintf(`kazoo_subscribe('{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "req.#"}');`, ex, queue)
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, cmURL(r), map[string]any{"ModInit": modInit, "Params": cmWorkers}))
	cmConsumers(t, r, queue, 2)

	conn := r.Dial(t)
	publishTo(t, conn, ex, "req.1", fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "request", "Server-ID": %q, "Msg-ID": "r1"}`, requester))
	d, ok := replies.Next(t, 10*time.Second)
	if !ok {
		t.Fatalf("no reply on the requester's queue (targeted/%s)\n%s", requester, k.Log())
	}
	rep := decode(t, d.Body)
	if d.Exchange != "targeted" || d.RoutingKey != requester {
		t.Errorf("reply came through %q/%q, want targeted/%s", d.Exchange, d.RoutingKey, requester)
	}
	if rep["Msg-ID"] != "r1" || rep["Event-Name"] != "reply" {
		t.Errorf("reply %s: want Msg-ID r1, Event-Name reply", d.Body)
	}
	o, ok := cmWaitOut(t, outQ, "r1", 10*time.Second)
	if !ok {
		t.Fatalf("route[OUT] did not report the request\n%s", k.Log())
	}
	if want := "consumer://1/" + requester; o.E["Server-ID"] != want {
		t.Errorf("$kzE Server-ID %v, want %s", o.E["Server-ID"], want)
	}
	if _, extra := replies.Next(t, 500*time.Millisecond); extra {
		t.Errorf("more than one reply")
	}
}

// 2. kazoo_subscribe at runtime from a SIP request, from the RPC and (4-argument form) from
// an event route of a consumer worker: each declares its exchange before it returns (a
// publish right after finds it) and its events are consumed. kazoo_unsubscribe by name (SIP)
// and by queue (RPC) cancels the consumers of every worker: a durable queue keeps what is
// published afterwards (and hands it over when subscribed again), an auto_delete queue is
// deleted with its last consumer, so later publishes are unroutable.
func TestConsumeRuntimeSubscribe(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	var (
		ctlEx, ctlQ = "kz_e2e_rt_" + u, "kz-e2e-rt-ctl-" + u
		sipEx, sipQ = "kz_e2e_rt_sip_" + u, "kz-e2e-rt-sip-" + u
		sipName     = "rt-sip-" + u
		rpcEx, rpcQ = "kz_e2e_rt_rpc_" + u, "kz-e2e-rt-rpc-" + u
		fourEx      = "kz_e2e_rt_four_" + u
		fourQ       = "kz-e2e-rt-four-" + u
	)
	cmDeleteAtEnd(t, r, sipQ)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	modInit := fmt.Sprintf(`kazoo_subscribe('{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "ctl"}');`, ctlEx, ctlQ)
	// the 4-argument form, run by a consumer worker when the event {"Event-Category":
	// "sub4", "Event-Name": "go"} arrives: kazoo_subscribe works in any route
	routes := fmt.Sprintf(`event_route[kazoo:consumer-event-sub4-go] {
	$var(rc) = kazoo_subscribe("%s", "direct", "%s", "four");
	xlog("L_NOTICE", "SUB4 rc=$var(rc) pid=$pp\n");
}`, fourEx, fourQ)
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, cmURL(r), map[string]any{
		"ModInit": modInit, "Routes": routes, "Params": cmWorkers}))
	conn := r.Dial(t)
	cmConsumers(t, r, ctlQ, 2)

	// --- from a SIP request: a durable queue (queue-def), named subscription
	sipDesc := fmt.Sprintf(`{"name": "%s", "exchange": "%s", "type": "direct", "queue": "%s", "routing": "sip", "queue-def": {"durable": 1, "auto_delete": 0}}`, sipName, sipEx, sipQ)
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": sipDesc}, ""); rep.Headers["x-rc"] != "1" {
		t.Fatalf("kazoo_subscribe from SIP returned %q\n%s", rep.Headers["x-rc"], k.Log())
	}
	// the exchange exists as soon as kazoo_subscribe returned (publishTo fails on 404)
	publishTo(t, conn, sipEx, "probe", `{"probe": 1}`)
	cmConsumers(t, r, sipQ, 2) // a shared queue: every worker consumes it
	publishTo(t, conn, sipEx, "sip", `{"Event-Category": "other", "Event-Name": "rt", "Msg-ID": "sip-1"}`)
	if _, ok := cmWaitOut(t, outQ, "sip-1", 10*time.Second); !ok {
		t.Fatalf("event of the SIP subscription not consumed\n%s", k.Log())
	}

	// --- from the RPC: default flags (auto_delete queue), unnamed: its ID is the queue
	rpcDesc := fmt.Sprintf(`{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "rpc.#"}`, rpcEx, rpcQ)
	if res := k.Kamcmd(t, "kazoo.subscribe", rpcDesc); !strings.Contains(res, "Ok. Subscribed.") {
		t.Fatalf("kamcmd kazoo.subscribe: %s", res)
	}
	publishTo(t, conn, rpcEx, "probe", `{"probe": 1}`)
	cmConsumers(t, r, rpcQ, 2)
	publishTo(t, conn, rpcEx, "rpc.x", `{"Event-Category": "other", "Event-Name": "rt", "Msg-ID": "rpc-1"}`)
	if _, ok := cmWaitOut(t, outQ, "rpc-1", 10*time.Second); !ok {
		t.Fatalf("event of the RPC subscription not consumed\n%s", k.Log())
	}

	// --- the 4-argument form, from an event route
	publishTo(t, conn, ctlEx, "ctl", `{"Event-Category": "sub4", "Event-Name": "go", "Msg-ID": "ctl-1"}`)
	if !k.WaitLog(t, "SUB4 rc=1", 10*time.Second) {
		t.Fatalf("4-argument kazoo_subscribe in an event route did not return 1\n%s", k.Log())
	}
	publishTo(t, conn, fourEx, "probe", `{"probe": 1}`)
	cmConsumers(t, r, fourQ, 2)
	publishTo(t, conn, fourEx, "four", `{"Event-Category": "other", "Event-Name": "rt", "Msg-ID": "four-1"}`)
	if _, ok := cmWaitOut(t, outQ, "four-1", 10*time.Second); !ok {
		t.Fatalf("event of the 4-argument subscription not consumed\n%s", k.Log())
	}

	// --- kazoo_unsubscribe by name from SIP: the durable queue stays, unconsumed
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "unsub", map[string]string{"X-Unsubscribe": sipName}, ""); rep.Headers["x-rc"] != "1" {
		t.Fatalf("kazoo_unsubscribe from SIP returned %q\n%s", rep.Headers["x-rc"], k.Log())
	}
	cmWaitQueue(t, r, sipQ, "without consumers", 10*time.Second, func(q cmQueue) bool { return q.exists && q.consumers == 0 })
	for i := 1; i <= 3; i++ {
		publishTo(t, conn, sipEx, "sip", fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "rt", "Msg-ID": "sip-after-%d"}`, i))
	}
	cmWaitQueue(t, r, sipQ, "holding the 3 later messages", 10*time.Second, func(q cmQueue) bool { return q.ready == 3 })

	// --- kazoo.unsubscribe by queue from the RPC: the auto_delete queue goes away
	if res := k.Kamcmd(t, "kazoo.unsubscribe", rpcQ); !strings.Contains(res, "Ok.") {
		t.Fatalf("kamcmd kazoo.unsubscribe: %s", res)
	}
	cmWaitQueue(t, r, rpcQ, "deleted", 10*time.Second, func(q cmQueue) bool { return !q.exists })
	if !cmPublishMandatory(t, conn, rpcEx, "rpc.x", `{"Event-Category": "other", "Event-Name": "rt", "Msg-ID": "rpc-after-1"}`) {
		t.Errorf("a publish after kazoo.unsubscribe was routed somewhere (queue %s should be gone)", rpcQ)
	}
	// with both unsubscribed (and the probes unroutable) nothing at all may be consumed
	cmNoOut(t, outQ, "", time.Second)
	for _, want := range []string{"unsubscribed " + sipName, "unsubscribed " + rpcQ} {
		if len(cmWaitLines(k, 0, 5*time.Second, want)) != 1 {
			t.Errorf("expected one log line %q", want)
		}
	}

	// --- subscribing again hands over what the durable queue kept, and only that
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": sipDesc}, ""); rep.Headers["x-rc"] != "1" {
		t.Fatalf("second kazoo_subscribe returned %q", rep.Headers["x-rc"])
	}
	got := map[string]int{}
	deadline := time.Now().Add(15 * time.Second)
	for len(got) < 3 && time.Now().Before(deadline) {
		o, ok := nextOut(t, outQ, time.Until(deadline))
		if !ok {
			break
		}
		id := fmt.Sprint(o.E["Msg-ID"])
		if strings.HasPrefix(id, "rpc-after") {
			t.Errorf("%s consumed after kazoo.unsubscribe", id)
		}
		if strings.HasPrefix(id, "sip-after-") {
			got[id]++
		}
	}
	if len(got) != 3 {
		t.Fatalf("after subscribing again, got %v of the 3 kept messages\n%s", got, k.Log())
	}
	cmWaitQueue(t, r, sipQ, "drained", 10*time.Second, func(q cmQueue) bool { return q.ready == 0 })
	cmNoOut(t, outQ, "sip-after-", time.Second) // no duplicates
}

// cmBadCfg is consumeCfg cut down for TestConsumeBadInput: no event_route[kazoo:consumer-event]
// (the final fallback), so that an event of the subscription whose event_key/event_subkey
// values match no route has nowhere to go; one consumer worker, because the "no route"
// line is logged once per process. Connection events get a route of their own so that
// they do not add "no route" lines.
var cmBadCfg = harness.CfgHead{Children: 2,
	Modules: "sl pv xlog textops"}.String() + `modparam("kazoo", "node_hostname", "e2e.bad")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_consumer_workers", 1)
event_route[kazoo:mod-init] {
	kazoo_subscribe('{{.Extra.Sub}}');
}
event_route[kazoo:consumer-event-good] {
	xlog("L_NOTICE", "GOOD $(kzE{kz.json,Msg-ID})\n");
}
event_route[kazoo:consumer-event-connection] {
	xlog("L_INFO", "connection event $(kzE{kz.json,Event-Name})\n");
}
request_route {
	if (is_present_hf("X-Subscribe")) {
		$var(rc) = kazoo_subscribe("$hdr(X-Subscribe)");
		append_to_reply("X-Rc: $var(rc)\r\n");
	}
	sl_send_reply("200", "OK");
	exit;
}
`

// 3. Bad input: every bad description makes kazoo_subscribe return -1 with exactly one
// ERROR line naming the problem, and Kamailio goes on serving; unknown keys are a warning
// and the subscription is made; an exchange the broker refuses (406, another type) is -1
// with the broker's reason. A consumed event that is not JSON is rejected (not requeued)
// with one line, an event without a route is acknowledged with one line per route name,
// and consumption goes on after both.
func TestConsumeBadInput(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	ex, queue := "kz_e2e_bad_"+u, "kz-e2e-bad-"+u
	cmDeleteAtEnd(t, r, queue)
	// durable and not auto_delete: the queue's counters stay readable (nothing requeued,
	// nothing left unacknowledged) whatever the consumer does
	sub := fmt.Sprintf(`{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "ev.#", "event_key": "K", "event_subkey": "S", "queue-def": {"durable": 1, "auto_delete": 0}}`, ex, queue)
	k := harness.StartKamailio(t, cmBadCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": cmURL(r), "Sub": sub}})
	cmConsumers(t, r, queue, 1)

	long := strings.Repeat("x", 300)
	bad := []struct{ desc, want string }{
		{`this is not JSON`, "not JSON"},
		{`["exchange", "x"]`, "must be a JSON object"},
		{`{"type": "topic", "queue": "q"}`, `"exchange": missing or empty exchange name`},
		{`{"exchange": "", "type": "topic"}`, `"exchange": missing or empty exchange name`},
		{`{"exchange": "kz_e2e_bad_notype"}`, `"type": missing or empty exchange type`},
		{`{"exchange": "kz_e2e_bad_type", "type": "bogus"}`, `unknown exchange type "bogus"`},
		{`{"exchange": "kz_e2e_bad_rk", "type": "topic", "routing": 5}`, `"routing": must be a string or an array of strings, not a number`},
		{`{"exchange": "kz_e2e_bad_rk", "type": "topic", "routing": ["a", 1]}`, `"routing"[1]: routing key must be a string`},
		{`{"exchange": "kz_e2e_bad_flag", "type": "topic", "durable": {}}`, `"durable": must be a boolean or an integer, not an object`},
		{`{"exchange": "kz_e2e_bad_q", "type": "topic", "queue": 5}`, `"queue": must be a string, not a number`},
		{`{"exchange": "` + long + `", "type": "topic"}`, "exchange name is 300 bytes long"},
		{`{"exchange": "kz_e2e_bad_q", "type": "topic", "queue": "` + long + `"}`, "queue name is 300 bytes long"},
		{`{"exchange": "kz_e2e_bad_rk", "type": "topic", "routing": "` + long + `"}`, "routing key is 300 bytes long"},
	}
	for _, b := range bad {
		before := len(k.Log())
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": b.desc}, "")
		if rep.Code != 200 || rep.Headers["x-rc"] != "-1" {
			t.Errorf("kazoo_subscribe(%.60s): reply %d, X-Rc %q, want -1", b.desc, rep.Code, rep.Headers["x-rc"])
		}
		// the line is written by the SIP worker before it replies
		added := k.Log()[before:]
		errs := cmLines(added, "ERROR")
		if len(errs) != 1 || !strings.Contains(errs[0], b.want) || !strings.Contains(errs[0], "kazoo_subscribe") {
			t.Errorf("kazoo_subscribe(%.60s): want one ERROR line containing %q, got:\n%s", b.desc, b.want, added)
		}
	}
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS after the bad descriptions: %d", rep.Code)
	}
	// the RPC reports the same reason as a fault (kamcmd prints it and exits 0)
	if res, _ := k.KamcmdErr("kazoo.subscribe", `{"exchange": "x", "type": "bogus"}`); !strings.Contains(res, "500") || !strings.Contains(res, `unknown exchange type "bogus"`) {
		t.Errorf("kamcmd kazoo.subscribe of a bad description: output %q, want fault 500 with the reason", res)
	}

	// a passive exchange needs no type; unknown keys are a warning, the subscription is made
	okDescs := []struct{ queue, desc, warn string }{
		{"kz-e2e-bad-passive-" + u, `{"exchange": "amq.topic", "exchange-def": {"passive": 1}, "queue": "kz-e2e-bad-passive-` + u + `", "routing": "p.` + u + `"}`, ""},
		{"kz-e2e-bad-unknown-" + u, `{"exchange": "` + ex + `", "type": "topic", "queue": "kz-e2e-bad-unknown-` + u + `", "routing": "unk", "routnig": "x", "foo": 1}`, `unknown keys ignored: "routnig", "foo"`},
	}
	for _, d := range okDescs {
		before := len(k.Log())
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": d.desc}, "")
		if rep.Headers["x-rc"] != "1" {
			t.Errorf("kazoo_subscribe(%s): X-Rc %q, want 1\n%s", d.desc, rep.Headers["x-rc"], k.Log()[before:])
			continue
		}
		if d.warn != "" {
			if w := cmWaitLines(k, before, 5*time.Second, "WARNING", d.warn); len(w) != 1 {
				t.Errorf("kazoo_subscribe(%s): want one WARNING line %q, got:\n%s", d.desc, d.warn, k.Log()[before:])
			}
		}
		cmConsumers(t, r, d.queue, 1)
	}

	// the broker refuses the exchange: it exists with another type
	conflict := "kz_e2e_bad_conflict_" + u
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(conflict, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	ch.Close()
	before := len(k.Log())
	rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": `{"exchange": "` + conflict + `", "type": "topic", "queue": "kz-e2e-bad-conflict-` + u + `"}`}, "")
	if rep.Headers["x-rc"] != "-1" {
		t.Errorf("kazoo_subscribe of an exchange that exists with another type: X-Rc %q, want -1", rep.Headers["x-rc"])
	}
	if l := cmLines(k.Log()[before:], "ERROR", conflict, "PRECONDITION_FAILED"); len(l) != 1 {
		t.Errorf("want one ERROR line with the broker's 406 reason, got:\n%s", k.Log()[before:])
	}
	if st := cmQueueState(t, r, "kz-e2e-bad-conflict-"+u); st.exists {
		t.Errorf("the refused subscription's queue was declared anyway: %+v", st)
	}

	// consumed events: not JSON, then good, then twice the same missing route, then good
	publishTo(t, conn, ex, "ev.1", `this is not JSON`)
	publishTo(t, conn, ex, "ev.2", `{"K": "good", "Msg-ID": "g1"}`)
	publishTo(t, conn, ex, "ev.3", `{"K": "zzz", "S": "yyy", "Msg-ID": "n1"}`)
	publishTo(t, conn, ex, "ev.4", `{"K": "zzz", "S": "yyy", "Msg-ID": "n2"}`)
	publishTo(t, conn, ex, "ev.5", `{"K": "good", "Msg-ID": "g2"}`)
	if !k.WaitLog(t, "GOOD g2", 10*time.Second) {
		t.Fatalf("the good event after the bad ones was not handled\n%s", k.Log())
	}
	if l := cmLines(k.Log(), "GOOD g1"); len(l) != 1 {
		t.Errorf("GOOD g1 logged %d times", len(l))
	}
	if l := cmWaitLines(k, 0, 5*time.Second, "ERROR", "is not JSON", "rejected"); len(l) != 1 {
		t.Errorf("want one ERROR line for the non-JSON event, got %d:\n%s", len(l), strings.Join(l, "\n"))
	}
	if l := cmWaitLines(k, 0, 5*time.Second, "ERROR", "no event_route[kazoo:consumer-event-zzz-yyy]"); len(l) != 1 {
		t.Errorf("want one ERROR line for the two events without a route, got %d:\n%s", len(l), strings.Join(l, "\n"))
	}
	log := k.Log()
	if l := cmLines(log, "ERROR", "no event_route["); len(l) != 1 {
		t.Errorf("unexpected 'no event_route' lines:\n%s", strings.Join(l, "\n"))
	}
	// nothing requeued or left unacknowledged (a requeued non-JSON message would also
	// have been logged again)
	cmWaitQueue(t, r, queue, "empty", 10*time.Second, func(q cmQueue) bool { return q.ready == 0 })
	if n := cmUnacked(t, r, queue); n != 0 {
		t.Errorf("queue %s: %d messages left unacknowledged", queue, n)
	}
	time.Sleep(500 * time.Millisecond)
	if l := cmLines(k.Log(), "is not JSON", "rejected"); len(l) != 1 {
		t.Errorf("the non-JSON event was handled %d times", len(l))
	}
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS at the end: %d", rep.Code)
	}
}

// cmConnEvents are the connection events' names, each with an event route in
// TestConsumeConnectionEvents.
var cmConnEvents = []string{"open", "closed", "error",
	"available", "unavailable", "zone-available", "zone-unavailable",
	"zone-listener-available", "zone-listener-unavailable",
	"listener-zone-available", "listener-zone-unavailable",
	"listener-available", "listener-unavailable"}

var cmConnRe = regexp.MustCompile(`CONNEV cat=(\S*) ev=(\S*) name=(\S*) zone=(\S*) host=(\S*) rk=(\S*) amqpc=(\S*) alt=(\S*) errors=(\S*) pid=(\d+) msg=\[(.*)\]`)

// cmConn is one connection event as its route logged it: amqpc is
// $xavp(amqpc=>default::local), alt the other keys of the same count (local,
// local::default, default), errors default::local::error.
type cmConn struct{ cat, ev, name, zone, host, rk, amqpc, alt, errors, pid, msg string }

func (c cmConn) String() string { return c.ev + "/" + c.name }

func cmConnRoutes() string {
	var b strings.Builder
	for _, ev := range cmConnEvents {
		fmt.Fprintf(&b, "event_route[kazoo:consumer-event-connection-%s] {\n", ev)
		b.WriteString(`	xlog("L_NOTICE", "CONNEV cat=$(kzE{kz.json,Event-Category}) ev=$(kzE{kz.json,Event-Name}) name=$(kzE{kz.json,name}) zone=$(kzE{kz.json,zone}) host=$(kzE{kz.json,host}) rk=$kzRK amqpc=$xavp(amqpc=>default::local) alt=$xavp(amqpc=>local)/$xavp(amqpc=>local::default)/$xavp(amqpc=>default) errors=$xavp(amqpc=>default::local::error) pid=$pp msg=[$(kzE{kz.json,message})]\n");` + "\n}\n")
	}
	return b.String()
}

func cmConnLog(log string) []cmConn {
	var evs []cmConn
	for _, m := range cmConnRe.FindAllStringSubmatch(log, -1) {
		evs = append(evs, cmConn{m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8], m[9], m[10], m[11]})
	}
	return evs
}

// cmWaitConn waits until the connection events logged after offset include every one of
// want (ev/name), and returns those events and what is still missing at the deadline.
func cmWaitConn(k *harness.Kamailio, offset int, want []string, timeout time.Duration) (evs []cmConn, missing []string) {
	deadline := time.Now().Add(timeout)
	for {
		evs = cmConnLog(k.Log()[offset:])
		seen := map[string]bool{}
		for _, e := range evs {
			seen[e.String()] = true
		}
		missing = nil
		for _, w := range want {
			if !seen[w] {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			// let a late duplicate show up before the caller checks for exactly-once
			time.Sleep(500 * time.Millisecond)
			return cmConnLog(k.Log()[offset:]), nil
		}
		if time.Now().After(deadline) {
			return evs, missing
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cmCheckConn checks a batch of connection events: exactly the events of want, each once,
// in the order of want's event names (the listeners of one event name may come in any
// order), all from kazoo consumer 1 with the common payload keys, $kzRK $null, and
// $xavp(amqpc) = amqpc.
func cmCheckConn(t *testing.T, what string, evs []cmConn, want []string, consumer1, amqpc string) {
	t.Helper()
	count := map[string]int{}
	for _, e := range evs {
		count[e.String()]++
	}
	for _, w := range want {
		if count[w] != 1 {
			t.Errorf("%s: event %s seen %d times, want once", what, w, count[w])
		}
		delete(count, w)
	}
	for e, n := range count {
		t.Errorf("%s: unexpected event %s (%d times)", what, e, n)
	}
	rank := map[string]int{}
	for i, w := range want {
		ev, _, _ := strings.Cut(w, "/")
		if _, ok := rank[ev]; !ok {
			rank[ev] = i
		}
	}
	// in order per listener: a listener made after the connection opened (mod-init runs
	// in kazoo consumer 1 as its connection opens) gets its events when it is made
	last := map[string]int{}
	for _, e := range evs {
		_, listener, _ := strings.Cut(e.String(), "/")
		if r, ok := rank[e.ev]; ok {
			if l, seen := last[listener]; seen && r < l {
				t.Errorf("%s: %s out of order in %v", what, e, evs)
			}
			last[listener] = max(last[listener], r)
		}
		if e.cat != "connection" || e.zone != "local" || e.host != "127.0.0.1" || e.rk != "<null>" {
			t.Errorf("%s: %s: Event-Category %q zone %q host %q $kzRK %q", what, e, e.cat, e.zone, e.host, e.rk)
		}
		if e.pid != consumer1 {
			t.Errorf("%s: %s ran in pid %s, want kazoo consumer 1 (%s)", what, e, e.pid, consumer1)
		}
		if e.amqpc != amqpc || e.alt != amqpc+"/"+amqpc+"/"+amqpc {
			t.Errorf("%s: %s: $xavp(amqpc=>default::local) = %s, local/local::default/default = %s in the route, want %s", what, e, e.amqpc, e.alt, amqpc)
		}
	}
}

// cmWaitAmqpc polls SIP requests until $xavp(amqpc=>default::local) is want in 10 replies
// in a row (the SIP workers notice a loss or reconnect each on its own).
func cmWaitAmqpc(t *testing.T, k *harness.Kamailio, want string, timeout time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	for ok := 0; ok < 10; {
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "amqpc", nil, "")
		if rep.Headers["x-amqpc"] == want {
			ok++
			continue
		}
		ok = 0
		if time.Since(begin) > timeout {
			t.Fatalf("X-Amqpc %q, want %s, %v on\n%s", rep.Headers["x-amqpc"], want, timeout, k.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(begin)
}

// 4. Connection events and $xavp(amqpc) through a broker outage (a private node: this test
// stops it), with a named subscription "presence": the open sequence after start, the loss
// sequence (closed with its reason, *-unavailable for "default" and "presence") when the
// broker stops, X-Amqpc 0 while it is down, and the open sequence and X-Amqpc 1 again when it
// is back, with the subscription consumed again. A second instance whose broker never
// answers gets a single "error" event.
func TestConsumeConnectionEvents(t *testing.T) {
	r := harness.StartRabbit(t)
	u := cmUniq()
	ex, queue := "kz_e2e_conn_"+u, "kz-e2e-conn-presence-"+u
	modInit := fmt.Sprintf(`kazoo_subscribe('{"name": "presence", "exchange": "%s", "type": "topic", "queue": "%s", "routing": "presence.#"}');`, ex, queue)
	extra := map[string]any{"ModInit": modInit, "Routes": cmConnRoutes(), "Params": cmWorkers}

	// the instance without a broker: a port nobody listens on
	deadURL := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d", harness.FreePort(t))
	deadExtra := map[string]any{"Node": "e2e.dead"}
	for k, v := range extra {
		deadExtra[k] = v
	}
	dead := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, deadURL, deadExtra))

	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, cmURL(r), extra))
	consumer1 := ""
	for _, p := range k.Procs(t) {
		if p.Desc == "kazoo consumer 1" {
			consumer1 = strconv.Itoa(p.PID)
		}
	}
	if consumer1 == "" {
		t.Fatalf("no kazoo consumer 1 in core.psx: %+v", k.Procs(t))
	}
	listeners := func(evs ...string) []string {
		var w []string
		for _, ev := range evs {
			w = append(w, ev+"/default")
			if strings.Contains(ev, "listener") {
				w = append(w, ev+"/presence")
			}
		}
		return w
	}
	openSeq := listeners("open", "available", "zone-available", "zone-listener-available", "listener-zone-available", "listener-available")
	lossSeq := listeners("closed", "unavailable", "zone-unavailable", "zone-listener-unavailable", "listener-zone-unavailable", "listener-unavailable")

	// expect checks one batch of connection events; a missing one is reported, the rest is
	// still checked and the test goes on (the later phases are worth seeing)
	expect := func(what string, offset int, want []string, timeout time.Duration, amqpc string) []cmConn {
		t.Helper()
		evs, missing := cmWaitConn(k, offset, want, timeout)
		if len(missing) > 0 {
			t.Errorf("%s: connection events missing after %v: %v\ngot %v", what, timeout, missing, evs)
		}
		var present []string
		for _, w := range want {
			if !slices.Contains(missing, w) {
				present = append(present, w)
			}
		}
		cmCheckConn(t, what, evs, present, consumer1, amqpc)
		return evs
	}

	// the events of listener "default" come first; then those of "presence" (subscribed in
	// mod-init, which runs in kazoo consumer 1 around the time its connection opens)
	if _, missing := cmWaitConn(k, 0, listeners("open", "available", "zone-available"), 15*time.Second); len(missing) > 0 {
		t.Fatalf("no open sequence after start: missing %v\n%s", missing, k.Log())
	}
	for _, e := range expect("after start", 0, openSeq, 5*time.Second, "1") {
		if e.errors != "0" {
			t.Errorf("after start: %s: $xavp(amqpc=>default::local::error) = %s, want 0", e, e.errors)
		}
	}
	cmWaitAmqpc(t, k, "1", 10*time.Second)
	cmConsumers(t, r, queue, 2)

	offset := len(k.Log())
	r.Stop(t)
	evs := expect("broker stopped", offset, lossSeq, 15*time.Second, "0")
	for _, e := range evs {
		if e.ev == "closed" && e.msg == "" {
			t.Errorf("closed event without a reason in \"message\"")
		}
		if e.ev == "closed" {
			t.Logf("closed: message %q", e.msg)
		}
	}
	took := cmWaitAmqpc(t, k, "0", 10*time.Second)
	t.Logf("X-Amqpc 0 in every SIP worker %v after the loss events", took.Round(10*time.Millisecond))

	offset = len(k.Log())
	r.Start(t)
	for _, e := range expect("broker back", offset, openSeq, 20*time.Second, "1") {
		// the loss counts (failed reconnects too, hence at least 1); the count of the
		// "closed" route itself is not checked: it may run before the loss is counted
		if n, err := strconv.Atoi(e.errors); err != nil || n < 1 {
			t.Errorf("broker back: %s: $xavp(amqpc=>default::local::error) = %s, want >= 1", e, e.errors)
		}
	}
	took = cmWaitAmqpc(t, k, "1", 20*time.Second)
	t.Logf("X-Amqpc 1 in every SIP worker %v after the open events", took.Round(10*time.Millisecond))
	// the failed reconnect attempts during the outage fired no "error" event
	if l := cmLines(k.Log(), "CONNEV", "ev=error"); len(l) != 0 {
		t.Errorf("error events in the instance that lost its broker:\n%s", strings.Join(l, "\n"))
	}

	// the subscription is consumed again (the node lost the non-durable exchange and queue:
	// the workers declared them again)
	cmConsumers(t, r, queue, 2)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	publishTo(t, r.Dial(t), ex, "presence.x", `{"Event-Category": "presence", "Event-Name": "update", "Msg-ID": "p1"}`)
	if o, ok := cmWaitOut(t, outQ, "p1", 10*time.Second); !ok || o.Route != "presence" {
		t.Errorf("presence event after the outage: %+v, %v", o, ok)
	}

	// the instance that never reached its broker: one error event, whatever the retries
	devs := cmConnLog(dead.Log())
	if len(devs) != 1 || devs[0].ev != "error" || devs[0].name != "default" || devs[0].zone != "local" ||
		devs[0].amqpc != "0" || devs[0].msg == "" || devs[0].rk != "<null>" {
		t.Errorf("instance without a broker: connection events %+v, want one error event with a message\n%s", devs, dead.Log())
	}
	if rep := sipRequest(t, dead.SipPort(), "OPTIONS", "amqpc", nil, ""); rep.Headers["x-amqpc"] != "0" {
		t.Errorf("instance without a broker: X-Amqpc %q", rep.Headers["x-amqpc"])
	}
}

// 5. Two Kamailio nodes on one broker, both subscribed alike in mod-init: a shared named
// queue spreads its messages over both (each message consumed once in total); a fanout
// exchange with a queue per node gives every node every message; a topic binding "t.*"
// matches one word only.
func TestConsumePatterns(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	ex, rrQ, topicQ := "kz_e2e_pat_"+u, "kz-e2e-pat-rr-"+u, "kz-e2e-pat-t-"+u
	nodesEx := "kz_e2e_nodes_" + u
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")

	nodes := []string{"e2e.pat.a", "e2e.pat.b"}
	pidNode := map[string]string{}
	for _, node := range nodes {
		modInit := fmt.Sprintf(`
	kazoo_subscribe('{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "rr"}');
	kazoo_subscribe('{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "t.*"}');
	kazoo_subscribe('{"exchange": "%s", "type": "fanout", "queue": "kz-e2e-nodes-%s-%s"}');`,
			ex, rrQ, ex, topicQ, nodesEx, u, node)
		k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, cmURL(r), map[string]any{
			"Node": node, "ModInit": modInit, "Params": cmWorkers}))
		for _, p := range k.Procs(t) {
			pidNode[strconv.Itoa(p.PID)] = node
		}
	}
	// every worker of both nodes consumes the shared queues; each node's workers its own
	cmConsumers(t, r, rrQ, 4)
	cmConsumers(t, r, topicQ, 4)
	for _, node := range nodes {
		cmConsumers(t, r, "kz-e2e-nodes-"+u+"-"+node, 2)
	}

	conn := r.Dial(t)
	const rr, fan = 40, 10
	for i := 0; i < rr; i++ {
		publishTo(t, conn, ex, "rr", fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "rr", "Msg-ID": "rr-%d"}`, i))
	}
	for i := 0; i < fan; i++ {
		publishTo(t, conn, nodesEx, "", fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "fan", "Msg-ID": "fan-%d"}`, i))
	}
	// t.a.b first: were it matched, it would be in the queue before t.a
	publishTo(t, conn, ex, "t.a.b", `{"Event-Category": "other", "Event-Name": "topic", "Msg-ID": "t-a-b"}`)
	publishTo(t, conn, ex, "t.a", `{"Event-Category": "other", "Event-Name": "topic", "Msg-ID": "t-a"}`)

	seen := map[string]map[string]int{} // Msg-ID -> node -> count
	total := 0
	want := rr + fan*len(nodes) + 1
	deadline := time.Now().Add(30 * time.Second)
	for total < want {
		o, ok := nextOut(t, outQ, time.Until(deadline))
		if !ok {
			t.Fatalf("only %d of %d events reported within 30 s", total, want)
		}
		if o.E["Event-Category"] == "connection" {
			continue
		}
		node := pidNode[o.Pid]
		if node == "" {
			t.Fatalf("event %v reported by pid %s of neither node", o.E["Msg-ID"], o.Pid)
		}
		id := fmt.Sprint(o.E["Msg-ID"])
		if seen[id] == nil {
			seen[id] = map[string]int{}
		}
		seen[id][node]++
		total++
	}
	// late duplicates or a late t.a.b
	for {
		o, ok := nextOut(t, outQ, time.Second)
		if !ok {
			break
		}
		if o.E["Event-Category"] == "connection" {
			continue
		}
		id := fmt.Sprint(o.E["Msg-ID"])
		if seen[id] == nil {
			seen[id] = map[string]int{}
		}
		seen[id][pidNode[o.Pid]]++
	}

	perNode := map[string]int{}
	for i := 0; i < rr; i++ {
		id := fmt.Sprintf("rr-%d", i)
		n := 0
		for node, c := range seen[id] {
			n += c
			perNode[node] += c
		}
		if n != 1 {
			t.Errorf("%s consumed %d times (%v), want once in total", id, n, seen[id])
		}
	}
	t.Logf("shared queue: %v", perNode)
	for _, node := range nodes {
		if perNode[node] == 0 {
			t.Errorf("node %s consumed none of the %d messages of the shared queue", node, rr)
		}
	}
	for i := 0; i < fan; i++ {
		id := fmt.Sprintf("fan-%d", i)
		for _, node := range nodes {
			if seen[id][node] != 1 {
				t.Errorf("%s consumed %d times by %s, want once per node", id, seen[id][node], node)
			}
		}
	}
	n := 0
	for _, c := range seen["t-a"] {
		n += c
	}
	if n != 1 {
		t.Errorf("t.a consumed %d times, want once", n)
	}
	if len(seen["t-a-b"]) != 0 {
		t.Errorf("t.a.b matched the binding t.*: %v", seen["t-a-b"])
	}
	if st := cmQueueState(t, r, topicQ); st.ready != 0 {
		t.Errorf("topic queue not drained: %+v", st)
	}
}
