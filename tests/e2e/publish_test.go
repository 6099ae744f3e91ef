package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// withDefaults completes the template values of publishCfg.
func withDefaults(r *harness.Rabbit, extra map[string]any) map[string]any {
	if extra == nil {
		extra = map[string]any{}
	}
	if _, ok := extra["URL"]; !ok {
		extra["URL"] = r.URL()
	}
	for key, def := range map[string]any{"Params": "", "Daemon": false, "Timer": false} {
		if _, ok := extra[key]; !ok {
			extra[key] = def
		}
	}
	return extra
}

func startPublisher(t *testing.T, r *harness.Rabbit, extra map[string]any) *harness.Kamailio {
	t.Helper()
	return harness.StartKamailio(t, publishCfg, harness.KamailioOpts{Module: modulePath, Extra: withDefaults(r, extra)})
}

func publish(t *testing.T, k *harness.Kamailio, exchange, rk, headers, body string) string {
	t.Helper()
	h := map[string]string{"X-Exchange": exchange, "X-Routing-Key": rk}
	if headers != "" {
		h["X-Amqp-Headers"] = headers
	}
	rep := sipRequest(t, k.SipPort(), "MESSAGE", "pub", h, body)
	if rep.Code != 200 {
		t.Fatalf("SIP reply %d", rep.Code)
	}
	return rep.Headers["x-rc"]
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("published body is not strict JSON: %v: %s", err, body)
	}
	return m
}

// The wire format of a publish: exchange, routing key, AMQP headers, content type, the
// payload's own keys and the Kazoo default keys added when absent.
func TestPublishWireFormat(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_e2e", "topic", "wire.#")
	k := startPublisher(t, r, nil)

	if rc := publish(t, k, "kazoo_e2e", "wire.one", "x-a=1;x-b=two", `{"Event-Category":"test","Event-Name":"wire","Nested":{"Msg-ID":"inner"}}`); rc != "1" {
		t.Fatalf("kazoo_publish returned %q, want 1\n%s", rc, k.Log())
	}
	d, ok := q.Next(t, 5*time.Second)
	if !ok {
		t.Fatal("no message arrived")
	}
	if d.Exchange != "kazoo_e2e" || d.RoutingKey != "wire.one" || d.ContentType != "application/json" {
		t.Errorf("exchange %q routing key %q content type %q", d.Exchange, d.RoutingKey, d.ContentType)
	}
	if d.Headers["x-a"] != "1" || d.Headers["x-b"] != "two" {
		t.Errorf("headers %v", d.Headers)
	}
	m := decode(t, d.Body)
	if m["Event-Category"] != "test" || m["App-Name"] != "kamailio" || m["App-Version"] != harness.KamailioVersion(t) ||
		m["Node"] != "kamailio@e2e.kazoo.test" {
		t.Errorf("body %s", d.Body)
	}
	if id, _ := m["Msg-ID"].(string); len(id) != 36 || strings.ToLower(id) != id {
		t.Errorf("Msg-ID %q is not a lowercase UUID", m["Msg-ID"])
	}
	if !strings.HasPrefix(string(d.Body), `{"Event-Category":"test","Event-Name":"wire"`) {
		t.Errorf("the payload's own keys must stay first, in order: %s", d.Body)
	}

	// keys the script sets are kept, not replaced; single quotes are accepted (json-c dialect)
	if rc := publish(t, k, "kazoo_e2e", "wire.two", "", `{'Msg-ID':'mine', 'App-Name':'myapp', /* c */ 'List':[1,2,],}`); rc != "1" {
		t.Fatalf("kazoo_publish returned %q\n%s", rc, k.Log())
	}
	d, ok = q.Next(t, 5*time.Second)
	if !ok {
		t.Fatal("no message arrived")
	}
	m = decode(t, d.Body)
	if m["Msg-ID"] != "mine" || m["App-Name"] != "myapp" || m["Node"] != "kamailio@e2e.kazoo.test" {
		t.Errorf("body %s", d.Body)
	}
	if len(d.Headers) != 0 {
		t.Errorf("unexpected headers %v", d.Headers)
	}

	// consumer://<broker id>/<key>, the Server-ID form of consumed messages: publish through
	// that broker with the key after the prefix
	if rc := publish(t, k, "kazoo_e2e", "consumer://1/wire.consumer", "", `{"a":1}`); rc != "1" {
		t.Fatalf("kazoo_publish to consumer://1/ returned %q\n%s", rc, k.Log())
	}
	if d, ok = q.Next(t, 5*time.Second); !ok || d.RoutingKey != "wire.consumer" {
		t.Fatalf("consumer:// publish arrived: %v with routing key %q", ok, d.RoutingKey)
	}
	if rc := publish(t, k, "kazoo_e2e", "consumer://7/wire.x", "", `{"a":1}`); rc != "-1" {
		t.Fatalf("kazoo_publish to an unknown broker returned %q", rc)
	}
}

