package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

var kemiCfg = harness.CfgHead{Children: 1,
	Modules: "sl pv app_jsdt"}.String() + `modparam("app_jsdt", "load", "{{.Extra.Script}}")
modparam("kazoo", "node_hostname", "e2e.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
cfgengine "jsdt"
`

// kemiScript calls every KEMI export of the module from JavaScript (app_jsdt); the
// presence one returns -1 here (pua_mode 0), the unsubscribe 1 (request delivered).
const kemiScript = `function ksr_request_route() {
	var rc = [
		KSR.kazoo.kazoo_publish("kazoo_e2e", "kemi.legacy", '{"Event-Name":"legacy"}'),
		KSR.kazoo.publish("kazoo_e2e", "kemi.pub", "{'Event-Name':'pub'}"),
		KSR.kazoo.publish_hdrs("kazoo_e2e", "kemi.hdrs", '{"Event-Name":"hdrs"}', "x-k=v"),
		KSR.kazoo.query("kz_query_e2e", "ok.kemi", '{"Event-Name":"q"}'),
		KSR.kazoo.json(KSR.pv.get("$kzR"), "Event-Name", "$var(en)"),
		KSR.kazoo.encode("a.b c", "$var(enc)"),
		KSR.kazoo.pua_publish_mwi('{"From-User": "u"}'),
		KSR.kazoo.unsubscribe("kemi-none"),
		KSR.kazoo.json_keys('{"o": {"a": 1, "b": 2}}', "o", "$avp(keys)")
	];
	KSR.hdr.append_to_reply("X-Rc: " + rc.join(",") + "\r\n");
	KSR.hdr.append_to_reply("X-En: " + KSR.pv.get("$var(en)") + "\r\nX-Enc: " + KSR.pv.get("$var(enc)") + "\r\n");
	KSR.hdr.append_to_reply("X-Keys: " + KSR.pv.get("$(avp(keys)[0])") + "," + KSR.pv.get("$(avp(keys)[1])") + "\r\n");
	KSR.sl.send_reply(200, "OK");
}
`

// Every KEMI export works from a KEMI script (here JavaScript through app_jsdt).
func TestKEMI(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_e2e", "topic", "kemi.*")
	startResponder(t, r, "kz_query_e2e", "ok.#", echo(0))
	script := filepath.Join(t.TempDir(), "kazoo.js")
	if err := os.WriteFile(script, []byte(kemiScript), 0o644); err != nil {
		t.Fatal(err)
	}
	k := harness.StartKamailio(t, kemiCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL(), "Script": script}})
	rep := sipRequest(t, k.SipPort(), "OPTIONS", "kemi", nil, "")
	if rep.Code != 200 || rep.Headers["x-rc"] != "1,1,1,1,1,1,-1,1,1" || rep.Headers["x-en"] != "pong" || rep.Headers["x-enc"] != "a%2Eb+c" || rep.Headers["x-keys"] == "" {
		t.Fatalf("%d %v\n%s", rep.Code, rep.Headers, k.Log())
	}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		d, ok := q.Next(t, 5*time.Second)
		if !ok {
			t.Fatalf("%d of 3 publishes arrived", i)
		}
		seen[d.RoutingKey] = true
		if d.RoutingKey == "kemi.hdrs" && d.Headers["x-k"] != "v" {
			t.Errorf("headers %v", d.Headers)
		}
	}
	if !seen["kemi.legacy"] || !seen["kemi.pub"] || !seen["kemi.hdrs"] {
		t.Errorf("routing keys %v", seen)
	}
}

// kemiEventScript subscribes from the event_callback's "kazoo:mod-init" call (the C
// module could not: its mod-init ran before the KEMI engine was initialised) and reports
// each consumed event by publishing it.
const kemiEventScript = `function ksr_request_route() {
	KSR.sl.send_reply(200, "OK");
}
function ksr_kazoo_event(evname) {
	if (evname == "kazoo:mod-init") {
		KSR.kazoo.subscribe('{"exchange": "kz_kemi_in", "type": "topic", "queue": "kz-kemi-q", "routing": "k.*"}');
		return;
	}
	if (KSR.pv.get("$(kzE{kz.json,Event-Category})") == "connection") {
		return;
	}
	KSR.kazoo.publish("kz_kemi_out", "out", '{"Ev": "' + evname + '", "RK": "' + KSR.pv.get("$kzRK") + '", "E": ' + KSR.pv.get("$kzE") + '}');
}
`

// event_callback: a KEMI function takes kazoo:mod-init and every consumed event.
func TestKEMIEventCallback(t *testing.T) {
	r := harness.SharedRabbit(t)
	outQ := r.Bind(t, "kz_kemi_out", "topic", "#")
	script := filepath.Join(t.TempDir(), "kazoo.js")
	if err := os.WriteFile(script, []byte(kemiEventScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(kemiCfg, `cfgengine "jsdt"`, "modparam(\"kazoo\", \"event_callback\", \"ksr_kazoo_event\")\nmodparam(\"kazoo\", \"amqp_consumer_workers\", 2)\ncfgengine \"jsdt\"", 1)
	k := harness.StartKamailio(t, cfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL(), "Script": script}})
	waitBound(t, r, "kz-kemi-q")
	publishTo(t, r.Dial(t), "kz_kemi_in", "k.one", `{"Event-Category": "kemi", "Event-Name": "test", "Msg-ID": "m1"}`)
	d, ok := outQ.Next(t, 10*time.Second)
	if !ok {
		t.Fatalf("no event reported:\n%s", k.Log())
	}
	var o struct {
		Ev, RK string
		E      map[string]any
	}
	if err := json.Unmarshal(d.Body, &o); err != nil {
		t.Fatalf("%v: %s", err, d.Body)
	}
	if o.Ev != "kazoo:consumer-event" || o.RK != "k.one" || o.E["Msg-ID"] != "m1" || o.E["AMQP-Broker-Zone"] != "local" {
		t.Errorf("callback got %+v", o)
	}
}

