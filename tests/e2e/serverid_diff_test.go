package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// exampleMessage is one kind of message that an example cfg (or a test cfg) publishes with
// kazoo_publish, with the call exactly as that file writes it.
type exampleMessage struct {
	kind   string
	file   string // the file that has call, relative to tests/e2e
	setup  string // cfg lines for the variables the example sets elsewhere
	call   string // the kazoo_publish call, as in file
	xkind  string // the exchange's type
	rk     string // the routing key both modules must publish with
	sipHdr map[string]string
}

// exampleMessages: every kazoo_publish of examples/*.cfg, and the reply forms of the tests
// (consumer:// Server-ID, route[OUT] of consumeCfg).
var exampleMessages = []exampleMessage{
	{kind: "demo sip_message", file: "../../examples/kazoo-publish.cfg", xkind: "topic", rk: "demo.message.sid",
		call: `kazoo_publish("kazoo_demo", "demo.message.$rU",
			"{'Event-Category':'demo','Event-Name':'sip_message','From':'$fu','To':'$tu','Body':'$(rb{s.escape.common})'}",
			"X-Call-ID=$ci")`},
	{kind: "reg_success", file: "../../examples/kazoo-registrar-flush.cfg", xkind: "topic", rk: "registration.success.127%2E0%2E0%2E1.sid",
		setup: `$var(expires) = 3600; $var(ccv) = '{"Account-ID": "acc1", "Owner-ID": "own1"}';`,
		call: `kazoo_publish("registrar", "registration.success.$(td{kz.encode}).$(tU{kz.encode})",
			"{'Event-Category':'directory','Event-Name':'reg_success','Status':'Registered','Event-Timestamp':$TS,'Expires':$var(expires),'Contact':'$(ct{s.escape.common})','Call-ID':'$(ci{s.escape.common})','Realm':'$(td{s.escape.common})','Username':'$(tU{s.escape.common})','From-User':'$(fU{s.escape.common})','From-Host':'$(fd{s.escape.common})','To-User':'$(tU{s.escape.common})','To-Host':'$(td{s.escape.common})','User-Agent':'$(ua{s.escape.common})','Network-IP':'$si','Network-Port':'$sp','Custom-Channel-Vars':$var(ccv)}")`,
		sipHdr: map[string]string{"Contact": "<sip:sid@127.0.0.1:5099>", "User-Agent": "e2e-agent/1.0"}},
	{kind: "presence subscription", file: "../../examples/kazoo-presence.cfg", xkind: "topic", rk: "subscribe.example%2Ecom.1001",
		call: `kazoo_publish("omnipresence", "subscribe.$(subs(to_domain){kz.encode}).$(subs(to_user){kz.encode})",
			"{'Event-Category':'presence','Event-Name':'subscription','Event-Package':'$(subs(event){s.escape.common})','User':'$(subs(uri){s.escape.common})','Expires':$subs(expires),'Call-ID':'$(ci{s.escape.common})','From':'$(fu{s.escape.common})','To':'$(tu{s.escape.common})','Contact':'$(ct{s.escape.common})','User-Agent':'$(ua{s.escape.common})'}")`,
		sipHdr: map[string]string{"X-Subs-to_domain": "example.com", "X-Subs-to_user": "1001", "X-Subs-event": "dialog",
			"X-Subs-uri": "sip:1001@example.com", "X-Subs-expires": "600", "Contact": "<sip:sub@127.0.0.1:5098>"}},
	{kind: "nodes advertise", file: "../../examples/kazoo-nodes.cfg", xkind: "fanout", rk: "",
		call: `kazoo_publish("nodes", "", '{"Event-Category": "nodes", "Event-Name": "advertise", "Expires": 15000, "Roles": {"Proxy": {}}}')`},
	{kind: "cluster work", file: "../../examples/kazoo-cluster.cfg", xkind: "topic", rk: "work.new",
		setup: `$var(job) = '{"Event-Category": "cluster", "Event-Name": "work", "Job": "' + $rU + '"}';`,
		call:  `kazoo_publish("cluster_work", "work.new", "$var(job)")`},
	{kind: "cluster done", file: "../../examples/kazoo-cluster.cfg", xkind: "topic", rk: "done.j1",
		setup: `$var(key) = "done.j1";`,
		call:  `kazoo_publish("cluster_work", "$var(key)", '{"Event-Category": "cluster", "Event-Name": "done"}')`},
	{kind: "route_win", file: "../../examples/kazoo-callproc.cfg", xkind: "direct", rk: "kz-sid-winner",
		setup: `$var(winner) = $hdr(X-Winner);`,
		call: `kazoo_publish("targeted", "$var(winner)",
				"{'Event-Category':'dialplan','Event-Name':'route_win','Msg-ID':'$(kzR{kz.json,Msg-ID})','Call-ID':'$(ci{s.escape.common})','Control-Queue':'kamailio@callproc.kazoo.local'}")`,
		sipHdr: map[string]string{"X-Winner": "kz-sid-winner", "X-Reply-Msg-ID": "route-req-1"}},
	{kind: "reply to a consumed message", file: "consume_test.go", xkind: "direct", rk: "kz-sid-requester",
		call:   `kazoo_publish("targeted", "$(kzE{kz.json,Server-ID})", '{"Event-Category": "e2e", "Event-Name": "reply", "Msg-ID": "$(kzE{kz.json,Msg-ID})"}')`,
		sipHdr: map[string]string{"X-Reply-To": "consumer://1/kz-sid-requester", "X-Reply-Msg-ID": "req-1"}},
	{kind: "route[OUT] report", file: "consume_test.go", xkind: "topic", rk: "out",
		setup:  `$var(route) = "presence";`,
		call:   `kazoo_publish("kz_e2e_out", "out", '{"Route": "$var(route)", "RK": "$kzRK", "Pid": "$pp", "E": $kzE}')`,
		sipHdr: map[string]string{"X-E": `{"Event-Category": "presence", "Server-ID": "consumer://1/somebody"}`}},
}

