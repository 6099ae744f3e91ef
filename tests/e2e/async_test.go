package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// asyncCfg suspends each MESSAGE with kazoo_async_query (or its alias with 6 arguments: the
// fork's flags, or AMQP headers; chosen by X-Form) and answers from the route it resumes in.
var asyncCfg = harness.CfgHead{Children: 2,
	Modules: "tm sl pv xlog textops"}.String() + `modparam("kazoo", "node_hostname", "e2e.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_query_timeout_avp", "$avp(kz_timeout)")
request_route {
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (is_present_hf("X-Timeout-Ms")) {
		$avp(kz_timeout) = $(hdr(X-Timeout-Ms){s.int});
	}
	if ($hdr(X-Form) == "6") {
		kazoo_query_async("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "{{.Extra.ReplyRoute}}", "KZ_ASYNC_FAIL", "2048");
	} else if ($hdr(X-Form) == "headers") {
		kazoo_async_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "{{.Extra.ReplyRoute}}", "KZ_ASYNC_FAIL", "$hdr(X-Amqp-Headers)");
	} else {
		kazoo_async_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "{{.Extra.ReplyRoute}}", "KZ_ASYNC_FAIL");
	}
	sl_send_reply("500", "Async query not started");
	exit;
}
# t_continue runs the resumed route as a failure route: what replies lives in a route[]
# (the parser checks onreply_route blocks as reply routes)
onreply_route[KZ_ASYNC_REPLY] {
	route(ASYNC_REPLY);
}
route[ASYNC_REPLY] {
	append_to_reply("X-KzR: $(kzR{s.encode.base64})\r\nX-Pid: $pp\r\n");
	t_reply("200", "Resumed");
}
failure_route[KZ_ASYNC_FAIL] {
	if ($kzR == $null) {
		append_to_reply("X-KzR: null\r\nX-Pid: $pp\r\n");
	} else {
		append_to_reply("X-KzR: $(kzR{s.encode.base64})\r\nX-Pid: $pp\r\n");
	}
	t_reply("503", "Query Failed");
}
`

func startAsync(t *testing.T, r *harness.Rabbit) *harness.Kamailio {
	return harness.StartKamailio(t, asyncCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL(), "ReplyRoute": "KZ_ASYNC_REPLY"}})
}

func asyncQuery(t *testing.T, k *harness.Kamailio, form, rk, body string, hdrs map[string]string) (int, map[string]any, time.Duration) {
	h := map[string]string{"X-Form": form, "X-Exchange": "kz_async_e2e", "X-Routing-Key": rk}
	for k, v := range hdrs {
		h[k] = v
	}
	start := time.Now()
	rep := sipRequest(t, k.SipPort(), "MESSAGE", "async", h, body)
	took := time.Since(start)
	var kzR map[string]any
	if raw := rep.Headers["x-kzr"]; raw != "" && raw != "null" {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			t.Fatalf("X-KzR %q: %v", raw, err)
		}
		kzR = decode(t, b)
	}
	return rep.Code, kzR, took
}

// The transaction is suspended, the worker freed, and the reply resumes it in
// onreply_route with $kzR; a timeout or an error resumes it in failure_route.
func TestAsyncQuery(t *testing.T) {
	r := harness.SharedRabbit(t)
	startResponder(t, r, "kz_async_e2e", "ok.#", echo(0))
	startResponder(t, r, "kz_async_e2e", "slow.#", echo(2*time.Second))
	k := startAsync(t, r)

	for _, form := range []string{"5", "6"} {
		code, kzR, _ := asyncQuery(t, k, form, "ok.x", `{'Event-Name':'ping','Form':'`+form+`'}`, nil)
		if code != 200 || kzR["Event-Name"] != "pong" || kzR["AMQP-Broker-Zone"] != "local" {
			t.Fatalf("form %s: %d, $kzR %v\n%s", form, code, kzR, k.Log())
		}
		if req := kzR["Request"].(map[string]any); req["Form"] != form || req["Server-ID"] == nil {
			t.Fatalf("request %v", req)
		}
	}

	// the 6th argument as AMQP headers, as kazoo_publish's 4th; bad ones fail the query
	code, kzR, _ := asyncQuery(t, k, "headers", "ok.x", `{"Event-Name":"h"}`, map[string]string{"X-Amqp-Headers": "x-zone=east;x-try=2"})
	if h, _ := kzR["Headers"].(map[string]any); code != 200 || h["x-zone"] != "east" || h["x-try"] != "2" {
		t.Fatalf("headers form: %d, $kzR %v\n%s", code, kzR, k.Log())
	}
	code, _, _ = asyncQuery(t, k, "headers", "ok.x", `{"Event-Name":"h"}`, map[string]string{"X-Amqp-Headers": strings.Repeat("n", 300) + "=1"})
	if code != 503 || !k.WaitLog(t, "AMQP header name of 300 bytes is too long", 2*time.Second) {
		t.Fatalf("bad headers: %d\n%s", code, k.Log())
	}

	code, kzR, took := asyncQuery(t, k, "5", "slow.x", `{"Event-Name":"slow"}`, map[string]string{"X-Timeout-Ms": "300"})
	if code != 503 || kzR != nil || took > time.Second {
		t.Fatalf("timeout: %d after %v, $kzR %v", code, took, kzR)
	}
	code, kzR, took = asyncQuery(t, k, "5", "nobody.listens", `{"Event-Category":"c","Event-Name":"x"}`, nil)
	if code != 503 || took > 500*time.Millisecond {
		t.Fatalf("unroutable: %d after %v", code, took)
	}
	// the fork's description of a returned request, which the stock registrar tests for
	if kzR["Event-Name"] != "message_returned" || kzR["Error-Code"] != float64(312) || kzR["Original-Event-Name"] != "x" {
		t.Errorf("unroutable: $kzR in the failure route: %v", kzR)
	}
	code, _, _ = asyncQuery(t, k, "5", "ok.x", `{"broken`, nil)
	if code != 503 || !k.WaitLog(t, "payload is not valid JSON", 2*time.Second) {
		t.Fatalf("bad payload: %d\n%s", code, k.Log())
	}

	// many at once: each transaction resumes with its own reply
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 5; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				code, kzR, _ := asyncQuery(t, k, "5", "ok.x", fmt.Sprintf(`{"G":%d,"I":%d}`, g, i), nil)
				req, _ := kzR["Request"].(map[string]any)
				if code != 200 || req["G"] != float64(g) || req["I"] != float64(i) {
					errs <- fmt.Sprintf("g %d i %d: %d %v", g, i, code, kzR)
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// A route that does not exist is a startup error, not a transaction left suspended.
func TestAsyncQueryUnknownRoute(t *testing.T) {
	r := harness.SharedRabbit(t)
	log := harness.StartKamailioExpectFailure(t, asyncCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL(), "ReplyRoute": "NO_SUCH_ROUTE"}})
	if want := "onreply_route[NO_SUCH_ROUTE] is not defined"; !strings.Contains(log, want) {
		t.Fatalf("log lacks %q:\n%s", want, log)
	}
}