// Bad input gets -1 and one clear log line; Kamailio keeps serving and later publishes work.
func TestPublishBadInput(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_e2e", "topic", "bad.#")
	k := startPublisher(t, r, nil)
	cases := []struct {
		name, exchange, rk, body, log string
	}{
		{"malformed", "kazoo_e2e", "bad.json", `{"a":`, "payload is not valid JSON"},
		{"not an object", "kazoo_e2e", "bad.array", `[1,2]`, "payload must be a JSON object"},
		{"empty", "kazoo_e2e", "bad.empty", ``, "payload is not valid JSON"},
		{"huge", "kazoo_e2e", "bad.huge", `{"x":"` + strings.Repeat("y", 5000) + `"}`, "larger than amqp_max_payload"},
		{"long key", "kazoo_e2e", "bad." + strings.Repeat("k", 300), `{}`, "routing key is 304 bytes long"},
		{"unknown exchange", "no_such_exchange", "bad.x", `{"a":1}`, "NOT_FOUND"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if rc := publish(t, k, c.exchange, c.rk, "", c.body); rc != "-1" {
				t.Fatalf("kazoo_publish returned %q, want -1", rc)
			}
			if !k.WaitLog(t, c.log, 5*time.Second) {
				t.Fatalf("log lacks %q:\n%s", c.log, k.Log())
			}
		})
	}
	// after all that, 20 publishes in a row are confirmed and delivered: no poisoned channel
	for i := 0; i < 20; i++ {
		if rc := publish(t, k, "kazoo_e2e", "bad.after", "", `{"n":1}`); rc != "1" {
			t.Fatalf("publish %d after bad input returned %q\n%s", i, rc, k.Log())
		}
	}
	for i := 0; i < 20; i++ {
		if _, ok := q.Next(t, 5*time.Second); !ok {
			t.Fatalf("only %d of 20 messages arrived", i)
		}
	}
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d", rep.Code)
	}
}

// With no broker reachable Kamailio starts, kazoo_publish fails fast with -1 (never 0,
// which would silently end the script) and SIP keeps being answered.
func TestPublishBrokerUnreachable(t *testing.T) {
	port := harness.FreePort(t)
	k := startPublisher(t, nil, map[string]any{
		"URL":    "amqp://guest:secret@127.0.0.1:" + strconv.Itoa(port) + "/",
		"Params": `modparam("kazoo", "amqp_connect_timeout_sec", 1)`,
	})
	time.Sleep(300 * time.Millisecond) // let the first connect attempts fail
	start := time.Now()
	rc := publish(t, k, "kazoo_e2e", "down.x", "", `{"a":1}`)
	if rc != "-1" {
		t.Fatalf("kazoo_publish returned %q, want -1", rc)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Errorf("failing took %v; it must not wait for a timeout", took)
	}
	if !k.WaitLog(t, "no AMQP broker connected", 5*time.Second) || !k.WaitLog(t, "cannot connect to AMQP broker", 5*time.Second) {
		t.Fatalf("log:\n%s", k.Log())
	}
	if strings.Contains(k.Log(), "secret") {
		t.Errorf("the password appears in the log")
	}
	for i := 0; i < 5; i++ {
		if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
			t.Fatalf("OPTIONS got %d", rep.Code)
		}
	}
}