// exampleSubstitutions stand in, in the differential cfg, for the variables of modules and
// contexts that a SIP MESSAGE does not have ($subs of presence, $kzR of a query, $kzE of
// an event): they read SIP headers instead.
var exampleSubstitutions = strings.NewReplacer(
	"subs(", "hdr(X-Subs-",
	"$(kzR{kz.json,Msg-ID})", "$hdr(X-Reply-Msg-ID)",
	"$(kzE{kz.json,Server-ID})", "$hdr(X-Reply-To)",
	"$(kzE{kz.json,Msg-ID})", "$hdr(X-Reply-Msg-ID)",
	"$kzE", "$hdr(X-E)",
)

// serverIDDiffCfg runs, for X-Kind k, the k-th of exampleMessages; X-Kind "raw" publishes
// the body to kz_sid_raw and "warmup" to amq.topic (the C module's kazoo_publish returns 0,
// which ends the route, until its publisher is connected). Only parameters the C module
// knows.
func serverIDDiffCfg() string {
	var routes strings.Builder
	for i, m := range exampleMessages {
		fmt.Fprintf(&routes, "\tif ($hdr(X-Kind) == \"%d\") {\n\t\t%s\n\t\t$var(rc) = %s;\n\t}\n", i, m.setup, exampleSubstitutions.Replace(m.call))
	}
	return harness.CfgHead{Children: 1, Modules: "tm sl pv xlog textops"}.String() + `modparam("kazoo", "node_hostname", "sid.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_consumer_workers", 2)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
	$var(rc) = "none";
	if ($hdr(X-Kind) == "warmup") {
		$var(rc) = kazoo_publish("amq.topic", "kz.sid.warmup", '{"Event-Name": "warmup"}');
	}
	if ($hdr(X-Kind) == "raw") {
		$var(rc) = kazoo_publish("kz_sid_raw", "raw", "$rb");
	}
` + routes.String() + `	append_to_reply("X-Rc: $var(rc)\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`
}

// rawServerIDs are payloads whose Server-ID the script set, oddly or not.
var rawServerIDs = []string{
	`{"Event-Category": "e2e", "Event-Name": "own", "Server-ID": "my-own-queue"}`,
	`{"Event-Category": "e2e", "Event-Name": "consumer", "Server-ID": "consumer://1/kamailio@elsewhere-<1>-targeted-3"}`,
	`{"Event-Category": "e2e", "Event-Name": "empty", "Server-ID": ""}`,
	`{"Event-Category": "e2e", "Event-Name": "null", "Server-ID": null}`,
	`{"Event-Category": "e2e", "Event-Name": "number", "Server-ID": 42}`,
	`{"Event-Category": "e2e", "Event-Name": "nested", "Data": {"Server-ID": "inner"}}`,
}

