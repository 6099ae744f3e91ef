//go:build bench

package bench

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// One SIP request makes one SIP worker publish X-N messages in a loop, each waiting for the
// module's answer (with our module: the broker's confirm). The reply carries the elapsed
// time and the failures.
var publishCfg = harness.CfgHead{Debug: 1, Children: 2, Core: []string{"max_while_loops=1000000"},
	Modules: "tm sl pv textops"}.String() + `modparam("kazoo", "node_hostname", "bench.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
{{.Extra.Params}}
request_route {
	if ($rU != "bench") { sl_send_reply("200", "OK"); exit; }
	$var(n) = $(hdr(X-N){s.int});
	$var(i) = 0;
	$var(fail) = 0;
	$var(s0) = $TV(sn);
	$var(u0) = $TV(un);
	while ($var(i) < $var(n)) {
		if (kazoo_publish("kazoo_bench", "bench.publish", "{\"Event-Category\":\"bench\",\"Event-Name\":\"publish\",\"Seq\":$var(i),\"Call-ID\":\"$ci\"}") != 1) {
			$var(fail) = $var(fail) + 1;
		}
		$var(i) = $var(i) + 1;
	}
	$var(us) = ($TV(sn) - $var(s0)) * 1000000 + ($TV(un) - $var(u0));
	append_to_reply("X-Us: $var(us)\r\nX-Fail: $var(fail)\r\nX-Pid: $pp\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

// pubResult: one SIP worker publishing N messages back to back, each confirmed.
type pubResult struct {
	perSec, kamUs, brokerUs float64
	failed, delivered       int
	workerPssKB, idlePssKB  float64 // the publishing worker; another SIP worker that did not publish
	workerPssSettledKB      float64 // the publishing worker, settleTime later
	crash                   bool
}

func runPublish(t *testing.T, r *harness.Rabbit, module string, n int) *pubResult {
	res := &pubResult{perSec: nan, kamUs: nan, brokerUs: nan, workerPssKB: nan, idlePssKB: nan, workerPssSettledKB: nan}
	q := r.Bind(t, "kazoo_bench", "topic", "bench.#")
	k := harness.StartKamailio(t, publishCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Params": goParams(module)}})
	defer func() { k.Stop(t); res.crash = res.crash || k.Crashed() }()
	time.Sleep(500 * time.Millisecond) // connections up
	send := func(n int) map[string]string {
		h, err := harness.TrySipRequest(k.SipPort(), "OPTIONS", "bench", map[string]string{"X-N": strconv.Itoa(n)}, "", 10*time.Minute)
		if err != nil {
			t.Logf("publish %s: %v", modName(module), err)
			res.crash = !k.Alive()
			return nil
		}
		return h
	}
	if send(200) == nil { // warm-up
		return res
	}
	ps := procs(k)
	c0, b0 := kamCPU(ps), cpuNs(r.PID())
	rep := send(n)
	if rep == nil {
		return res
	}
	c1, b1 := kamCPU(ps), cpuNs(r.PID())
	us, _ := strconv.Atoi(rep["x-us"])
	res.failed, _ = strconv.Atoi(rep["x-fail"])
	pid, _ := strconv.Atoi(rep["x-pid"])
	res.perSec = float64(n) / (float64(us) / 1e6)
	res.kamUs, res.brokerUs = usPer(c1-c0, n), usPer(b1-b0, n)
	deadline := time.Now().Add(30 * time.Second)
	for q.Count() < n+200-res.failed && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	res.delivered = q.Count() - 200
	for _, p := range procs(k) {
		if p.pid == pid {
			res.workerPssKB = float64(p.pssKB)
		} else if p.kind == "udp receiver" {
			res.idlePssKB = float64(p.pssKB)
		}
	}
	time.Sleep(settleTime)
	for _, p := range procs(k) {
		if p.pid == pid {
			res.workerPssSettledKB = float64(p.pssKB)
		}
	}
	t.Logf("publish %s: %.0f/s, %d failed, %d delivered", modName(module), res.perSec, res.failed, res.delivered)
	return res
}

// TestPublishBench: the publish rows of the table only.
func TestPublishBench(t *testing.T) { runTable(t, map[string]bool{"publish": true}) }