// The README's main job: scripts/demo.sh (RabbitMQ, examples/kazoo-sim, Kamailio with a
// registrar example, sipp REGISTER with digest auth), here against the test broker and a
// free SIP port, with the synchronous and the asynchronous registrar.
func TestDemoScript(t *testing.T) {
	r := harness.SharedRabbit(t)
	for _, args := range [][]string{nil, {"--async"}} {
		t.Run(strings.Join(append([]string{"demo"}, args...), " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "../../scripts/demo.sh", args...)
			cmd.Env = append(os.Environ(), "AMQP_URL="+r.URL(), "SIP_PORT="+strconv.Itoa(harness.FreePort(t)))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("demo.sh: %v\n%s", err, out)
			}
			for _, want := range []string{"-> 200 OK", "X-Account-ID: ", "req authn_req rk=authn.req.demo.kazoo.test",
				`"Server-ID":"kamailio@registrar.kazoo.local-`, `reply authn_req to=kamailio@registrar.kazoo.local-`, `"Event-Name":"authn_resp"`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("demo output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

// examples/kazoo-publish.cfg as shipped: a SIP MESSAGE becomes an AMQP message on kazoo_demo.
func TestExamplePublishCfg(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_demo", "topic", "demo.message.*")
	cfg, err := os.ReadFile("../../examples/kazoo-publish.cfg")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := "#!define SIP_LISTEN udp:127.0.0.1:{{.SipPort}}\n#!define AMQP_URL \"{{.Extra.URL}}\"\n" +
		"#!define KAZOO_MODULE \"{{.Module}}\"\n#!define CTL_SOCKET \"unix:{{.CtlSocket}}\"\n" + string(cfg)
	k := harness.StartKamailio(t, tmpl, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})
	rep := sipRequest(t, k.SipPort(), "MESSAGE", "bob", nil, `hello "bob", it's me`)
	if rep.Code != 200 {
		t.Fatalf("MESSAGE got %d\n%s", rep.Code, k.Log())
	}
	d, ok := q.Next(t, 5*time.Second)
	if !ok {
		t.Fatal("no AMQP message")
	}
	m := decode(t, d.Body)
	if d.RoutingKey != "demo.message.bob" || m["Event-Name"] != "sip_message" || m["Body"] != `hello "bob", it's me` ||
		m["Node"] != "kamailio@demo.kazoo.local" {
		t.Fatalf("%s %s", d.RoutingKey, d.Body)
	}
}

// make deb: the package installs kazoo.so where Debian's kamailio looks for modules,
// replacing kamailio-kazoo-modules, and `loadmodule "kazoo.so"` loads it; afterwards the
// C module's package is put back.
func TestDebPackage(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("installing a package needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("../../scripts/make-deb.sh", modulePath, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("make-deb: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(string(out))
	// the C module's package, to put back at the end
	dl := exec.Command("apt-get", "download", "kamailio-kazoo-modules")
	dl.Dir = dir
	if out, err := dl.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download kamailio-kazoo-modules: %v\n%s", err, out)
	}
	cDebs, _ := filepath.Glob(filepath.Join(dir, "kamailio-kazoo-modules_*.deb"))
	if len(cDebs) != 1 {
		t.Fatalf("downloaded %v", cDebs)
	}
	t.Cleanup(func() { // ours conflicts with it: remove ours first
		out, err := exec.Command("dpkg", "-r", "kamailio-kazoo-go-modules").CombinedOutput()
		if err == nil {
			out, err = exec.Command("dpkg", "-i", cDebs[0]).CombinedOutput()
		}
		if err != nil {
			t.Errorf("putting the C module back: %v\n%s", err, out)
		}
	})
	if out, err := exec.Command("dpkg", "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "kamailio-kazoo-modules").CombinedOutput(); strings.Contains(string(out), "ok installed") {
		t.Errorf("kamailio-kazoo-modules still installed: %s", out)
	}
	want, _ := os.ReadFile(modulePath)
	got, _ := os.ReadFile(cModulePath)
	if len(want) == 0 || string(want) != string(got) {
		t.Fatalf("%s is not the packaged kazoo.so", cModulePath)
	}
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_e2e", "topic", "deb.#")
	k := harness.StartKamailio(t, publishCfg, harness.KamailioOpts{Module: "kazoo.so", Extra: withDefaults(r, nil)})
	if rc := publish(t, k, "kazoo_e2e", "deb.x", "", `{"a":1}`); rc != "1" {
		t.Fatalf("publish through the installed module: %s\n%s", rc, k.Log())
	}
	if _, ok := q.Next(t, 5*time.Second); !ok {
		t.Fatal("nothing delivered")
	}
	k.Stop(t)
}