// wireMessage is what a module published, as the differential compares it.
type wireMessage struct {
	Exchange, RoutingKey, ContentType, MessageID string
	Transient                                    bool
	Headers                                      map[string]any
	Keys                                         []string // the payload's top-level keys, in order
	Values                                       map[string]any
	ServerID                                     any `json:"-"` // as published, before normalising
}

// sameWire compares two messages but for their Server-ID as published (compared in
// Values, normalised).
func sameWire(a, b wireMessage) bool {
	a.ServerID, b.ServerID = nil, nil
	return reflect.DeepEqual(a, b)
}

// serverIDPattern is the C module's Server-ID of a publish through broker 1: its channel
// index varies, ours is always 0 (one queue per node and broker).
var serverIDPattern = regexp.MustCompile(`^kamailio@sid\.kazoo\.test-<1>-targeted-\d+$`)

const ourServerID = "kamailio@sid.kazoo.test-<1>-targeted-0"

// The messages of every kazoo_publish of the examples, published through the C module and
// through ours with the same cfg and SIP requests: exchange, routing key, properties,
// headers, the payload's keys in order and their values, Server-ID included (its form; the
// C module's channel index is normalised), compared. Then payloads with a Server-ID of
// their own, which both keep.
func TestServerIDDifferential(t *testing.T) {
	r := harness.StartRabbit(t) // its own node: the examples' exchange names, declared as the test needs them
	url := strings.TrimSuffix(r.URL(), "/")
	for _, m := range exampleMessages {
		src, err := os.ReadFile(m.file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(src, []byte(m.call)) {
			t.Fatalf("%s no longer has the %s call of this test:\n%s", m.file, m.kind, m.call)
		}
	}
	run := func(module string) (examples, raw []wireMessage) {
		queues := make([]*harness.Queue, len(exampleMessages))
		for i, m := range exampleMessages {
			exchange := strings.Trim(strings.SplitN(strings.TrimPrefix(m.call, "kazoo_publish("), ",", 2)[0], `"`)
			queues[i] = r.Bind(t, exchange, m.xkind, m.rk)
		}
		rawQ := r.Bind(t, "kz_sid_raw", "topic", "raw")
		k := harness.StartKamailio(t, serverIDDiffCfg(), harness.KamailioOpts{Module: module, Extra: map[string]any{"URL": url}})
		defer k.Stop(t)
		waitPublishes(t, k)
		checkServerIDQueue(t, r)
		for i, m := range exampleMessages {
			h := map[string]string{"X-Kind": fmt.Sprint(i)}
			for k, v := range m.sipHdr {
				h[k] = v
			}
			rep := sipRequest(t, k.SipPort(), "MESSAGE", "sid", h, "hello \"world\"")
			if rep.Headers["x-rc"] != "1" {
				t.Fatalf("%s: %s: kazoo_publish returned %q\n%s", module, m.kind, rep.Headers["x-rc"], k.Log())
			}
			d, ok := queues[i].Next(t, 5*time.Second)
			if !ok {
				t.Fatalf("%s: %s: nothing published with routing key %q\n%s", module, m.kind, m.rk, k.Log())
			}
			examples = append(examples, wireOf(t, d, rep.Headers["call-id"]))
		}
		for _, body := range rawServerIDs {
			rep := sipRequest(t, k.SipPort(), "MESSAGE", "sid", map[string]string{"X-Kind": "raw"}, body)
			if rep.Headers["x-rc"] != "1" {
				t.Fatalf("%s: raw %s: kazoo_publish returned %q", module, body, rep.Headers["x-rc"])
			}
			d, ok := rawQ.Next(t, 5*time.Second)
			if !ok {
				t.Fatalf("%s: raw %s: nothing published", module, body)
			}
			raw = append(raw, wireOf(t, d, ""))
		}
		return examples, raw
	}
	cEx, cRaw := run(cModulePath)
	ourEx, ourRaw := run(modulePath)

	var cServerIDs []string
	for i, m := range exampleMessages {
		c, o := cEx[i], ourEx[i]
		cServerIDs = append(cServerIDs, fmt.Sprint(c.ServerID))
		if sid, _ := c.ServerID.(string); !serverIDPattern.MatchString(sid) {
			t.Errorf("%s: the C module's Server-ID %v is not of the form %s", m.kind, c.ServerID, serverIDPattern)
		}
		if o.ServerID != ourServerID {
			t.Errorf("%s: our Server-ID %v, want %s", m.kind, o.ServerID, ourServerID)
		}
		if !sameWire(c, o) {
			t.Errorf("%s differs:\nC    %+v\nours %+v", m.kind, c, o)
		}
	}
	t.Logf("%d message types compared; the C module's Server-IDs: %q", len(exampleMessages), cServerIDs)
	for i, body := range rawServerIDs {
		c, o := cRaw[i], ourRaw[i]
		var sent map[string]any
		_ = json.Unmarshal([]byte(body), &sent)
		want, set := sent["Server-ID"]
		if set && !reflect.DeepEqual(o.ServerID, want) {
			t.Errorf("%s: our Server-ID %v, want the script's %v kept", body, o.ServerID, want)
		}
		if set && want == nil {
			// known difference: json-c reads a null member as absent, so the C module sets
			// its Server-ID in its place; ours keeps what the script wrote, as for every
			// default key (payload.AddMissing)
			if sid, _ := c.ServerID.(string); !serverIDPattern.MatchString(sid) {
				t.Errorf("%s: the C module's Server-ID %v, want its own in place of null", body, c.ServerID)
			}
			continue
		}
		if !sameWire(c, o) {
			t.Errorf("%s differs:\nC    %+v\nours %+v", body, c, o)
		}
	}
}

// checkServerIDQueue checks, with either module running, that the queue of ourServerID
// is consumed, declared as ours declares it (a declaration with other flags would fail:
// 406) and bound to targeted with ourServerID.
func checkServerIDQueue(t *testing.T, r *harness.Rabbit) {
	t.Helper()
	const queue = "kamailio@sid.kazoo.test-<1-0>"
	cmWaitQueue(t, r, queue, "consumed", 20*time.Second, func(q cmQueue) bool { return q.consumers > 0 })
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, false, true, false, false, nil); err != nil {
		t.Errorf("queue %s is not declared as ours declares it: %v", queue, err)
	}
	ch.Close()
	if cmPublishMandatory(t, conn, "targeted", ourServerID, `{"Event-Category": "e2e", "Event-Name": "probe"}`) {
		t.Errorf("nothing bound to exchange targeted with routing key %s", ourServerID)
	}
}

