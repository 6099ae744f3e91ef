//go:build bench

package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// The soak: what the other benches measure in seconds (a query's cost, a drain's rate) says
// nothing about a process that grows by a few kB a minute. Here both loads run together
// for SOAK_MINUTES against one Kamailio, and every process is sampled at intervals; a leak
// shows as a slope that stays positive once the warm-up is over. Not part of TestTable
// (it is long): run it alone, see run.sh.
//
// The cfg is the query bench's route (see queryCfg for why `$var(ex) + ""`) plus the
// consume bench's subscription and event route, in one instance.
var soakCfg = harness.CfgHead{Debug: 1, Core: []string{"children={{.Extra.Workers}}"},
	Modules: "tm sl pv textops htable"}.String() + `modparam("htable", "htable", "c=>size=4;")
modparam("kazoo", "node_hostname", "bench.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_consumer_workers", {{.Extra.Consumers}})
{{.Extra.Params}}
event_route[kazoo:mod-init] {
	$sht(c=>n) = 0;
	kazoo_subscribe('{"exchange": "` + soakExchange + `", "type": "topic", "queue": "` + soakQueue + `", "routing": "soak.#", "auto_delete": false, "no_ack": false}');
}
event_route[kazoo:consumer-event-soak-event] {
	$var(n) = $shtinc(c=>n);
}
event_route[kazoo:consumer-event] {
	return;
}
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

const (
	soakExchange = "kz_bench_soak"
	soakQueue    = "kz-bench-soak"
)

// soakConfig holds the soak's knobs (environment variables, see run.sh).
type soakConfig struct {
	dur, sample        time.Duration
	qps, eps           int
	workers, consumers int
	warmupShare        float64 // leading share of the samples left out of the slopes
	out                string  // markdown file, "" for none
}

func loadSoakConfig() soakConfig {
	return soakConfig{
		dur:         time.Duration(envInt("SOAK_MINUTES", 30)) * time.Minute,
		sample:      envSeconds("SOAK_SAMPLE", 30*time.Second),
		qps:         envInt("SOAK_QPS", 300),
		eps:         envInt("SOAK_EPS", 1000),
		workers:     envInt("WORKERS", 4),
		consumers:   envInt("SOAK_CONSUMERS", 2),
		warmupShare: 0.2,
		out:         os.Getenv("OUT"),
	}
}

func (c soakConfig) String() string {
	return fmt.Sprintf("%v of kazoo_query at %d/s (%d SIP workers) plus %d consumed events/s (%d consumer workers), "+
		"sampled every %v; slopes leave out the first %.0f %% of the samples", c.dur, c.qps, c.workers, c.eps,
		c.consumers, c.sample, c.warmupShare*100)
}

// envSeconds reads a duration knob: plain seconds ("30") or a Go duration ("30s", "2m").
func envSeconds(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d
	}
	return def
}

// soakProc is one process at one sample. goroutines and heapKB are NaN where kazoo.status
// has no entry (the C module, or a process whose Go side never started).
type soakProc struct {
	pid                int
	kind               string
	pssKB, fds         float64
	goroutines, heapKB float64
}

// soakSample is every Kamailio process at one moment of the load.
type soakSample struct {
	at     time.Duration // since the load began
	procs  []soakProc
	events int // the event routes' counter
}

// soakMetrics are the series kept per process kind, in the table's order.
var soakMetrics = []struct {
	name string
	get  func(soakProc) float64
}{
	{"PSS kB", func(p soakProc) float64 { return p.pssKB }},
	{"open fds", func(p soakProc) float64 { return p.fds }},
	{"goroutines", func(p soakProc) float64 { return p.goroutines }},
	{"Go heap live kB", func(p soakProc) float64 { return p.heapKB }},
}

// soakResult is one module's soak.
type soakResult struct {
	samples        []soakSample
	took           time.Duration // load duration, until the end or until Kamailio's death was noticed
	queries        loadResult
	published      int
	consumed       int           // event routes run during the load (htable counter)
	consumedOver   time.Duration // the time consumed covers (up to the last sample if Kamailio died)
	deaths         []string      // children Kamailio reported killed by a signal: kind, pid, signal
	backlog        int           // events still in the queue at the end; -1 unknown
	errLines       int
	errExamples    []string
	alive, crashed bool
}

// runSoak starts Kamailio with module, warms it up, runs both loads for c.dur while
// sampling, and stops it.
func runSoak(t *testing.T, r *harness.Rabbit, module string, c soakConfig) *soakResult {
	res := &soakResult{backlog: -1}
	pub := openSoakPublisher(t, r)
	k := harness.StartKamailio(t, soakCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Params": goParams(module),
			"Workers": c.workers, "Consumers": c.consumers}})
	defer func() {
		k.Stop(t)
		res.crashed = k.Crashed()
		r.Ctl(t, "delete_queue", soakQueue)
	}()
	l, err := newSipLoad(k.SipPort(), "q", k.Alive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	time.Sleep(time.Second) // connections and the subscription up (the C module has no sign of it)
	l.closedLoop(1, 500*time.Millisecond)
	l.fixedRate(100, 2*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); res.queries = l.fixedRate(c.qps, c.dur) }()
	go func() { defer wg.Done(); res.published = pub.run(ctx, c.eps) }()
	start, n0 := time.Now(), htableInt(k, "c", "n")
	res.samples = sampleSoak(k, module, start, c)
	res.took = time.Since(start)
	res.alive = k.Alive()
	n1 := htableInt(k, "c", "n")
	res.consumedOver = res.took
	if !res.alive { // a dead Kamailio answers no htable.get: count up to the last sample
		n1, res.consumedOver = n0, 0
		if len(res.samples) > 0 {
			last := res.samples[len(res.samples)-1]
			n1, res.consumedOver = last.events, last.at
		}
	}
	res.consumed = max(n1-n0, 0)
	cancel()
	wg.Wait()
	res.backlog = pub.backlog()
	log := k.Log()
	res.errLines, res.errExamples = errorLines(log, 5)
	res.deaths = deaths(log, res.samples)
	t.Logf("soak %s: %d samples, %.0f queries/s (%d failed), %.1f events/s consumed, %d error lines, alive %v %v",
		modName(module), len(res.samples), res.queries.perSec(), res.queries.failed,
		perSec(res.consumed, res.consumedOver), res.errLines, res.alive, res.deaths)
	for _, e := range res.errExamples {
		t.Logf("soak %s error line: %s", modName(module), e)
	}
	return res
}

// sampleSoak samples every c.sample until c.dur has passed since start, or until Kamailio
// died (the run then ends early: nothing is left to measure). The first sample is taken
// one interval into the load, the last at its end.
func sampleSoak(k *harness.Kamailio, module string, start time.Time, c soakConfig) []soakSample {
	var out []soakSample
	for at := c.sample; at <= c.dur; at += c.sample {
		time.Sleep(time.Until(start.Add(at)))
		s := soakSample{at: time.Since(start), procs: sampleProcs(k, module), events: htableInt(k, "c", "n")}
		if !k.Alive() || len(s.procs) == 0 {
			return out
		}
		out = append(out, s)
		progress("soak %s: %v of %v, %d processes", modName(module), at, c.dur, len(s.procs))
	}
	time.Sleep(time.Until(start.Add(c.dur)))
	return out
}

// sampleProcs reads PSS and open fds of every Kamailio process, and for our module the
// goroutines and live Go heap kazoo.status reports for it.
func sampleProcs(k *harness.Kamailio, module string) []soakProc {
	ps := procs(k)
	var st map[int]goStatus
	if module != cModule {
		st = kazooStatus(k)
	}
	var out []soakProc
	for _, p := range ps {
		sp := soakProc{pid: p.pid, kind: p.kind, pssKB: float64(p.pssKB), fds: float64(fdCount(p.pid)),
			goroutines: nan, heapKB: nan}
		if s, ok := st[p.pid]; ok {
			sp.goroutines, sp.heapKB = float64(s.goroutines), float64(s.heapLive)/1024
		}
		out = append(out, sp)
	}
	return out
}

func fdCount(pid int) int {
	e, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return len(e)
}

// goStatus is one process entry of kazoo.status.
type goStatus struct {
	goroutines int
	heapLive   int64 // bytes
}

// kazooStatus reads kamcmd's rendering of kazoo.status ("name: value" lines; a process's
// fields start with its pid, its brokers follow) into a map by pid.
func kazooStatus(k *harness.Kamailio) map[int]goStatus {
	out, err := k.KamcmdErr("kazoo.status")
	if err != nil {
		return nil
	}
	m := map[int]goStatus{}
	pid := 0
	for _, line := range strings.Split(out, "\n") {
		name, value, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if !ok {
			continue
		}
		switch name {
		case "pid":
			pid, _ = strconv.Atoi(value)
		case "goroutines":
			s := m[pid]
			s.goroutines, _ = strconv.Atoi(value)
			m[pid] = s
		case "go_heap_live":
			s := m[pid]
			s.heapLive, _ = strconv.ParseInt(value, 10, 64)
			m[pid] = s
		}
	}
	return m
}

// htableInt reads an integer htable item through kamcmd, 0 when Kamailio does not answer.
func htableInt(k *harness.Kamailio, table, key string) int {
	out, err := k.KamcmdErr("htable.get", table, key)
	if err != nil {
		return 0
	}
	i := strings.Index(out, "value:")
	if i < 0 {
		return 0
	}
	f := strings.Fields(out[i+len("value:"):])
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.Atoi(f[0])
	return v
}

// errorLines counts the log lines Kamailio wrote at ERROR or CRITICAL level (ours and the
// C module's alike: both log through Kamailio's LOG macros) and keeps the first few
// distinct ones, without their pid and time prefix, to tell a cause from noise.
func errorLines(log string, keep int) (int, []string) {
	n := 0
	seen := map[string]bool{}
	var ex []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "ERROR") && !strings.Contains(line, "CRITICAL") {
			continue
		}
		n++
		msg := line
		if i := strings.Index(line, "]: "); i >= 0 {
			msg = line[i+3:]
		}
		if len(ex) < keep && !seen[msg] {
			seen[msg] = true
			ex = append(ex, msg)
		}
	}
	return n, ex
}

var childDied = regexp.MustCompile(`child process (\d+) exited by a signal (\d+)`)

// deaths lists the children Kamailio's main process reported killed by a signal, each with
// its kind as last sampled: which process the crash took matters more than its count.
func deaths(log string, samples []soakSample) []string {
	kinds := map[int]string{}
	for _, s := range samples {
		for _, p := range s.procs {
			kinds[p.pid] = p.kind
		}
	}
	var out []string
	for _, m := range childDied.FindAllStringSubmatch(log, -1) {
		pid, _ := strconv.Atoi(m[1])
		kind := kinds[pid]
		if kind == "" {
			kind = "a process never sampled"
		}
		out = append(out, fmt.Sprintf("%s (pid %d) by signal %s", kind, pid, m[2]))
	}
	return out
}

// perSec is n per second of d, NaN for an empty span.
func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return nan
	}
	return float64(n) / d.Seconds()
}

// soakPublisher feeds the subscribed queue from this process. No publisher confirms: what
// arrived is what Kamailio counted, and what it did not take yet is the queue's backlog.
type soakPublisher struct {
	ch *amqp.Channel
}

// openSoakPublisher declares the exchange, the queue and its binding as the subscription
// does (so events published before Kamailio subscribes are kept) and empties the queue.
func openSoakPublisher(t *testing.T, r *harness.Rabbit) *soakPublisher {
	ch, err := r.Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare(soakExchange, "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(soakQueue, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(soakQueue, "soak.#", soakExchange, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueuePurge(soakQueue, false); err != nil {
		t.Fatal(err)
	}
	return &soakPublisher{ch: ch}
}

// run publishes eps events a second until ctx ends, in 10 ms batches that catch up with
// the schedule (a stall is made up afterwards, so the published rate stays eps unless the
// publisher cannot keep up at all); it returns how many it published.
func (p *soakPublisher) run(ctx context.Context, eps int) int {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	start, n := time.Now(), 0
	for {
		select {
		case <-ctx.Done():
			return n
		case now := <-tick.C:
			for due := int(now.Sub(start).Seconds() * float64(eps)); n < due; n++ {
				body := fmt.Sprintf(`{"Event-Category": "soak", "Event-Name": "event", "Seq": %d, "Msg-ID": "s-%d", "Server-ID": "kazoo@bench-targeted", "App-Name": "bench", "App-Version": "1.0", "Node": "bench@localhost", "Call-ID": "s%08d@bench"}`, n, n, n)
				if err := p.ch.PublishWithContext(ctx, soakExchange, "soak.event", false, false,
					amqp.Publishing{ContentType: "application/json", Body: []byte(body)}); err != nil {
					return n
				}
			}
		}
	}
}

// backlog is the number of events in the queue that no consumer has taken yet, -1 when
// the broker does not say.
func (p *soakPublisher) backlog() int {
	q, err := p.ch.QueueDeclarePassive(soakQueue, false, false, false, false, nil)
	if err != nil {
		return -1
	}
	return q.Messages
}

// seriesStat is one series after the soak: the first and last samples and the
// least-squares slope per hour over the samples after the warm-up.
type seriesStat struct {
	first, last, perHour float64
}

// kindSeries is, per sample, the mean over the processes of that kind (the sum for "all
// processes"), NaN where no process of it reports the metric; n is the number of
// processes of that kind at the last sample.
func kindSeries(samples []soakSample, kind string, get func(soakProc) float64) (hours, v []float64, n int) {
	for _, s := range samples {
		sum, cnt := 0.0, 0
		for _, p := range s.procs {
			if kind != allKinds && p.kind != kind {
				continue
			}
			if x := get(p); x == x {
				sum += x
				cnt++
			}
		}
		n = cnt
		val := nan
		switch {
		case cnt == 0:
		case kind == allKinds:
			val = sum
		default:
			val = sum / float64(cnt)
		}
		hours, v = append(hours, s.at.Hours()), append(v, val)
	}
	return hours, v, n
}

// allKinds is the row summing every Kamailio process.
const allKinds = "all processes"

// stat reduces one series; the first skip samples are the warm-up and left out of the slope.
func stat(hours, v []float64, skip int) seriesStat {
	s := seriesStat{first: nan, last: nan, perHour: nan}
	if len(v) == 0 {
		return s
	}
	s.first, s.last = v[0], v[len(v)-1]
	s.perHour = slope(hours[min(skip, len(hours)):], v[min(skip, len(v)):])
	return s
}

// slope is the least-squares slope of y over x, ignoring NaN points; NaN with fewer than
// two points.
func slope(x, y []float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for i := range x {
		if y[i] != y[i] {
			continue
		}
		n++
		sx, sy, sxx, sxy = sx+x[i], sy+y[i], sxx+x[i]*x[i], sxy+x[i]*y[i]
	}
	d := n*sxx - sx*sx
	if n < 2 || d == 0 {
		return nan
	}
	return (n*sxy - sx*sy) / d
}

// warmupSamples is how many leading samples the slopes leave out.
func (c soakConfig) warmupSamples(n int) int { return int(float64(n) * c.warmupShare) }

// TestSoakBench runs the soak against our module, then the C module, on one broker and
// responder, and prints both side by side (also written to $OUT when set).
func TestSoakBench(t *testing.T) {
	c := loadSoakConfig()
	began, load0 := time.Now(), loadavg()
	progress("soak: %s", c)
	r := harness.SharedRabbit(t)
	sim := startSim(t, r)
	res := map[string]*soakResult{}
	for _, m := range []string{ourModule(), cModule} {
		m := m
		t.Run(modName(m), func(t *testing.T) {
			if !sim.alive() { // a responder that died must not fail the other module's run
				sim = startSim(t, r)
			}
			res[modName(m)] = runSoak(t, r, m, c)
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Soak: kazoo.so (Go) vs the C kazoo module\n\n")
	fmt.Fprintf(&b, "%s; %s, %d CPUs, load average %s at the start, %s at the end; %s; took %v.\n\n",
		time.Now().Format("2006-01-02 15:04"), kamailioVersion(), runtime.NumCPU(), load0, loadavg(), c,
		time.Since(began).Round(time.Second))
	renderSoakSummary(&b, c, res)
	b.WriteString("\n")
	renderSoakSeries(&b, c, res)
	emitTable(t, "soak table", b.String(), c.out)
}

// renderSoakSummary: rates, failures and survival, one column per module.
func renderSoakSummary(b *strings.Builder, c soakConfig, res map[string]*soakResult) {
	b.WriteString("| | kazoo.so (Go) | C module |\n|---|---:|---:|\n")
	line := func(name string, f func(*soakResult) string) {
		cell := func(n string) string {
			if r := res[n]; r != nil {
				return f(r)
			}
			return "not run"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, cell("Go"), cell("C"))
	}
	yes := func(v bool) string {
		if v {
			return "yes"
		}
		return "**no**"
	}
	line("Kamailio alive at the end of the load", func(r *soakResult) string {
		if !r.alive && len(r.deaths) > 0 {
			return "**no**: " + strings.Join(r.deaths, "; ") + " killed"
		}
		return yes(r.alive)
	})
	line("stopped cleanly (no crash at or before the stop)", func(r *soakResult) string { return yes(!r.crashed) })
	line("query load ran for (until Kamailio died, if it did)", func(r *soakResult) string {
		return r.queries.took.Round(time.Second).String()
	})
	line(fmt.Sprintf("queries answered 200 per s (sent at %d/s)", c.qps), func(r *soakResult) string {
		return rate(r.queries.perSec())
	})
	line("failed or lost queries", func(r *soakResult) string {
		return fmt.Sprintf("%d of %d", r.queries.failed, r.queries.ok+r.queries.failed)
	})
	line("query latency p50 / p99, ms", func(r *soakResult) string {
		return fmt.Sprintf("%.2f / %.2f", pct(r.queries.lat, .5), pct(r.queries.lat, .99))
	})
	line(fmt.Sprintf("events published per s (target %d/s)", c.eps), func(r *soakResult) string {
		return rate(perSec(r.published, r.took))
	})
	line("events consumed per s (event routes run; up to the last sample if Kamailio died)", func(r *soakResult) string {
		return rate(perSec(r.consumed, r.consumedOver))
	})
	line("events left in the queue at the end", func(r *soakResult) string {
		if r.backlog < 0 {
			return "n/a"
		}
		return strconv.Itoa(r.backlog)
	})
	line("ERROR or CRITICAL lines in Kamailio's log", func(r *soakResult) string { return strconv.Itoa(r.errLines) })
	line("samples (of which warm-up)", func(r *soakResult) string {
		return fmt.Sprintf("%d (%d)", len(r.samples), c.warmupSamples(len(r.samples)))
	})
}

// renderSoakSeries: per process kind and metric, first, last and slope per hour of each
// module. Kinds are the union of both modules' (the C module names its processes
// differently); a cell is empty where a module has no such process or metric.
func renderSoakSeries(b *strings.Builder, c soakConfig, res map[string]*soakResult) {
	fmt.Fprintf(b, "Per process kind: the mean over its processes (%q: the sum over all), first and last "+
		"sample and the least-squares slope per hour after the warm-up.\n\n", allKinds)
	b.WriteString("| process kind | series | Go first | Go last | Go slope/h | C first | C last | C slope/h |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|\n")
	for _, kind := range soakKinds(res) {
		for _, m := range soakMetrics {
			var cells, counts []string
			for _, n := range []string{"Go", "C"} {
				var s seriesStat
				procs := 0
				if r := res[n]; r != nil {
					var hours, v []float64
					hours, v, procs = kindSeries(r.samples, kind, m.get)
					s = stat(hours, v, c.warmupSamples(len(v)))
				}
				if procs == 0 || s.last != s.last {
					cells = append(cells, "", "", "")
					continue
				}
				counts = append(counts, fmt.Sprintf("%s %d", n, procs))
				cells = append(cells, fmt.Sprintf("%.0f", s.first), fmt.Sprintf("%.0f", s.last), signed(s.perHour))
			}
			if len(counts) > 0 {
				fmt.Fprintf(b, "| %s (%s) | %s | %s |\n", kind, strings.Join(counts, ", "), m.name, strings.Join(cells, " | "))
			}
		}
	}
}

func rate(v float64) string {
	if v != v {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", v)
}

// signed prints a slope with its sign; one that rounds to zero is +0.0, not -0.0.
func signed(v float64) string {
	if v != v {
		return "n/a"
	}
	return fmt.Sprintf("%+.1f", math.Round(v*10)/10+0)
}

// soakKinds is every process kind sampled in either run, sorted, then allKinds.
func soakKinds(res map[string]*soakResult) []string {
	set := map[string]bool{}
	for _, r := range res {
		if r == nil {
			continue
		}
		for _, s := range r.samples {
			for _, p := range s.procs {
				set[p.kind] = true
			}
		}
	}
	var kinds []string
	for k := range set {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return append(kinds, allKinds)
}
