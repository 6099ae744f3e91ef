//go:build bench

// Package bench compares kazoo.so with the C kazoo module (Debian's kamailio-kazoo-modules)
// in the same run, on the same broker and cfg, and reports ratios. Not part of the test
// command: run it with
//
//	make && go test -tags bench -run . -v -count=1 ./bench/
package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

const cModule = "/usr/lib/x86_64-linux-gnu/kamailio/modules/kazoo.so"

// The URL has no trailing '/': the C module (librabbitmq) reads "amqp://h:p/" as the empty
// vhost, which RabbitMQ refuses; ours, like amqp091-go, takes it as the default vhost "/".

func TestMain(m *testing.M) {
	code := m.Run()
	harness.StopShared()
	os.Exit(code)
}

// One SIP request makes one SIP worker publish X-N messages in a loop, each waiting for the
// module's answer (with our module: the broker's confirm). The reply carries the elapsed
// time and the failures.
const benchCfg = `#!KAMAILIO
debug=1
log_stderror=yes
children=2
disable_tcp=yes
disable_sctp=yes
auto_aliases=no
max_while_loops=1000000
listen=udp:127.0.0.1:{{.SipPort}}
mpath="{{.MPath}}"
loadmodule "ctl.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "textops.so"
loadmodule "{{.Module}}"
modparam("ctl", "binrpc", "unix:{{.CtlSocket}}")
modparam("kazoo", "node_hostname", "bench.kazoo.test")
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

type result struct {
	name           string
	perSec, usEach float64
	failed         int
	cpuMsPer1k     float64 // all Kamailio processes
	workerPssKB    int
	workerAnonKB   int
	idleAnonKB     int // another SIP worker of the same instance, which never published
	workerThreads  int
	totalPssKB     int
	procs          int
	delivered      int
}

func ticks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func cpuTicks(k *harness.Kamailio, t *testing.T) int64 {
	var sum int64
	if !k.Alive() { // a crashed C module: its figures are partial anyway
		return 0
	}
	for _, p := range k.Procs(t) {
		sum += ticks(p.PID)
	}
	return sum
}

func run(t *testing.T, r *harness.Rabbit, name, module string, n int) result {
	params := ""
	if module != cModule {
		params = os.Getenv("BENCH_GO_PARAMS") // e.g. modparam("kazoo", "go_maxprocs", 2)
	}
	q := r.Bind(t, "kazoo_bench", "topic", "bench.#")
	k := harness.StartKamailio(t, benchCfg, harness.KamailioOpts{Module: module, Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Params": params}})
	time.Sleep(500 * time.Millisecond) // connections up
	t.Logf("%s: warm-up", name)
	sip(t, k.SipPort(), 200)
	t.Logf("%s: %d publishes", name, n)
	c0 := cpuTicks(k, t)
	rep := sip(t, k.SipPort(), n)
	c1 := cpuTicks(k, t)
	us, _ := strconv.Atoi(rep["x-us"])
	fail, _ := strconv.Atoi(rep["x-fail"])
	pid, _ := strconv.Atoi(rep["x-pid"])
	res := result{name: name, failed: fail, perSec: float64(n) / (float64(us) / 1e6), usEach: float64(us) / float64(n),
		cpuMsPer1k: float64(c1-c0) * 10 / float64(n) * 1000}
	deadline := time.Now().Add(30 * time.Second)
	for q.Count() < n+200-fail && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	res.delivered = q.Count() - 200
	for _, p := range k.Procs(t) {
		res.totalPssKB += p.PssKB
		res.procs++
		if p.PID == pid {
			res.workerPssKB, res.workerThreads, res.workerAnonKB = p.PssKB, p.Threads, p.RssAnonKB
		} else if strings.Contains(p.Desc, "udp receiver") {
			res.idleAnonKB = p.RssAnonKB
		}
	}
	k.Stop(t)
	return res
}

func sip(t *testing.T, port, n int) map[string]string {
	return harness.SipRequest(t, port, "OPTIONS", "bench", map[string]string{"X-N": strconv.Itoa(n)}, "", 10*time.Minute)
}

func TestPublishBench(t *testing.T) {
	ours := os.Getenv("KAZOO_SO")
	if ours == "" {
		ours, _ = filepath.Abs("../build/kazoo.so")
	}
	n := 10000
	if s := os.Getenv("BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	rounds := 3
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	r := harness.SharedRabbit(t)
	var go_, c []result
	for i := 0; i < rounds; i++ {
		go_ = append(go_, run(t, r, "go", ours, n))
		c = append(c, run(t, r, "c", cModule, n))
	}
	vals := func(rs []result, f func(result) float64) []float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return v
	}
	rows := []struct {
		name string
		f    func(result) float64
	}{
		{"publishes/s, one SIP worker, sequential", func(r result) float64 { return r.perSec }},
		{"µs per kazoo_publish (mean)", func(r result) float64 { return r.usEach }},
		{"Kamailio CPU ms per 1000 publishes (all processes)", func(r result) float64 { return r.cpuMsPer1k }},
		{"failed publishes", func(r result) float64 { return float64(r.failed) }},
		{"delivered to the bound queue", func(r result) float64 { return float64(r.delivered) }},
		{"publishing worker PSS kB after the run", func(r result) float64 { return float64(r.workerPssKB) }},
		{"publishing worker RssAnon kB after the run", func(r result) float64 { return float64(r.workerAnonKB) }},
		{"idle SIP worker RssAnon kB (same instance)", func(r result) float64 { return float64(r.idleAnonKB) }},
		{"publishing worker threads", func(r result) float64 { return float64(r.workerThreads) }},
		{"Kamailio processes", func(r result) float64 { return float64(r.procs) }},
		{"Kamailio PSS kB, all processes", func(r result) float64 { return float64(r.totalPssKB) }},
	}
	fmt.Printf("\nkazoo_publish, %d publishes per round, %d rounds, medians (min..max)\n", n, rounds)
	fmt.Printf("%-52s %22s %22s %8s\n", "", "kazoo.so (Go)", "kazoo.so (C)", "Go/C")
	for _, row := range rows {
		g, cc := median(vals(go_, row.f)), median(vals(c, row.f))
		ratio := "-"
		if cc != 0 {
			ratio = fmt.Sprintf("%.2f", g/cc)
		}
		fmt.Printf("%-52s %22s %22s %8s\n", row.name, spread(vals(go_, row.f), g), spread(vals(c, row.f), cc), ratio)
	}
}
