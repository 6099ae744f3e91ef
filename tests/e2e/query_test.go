package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

type queryResult struct {
	rc          string
	kzR, target map[string]any
	kzRRaw, pid string
	took        time.Duration
}

func query(t *testing.T, k *harness.Kamailio, form, exchange, rk, body string, hdrs map[string]string) queryResult {
	t.Helper()
	h := map[string]string{"X-Query": form, "X-Exchange": exchange, "X-Routing-Key": rk}
	for k, v := range hdrs {
		h[k] = v
	}
	start := time.Now()
	rep := sipRequest(t, k.SipPort(), "MESSAGE", "query", h, body)
	res := queryResult{rc: rep.Headers["x-rc"], pid: rep.Headers["x-pid"], took: time.Since(start)}
	if rep.Code != 200 {
		t.Fatalf("SIP reply %d", rep.Code)
	}
	if raw := rep.Headers["x-kzr"]; raw != "null" {
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			t.Fatalf("X-KzR %q: %v", raw, err)
		}
		res.kzRRaw = string(b)
		res.kzR = decode(t, b)
	}
	if b, _ := base64.StdEncoding.DecodeString(rep.Headers["x-target"]); string(b) != "unset" && len(b) > 0 {
		res.target = decode(t, b)
	}
	return res
}

// Every form of kazoo_query gets its reply: $kzR, the target variable, AMQP headers, the
// fork's flags; the request carries what Kazoo needs to answer (Server-ID, Msg-ID, ...).
func TestQueryForms(t *testing.T) {
	r := harness.SharedRabbit(t)
	startResponder(t, r, "kz_query_e2e", "forms.#", echo(0))
	k := startPublisher(t, r, nil)
	// "ro-int": a read-only variable holding a number, like the fork's "$def(FLAGS)": flags
	for _, form := range []string{"3", "4", "5", "flags", "ro-int"} {
		t.Run(form, func(t *testing.T) {
			res := query(t, k, form, "kz_query_e2e", "forms.ping", `{'Event-Category':'test','Event-Name':'ping'}`,
				map[string]string{"X-Amqp-Headers": "x-tenant=t1"})
			if res.rc != "1" {
				t.Fatalf("kazoo_query returned %q\n%s", res.rc, k.Log())
			}
			if res.kzR["Event-Name"] != "pong" || res.kzR["AMQP-Broker-Zone"] != "local" {
				t.Fatalf("$kzR = %s", res.kzRRaw)
			}
			if _, ok := res.kzR["AMQP-Received"].(float64); !ok {
				t.Errorf("AMQP-Received is not a number: %s", res.kzRRaw)
			}
			req := res.kzR["Request"].(map[string]any)
			if sid, _ := req["Server-ID"].(string); sid != fmt.Sprintf("kamailio@e2e.kazoo.test-%s-1", res.pid) {
				t.Errorf("Server-ID %q, pid %s", sid, res.pid)
			}
			if req["Msg-ID"] != res.kzR["Msg-ID"] || req["App-Name"] != "kamailio" || req["Node"] != "kamailio@e2e.kazoo.test" {
				t.Errorf("request %v", req)
			}
			wantTarget := form == "4" || form == "5"
			if wantTarget != (res.target != nil) {
				t.Errorf("target variable set: %v, want %v", res.target != nil, wantTarget)
			}
			if wantTarget && res.target["Msg-ID"] != res.kzR["Msg-ID"] {
				t.Errorf("target %v differs from $kzR", res.target)
			}
			hdrs, _ := res.kzR["Headers"].(map[string]any)
			if (form == "5") != (hdrs["x-tenant"] == "t1") {
				t.Errorf("AMQP headers seen by the responder: %v", hdrs)
			}
		})
	}
	// a script-supplied Msg-ID is honoured: the reply is matched on it
	res := query(t, k, "3", "kz_query_e2e", "forms.mine", `{"Event-Name":"ping","Msg-ID":"my-own-id"}`, nil)
	if res.rc != "1" || res.kzR["Msg-ID"] != "my-own-id" {
		t.Fatalf("rc %s, $kzR %s", res.rc, res.kzRRaw)
	}
}

