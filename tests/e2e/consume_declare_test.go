package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// declareSubscriptions covers the flag forms of kazoo_subscribe: root flags, exchange-def /
// queue-def objects, booleans as ints, arrays of routing keys, a durable queue. Queues are
// not auto-deleted so that they outlive the Kamailio that declared them.
const declareSubscriptions = `
	kazoo_subscribe('{"exchange": "kz_decl_a", "type": "topic", "queue": "kz-decl-a", "routing": ["a.1", "a.2"], "durable": 1, "auto_delete": 0}');
	kazoo_subscribe('{"exchange": "kz_decl_b", "exchange-def": {"type": "direct", "durable": true}, "queue": "kz-decl-b", "queue-def": {"durable": false, "auto_delete": false, "exclusive": false}, "routing": "b"}');
	kazoo_subscribe('{"exchange": "kz_decl_c", "type": "fanout", "queue": "kz-decl-c", "auto_delete": false}');
	kazoo_subscribe("kz_decl_d", "topic", "kz-decl-d", "d.#");
`

// objects lists the kz_decl exchanges and kz-decl queues with their flags and bindings.
func declaredObjects(t *testing.T, r *harness.Rabbit) []string {
	t.Helper()
	var objs []string
	for _, line := range strings.Split(r.Ctl(t, "list_exchanges", "-q", "name", "type", "durable", "auto_delete", "internal", "arguments"), "\n") {
		if strings.HasPrefix(line, "kz_decl_") {
			objs = append(objs, "exchange "+strings.Join(strings.Fields(line), " "))
		}
	}
	for _, line := range strings.Split(r.Ctl(t, "list_queues", "-q", "name", "durable", "auto_delete", "exclusive", "arguments"), "\n") {
		if strings.HasPrefix(line, "kz-decl-") {
			objs = append(objs, "queue "+strings.Join(strings.Fields(line), " "))
		}
	}
	for _, line := range strings.Split(r.Ctl(t, "list_bindings", "-q", "source_name", "destination_name", "routing_key"), "\n") {
		if strings.HasPrefix(line, "kz_decl_") {
			objs = append(objs, "binding "+strings.Join(strings.Fields(line), " "))
		}
	}
	sort.Strings(objs)
	return objs
}

func deleteDeclared(t *testing.T, r *harness.Rabbit) {
	for _, q := range []string{"a", "b", "c", "d"} {
		r.CtlErr("delete_queue", "kz-decl-"+q)
		r.CtlErr("eval", fmt.Sprintf(`rabbit_exchange:delete(rabbit_misc:r(<<"/">>, exchange, <<"kz_decl_%s">>), false, <<"test">>).`, q))
	}
}

// waitDeclared waits until the four queues exist and have consumers.
func waitDeclared(t *testing.T, r *harness.Rabbit) {
	t.Helper()
	for _, q := range []string{"a", "b", "c", "d"} {
		waitBound(t, r, "kz-decl-"+q)
	}
}

// The C module and ours declare the same broker objects for the same subscriptions, and
// ours accepts the objects the C module left behind (no 406), so a node can switch modules
// without deleting anything on the broker.
func TestConsumeDeclarationsMatchCModule(t *testing.T) {
	r := harness.StartRabbit(t) // own node: its object list is ours alone
	url := strings.TrimSuffix(r.URL(), "/")
	var lists [][]string
	for _, module := range []string{cModulePath, modulePath} {
		deleteDeclared(t, r)
		k := harness.StartKamailio(t, consumeCfg, consumeOpts(module, url, map[string]any{"ModInit": declareSubscriptions}))
		waitDeclared(t, r)
		k.Stop(t)
		time.Sleep(300 * time.Millisecond) // auto-delete queues go with their consumers
		lists = append(lists, declaredObjects(t, r))
	}
	c, ours := strings.Join(lists[0], "\n"), strings.Join(lists[1], "\n")
	if c != ours {
		t.Errorf("declared objects differ:\nC module:\n%s\n\nours:\n%s", c, ours)
	}
	t.Logf("declared by both:\n%s", ours)

	// ours on top of what the C module declared: same objects, every subscription consumed
	deleteDeclared(t, r)
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(cModulePath, url, map[string]any{"ModInit": declareSubscriptions}))
	waitDeclared(t, r)
	k.Stop(t)
	k = harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, url, map[string]any{"ModInit": declareSubscriptions}))
	waitDeclared(t, r)
	// not a bare "406": the broker's random port (24061) once contained it
	if strings.Contains(k.Log(), "PRECONDITION_FAILED") || strings.Contains(k.Log(), "Exception (406)") {
		t.Errorf("ours refused the C module's objects:\n%s", k.Log())
	}
}

