package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// serverIDReplyCfg publishes what a SIP MESSAGE asks (X-Exchange, X-Routing-Key, the body)
// and reports each run of event_route[kazoo:consumer-event-e2e-answer] by publishing
// {"Route", "RK", "Pid", "E": $kzE} to exchange Extra.Out.
var serverIDReplyCfg = harness.CfgHead{Children: 2,
	Modules: "tm sl pv xlog textops"}.String() + `modparam("kazoo", "node_hostname", "{{.Extra.Node}}")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_consumer_workers", 2)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
event_route[kazoo:consumer-event-e2e-answer] {
	kazoo_publish("{{.Extra.Out}}", "out", '{"Route": "e2e-answer", "RK": "$kzRK", "Pid": "$pp", "E": $kzE}');
}
request_route {
	if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
	$var(rc) = kazoo_publish("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb);
	append_to_reply("X-Rc: $var(rc)\r\nX-Pid: $pp\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

// serverIDFixture is a Kamailio of ours with serverIDReplyCfg on the shared broker, under a
// node name of its own (the Server-ID queue is per node).
type serverIDFixture struct {
	r           *harness.Rabbit
	k           *harness.Kamailio
	in, out     *harness.Queue
	inExchange  string
	serverID    string // what its publishes carry
	serverQueue string // the queue of that Server-ID
}

func startServerIDFixture(t *testing.T) *serverIDFixture {
	t.Helper()
	r := harness.SharedRabbit(t)
	u := cmUniq()
	node := "sid-" + u + ".e2e"
	f := &serverIDFixture{r: r, inExchange: "kz_sid_in_" + u,
		serverID: "kamailio@" + node + "-<1>-targeted-0", serverQueue: "kamailio@" + node + "-<1-0>"}
	f.in = r.Bind(t, f.inExchange, "topic", "#")
	f.out = r.Bind(t, "kz_sid_out_"+u, "topic", "#")
	f.k = harness.StartKamailio(t, serverIDReplyCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"Node": node, "URL": cmURL(r), "Out": "kz_sid_out_" + u}})
	cmConsumers(t, r, f.serverQueue, 2) // both consumer workers
	return f
}

// publish has the cfg publish body to the fixture's exchange; returns the message as it
// arrived and the pid of the SIP worker that published it.
func (f *serverIDFixture) publish(t *testing.T, body string) (map[string]any, string) {
	t.Helper()
	rep := sipRequest(t, f.k.SipPort(), "MESSAGE", "sid", map[string]string{"X-Exchange": f.inExchange, "X-Routing-Key": "req"}, body)
	if rep.Headers["x-rc"] != "1" {
		t.Fatalf("kazoo_publish returned %q\n%s", rep.Headers["x-rc"], f.k.Log())
	}
	d, ok := f.in.Next(t, 5*time.Second)
	if !ok {
		t.Fatalf("nothing published\n%s", f.k.Log())
	}
	return decode(t, d.Body), rep.Headers["x-pid"]
}

// consumerWorkers are the pids of the kazoo consumer processes.
func (f *serverIDFixture) consumerWorkers(t *testing.T) map[string]bool {
	t.Helper()
	pids := map[string]bool{}
	for _, p := range f.k.Procs(t) {
		if strings.HasPrefix(p.Desc, "kazoo consumer") {
			pids[fmt.Sprint(p.PID)] = true
		}
	}
	if len(pids) != 2 {
		t.Fatalf("%d kazoo consumer processes, want 2", len(pids))
	}
	return pids
}

// answers collects route[OUT]'s reports until n came (or timeout), then for a moment more
// to see any extra one; by Msg-ID, with how many times each ran.
func (f *serverIDFixture) answers(t *testing.T, n int, timeout time.Duration) (map[string]out, map[string]int) {
	t.Helper()
	got, runs := map[string]out{}, map[string]int{}
	deadline := time.Now().Add(timeout)
	for len(got) < n && time.Now().Before(deadline) {
		if o, ok := nextOut(t, f.out, time.Until(deadline)); ok {
			id := fmt.Sprint(o.E["Msg-ID"])
			got[id] = o
			runs[id]++
		}
	}
	for {
		o, ok := nextOut(t, f.out, time.Second)
		if !ok {
			return got, runs
		}
		runs[fmt.Sprint(o.E["Msg-ID"])]++
	}
}

// A message sent to the Server-ID of a kazoo_publish (exchange targeted, routing key =
// Server-ID), as a Kazoo application replies, runs the event route named from it once, in
// one of the consumer workers, never in the SIP worker that published: $kzE as for any
// consumed message (its own Server-ID in the consumer:// form), $kzRK the Server-ID.
func TestServerIDReplyRunsEventRoute(t *testing.T) {
	f := startServerIDFixture(t)
	workers := f.consumerWorkers(t)
	sent, sipPid := f.publish(t, `{"Event-Category": "directory", "Event-Name": "reg_success", "Username": "u1"}`)
	if sent["Server-ID"] != f.serverID {
		t.Fatalf("published Server-ID %v, want %s", sent["Server-ID"], f.serverID)
	}
	conn := f.r.Dial(t)
	const n = 20
	for i := 0; i < n; i++ {
		publishTo(t, conn, "targeted", f.serverID, fmt.Sprintf(
			`{"Event-Category": "e2e", "Event-Name": "answer", "Msg-ID": "ans-%d", "Server-ID": "kazoo-app-queue"}`, i))
	}
	got, runs := f.answers(t, n, 15*time.Second)
	byPid := map[string]int{}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ans-%d", i)
		o, ok := got[id]
		if !ok || runs[id] != 1 {
			t.Errorf("%s: event route ran %d times, want once", id, runs[id])
			continue
		}
		byPid[o.Pid]++
		if !workers[o.Pid] || o.Pid == sipPid {
			t.Errorf("%s ran in process %s, not in a consumer worker %v", id, o.Pid, workers)
		}
		if o.RK != f.serverID || o.E["Server-ID"] != "consumer://1/kazoo-app-queue" || o.E["AMQP-Broker-Zone"] != "local" {
			t.Errorf("%s: $kzRK %q, $kzE %v", id, o.RK, o.E)
		}
	}
	if len(runs) != n {
		t.Errorf("%d distinct events ran, want %d: %v", len(runs), n, runs)
	}
	t.Logf("%d replies run by consumer workers %v", n, byPid)
	if un := cmUnacked(t, f.r, f.serverQueue); un != 0 {
		t.Errorf("%d messages left unacknowledged on %s", un, f.serverQueue)
	}
}

// Bad input around the Server-ID: a Server-ID the script set is published as it is; a
// publish while the Server-ID queue does not exist (deleted on the broker: its consumers
// were cancelled) still publishes, with the Server-ID; the queue comes back and replies
// run again. A reply that is not JSON is
// rejected and one without a route acknowledged, each with a log line, and nothing stays
// unacknowledged.
func TestServerIDBadInput(t *testing.T) {
	f := startServerIDFixture(t)
	for _, sid := range []string{"my-own-queue", "consumer://1/elsewhere", ""} {
		got, _ := f.publish(t, fmt.Sprintf(`{"Event-Category": "e2e", "Event-Name": "own", "Server-ID": %q}`, sid))
		if got["Server-ID"] != sid {
			t.Errorf("script Server-ID %q published as %v", sid, got["Server-ID"])
		}
	}

	conn := f.r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDelete(f.serverQueue, false, false, false); err != nil {
		t.Fatalf("delete %s: %v", f.serverQueue, err)
	}
	ch.Close()
	got, _ := f.publish(t, `{"Event-Category": "e2e", "Event-Name": "while-deleted"}`)
	if got["Server-ID"] != f.serverID {
		t.Errorf("Server-ID %v while its queue is deleted, want %s", got["Server-ID"], f.serverID)
	}
	if !f.k.WaitLog(t, "Server-ID queue "+f.serverQueue+" on broker", 10*time.Second) {
		t.Errorf("no log line about the cancelled Server-ID queue\n%s", f.k.Log())
	}
	cmConsumers(t, f.r, f.serverQueue, 2)
	if cmPublishMandatory(t, conn, "targeted", f.serverID, `{"Event-Category": "e2e", "Event-Name": "answer", "Msg-ID": "back"}`) {
		t.Fatalf("the Server-ID queue is consumed again but a reply to it is unroutable")
	}
	if _, runs := f.answers(t, 1, 10*time.Second); runs["back"] != 1 {
		t.Errorf("after the queue came back, the reply ran %d times, want once", runs["back"])
	}

	publishTo(t, conn, "targeted", f.serverID, `this is not JSON`)
	publishTo(t, conn, "targeted", f.serverID, `{"Event-Category": "nobody", "Event-Name": "listens", "Msg-ID": "no-route"}`)
	for _, line := range []string{"is not JSON", "no event_route[kazoo:consumer-event-nobody-listens]"} {
		if !f.k.WaitLog(t, line, 10*time.Second) {
			t.Errorf("no log line %q\n%s", line, f.k.Log())
		}
	}
	publishTo(t, conn, "targeted", f.serverID, `{"Event-Category": "e2e", "Event-Name": "answer", "Msg-ID": "after"}`)
	if _, runs := f.answers(t, 1, 10*time.Second); runs["after"] != 1 || len(runs) != 1 {
		t.Errorf("after bad replies: %v, want only after, once", runs)
	}
	if un := cmUnacked(t, f.r, f.serverQueue); un != 0 {
		t.Errorf("%d messages left unacknowledged on %s", un, f.serverQueue)
	}
	if !f.k.Alive() {
		t.Fatal("Kamailio died")
	}
}
