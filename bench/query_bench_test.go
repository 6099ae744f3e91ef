//go:build bench

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Each SIP request runs one kazoo_query (3 arguments: the only form the C module of 5.6.3
// survives): a channel_status_req answered by examples/kazoo-sim, in its own process, as
// Kazoo answers (targeted exchange, routing key = Server-ID, same Msg-ID).
const queryCfg = `#!KAMAILIO
debug=1
log_stderror=yes
children=4
disable_tcp=yes
disable_sctp=yes
auto_aliases=no
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
	if ($rU != "q") { sl_send_reply("200", "OK"); exit; }
	if (kazoo_query("callevt", "call.status_req.bench", "{\"Event-Category\":\"call_event\",\"Event-Name\":\"channel_status_req\",\"Call-ID\":\"$ci\"}") == 1) {
		sl_send_reply("200", "OK");
	} else {
		sl_send_reply("500", "Query failed");
	}
	exit;
}
`

// startSim builds and starts examples/kazoo-sim against r; returns its pid.
func startSim(t *testing.T, r *harness.Rabbit) int {
	dir := t.TempDir()
	bin := filepath.Join(dir, "kazoo-sim")
	if out, err := exec.Command("go", "build", "-o", bin, "../examples/kazoo-sim").CombinedOutput(); err != nil {
		t.Fatalf("building kazoo-sim: %v\n%s", err, out)
	}
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(bin, "-url", r.URL(), "-ready-file", ready)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(ready); err == nil {
			return cmd.Process.Pid
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("kazoo-sim did not start")
	return 0
}

type qresult struct {
	p50, p95, p99, max float64 // ms, SIP round trip including the query
	ok, failed         int
	cpuMsPerQuery      float64 // Kamailio, all processes
	brokerMsPerQuery   float64
	simMsPerQuery      float64
	maxPerSec          float64
	crashed            bool
}

func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return v[min(len(v)-1, int(float64(len(v))*p))]
}

// load sends rate requests per second for d, from several concurrent senders, and
// measures each SIP round trip.
func load(t *testing.T, port int, rate int, d time.Duration) ([]float64, int, int) {
	var mu sync.Mutex
	var lat []float64
	ok, failed := 0, 0
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	end := time.Now().Add(d)
	sem := make(chan struct{}, 64)
	for next := time.Now(); next.Before(end); next = next.Add(interval) {
		time.Sleep(time.Until(next))
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			h, _ := harness.TrySipRequest(port, "OPTIONS", "q", nil, "", 3*time.Second)
			ms := float64(time.Since(start).Microseconds()) / 1000
			mu.Lock()
			defer mu.Unlock()
			if h[":code"] == "200" {
				ok++
				lat = append(lat, ms)
			} else {
				failed++
			}
		}()
	}
	wg.Wait()
	sort.Float64s(lat)
	return lat, ok, failed
}

func runQuery(t *testing.T, r *harness.Rabbit, simPid int, module string, rate int) qresult {
	params := ""
	if module != cModule {
		params = os.Getenv("BENCH_GO_PARAMS")
	}
	k := harness.StartKamailio(t, queryCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Params": params}})
	time.Sleep(700 * time.Millisecond)
	load(t, k.SipPort(), 100, time.Second) // warm-up
	c0, b0, s0 := cpuTicks(k, t), ticks(r.PID()), ticks(simPid)
	lat, ok, failed := load(t, k.SipPort(), rate, 5*time.Second)
	c1, b1, s1 := cpuTicks(k, t), ticks(r.PID()), ticks(simPid)
	per := func(d int64) float64 { return float64(d) * 10 / float64(max(ok, 1)) }
	res := qresult{p50: pct(lat, .5), p95: pct(lat, .95), p99: pct(lat, .99), ok: ok, failed: failed,
		cpuMsPerQuery: per(c1 - c0), brokerMsPerQuery: per(b1 - b0), simMsPerQuery: per(s1 - s0)}
	if len(lat) > 0 {
		res.max = lat[len(lat)-1]
	}
	// maximum: 64 senders back to back for 3 s
	start := time.Now()
	var n, bad int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < 3*time.Second {
				h, err := harness.TrySipRequest(k.SipPort(), "OPTIONS", "q", nil, "", 3*time.Second)
				if err != nil && !k.Alive() {
					return
				}
				mu.Lock()
				if h[":code"] == "200" {
					n++
				} else {
					bad++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.maxPerSec = float64(n) / time.Since(start).Seconds()
	res.failed += int(bad)
	k.Stop(t)
	res.crashed = k.Crashed()
	return res
}

func TestQueryBench(t *testing.T) {
	ours := os.Getenv("KAZOO_SO")
	if ours == "" {
		ours, _ = filepath.Abs("../build/kazoo.so")
	}
	rate := 300
	if s := os.Getenv("BENCH_RATE"); s != "" {
		rate, _ = strconv.Atoi(s)
	}
	rounds := 3
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	r := harness.SharedRabbit(t)
	sim := startSim(t, r)
	var g, c []qresult
	for i := 0; i < rounds; i++ {
		g = append(g, runQuery(t, r, sim, ours, rate))
		c = append(c, runQuery(t, r, sim, cModule, rate))
	}
	rows := []struct {
		name string
		f    func(qresult) float64
	}{
		{fmt.Sprintf("SIP+query p50 ms at %d/s", rate), func(r qresult) float64 { return r.p50 }},
		{"p95 ms", func(r qresult) float64 { return r.p95 }},
		{"p99 ms", func(r qresult) float64 { return r.p99 }},
		{"max ms", func(r qresult) float64 { return r.max }},
		{"Kamailio CPU ms per query (all processes)", func(r qresult) float64 { return r.cpuMsPerQuery }},
		{"RabbitMQ CPU ms per query", func(r qresult) float64 { return r.brokerMsPerQuery }},
		{"kazoo-sim (responder) CPU ms per query", func(r qresult) float64 { return r.simMsPerQuery }},
		{"maximum queries/s (64 senders, 4 workers)", func(r qresult) float64 { return r.maxPerSec }},
		{"failed queries", func(r qresult) float64 { return float64(r.failed) }},
		{"runs where Kamailio crashed", func(r qresult) float64 {
			if r.crashed {
				return 1
			}
			return 0
		}},
	}
	fmt.Printf("\nkazoo_query, %d rounds, medians (min..max); a crashed run's other figures are partial\n", rounds)
	fmt.Printf("%-46s %24s %24s %8s\n", "", "kazoo.so (Go)", "kazoo.so (C)", "Go/C")
	for _, row := range rows {
		gm, cm := qmed(g, row.f), qmed(c, row.f)
		ratio := "-"
		if cm != 0 {
			ratio = fmt.Sprintf("%.2f", gm/cm)
		}
		fmt.Printf("%-46s %24s %24s %8s\n", row.name, qspan(g, row.f, gm), qspan(c, row.f, cm), ratio)
	}
}

func qmed(rs []qresult, f func(qresult) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func qspan(rs []qresult, f func(qresult) float64, m float64) string {
	lo, hi := f(rs[0]), f(rs[0])
	for _, r := range rs {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return fmt.Sprintf("%.2f (%.2f..%.2f)", m, lo, hi)
}
