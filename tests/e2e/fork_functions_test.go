package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// forkFunctionsCfg calls, per OPTIONS request (X-Op selects), the 2600hz fork's functions
// added for issue 19: kazoo_publish/5, kazoo_query/5 in the fork's form, kazoo_declare_exchange
// and the fork's kz_* names, and $kzTS. Each writes what the script saw in reply headers.
var forkFunctionsCfg = harness.CfgHead{Children: 1,
	Modules: "sl pv textops xlog"}.String() + `modparam("kazoo", "node_hostname", "e2e.forkfn.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_query_timeout_sec", 3)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_connection", "zone=nowhere;amqp://guest:guest@127.0.0.1:1/")
modparam("kazoo", "amqp_consumer_workers", 1)
modparam("kazoo", "amqp_received_micro", 1)
event_route[kazoo:mod-init] {
	kazoo_subscribe('{"name": "forkl", "exchange": "kz_fork_ev", "type": "topic", "queue": "kz-fork-ts-q", "routing": "ev.#"}');
}
event_route[kazoo:consumer-event-fork-ts] {
	xlog("L_NOTICE", "FORKTS $(kzE{kz.json,AMQP-Received}) $(kzE{kz.json,AMQP-Elapsed-Micro})\n");
	xlog("L_NOTICE", "FORKL $xavp(amqpc=>forkl) $xavp(amqpc=>forkl::local) $xavp(amqpc=>local::forkl) $xavp(amqpc=>forkl::error) $xavp(amqpc=>forkl::nowhere)\n");
}
event_route[kazoo:consumer-event-connection-message] {
	xlog("L_NOTICE", "CONNMSG $(kzE{kz.json,zone}) $(kzE{kz.json,name}) $(kzE{kz.json,message})\n");
}
request_route {
	if ($hdr(X-Op) == "publish") {
		$var(rc5) = kazoo_publish("kz_fork_pub", "p5.json", '{"Event-Name": "p5", "Msg-ID": "p5-1"}', "2048",
			'{"x-str": "s", "x-int": 7, "x-bool": true, "x-nested": {"a": "b"}, "x-null": null}');
		$var(rc5kv) = kz_amqp_publish("kz_fork_pub", "p5.kv", '{"Event-Name": "p5", "Msg-ID": "p5-2"}', "", "x-a=1;x-b=2");
		$var(rc3) = kz_amqp_publish("kz_fork_pub", "alias.3", '{"Event-Name": "a3", "Msg-ID": "a3-1"}');
		$var(rc4) = kz_amqp_publish("kz_fork_pub", "alias.4", '{"Event-Name": "a4", "Msg-ID": "a4-1"}', "x-c=3");
		$var(badflags) = kazoo_publish("kz_fork_pub", "bad", '{"Event-Name": "bad"}', "20x8", "");
		$var(badjson) = kz_amqp_publish("kz_fork_pub", "bad", '{"Event-Name": "bad"}', "2048", '{"x-a": ');
		append_to_reply("X-Rc: $var(rc5) $var(rc5kv) $var(rc3) $var(rc4) $var(badflags) $var(badjson)\r\n");
	} else if ($hdr(X-Op) == "query") {
		$var(rcq) = kazoo_query("kz_fork_q", "q.fork", '{"Event-Name": "q", "Msg-ID": "q-1"}', "2048", '{"x-q": "fork-arg"}');
		append_to_reply("X-Q: $var(rcq) $(kzR{kz.json,Header-X-Q})\r\n");
		append_to_reply("X-Received: $(kzR{kz.json,AMQP-Received})\r\n");
		$var(rca) = kz_amqp_query("kz_fork_q", "q.alias", '{"Event-Name": "q", "Msg-ID": "q-2"}', "$var(reply)");
		append_to_reply("X-Qa: $var(rca) $(var(reply){kz.json,Event-Name})\r\n");
	} else if ($hdr(X-Op) == "declare") {
		$var(rcd) = kazoo_declare_exchange('{"name": "kz_fork_declared", "type": "topic", "options": ["durable"],
			"bindings": {"kz_fork_src": {"routing-keys": ["k.*", "other"]}}}');
		$var(rcalt) = kz_amqp_declare_exchange('{"name": "kz_fork_alt", "type": "fanout", "arguments": {"alternate-exchange": "kz_fork_src"}}');
		$var(badtype) = kazoo_declare_exchange('{"name": "kz_fork_bad", "type": "topix"}');
		$var(badkey) = kz_amqp_declare_exchange('{"name": "kz_fork_bad", "type": "topic", "colour": "red"}');
		$var(nosrc) = kazoo_declare_exchange('{"name": "kz_fork_orphan", "type": "topic", "bindings": {"kz_fork_no_such_src": {"routing-keys": ["x"]}}}');
		# no plugin provides this type: the broker ends the connection (503), only the one
		# opened for the declaration, so the publish after it goes out on the usual one
		$var(plugin) = kazoo_declare_exchange('{"name": "kz_fork_plugin", "type": "x-kz-no-such-type"}');
		$var(after) = kazoo_publish("kz_fork_pub", "after.declare", '{"Event-Name": "after"}');
		append_to_reply("X-Rc: $var(rcd) $var(rcalt) $var(badtype) $var(badkey) $var(nosrc) $var(plugin) $var(after)\r\n");
	} else if ($hdr(X-Op) == "aliases") {
		kz_json('{"a": {"b": "deep"}}', "a.b", "$var(j)");
		kz_json_keys('{"o": {"k1": 1, "k2": 2}}', "o", "$avp(keys)");
		kz_amqp_encode("a.b c", "$var(enc)");
		append_to_reply("X-Aliases: $var(j) $(avp(keys)[0]) $var(enc)\r\n");
		append_to_reply("X-TS: $kzTS\r\n");
	}
	sl_send_reply("200", "OK");
	exit;
}
`