// A consistent-worker subscription is consumed by one worker, so its events run in order
// in one process; a shared one spreads over the workers.
func TestConsumeConsistentWorker(t *testing.T) {
	r := harness.SharedRabbit(t)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{
		"Params": `modparam("kazoo", "amqp_consumer_workers", 4)`,
		"ModInit": `
	kazoo_subscribe('{"exchange": "kz_cw", "type": "topic", "queue": "kz-cw-one", "routing": "one.*", "consistent-worker": true, "consistent-worker-key": "Call-ID"}');
	kazoo_subscribe('{"exchange": "kz_cw", "type": "topic", "queue": "kz-cw-all", "routing": "all.*", "no_ack": false}');`}))
	waitBound(t, r, "kz-cw-one")
	waitBound(t, r, "kz-cw-all")
	conn := r.Dial(t)
	const n = 40
	for i := 0; i < n; i++ {
		publishTo(t, conn, "kz_cw", "one.x", fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "cw", "Msg-ID": "one-%d", "Seq": %d}`, i, i))
		publishTo(t, conn, "kz_cw", "all.x", fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "cw", "Msg-ID": "all-%d", "Seq": %d}`, i, i))
	}
	onePids, allPids := map[string]bool{}, map[string]bool{}
	lastSeq := -1
	for got := 0; got < 2*n; {
		o, ok := nextOut(t, outQ, 10*time.Second)
		if !ok {
			t.Fatalf("%d of %d events:\n%s", got, 2*n, k.Log())
		}
		id := fmt.Sprint(o.E["Msg-ID"])
		switch {
		case strings.HasPrefix(id, "one-"):
			onePids[o.Pid] = true
			seq := int(o.E["Seq"].(float64))
			if seq < lastSeq {
				t.Errorf("consistent-worker events out of order: %d after %d", seq, lastSeq)
			}
			lastSeq = seq
		case strings.HasPrefix(id, "all-"):
			allPids[o.Pid] = true
		default:
			continue
		}
		got++
	}
	if len(onePids) != 1 {
		t.Errorf("consistent-worker subscription ran in %d processes: %v", len(onePids), onePids)
	}
	if len(allPids) < 2 {
		t.Errorf("shared subscription ran in %d process(es) of 4 workers: %v", len(allPids), allPids)
	}
}

// event_route[kazoo:mod-init] runs where Go runs: kazoo_publish, kazoo_query and {kz.encode}
// work there (the C module ran it in the main process, where a publish hung the start).
func TestModInitPublishQuery(t *testing.T) {
	r := harness.SharedRabbit(t)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	startResponder(t, r, "kz_query_e2e", "ok.#", echo(0))
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{"ModInit": `
	$var(enc) = "a.b c";
	kazoo_publish("kz_e2e_out", "out", '{"Route": "mod-init", "RK": "$(var(enc){kz.encode})", "Pid": "$pp", "E": {"Msg-ID": "modinit-publish"}}');
	if (kazoo_query("kz_query_e2e", "ok.modinit", '{"Event-Category": "q", "Event-Name": "modinit"}') == 1) {
		kazoo_publish("kz_e2e_out", "out", '{"Route": "mod-init-query", "RK": "", "Pid": "$pp", "E": $kzR}');
	}`}))
	want := map[string]bool{"mod-init": true, "mod-init-query": true}
	for len(want) > 0 {
		o, ok := nextOut(t, outQ, 10*time.Second)
		if !ok {
			t.Fatalf("missing %v:\n%s", want, k.Log())
		}
		switch o.Route {
		case "mod-init":
			if o.RK != "a%2Eb+c" {
				t.Errorf("{kz.encode} in mod-init gave %q", o.RK)
			}
		case "mod-init-query":
			if o.E["Event-Name"] != "pong" {
				t.Errorf("$kzR in mod-init: %v", o.E)
			}
		}
		delete(want, o.Route)
	}
}

// amqp_publish_mandatory: a publish nothing is bound to comes back from the broker and
// runs event_route[kazoo:consumer-event-amqp-error-message-returned] with the fork's keys.
func TestPublishReturnedEvent(t *testing.T) {
	r := harness.SharedRabbit(t)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	ch, err := r.Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("kz_unroutable", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{
		"Params": `modparam("kazoo", "amqp_publish_mandatory", 1)`,
		"ModInit": `
	$var(rc) = kazoo_publish("kz_unroutable", "nobody.home", '{"Event-Category": "presence", "Event-Name": "probe", "Msg-ID": "ret-1"}');
	xlog("L_NOTICE", "MODINIT PUBLISH RC $var(rc)\n");`,
		"Routes": `
event_route[kazoo:consumer-event-amqp-error-message-returned] {
	$var(route) = "amqp-error-message-returned";
	route(OUT);
}`}))
	for {
		o, ok := nextOut(t, outQ, 10*time.Second)
		if !ok {
			t.Fatalf("no returned-message event:\n%s", k.Log())
		}
		if o.Route != "amqp-error-message-returned" {
			continue
		}
		e := o.E
		if o.RK != "nobody.home" || e["Msg-ID"] != "ret-1" || e["Error-Code"] != float64(312) || e["Error-Reason"] != "NO_ROUTE" ||
			e["Original-Event-Category"] != "presence" || e["Original-Event-Name"] != "probe" || e["Event-Category"] != "amqp_error" {
			t.Errorf("returned-message event: %+v", o)
		}
		break
	}
	if !strings.Contains(k.Log(), "MODINIT PUBLISH RC 1") {
		t.Errorf("kazoo_publish of a message the broker returns (it still confirms it) should return 1:\n%s", k.Log())
	}
}

