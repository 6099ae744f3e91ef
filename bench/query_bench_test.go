//go:build bench

package bench

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Each SIP request runs one kazoo_query (3 arguments: the only form the C module of 5.6.3
// survives): a channel_status_req answered by examples/kazoo-sim, in its own process, as
// Kazoo answers (targeted exchange, routing key = Server-ID, same Msg-ID).
//
// Why `$var(ex) + ""` and a statement: the C module's 3-argument kazoo_query
// (kz_amqp_query_ex) reads a 4th argument, headers, that Kamailio does not pass, so it
// dereferences whatever the register holds. Called with constant parameters (do_action's
// MODULE3_T path), as `if (kazoo_query(…) == 1)` or as a statement, in a route or not, Debian's
// 5.6.3 crashes in get_str_fparam on the very first query, every time; with an expression
// parameter (MODULE3_RVE_T) the register happens to be harmless and it answers. The same cfg
// runs against both modules.
var queryCfg = harness.CfgHead{Debug: 1, Core: []string{"children={{.Extra.Workers}}"},
	Modules: "tm sl pv textops"}.String() + `modparam("kazoo", "node_hostname", "bench.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
{{.Extra.Params}}
request_route {
	if ($rU != "q") { sl_send_reply("200", "OK"); exit; }
	$var(ex) = "callevt";
	kazoo_query($var(ex) + "", "call.status_req.bench", "{\"Event-Category\":\"call_event\",\"Event-Name\":\"channel_status_req\",\"Call-ID\":\"$ci\"}");
	if ($rc == 1) {
		sl_send_reply("200", "OK");
	} else {
		sl_send_reply("500", "Query failed");
	}
	exit;
}
`

// qresult is one module's query run: a fixed rate for latency and CPU, then a closed loop
// for the maximum. Figures of a phase during which Kamailio died are NaN, except the
// maximum, which is then the rate until the crash.
type qresult struct {
	fixed, max                loadResult
	sipOnly                   loadResult // the same rate of requests the route answers without a query
	sipKamUs                  float64    // Kamailio CPU µs per such request
	switchesPerQuery          float64    // voluntary context switches of all Kamailio threads per query
	kamUs, brokerUs, simUs    float64    // CPU µs per answered query at the fixed rate
	maxKamUs, maxBrokerUs     float64    // the same during the closed loop
	maxSimUs, maxGenUs        float64    // responder and load generator (this process) at the maximum
	idleMsPerSec              float64    // Kamailio's CPU with no traffic, ms per second
	settleMs                  float64    // Kamailio's CPU in the settleTime right after the warm-up, ms
	mem                       memSnapshot
	memOK                     bool
	memSettled                memSnapshot // settleTime after the maximum phase
	memSettledOK              bool
	diedFixed, diedMax, crash bool
}

// runQuery measures one module; sim is the responder's pid (its CPU is counted).
func runQuery(t *testing.T, r *harness.Rabbit, sim *simProc, module string, c benchConfig) *qresult {
	k := harness.StartKamailio(t, queryCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Params": goParams(module), "Workers": c.workers}})
	res := &qresult{kamUs: nan, brokerUs: nan, simUs: nan, maxKamUs: nan, maxBrokerUs: nan, idleMsPerSec: nan, settleMs: nan, sipKamUs: nan,
		maxSimUs: nan, maxGenUs: nan, switchesPerQuery: nan}
	l, err := newSipLoad(k.SipPort(), "q", k.Alive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	time.Sleep(time.Second)     // connections up (the C module has no sign of it)
	l.closedLoop(1, c.warmup/4) // warm-up: one at a time first,
	l.fixedRate(100, c.warmup)  // then at 100/s: connections, reply queues, first allocations
	ps := procs(k)
	// what the processes do once the warm-up is over (ours: each Go process gives its freed
	// heap back, about 1.5 ms of CPU), then no traffic: what Kamailio costs per second anyway
	// (timers, pollers)
	s0 := kamCPU(ps)
	time.Sleep(settleTime)
	i0, idle := kamCPU(ps), time.Now()
	idleBefore := make([]map[string]threadStat, len(ps))
	for i, p := range ps {
		idleBefore[i] = threadStats(p.pid)
	}
	time.Sleep(c.idleDur)
	if os.Getenv("BENCH_THREADS") == "1" {
		for i, p := range ps {
			logThreadDiff(t, modName(module)+" idle "+p.kind, p.pid, idleBefore[i], threadStats(p.pid), 1)
		}
	}
	if k.Alive() {
		res.settleMs = float64(i0-s0) / 1e6
		res.idleMsPerSec = float64(kamCPU(ps)-i0) / 1e6 / time.Since(idle).Seconds()
	}
	// SIP alone: what Kamailio and the load generator cost without any kazoo call (the
	// route answers users other than "q" at once), at the same rate
	if plain, err := newSipLoad(k.SipPort(), "plain", k.Alive); err == nil {
		k0 := kamCPU(ps)
		res.sipOnly = plain.fixedRate(c.rate, c.latDur/2)
		if k.Alive() {
			res.sipKamUs = usPer(kamCPU(ps)-k0, res.sipOnly.ok)
		}
		plain.Close()
	}
	c0, b0, s0 := kamCPU(ps), cpuNs(r.PID()), cpuNs(sim.pid)
	var pids []int
	for _, p := range ps {
		pids = append(pids, p.pid)
	}
	perfDone := perfRecord(t, fmt.Sprintf("query-%s-%d", modName(module), time.Now().Unix()),
		append(pids, r.PID(), sim.pid), c.latDur)
	before := make([]map[string]threadStat, len(ps))
	for i, p := range ps {
		before[i] = threadStats(p.pid)
	}
	res.fixed = l.fixedRate(c.rate, c.latDur)
	var switches int64
	for i, p := range ps {
		after := threadStats(p.pid)
		switches += sumSwitches(after) - sumSwitches(before[i])
		if os.Getenv("BENCH_THREADS") == "1" {
			logThreadDiff(t, modName(module)+" "+p.kind, p.pid, before[i], after, res.fixed.ok)
		}
	}
	perfDone()
	c1, b1, s1 := kamCPU(ps), cpuNs(r.PID()), cpuNs(sim.pid)
	// a process that vanished (a crashed child is reaped while Kamailio shuts down) makes
	// the phase's figures meaningless: its CPU is no longer counted
	res.diedFixed = res.fixed.died || !allAlive(ps)
	if !res.diedFixed {
		res.kamUs, res.brokerUs, res.simUs = usPer(c1-c0, res.fixed.ok), usPer(b1-b0, res.fixed.ok), usPer(s1-s0, res.fixed.ok)
		res.switchesPerQuery = float64(switches) / float64(max(res.fixed.ok, 1))
		res.mem, res.memOK = snapshotMem(procs(k))
		c2, b2, s2, g2 := kamCPU(ps), cpuNs(r.PID()), cpuNs(sim.pid), cpuNs(os.Getpid())
		res.max = l.closedLoop(c.outstanding(), c.maxDur)
		res.diedMax = res.max.died || !allAlive(ps)
		if !res.diedMax {
			res.maxKamUs, res.maxBrokerUs = usPer(kamCPU(ps)-c2, res.max.ok), usPer(cpuNs(r.PID())-b2, res.max.ok)
			res.maxSimUs, res.maxGenUs = usPer(cpuNs(sim.pid)-s2, res.max.ok), usPer(cpuNs(os.Getpid())-g2, res.max.ok)
			time.Sleep(settleTime)
			if allAlive(ps) {
				res.memSettled, res.memSettledOK = snapshotMem(procs(k))
			}
		}
	}
	k.Stop(t)
	res.crash = k.Crashed() || res.diedFixed || res.diedMax
	t.Logf("query %s: fixed %d ok %d failed p50 %.3f ms, max %.0f/s (%d failed), crash %v",
		modName(module), res.fixed.ok, res.fixed.failed, pct(res.fixed.lat, .5), res.max.perSec(), res.max.failed, res.crash)
	return res
}

// floorResult is the floor client's run, same phases as runQuery.
type floorResult struct {
	fixed, max      loadResult
	brokerUs, simUs float64
	clientUs        float64 // the floor client's own CPU (this test process) per query, fixed rate
	maxBrokerUs     float64
	maxSimUs        float64
}

func runFloor(t *testing.T, r *harness.Rabbit, sim *simProc, c benchConfig) *floorResult {
	f, err := newFloor(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.fixedRate(100, c.warmup)
	res := &floorResult{}
	b0, s0, c0 := cpuNs(r.PID()), cpuNs(sim.pid), cpuNs(os.Getpid())
	res.fixed = f.fixedRate(c.rate, c.latDur)
	b1, s1, c1 := cpuNs(r.PID()), cpuNs(sim.pid), cpuNs(os.Getpid())
	res.brokerUs, res.simUs = usPer(b1-b0, res.fixed.ok), usPer(s1-s0, res.fixed.ok)
	res.clientUs = usPer(c1-c0, res.fixed.ok)
	res.max = f.closedLoop(c.workers, c.maxDur)
	res.maxBrokerUs, res.maxSimUs = usPer(cpuNs(r.PID())-b1, res.max.ok), usPer(cpuNs(sim.pid)-s1, res.max.ok)
	t.Logf("floor: fixed %d ok p50 %.3f ms, max %.0f/s", res.fixed.ok, pct(res.fixed.lat, .5), res.max.perSec())
	return res
}

func modName(module string) string {
	if module == cModule {
		return "C"
	}
	return "Go"
}

// TestQueryBench: the query rows of the table only.
func TestQueryBench(t *testing.T) { runTable(t, map[string]bool{"query": true}) }
