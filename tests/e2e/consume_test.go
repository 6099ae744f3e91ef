package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// consumeCfg subscribes in event_route[kazoo:mod-init] (Extra.ModInit) and reports every
// event route it runs by publishing {"Route", "RK", "Pid", "E": $kzE} to exchange
// kz_e2e_out (routing key "out"), so that a test sees which route ran with what. The same
// cfg runs with the C module (without the lines marked Ours).
var consumeCfg = harness.CfgHead{Children: 2,
	Modules: "tm sl pv xlog textops cfgutils htable kex"}.String() + `modparam("htable", "htable", "c=>size=4;")
modparam("kazoo", "node_hostname", "{{.Extra.Node}}")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
{{.Extra.Params}}
event_route[kazoo:mod-init] {
{{.Extra.ModInit}}
}
route[OUT] {
	kazoo_publish("kz_e2e_out", "out", '{"Route": "$var(route)", "RK": "$kzRK", "Pid": "$pp", "E": $kzE}');
}
event_route[kazoo:consumer-event-call-event-channel-status-req] {
	$var(route) = "call-event-channel-status-req";
	route(OUT);
}
event_route[kazoo:consumer-event-presence] {
	$var(route) = "presence";
	route(OUT);
}
event_route[kazoo:consumer-event-event-category-event-name] {
	$var(route) = "event-category-event-name";
	if ($(kzE{kz.json,Event-Name}) == "request") {
		kazoo_publish("targeted", "$(kzE{kz.json,Server-ID})", '{"Event-Category": "e2e", "Event-Name": "reply", "Msg-ID": "$(kzE{kz.json,Msg-ID})"}');
	}
	route(OUT);
}
event_route[kazoo:consumer-event-cat] {
	$var(route) = "cat";
	route(OUT);
}
event_route[kazoo:consumer-event] {
	$var(route) = "consumer-event";
	if ($(kzE{kz.json,Event-Category}) != "connection") {
		route(OUT);
	}
}
{{.Extra.Routes}}
request_route {
	if (is_present_hf("X-Subscribe")) {
		$var(rc) = kazoo_subscribe("$hdr(X-Subscribe)");
		append_to_reply("X-Rc: $var(rc)\r\n");
	}
	{{if .Extra.Ours}}
	if (is_present_hf("X-Unsubscribe")) {
		$var(rc) = kazoo_unsubscribe("$hdr(X-Unsubscribe)");
		append_to_reply("X-Rc: $var(rc)\r\n");
	}
	append_to_reply("X-Amqpc: $xavp(amqpc=>default::local)\r\n");
	{{end}}
	append_to_reply("X-Count: $sht(c=>n)\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

// consumeOpts fills the template values of consumeCfg.
func consumeOpts(module, url string, extra map[string]any) harness.KamailioOpts {
	e := map[string]any{"Node": "e2e.consume", "URL": url, "Params": "", "ModInit": "", "Routes": "", "Ours": module == modulePath}
	for k, v := range extra {
		e[k] = v
	}
	return harness.KamailioOpts{Module: module, Extra: e}
}

// out is one event route run, as route[OUT] reports it.
type out struct {
	Route, RK, Pid string
	E              map[string]any
}

func nextOut(t *testing.T, q *harness.Queue, timeout time.Duration) (out, bool) {
	t.Helper()
	d, ok := q.Next(t, timeout)
	if !ok {
		return out{}, false
	}
	var o out
	if err := json.Unmarshal(d.Body, &o); err != nil {
		t.Fatalf("route[OUT] published invalid JSON: %v: %s", err, d.Body)
	}
	return o, true
}

// publishTo publishes body to exchange with routing key, waiting for the broker's confirm.
func publishTo(t *testing.T, conn *amqp.Connection, exchange, rk string, body string) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), exchange, rk, false, false,
		amqp.Publishing{ContentType: "application/json", Body: []byte(body)})
	if err != nil {
		t.Fatalf("publish to %s/%s: %v", exchange, rk, err)
	}
	if !dc.Wait() {
		t.Fatalf("publish to %s/%s: nack", exchange, rk)
	}
}

// namingSubscriptions: A with the default event keys, B and C with their own.
const namingSubscriptions = `
	kazoo_subscribe('{"exchange": "kz_e2e_in", "type": "topic", "queue": "kz-e2e-a", "routing": "a.*"}');
	kazoo_subscribe('{"exchange": "kz_e2e_in", "type": "topic", "queue": "kz-e2e-b", "routing": ["b.x", "b.y"], "event_key": "Cat", "event_subkey": "Name"}');
	kazoo_subscribe('{"exchange": "kz_e2e_in", "type": "topic", "queue": "kz-e2e-c", "routing": "c.#", "event_key": "K", "event_subkey": "S"}');