// examples/kazoo-lua.cfg + examples/kazoo.lua as shipped (app_lua): publish, a query the
// same node answers through its event_callback, and the mod-init subscription.
func TestExampleLua(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_demo", "topic", "demo.message.*")
	cfg, err := os.ReadFile("../../examples/kazoo-lua.cfg")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../examples/kazoo.lua")
	tmpl := "#!define SIP_LISTEN udp:127.0.0.1:{{.SipPort}}\n#!define AMQP_URL \"{{.Extra.URL}}\"\n" +
		"#!define KAZOO_MODULE \"{{.Module}}\"\n#!define CTL_SOCKET \"unix:{{.CtlSocket}}\"\n" +
		"#!define LUA_SCRIPT \"" + script + "\"\n" + strings.Replace(string(cfg), "log_stderror=no", "log_stderror=yes", 1)
	k := harness.StartKamailio(t, tmpl, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})
	if rep := sipRequest(t, k.SipPort(), "MESSAGE", "bob.smith", nil, `hi "bob"`); rep.Code != 200 {
		t.Fatalf("MESSAGE got %d\n%s", rep.Code, k.Log())
	}
	d, ok := q.Next(t, 5*time.Second)
	if !ok || d.RoutingKey != "demo.message.bob%2Esmith" || !strings.Contains(string(d.Body), `hi \u0022bob\u0022`) {
		t.Fatalf("published: %v %s %s", ok, d.RoutingKey, d.Body)
	}
	waitBound(t, r, "kazoo-demo-query")
	deadline := time.Now().Add(10 * time.Second)
	for {
		rep := sipRequest(t, k.SipPort(), "INFO", "bob", nil, "")
		if rep.Code == 200 && rep.Headers["x-answer"] == "pong" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO got %d %v\n%s", rep.Code, rep.Headers, k.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if rep := sipRequest(t, k.SipPort(), "INFO", "async", nil, ""); rep.Code != 200 || rep.Headers["x-answer"] != "pong" {
		t.Fatalf("INFO (async) got %d %v\n%s", rep.Code, rep.Headers, k.Log())
	}
}

// kemiAsyncScript suspends each request with KSR.kazoo.async_query; the reply callback
// answers with what $kzR holds, the failure callback with 503.
const kemiAsyncScript = `function ksr_request_route() {
	var rk = KSR.pv.get("$rU") == "lost" ? "nobody.home" : "ok.async";
	if (KSR.kazoo.async_query("kz_query_e2e", rk, '{"Event-Name":"q","Call-ID":"' + KSR.pv.get("$ci") + '"}',
			"ksr_kz_reply", "ksr_kz_failed") < 0) {
		KSR.sl.send_reply(500, "Not suspended");
	}
	KSR.x.exit();
}
function ksr_kz_reply(evname) {
	KSR.hdr.append_to_reply("X-En: " + KSR.pv.get("$(kzR{kz.json,Event-Name})") + "\r\nX-Ev: " + evname + "\r\n");
	KSR.tm.t_reply(200, "Answered");
}
function ksr_kz_failed(evname) {
	KSR.tm.t_reply(503, "Kazoo failed");
}
`

// KSR.kazoo.async_query: the transaction is suspended and resumed in the KEMI callback
// named for the outcome, in the consumer worker, with $kzR set.
func TestKEMIAsyncQuery(t *testing.T) {
	r := harness.SharedRabbit(t)
	startResponder(t, r, "kz_query_e2e", "ok.#", echo(0))
	script := filepath.Join(t.TempDir(), "kazoo.js")
	if err := os.WriteFile(script, []byte(kemiAsyncScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(kemiCfg, `loadmodule "sl.so"`, `loadmodule "tm.so"
loadmodule "sl.so"`, 1)
	k := harness.StartKamailio(t, cfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL(), "Script": script}})
	for i := 0; i < 20; i++ {
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "kemi", nil, "")
		if rep.Code != 200 || rep.Headers["x-en"] != "pong" {
			t.Fatalf("request %d: %d %v\n%s", i, rep.Code, rep.Headers, k.Log())
		}
	}
	start := time.Now()
	rep := sipRequest(t, k.SipPort(), "OPTIONS", "lost", nil, "")
	if rep.Code != 503 {
		t.Fatalf("unroutable query: %d %v\n%s", rep.Code, rep.Headers, k.Log())
	}
	t.Logf("failure callback after %v", time.Since(start))
	if !k.Alive() {
		t.Fatal("kamailio died")
	}
}