// waitPublishes waits until kazoo_publish returns 1 (the C module's publisher connects
// after start; until then its kazoo_publish returns 0 and the route ends without a reply).
func waitPublishes(t *testing.T, k *harness.Kamailio) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, err := harness.TrySipRequest(k.SipPort(), "MESSAGE", "warmup", map[string]string{"X-Kind": "warmup"}, "", time.Second)
		if err == nil && h["x-rc"] == "1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kazoo_publish does not return 1 after 20 s (%v, %v)\n%s", h, err, k.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wireOf reads a delivery for the comparison, with the values that must differ between
// two runs normalised: a generated Msg-ID, the SIP request's Call-ID, times, ports and
// process ids, Server-ID (checked apart).
func wireOf(t *testing.T, d amqp.Delivery, callID string) wireMessage {
	t.Helper()
	w := wireMessage{Exchange: d.Exchange, RoutingKey: d.RoutingKey, ContentType: d.ContentType, MessageID: d.MessageId,
		Transient: d.DeliveryMode != amqp.Persistent, Headers: map[string]any{}}
	norm := func(v any) any {
		if s, ok := v.(string); ok && callID != "" {
			return strings.ReplaceAll(s, callID, "<call-id>")
		}
		return v
	}
	for k, v := range d.Headers {
		w.Headers[k] = norm(v)
	}
	keys, err := topLevelKeys(d.Body)
	if err != nil {
		t.Fatalf("published body: %v: %s", err, d.Body)
	}
	w.Keys = keys
	if err := json.Unmarshal(d.Body, &w.Values); err != nil {
		t.Fatalf("published body: %v: %s", err, d.Body)
	}
	w.ServerID = w.Values["Server-ID"]
	for k, v := range w.Values {
		w.Values[k] = norm(v)
	}
	if id, _ := w.Values["Msg-ID"].(string); uuidPattern.MatchString(id) {
		w.Values["Msg-ID"] = "<uuid>"
	}
	if sid, _ := w.Values["Server-ID"].(string); serverIDPattern.MatchString(sid) {
		w.Values["Server-ID"] = "<server-id>"
	}
	for _, k := range []string{"Event-Timestamp", "Network-Port", "Pid"} {
		if _, ok := w.Values[k]; ok {
			w.Values[k] = fmt.Sprintf("<%T>", w.Values[k])
		}
	}
	return w
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// topLevelKeys lists the keys of a JSON object in order.
func topLevelKeys(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object (%v)", err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}