`

// namingEvents: routing key, body, and the route the C module's naming chain picks.
var namingEvents = []struct{ rk, body, route string }{
	{"a.1", `{"Event-Category": "call_event", "Event-Name": "CHANNEL_STATUS_REQ", "Msg-ID": "n1"}`, "call-event-channel-status-req"},
	{"a.2", `{"Event-Category": "Presence", "Event-Name": "whatever", "Msg-ID": "n2"}`, "presence"},
	{"a.3", `{"Event-Category": "presence", "Msg-ID": "n3"}`, "presence"},
	{"a.4", `{"Event-Category": "other", "Event-Name": "thing", "Msg-ID": "n4"}`, "event-category-event-name"},
	{"b.x", `{"Cat": "zzz", "Name": "yyy", "Msg-ID": "n5"}`, "cat"},
	{"b.y", `{"Foo": 1, "Msg-ID": "n6"}`, "cat"},
	{"a.5", `{"Event-Category": "other", "Event-Name": "sid", "Server-ID": "reply-q-1", "Msg-ID": "n7"}`, "event-category-event-name"},
	{"a.6", `{"Event-Category": "other", "Event-Name": "nosid", "Server-ID": "", "Msg-ID": "n8"}`, "event-category-event-name"},
	{"c.1.2", `{"K": "v", "Msg-ID": "n9"}`, "consumer-event"},
	{"a.7", `this is not JSON`, ""},
	{"a.8", `{"Event-Category": "after", "Event-Name": "garbage", "Msg-ID": "n10"}`, "event-category-event-name"},
	// duplicate keys: the last value names the route and fills $kzE (json-c's rule)
	{"a.9", `{"Event-Category": "other", "Event-Name": "dup", "Event-Category": "presence", "Msg-ID": "n11"}`, "presence"},
	{"a.10", `{"Event-Category": "presence", "Event-Category": "other", "Event-Name": "dup", "Server-ID": "first-q", "Server-ID": "last-q", "Msg-ID": "n12"}`, "event-category-event-name"},
	{"b.x", `{"Cat": "presence", "Name": "x", "Cat": "zzz", "Msg-ID": "n13"}`, "cat"},
}

// runNaming starts a Kamailio with module, publishes namingEvents and returns what each
// route reported, by Msg-ID.
func runNaming(t *testing.T, r *harness.Rabbit, module string) map[string]out {
	t.Helper()
	outQ := r.Bind(t, "kz_e2e_out", "topic", "#")
	url := strings.TrimSuffix(r.URL(), "/") // the C module reads a trailing '/' as the empty vhost
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(module, url, map[string]any{"ModInit": namingSubscriptions}))
	defer k.Stop(t)
	conn := r.Dial(t)
	waitBound(t, r, "kz-e2e-c")
	for _, ev := range namingEvents {
		publishTo(t, conn, "kz_e2e_in", ev.rk, ev.body)
	}
	got := map[string]out{}
	for len(got) < len(namingEvents)-1 {
		o, ok := nextOut(t, outQ, 10*time.Second)
		if !ok {
			t.Fatalf("%s: only %d of %d events reported:\n%s", module, len(got), len(namingEvents)-1, k.Log())
		}
		if o.E["Event-Category"] == "connection" { // their own test
			continue
		}
		got[fmt.Sprint(o.E["Msg-ID"])] = o
	}
	for {
		o, ok := nextOut(t, outQ, 500*time.Millisecond)
		if !ok {
			break
		}
		if o.E["Event-Category"] != "connection" {
			t.Errorf("%s: unexpected extra event %+v", module, o)
		}
	}
	return got
}

// waitBound waits until a queue has a consumer (the subscriptions run after mod-init).
func waitBound(t *testing.T, r *harness.Rabbit, queue string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		outp, _ := r.CtlErr("list_queues", "-q", "name", "consumers")
		for _, line := range strings.Split(outp, "\n") {
			f := strings.Fields(line)
			if len(f) == 2 && f[0] == queue && f[1] != "0" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("queue %s has no consumer after 15 s", queue)
}

// The event route naming chain, $kzE and $kzRK, through the C module and ours with the
// same cfg and the same messages.
func TestConsumeNamingDifferential(t *testing.T) {
	r := harness.SharedRabbit(t)
	results := map[string]map[string]out{}
	for _, module := range []string{cModulePath, modulePath} {
		results[module] = runNaming(t, r, module)
	}
	ours, theirs := results[modulePath], results[cModulePath]
	for i, ev := range namingEvents {
		if ev.route == "" {
			continue
		}
		var sent map[string]any // the last of duplicate keys, as json-c
		if err := json.Unmarshal([]byte(ev.body), &sent); err != nil {
			t.Fatalf("namingEvents[%d]: %v", i, err)
		}
		id := fmt.Sprint(sent["Msg-ID"])
		o, c := ours[id], theirs[id]
		if o.Route != ev.route || c.Route != ev.route {
			t.Errorf("%s %s: route ours %q, C %q, want %q", ev.rk, ev.body, o.Route, c.Route, ev.route)
		}
		if o.RK != ev.rk || c.RK != ev.rk {
			t.Errorf("%s: $kzRK ours %q, C %q", ev.rk, o.RK, c.RK)
		}
		for _, e := range []map[string]any{o.E, c.E} {
			if e["AMQP-Broker-Zone"] != "local" {
				t.Errorf("%s: AMQP-Broker-Zone %v", ev.rk, e["AMQP-Broker-Zone"])
			}
			if r, ok := e["AMQP-Received"].(float64); !ok || time.Since(time.Unix(int64(r), 0)) > time.Minute {
				t.Errorf("%s: AMQP-Received %v", ev.rk, e["AMQP-Received"])
			}
		}
		delete(o.E, "AMQP-Received")
		delete(c.E, "AMQP-Received")
		ob, _ := json.Marshal(o.E)
		cb, _ := json.Marshal(c.E)
		if string(ob) != string(cb) {
			t.Errorf("%s: $kzE differs:\nours %s\nC    %s", ev.rk, ob, cb)
		}
	}
	if sid := ours["n7"].E["Server-ID"]; sid != "consumer://1/reply-q-1" {
		t.Errorf("Server-ID rewritten to %v", sid)
	}
	if _, ok := ours["n8"].E["Server-ID"]; ok {
		t.Errorf("empty Server-ID kept: %v", ours["n8"].E)
	}
	if sid := ours["n12"].E["Server-ID"]; sid != "consumer://1/last-q" {
		t.Errorf("duplicate Server-ID rewritten to %v, want the last one's", sid)
	}
}
