package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// queryLimitsCfg: MESSAGE runs kazoo_query on kz_query_e2e with the routing key of
// X-Routing-Key and the per-call timeout of X-Timeout-Ms ($avp(kz_timeout)); with X-Bad the
// exchange parameter fails to evaluate (X-Bad twice does not fit the pv buffer). The reply
// tells X-Rc and whether $kzR is null.
var queryLimitsCfg = harness.CfgHead{Children: 2, TCP: true, Core: []string{"pv_buffer_size=1024"},
	Modules: "sl pv textops"}.String() + `modparam("kazoo", "node_hostname", "e2e.kazoo.test")
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
	if (is_present_hf("X-Bad")) {
		$var(rc) = kazoo_query("$hdr(X-Bad)$hdr(X-Bad)", "$hdr(X-Routing-Key)", $rb);
	} else {
		$var(rc) = kazoo_query("kz_query_e2e", "$hdr(X-Routing-Key)", $rb);
	}
	if ($kzR == $null) {
		$var(null) = "yes";
	} else {
		$var(null) = "no";
	}
	append_to_reply("X-Rc: $var(rc)\r\nX-KzR-Null: $var(null)\r\n");
	sl_send_reply("200", "Queried");
	exit;
}
`

func limitQuery(t *testing.T, k *harness.Kamailio, rk string, hdrs map[string]string) (rc, null string, took time.Duration) {
	t.Helper()
	h := map[string]string{"X-Routing-Key": rk}
	for k, v := range hdrs {
		h[k] = v
	}
	start := time.Now()
	rep := sipRequest(t, k.SipPort(), "MESSAGE", "query", h, `{"Event-Category":"test","Event-Name":"limits"}`)
	if rep.Code != 200 {
		t.Fatalf("SIP reply %d", rep.Code)
	}
	return rep.Headers["x-rc"], rep.Headers["x-kzr-null"], time.Since(start)
}

// A per-call timeout far beyond the documented maximum (or negative) neither hangs the
// worker nor fails oddly: it is taken as a day (or ignored) with a warning, the queries get
// their answers, and OPTIONS is answered while both SIP workers query. A kazoo_query whose
// parameter fails to evaluate leaves $kzR null, not the previous reply.
func TestQueryTimeoutLimits(t *testing.T) {
	r := harness.SharedRabbit(t)
	startResponder(t, r, "kz_query_e2e", "limits.ok", echo(0))
	startResponder(t, r, "kz_query_e2e", "limits.slow", echo(300*time.Millisecond))
	k := harness.StartKamailio(t, queryLimitsCfg, harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": r.URL()}})

	for _, c := range []struct{ ms, warn string }{
		{"2147483647", "amqp_query_timeout_avp is 2147483647 ms: above the maximum, 86400000 ms is used"},
		{"-5", "amqp_query_timeout_avp is -5 ms: not a timeout, amqp_query_timeout_sec/_micro is used"},
	} {
		t.Run(c.ms, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan string, 8)
			for i := 0; i < 4; i++ { // more than the SIP workers: each waits for a reply
				wg.Add(1)
				go func() {
					defer wg.Done()
					if rc, _, took := limitQuery(t, k, "limits.slow", map[string]string{"X-Timeout-Ms": c.ms}); rc != "1" || took > 5*time.Second {
						errs <- fmt.Sprintf("slow query: rc %s after %v", rc, took)
					}
				}()
			}
			time.Sleep(100 * time.Millisecond)
			if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
				t.Errorf("OPTIONS got %d while the workers query", rep.Code)
			}
			// unroutable: fails at once whatever the timeout
			if rc, _, took := limitQuery(t, k, "limits.nobody", map[string]string{"X-Timeout-Ms": c.ms}); rc != "-1" || took > 2*time.Second {
				t.Errorf("unroutable query: rc %s after %v", rc, took)
			}
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			if !k.WaitLog(t, c.warn, 2*time.Second) {
				t.Errorf("log lacks %q", c.warn)
			}
		})
	}

	t.Run("stale $kzR", func(t *testing.T) {
		for i := 0; i < 4; i++ { // reach both SIP workers: each has its own $kzR
			if rc, null, _ := limitQuery(t, k, "limits.ok", nil); rc != "1" || null != "no" {
				t.Fatalf("query: rc %s, $kzR null %s", rc, null)
			}
		}
		for i := 0; i < 4; i++ {
			rc, null, _ := limitQuery(t, k, "limits.ok", map[string]string{"X-Bad": strings.Repeat("x", 600)})
			if rc != "-1" || null != "yes" {
				t.Fatalf("query with a parameter that fails to evaluate: rc %s, $kzR null %s (the previous reply kept)", rc, null)
			}
		}
		if !strings.Contains(k.Log(), "cannot evaluate the exchange parameter") {
			t.Errorf("no log line for the parameter:\n%s", k.Log())
		}
	})
}
