package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// httpCfg serves Kamailio's RPC as JSON-RPC (jsonrpcs over xhttp) on /RPC and its
// statistics for Prometheus (xhttp_prom) on /metrics; a SIP MESSAGE publishes.
var httpCfg = harness.CfgHead{Children: 1, TCPChildren: 1, Listen: []string{"tcp:127.0.0.1:{{.Extra.HTTPPort}}"}, Core: []string{"http_reply_parse=yes", "tcp_accept_no_cl=yes"},
	Modules: "sl pv kex xhttp jsonrpcs xhttp_prom"}.String() + `modparam("jsonrpcs", "transport", 1)
modparam("xhttp_prom", "xhttp_prom_stats", "all")
modparam("kazoo", "node_hostname", "e2e.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	if (kazoo_publish("kz_http_e2e", "http.pub", "{\"Event-Name\":\"x\"}") == 1) {
		sl_send_reply("200", "Published");
	} else {
		sl_send_reply("500", "Not Published");
	}
}
event_route[xhttp:request] {
	if ($hu =~ "^/RPC") {
		jsonrpc_dispatch();
		exit;
	}
	if (prom_check_uri()) {
		prom_dispatch();
		exit;
	}
	xhttp_reply("404", "Not Found", "text/plain", "");
}
`

// The module's RPC commands answer through jsonrpcs (HTTP) as through kamcmd, and its
// statistics reach Prometheus through xhttp_prom.
func TestRPCAndStatisticsOverHTTP(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kz_http_e2e", "topic", "http.#")
	port := harness.FreePort(t)
	k := harness.StartKamailio(t, httpCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL(), "HTTPPort": port}})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i := 0; i < 3; i++ {
		deadline := time.Now().Add(10 * time.Second)
		for {
			rep := sipRequest(t, k.SipPort(), "MESSAGE", "http", nil, "hi")
			if rep.Code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("MESSAGE got %d\n%s", rep.Code, k.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
		if _, ok := q.Next(t, 5*time.Second); !ok {
			t.Fatalf("publish %d did not arrive", i)
		}
	}

	rpc := func(method string, params ...any) map[string]any {
		t.Helper()
		if params == nil {
			params = []any{} // jsonrpcs answers "params": null with an empty result
		}
		req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
		resp, err := http.Post(base+"/RPC", "application/json", bytes.NewReader(req))
		if err != nil {
			t.Fatalf("%s: %v\n%s", method, err, k.Log())
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s: %v: %s", method, err, body)
		}
		return out
	}
	status := rpc("kazoo.status")
	js, _ := json.Marshal(status["result"])
	if !strings.Contains(string(js), `"open"`) || !strings.Contains(string(js), "udp receiver") {
		t.Fatalf("kazoo.status over JSON-RPC: %s", js)
	}
	if out := rpc("kazoo.subscribe", `{"name": "http-sub", "exchange": "kz_http_in", "type": "topic", "queue": "kz-http-in", "routing": "x.*"}`); out["error"] != nil {
		t.Fatalf("kazoo.subscribe over JSON-RPC: %v", out)
	}
	// the subscription reaches consumer 1 through the control queue, after the RPC answered
	var subs []byte
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		subs, _ = json.Marshal(rpc("kazoo.subscriptions")["result"])
		if strings.Contains(string(subs), "http-sub") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kazoo.subscriptions over JSON-RPC: %s", subs)
		}
	}
	if out := rpc("kazoo.unsubscribe", "http-sub"); out["error"] != nil {
		t.Fatalf("kazoo.unsubscribe over JSON-RPC: %v", out)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	found := false
	for _, line := range strings.Split(string(metrics), "\n") {
		if strings.HasPrefix(line, "kamailio_kazoo_published ") || strings.HasPrefix(line, "kamailio_kazoo_published{") {
			f := strings.Fields(line)
			found = len(f) >= 2 && f[1] != "0"
			if !found {
				t.Errorf("published counter: %q", line)
			}
		}
	}
	if !found {
		t.Fatalf("no kamailio_kazoo_published in /metrics:\n%.3000s", metrics)
	}
	for _, name := range []string{"kamailio_kazoo_query_ok", "kamailio_kazoo_events", "kamailio_kazoo_reconnects"} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("%s missing from /metrics", name)
		}
	}
}