// 2600hz's fork reads kazoo_publish's 4th argument "2048" (their registrar-role's flags) as
// AMQP-CPP's mandatory flag: without amqp_publish_mandatory, that publish alone comes back
// and runs the returned-message event; one with headers does not.
func TestPublishForkMandatoryFlag(t *testing.T) {
	r := harness.SharedRabbit(t)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	ch, err := r.Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("kz_unroutable", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{
		"ModInit": `
	$var(rc) = kazoo_publish("kz_unroutable", "with.headers", '{"Event-Category": "presence", "Event-Name": "probe", "Msg-ID": "hdr-1"}', "x-a=1");
	$var(rc2) = kazoo_publish("kz_unroutable", "with.flags", '{"Event-Category": "presence", "Event-Name": "probe", "Msg-ID": "flags-1"}', "2048");
	xlog("L_NOTICE", "MODINIT PUBLISH RC $var(rc) $var(rc2)\n");`,
		"Routes": `
event_route[kazoo:consumer-event-amqp-error-message-returned] {
	$var(route) = "amqp-error-message-returned";
	route(OUT);
}`}))
	var returned []string
	for {
		o, ok := nextOut(t, outQ, 5*time.Second)
		if !ok {
			break
		}
		if o.Route == "amqp-error-message-returned" {
			returned = append(returned, fmt.Sprint(o.E["Msg-ID"]))
		}
	}
	if strings.Join(returned, ",") != "flags-1" {
		t.Errorf("returned-message events for %v, want flags-1 only\n%s", returned, k.Log())
	}
	if !strings.Contains(k.Log(), "MODINIT PUBLISH RC 1 1") {
		t.Errorf("both publishes should return 1:\n%s", k.Log())
	}
}

// kamcmd kazoo.status shows every process running the module with its brokers, across
// the processes (SIP workers that have not needed a broker yet as idle); kazoo.subscriptions
// what the consumer workers consume.
func TestRPCStatusAndSubscriptions(t *testing.T) {
	r := harness.StartRabbit(t)
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{
		"Params":  `modparam("kazoo", "amqp_consumer_workers", 2)`,
		"ModInit": `kazoo_subscribe('{"name": "rpc-sub", "exchange": "kz_rpc", "type": "topic", "queue": "kz-rpc-q", "routing": "r.*"}');`}))
	waitBound(t, r, "kz-rpc-q")
	status := func() string { return k.Kamcmd(t, "kazoo.status") }
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := status()
		if strings.Count(s, "state: open") >= 2 && strings.Contains(s, "state: idle") && strings.Contains(s, "kazoo consumer 1") &&
			strings.Contains(s, "kazoo consumer 2") && strings.Contains(s, "udp receiver") {
			if strings.Contains(s, "guest:guest") || !strings.Contains(s, "zone: local") || !strings.Contains(s, "since: 20") {
				t.Errorf("kazoo.status:\n%s", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kazoo.status does not show every process open:\n%s", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := k.Kamcmd(t, "kazoo.subscriptions"); !strings.Contains(s, `"rpc-sub"`) || !strings.Contains(s, `"kz-rpc-q"`) {
		t.Errorf("kazoo.subscriptions: %s", s)
	}
	r.Stop(t)
	deadline = time.Now().Add(10 * time.Second)
	for strings.Contains(status(), "state: open") {
		if time.Now().After(deadline) {
			t.Fatalf("kazoo.status still shows open brokers with the broker stopped:\n%s", status())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if s := status(); !strings.Contains(s, "state: down") || strings.Count(s, "errors: 0") != strings.Count(s, "state: idle") {
		t.Errorf("kazoo.status with the broker stopped:\n%s", s)
	}
}

// amqp_consumer_event_key / _subkey name the payload keys of the event route (and of the
// connection events' payload).
func TestConsumeEventKeyParams(t *testing.T) {
	r := harness.SharedRabbit(t)
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, r.URL(), map[string]any{
		"Params":  `modparam("kazoo", "amqp_consumer_event_key", "Kind")` + "\n" + `modparam("kazoo", "amqp_consumer_event_subkey", "Sub")`,
		"ModInit": `kazoo_subscribe('{"exchange": "kz_evkey", "type": "topic", "queue": "kz-evkey-q", "routing": "k.*"}');`,
		"Routes": `
event_route[kazoo:consumer-event-z-z-yy] {
	$var(route) = "zz-yy";
	route(OUT);
}`}))
	waitBound(t, r, "kz-evkey-q")
	publishTo(t, r.Dial(t), "kz_evkey", "k.1", `{"Kind": "Z_Z", "Sub": "YY", "Event-Category": "other", "Msg-ID": "ek1"}`)
	for {
		o, ok := nextOut(t, outQ, 10*time.Second)
		if !ok {
			t.Fatalf("event not run:\n%s", k.Log())
		}
		if o.E["Msg-ID"] == "ek1" {
			if o.Route != "zz-yy" {
				t.Errorf("route %q, want zz-yy", o.Route)
			}
			break
		}
	}
}