// Failures return -1 with $kzR null and one log line; fast where nothing can answer; a late
// reply is never taken for the next query's.
func TestQueryFailures(t *testing.T) {
	r := harness.SharedRabbit(t)
	startResponder(t, r, "kz_query_e2e", "slow.#", echo(800*time.Millisecond))
	startResponder(t, r, "kz_query_e2e", "broken.nomsgid", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		return []byte(`{"Event-Name":"no id here"}`), 0
	})
	startResponder(t, r, "kz_query_e2e", "broken.notjson", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		return []byte(`<xml>` + fmt.Sprint(req["Msg-ID"]) + `</xml>`), 0
	})
	startResponder(t, r, "kz_query_e2e", "broken.huge", func(req map[string]any, d amqp.Delivery) ([]byte, time.Duration) {
		return []byte(fmt.Sprintf(`{"Msg-ID":%q,"Pad":%q}`, req["Msg-ID"], strings.Repeat("x", 6000))), 0
	})
	startResponder(t, r, "kz_query_e2e", "ok.#", echo(0))
	k := startPublisher(t, r, nil)
	timeout := map[string]string{"X-Timeout-Ms": "300"}

	res := query(t, k, "3", "kz_query_e2e", "slow.x", `{"Event-Name":"slow"}`, timeout)
	if res.rc != "-1" || res.kzR != nil {
		t.Fatalf("slow reply: rc %s, $kzR %s", res.rc, res.kzRRaw)
	}
	if res.took < 250*time.Millisecond || res.took > 700*time.Millisecond {
		t.Errorf("the 300 ms timeout (amqp_query_timeout_avp, in ms) took %v", res.took)
	}
	if !k.WaitLog(t, "no reply within the timeout", 2*time.Second) {
		t.Errorf("no timeout log line:\n%s", k.Log())
	}
	// the late reply arrives while the next queries run: each gets its own
	for i := 0; i < 10; i++ {
		res = query(t, k, "3", "kz_query_e2e", "ok.x", fmt.Sprintf(`{"Event-Name":"ok","N":%d}`, i), nil)
		if res.rc != "1" || res.kzR["Request"].(map[string]any)["N"] != float64(i) {
			t.Fatalf("query %d after a timeout: rc %s, $kzR %s", i, res.rc, res.kzRRaw)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for _, c := range []struct{ name, rk, log string }{
		{"reply without Msg-ID", "broken.nomsgid", "without a Msg-ID"},
		{"reply not JSON", "broken.notjson", "without a Msg-ID (or not JSON)"},
		{"reply too large", "broken.huge", "larger than amqp_max_payload"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := query(t, k, "4", "kz_query_e2e", c.rk, `{"Event-Name":"x"}`, timeout)
			if res.rc != "-1" || res.kzR != nil || res.target != nil {
				t.Fatalf("rc %s, $kzR %s, target %v", res.rc, res.kzRRaw, res.target)
			}
			if !k.WaitLog(t, c.log, 2*time.Second) {
				t.Fatalf("log lacks %q:\n%s", c.log, k.Log())
			}
		})
	}

	t.Run("read-only target", func(t *testing.T) {
		res := query(t, k, "ro-str", "kz_query_e2e", "ok.x", `{"Event-Name":"x"}`, nil)
		if res.rc != "-1" || res.kzR != nil {
			t.Fatalf("rc %s, $kzR %s", res.rc, res.kzRRaw)
		}
		if !k.WaitLog(t, "the 4th parameter '$ci' is neither a writable variable", 2*time.Second) {
			t.Fatalf("log:\n%s", k.Log())
		}
	})
	t.Run("nobody bound", func(t *testing.T) {
		res := query(t, k, "3", "kz_query_e2e", "nobody.listens", `{"Event-Name":"x"}`, nil)
		if res.rc != "-1" {
			t.Fatalf("rc %s", res.rc)
		}
		if res.took > 150*time.Millisecond {
			t.Errorf("an unroutable request took %v: it must fail at once, not after the timeout", res.took)
		}
		if !k.WaitLog(t, "returned the request: 312 NO_ROUTE", 2*time.Second) {
			t.Fatalf("log:\n%s", k.Log())
		}
	})
	t.Run("unknown exchange", func(t *testing.T) {
		res := query(t, k, "3", "kz_no_such_exchange", "x", `{"Event-Name":"x"}`, nil)
		if res.rc != "-1" || res.took > 150*time.Millisecond {
			t.Fatalf("rc %s after %v", res.rc, res.took)
		}
	})
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d", rep.Code)
	}
}

// Every SIP worker queries at once, many times: each query gets its own reply.
func TestQueryConcurrent(t *testing.T) {
	r := harness.SharedRabbit(t)
	startResponder(t, r, "kz_query_e2e", "many.#", echo(5*time.Millisecond))
	k := startPublisher(t, r, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				res := query(t, k, "3", "kz_query_e2e", "many.x", fmt.Sprintf(`{"G":%d,"I":%d}`, g, i), nil)
				req, _ := res.kzR["Request"].(map[string]any)
				if res.rc != "1" || req["G"] != float64(g) || req["I"] != float64(i) {
					errs <- fmt.Sprintf("g %d i %d: rc %s, $kzR %s", g, i, res.rc, res.kzRRaw)
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

// With no broker reachable, kazoo_query fails at once instead of holding the worker.
func TestQueryBrokerUnreachable(t *testing.T) {
	port := harness.FreePort(t)
	k := startPublisher(t, nil, map[string]any{"URL": fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port)})
	time.Sleep(300 * time.Millisecond)
	res := query(t, k, "3", "kz_query_e2e", "x", `{"Event-Name":"x"}`, nil)
	if res.rc != "-1" || res.took > 100*time.Millisecond {
		t.Fatalf("rc %s after %v", res.rc, res.took)
	}
}