func TestForkFunctions(t *testing.T) {
	r := harness.SharedRabbit(t)
	pub := r.Bind(t, "kz_fork_pub", "topic", "#")
	// the query responder copies the fork-form header it received into its reply
	startResponder(t, r, "kz_fork_q", "q.#", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		b, _ := json.Marshal(map[string]any{"Event-Name": "answer", "Msg-ID": req["Msg-ID"],
			"Header-X-Q": fmt.Sprint(d.Headers["x-q"])})
		return b, 0
	})
	admin, err := r.Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range []string{"kz_fork_src", "kz_fork_ev"} {
		if err := admin.ExchangeDeclare(x, "topic", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, x := range []string{"kz_fork_declared", "kz_fork_alt", "kz_fork_orphan", "kz_fork_src", "kz_fork_ev"} {
			_ = admin.ExchangeDelete(x, false, false)
		}
	})
	_ = admin.ExchangeDelete("kz_fork_declared", false, false) // a previous run's (durable)
	k := harness.StartKamailio(t, forkFunctionsCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})

	t.Run("publish", func(t *testing.T) {
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "fork", map[string]string{"X-Op": "publish"}, "")
		if rep.Headers["x-rc"] != "1 1 1 1 -1 -1" {
			t.Errorf("return codes %q, want \"1 1 1 1 -1 -1\"\n%s", rep.Headers["x-rc"], k.Log())
		}
		got := map[string]amqp.Delivery{}
		for len(got) < 4 {
			d, ok := pub.Next(t, 5*time.Second)
			if !ok {
				break
			}
			got[d.RoutingKey] = d
		}
		h := got["p5.json"].Headers
		if h["x-str"] != "s" || h["x-int"] != int64(7) || h["x-bool"] != true ||
			fmt.Sprint(h["x-nested"]) != "map[a:b]" || h["x-null"] != nil {
			t.Errorf("kazoo_publish/5 JSON headers: %#v", h)
		}
		if h := got["p5.kv"].Headers; h["x-a"] != "1" || h["x-b"] != "2" {
			t.Errorf("kz_amqp_publish/5 k=v headers: %#v", h)
		}
		if _, ok := got["alias.3"]; !ok {
			t.Errorf("kz_amqp_publish/3 did not arrive (got %d messages)", len(got))
		}
		if h := got["alias.4"].Headers; h["x-c"] != "3" {
			t.Errorf("kz_amqp_publish/4 headers: %#v", h)
		}
		for _, want := range []string{`publish flags "20x8" are not a number`, "AMQP headers given as JSON are not valid JSON"} {
			if !strings.Contains(k.Log(), want) {
				t.Errorf("log lacks %q", want)
			}
		}
	})

	t.Run("query", func(t *testing.T) {
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "fork", map[string]string{"X-Op": "query"}, "")
		if rep.Headers["x-q"] != "1 fork-arg" || rep.Headers["x-qa"] != "1 answer" {
			t.Errorf("X-Q %q (want \"1 fork-arg\"), X-Qa %q (want \"1 answer\")\n%s", rep.Headers["x-q"], rep.Headers["x-qa"], k.Log())
		}
		// amqp_received_micro 1: the reply's AMQP-Received is now in microseconds
		if us, err := strconv.ParseInt(rep.Headers["x-received"], 10, 64); err != nil || time.Since(time.UnixMicro(us)).Abs() > 5*time.Second {
			t.Errorf("AMQP-Received %q is not now in microseconds", rep.Headers["x-received"])
		}
	})

	t.Run("declare", func(t *testing.T) {
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "fork", map[string]string{"X-Op": "declare"}, "")
		if rep.Headers["x-rc"] != "1 1 -1 -1 -1 -1 1" {
			t.Fatalf("return codes %q, want \"1 1 -1 -1 -1 -1 1\"\n%s", rep.Headers["x-rc"], k.Log())
		}
		// bound to kz_fork_src: a message published there with k.1 reaches the declared exchange
		declared := r.BindExisting(t, "kz_fork_declared", "#")
		if err := admin.PublishWithContext(t.Context(), "kz_fork_src", "k.1", false, false, amqp.Publishing{Body: []byte(`{"via":"src"}`)}); err != nil {
			t.Fatal(err)
		}
		if d, ok := declared.Next(t, 5*time.Second); !ok || string(d.Body) != `{"via":"src"}` {
			t.Errorf("nothing reached kz_fork_declared through its binding to kz_fork_src")
		}
		// durable as asked: declaring it transient is refused (406)
		ch, err := r.Dial(t).Channel()
		if err != nil {
			t.Fatal(err)
		}
		if err := ch.ExchangeDeclare("kz_fork_declared", "topic", false, false, false, false, nil); err == nil {
			t.Errorf("kz_fork_declared is not durable")
		}
		// kz_fork_alt's argument: what nothing takes goes to kz_fork_src, which kz_fork_declared is bound to
		if err := admin.PublishWithContext(t.Context(), "kz_fork_alt", "k.2", false, false, amqp.Publishing{Body: []byte(`{"via":"alt"}`)}); err != nil {
			t.Fatal(err)
		}
		if d, ok := declared.Next(t, 5*time.Second); !ok || string(d.Body) != `{"via":"alt"}` {
			t.Errorf("kz_fork_alt lacks its alternate-exchange argument")
		}
		if strings.Contains(k.Log(), "lost AMQP broker") {
			t.Errorf("a declaration ended a connection of the process:\n%s", k.Log())
		}
		for _, want := range []string{`unknown exchange type "topix"`, `unknown field "colour"`, "kz_fork_no_such_src", "x-kz-no-such-type"} {
			if !strings.Contains(k.Log(), want) {
				t.Errorf("log lacks %q", want)
			}
		}
	})

	// the broker of zone "nowhere" refuses connections: before each new attempt the consumer
	// runs the fork's connection-message event
	t.Run("connection-message", func(t *testing.T) {
		re := regexp.MustCompile(`CONNMSG nowhere default reconnecting in \d+ ms`)
		deadline := time.Now().Add(10 * time.Second)
		for len(re.FindAllString(k.Log(), -1)) < 2 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if n := len(re.FindAllString(k.Log(), -1)); n < 2 {
			t.Errorf("%d connection-message events for zone nowhere, want 2 or more\n%s", n, k.Log())
		}
	})

	// amqp_received_micro 1: a consumed message's AMQP-Received in microseconds, and
	// AMQP-Elapsed-Micro from its AMQP timestamp (seconds here, as amqp091 sends it)
	t.Run("received micro", func(t *testing.T) {
		re := regexp.MustCompile(`FORKTS (\d+) (\d+)`)
		deadline := time.Now().Add(10 * time.Second)
		for re.FindStringSubmatch(k.Log()) == nil && time.Now().Before(deadline) {
			_ = admin.PublishWithContext(t.Context(), "kz_fork_ev", "ev.1", false, false, amqp.Publishing{
				Timestamp: time.Now(), Body: []byte(`{"Event-Category": "fork", "Event-Name": "ts"}`)})
			time.Sleep(300 * time.Millisecond)
		}
		m := re.FindStringSubmatch(k.Log())
		if m == nil {
			t.Fatalf("no event with AMQP-Received and AMQP-Elapsed-Micro\n%s", k.Log())
		}
		us, _ := strconv.ParseInt(m[1], 10, 64)
		elapsed, _ := strconv.ParseInt(m[2], 10, 64)
		if time.Since(time.UnixMicro(us)).Abs() > 15*time.Second || elapsed > 5_000_000 {
			t.Errorf("AMQP-Received %s, AMQP-Elapsed-Micro %s", m[1], m[2])
		}
		// the fork's listener keys of the named subscription "forkl", in the consumer that
		// runs the route: one connection consuming it, in zone local; none in zone nowhere
		// (not federated)
		if !strings.Contains(k.Log(), "FORKL 1 1 1 0 <null>") {
			t.Errorf("$xavp(amqpc) keys of listener forkl wrong:\n%s", k.Log())
		}
	})

	t.Run("aliases and $kzTS", func(t *testing.T) {
		before := time.Now().UTC()
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "fork", map[string]string{"X-Op": "aliases"}, "")
		if rep.Headers["x-aliases"] != "deep k2 a%2Eb+c" {
			t.Errorf("X-Aliases %q, want \"deep k2 a%%2Eb+c\"", rep.Headers["x-aliases"])
		}
		ts := rep.Headers["x-ts"]
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`).MatchString(ts) {
			t.Fatalf("$kzTS %q is not RFC 3339 with nanoseconds", ts)
		}
		at, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || at.Before(before.Add(-2*time.Second)) || at.After(time.Now().Add(2*time.Second)) {
			t.Errorf("$kzTS %q is not now (%v, %v)", ts, before, err)
		}
	})
}

// forkNamesCfg uses every name and form added for the fork's script surface, for
// `kamailio -c`: a cfg of 2600hz's that calls them loads.
var forkNamesCfg = harness.CfgHead{Modules: "sl pv tm xlog"}.String() + `modparam("kazoo", "node_hostname", "e2e.forknames.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "amqp://guest:guest@127.0.0.1:1/")
event_route[kazoo:mod-init] {
	kazoo_declare_exchange('{"name": "x", "type": "topic"}');
	kz_amqp_declare_exchange('{"name": "y", "type": "fanout"}');
	kz_amqp_subscribe('{"exchange": "x", "type": "topic", "queue": "q", "routing": "#"}');
	kz_amqp_subscribe("x", "topic", "q2", "#");
}
request_route {
	kazoo_publish("x", "k", "{}", "2048", '{"a": 1}');
	kz_amqp_publish("x", "k", "{}");
	kz_amqp_publish("x", "k", "{}", "2048");
	kz_amqp_publish("x", "k", "{}", "2048", "a=1");
	kz_amqp_query("x", "k", "{}");
	kz_amqp_query("x", "k", "{}", "$var(r)");
	kz_amqp_query("x", "k", "{}", "2048", '{"a": 1}');
	kz_json("{}", "a", "$var(j)");
	kz_json_keys("{}", "", "$avp(k)");
	kz_amqp_encode("a", "$var(e)");
	kz_pua_publish("{}");
	kz_pua_publish_mwi("{}");
	kz_pua_publish_presence("{}");
	kz_pua_publish_dialoginfo("{}");
	xlog("L_INFO", "$kzTS\n");
	if ($rm == "MESSAGE") {
		kz_amqp_async_query("x", "k", "{}", "R", "F");
		kz_amqp_async_query("x", "k", "{}", "R", "F", "2048");
	}
	kz_amqp_query_async("x", "k", "{}", "R", "F");
	kz_amqp_query_async("x", "k", "{}", "R", "F", "2048");
}
onreply_route[R] {
	xlog("L_INFO", "reply\n");
}
failure_route[F] {
	xlog("L_INFO", "failure\n");
}
`

func TestForkNamesLoad(t *testing.T) {
	out, ok := harness.CheckKamailio(t, forkNamesCfg, harness.KamailioOpts{Module: modulePath})
	if !ok {
		t.Fatalf("kamailio -c refused the cfg:\n%s", out)
	}
}
