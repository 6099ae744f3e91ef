//go:build bench

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// roundResult is everything measured in one round; both modules and the floor of a round
// ran on the same broker within minutes of each other, so ratios are taken per round.
type roundResult struct {
	q     map[string]*qresult // "Go", "C"
	floor *floorResult
	pub   map[string]*pubResult
	cons  map[string]*consResult
	json  map[string]float64
	jsonX map[string]bool // crashed
	fleet map[string]*fleetResult
}

// TestTable runs every measurement against both modules, ROUNDS times, and prints one
// table (markdown, also written to $OUT, default bench/results.md). See run.sh.
func TestTable(t *testing.T) {
	runTable(t, map[string]bool{"query": true, "publish": true, "consume": true, "json": true, "fleet": true})
}

func runTable(t *testing.T, sections map[string]bool) {
	c := loadConfig()
	began := time.Now()
	load0 := loadavg()
	t.Logf("bench: %s", c)
	r := harness.SharedRabbit(t)
	var sim *simProc
	simStarts := 0
	// ensureSim (re)starts the responder before a query run: one that died (its stderr is
	// logged) must not fail every later run.
	ensureSim := func() {
		if sim != nil && sim.alive() {
			return
		}
		if sim != nil {
			b, _ := os.ReadFile(sim.log)
			t.Logf("kazoo-sim (pid %d) had exited; its stderr:\n%s", sim.pid, b)
		}
		sim = startSim(t, r)
		simStarts++
	}
	var rounds []*roundResult
	for i := 0; i < c.rounds; i++ {
		rr := &roundResult{q: map[string]*qresult{}, pub: map[string]*pubResult{}, cons: map[string]*consResult{},
			json: map[string]float64{}, jsonX: map[string]bool{}, fleet: map[string]*fleetResult{}}
		rounds = append(rounds, rr)
		mods := []string{ourModule(), cModule}
		if i%2 == 1 { // alternate who goes first
			mods[0], mods[1] = mods[1], mods[0]
		}
		each := func(section string, f func(t *testing.T, m string)) {
			if !sections[section] {
				return
			}
			for _, m := range mods {
				m := m
				t.Run(fmt.Sprintf("round%d/%s/%s", i+1, section, modName(m)), func(t *testing.T) { f(t, m) })
			}
		}
		progress("round %d/%d: query", i+1, c.rounds)
		each("query", func(t *testing.T, m string) { ensureSim(); rr.q[modName(m)] = runQuery(t, r, sim, m, c) })
		if sections["query"] {
			ensureSim()
			t.Run(fmt.Sprintf("round%d/query/floor", i+1), func(t *testing.T) { rr.floor = runFloor(t, r, sim, c) })
		}
		progress("round %d/%d: publish", i+1, c.rounds)
		each("publish", func(t *testing.T, m string) { rr.pub[modName(m)] = runPublish(t, r, m, c.pubN) })
		progress("round %d/%d: consume", i+1, c.rounds)
		each("consume", func(t *testing.T, m string) { rr.cons[modName(m)] = runConsume(t, r, m, c.consN, c.consW) })
		progress("round %d/%d: kz.json", i+1, c.rounds)
		each("json", func(t *testing.T, m string) {
			rr.json[modName(m)], rr.jsonX[modName(m)] = runJSON(t, r, m, c.jsonN)
		})
		progress("round %d/%d: fleet", i+1, c.rounds)
		each("fleet", func(t *testing.T, m string) { ensureSim(); rr.fleet[modName(m)] = runFleet(t, r, m, c) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# kazoo.so (Go) vs the C kazoo module\n\n")
	fmt.Fprintf(&b, "%s; %s, %d CPUs, load average %s at the start, %s at the end; %s; took %v.\n\n",
		time.Now().Format("2006-01-02 15:04"), kamailioVersion(), runtime.NumCPU(), load0, loadavg(), c,
		time.Since(began).Round(time.Second))
	fmt.Fprintf(&b, "Cells: median (min..max) over the rounds; ratios are taken within each round, then the "+
		"same. PASS/FAIL judges the median ratio. A run in which Kamailio crashed counts in the crash "+
		"rows; the figures of the phase it crashed in are left out (the maximum is then the rate up to the crash).\n\n")
	renderTable(&b, buildRows(c, rounds, sections), rounds)
	if sections["fleet"] {
		renderFleetKinds(&b, rounds)
	}
	if simStarts > 1 {
		fmt.Fprintf(&b, "\nThe responder (kazoo-sim) exited during the run and was started %d times (see the log).\n", simStarts)
	}
	emitTable(t, "table", b.String(), c.out)
}

// emitTable prints a finished markdown table and writes it to path ("" : printed only).
func emitTable(t *testing.T, what, table, path string) {
	fmt.Print("\n" + table)
	if path == "" {
		return
	}
	if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
		t.Errorf("writing %s: %v", path, err)
	} else {
		progress("%s written to %s", what, path)
	}
}

// progress lines are what run.sh shows while the benchmark runs.
func progress(format string, a ...any) {
	fmt.Printf("bench: %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func kamailioVersion() string {
	out, _ := exec.Command(harness.KamailioBin, "-v").Output()
	line, _, _ := strings.Cut(string(out), "\n") // "version: kamailio 5.6.3 (x86_64/linux) ..."
	f := strings.Fields(line)
	for i := range f {
		if f[i] == "kamailio" && i+1 < len(f) {
			return "Kamailio " + f[i+1]
		}
	}
	return "Kamailio ?"
}

// row is one line of the table. g, c, f give a round's figure for our module, the C module
// and the floor (nil: not applicable; NaN: not measured in that round). count rows are
// summed over the rounds instead.
type row struct {
	name, format string
	g, c, f      func(*roundResult) float64
	count        bool
	ratio        string // which ratio the target is about: "Go/C", "Go/floor", "Go-C"
	noRatio      bool   // counts of failures and the like: no ratio columns
	onlyRatio    string // "Go/C" or "Go/floor": show that ratio column only
	target       string
	pass         func(float64) bool
	section      bool // a heading
}

func noRatio(r row) row { r.noRatio = true; return r }

func heading(name string) row { return row{name: name, section: true} }

func renderTable(b *strings.Builder, rows []row, rounds []*roundResult) {
	b.WriteString("| | kazoo.so (Go) | C module | raw floor | Go/C | Go/floor | target | |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|---|\n")
	series := func(f func(*roundResult) float64) []float64 {
		if f == nil {
			return nil
		}
		v := make([]float64, len(rounds))
		for i, r := range rounds {
			v[i] = f(r)
		}
		return v
	}
	cell := func(v []float64, format string, count bool) string {
		switch {
		case v == nil:
			return ""
		case count:
			var n float64
			for _, x := range v {
				if x == x {
					n += x
				}
			}
			return fmt.Sprintf("%.0f of %d", n, len(v))
		}
		return spread(v, format)
	}
	ratios := func(a, b []float64, op func(x, y float64) float64) []float64 {
		if a == nil || b == nil {
			return nil
		}
		v := make([]float64, len(a))
		for i := range a {
			v[i] = op(a[i], b[i])
		}
		return v
	}
	div := func(x, y float64) float64 {
		if y == 0 {
			return nan
		}
		return x / y
	}
	for _, r := range rows {
		if r.section {
			fmt.Fprintf(b, "| **%s** | | | | | | | |\n", r.name)
			continue
		}
		g, c, f := series(r.g), series(r.c), series(r.f)
		gc, gf := ratios(g, c, div), ratios(g, f, div)
		if r.count || r.noRatio {
			gc, gf = nil, nil
		}
		switch r.onlyRatio {
		case "Go/C":
			gf = nil
		case "Go/floor":
			gc = nil
		}
		gcText, gfText := cell(gc, "%.2f", false), cell(gf, "%.2f", false)
		var judged []float64
		switch r.ratio {
		case "Go/C":
			judged = gc
		case "Go/floor":
			judged = gf
		case "Go-C":
			judged = ratios(g, c, func(x, y float64) float64 { return x - y })
			gcText = cell(judged, "%+.0f", false) + " (diff)"
		case "Go":
			judged = []float64{0}
			for _, x := range g {
				if x == x {
					judged[0] += x
				}
			}
		}
		verdict := ""
		if r.pass != nil {
			m := median(judged)
			switch {
			case m != m:
				verdict = "n/a"
			case r.pass(m):
				verdict = "PASS"
			default:
				verdict = "**FAIL**"
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.name, cell(g, r.format, r.count),
			cell(c, r.format, r.count), cell(f, r.format, r.count), gcText, gfText, r.target, verdict)
	}
}

// getters: NaN when a module's run of that round is missing.
func qget(name string, f func(*qresult) float64) func(*roundResult) float64 {
	return func(r *roundResult) float64 {
		if q := r.q[name]; q != nil {
			return f(q)
		}
		return nan
	}
}

func fget(f func(*floorResult) float64) func(*roundResult) float64 {
	return func(r *roundResult) float64 {
		if r.floor != nil {
			return f(r.floor)
		}
		return nan
	}
}

func pget(name string, f func(*pubResult) float64) func(*roundResult) float64 {
	return func(r *roundResult) float64 {
		if p := r.pub[name]; p != nil {
			return f(p)
		}
		return nan
	}
}

func cget(name string, f func(*consResult) float64) func(*roundResult) float64 {
	return func(r *roundResult) float64 {
		if p := r.cons[name]; p != nil {
			return f(p)
		}
		return nan
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// plus adds two per-round figures.
func plus(a, b func(*roundResult) float64) func(*roundResult) float64 {
	return func(r *roundResult) float64 { return a(r) + b(r) }
}

// fixedLat is a latency quantile of the fixed-rate phase, NaN if Kamailio died in it.
func fixedLat(p float64) func(*qresult) float64 {
	return func(q *qresult) float64 {
		if q.diedFixed {
			return nan
		}
		return pct(q.fixed.lat, p)
	}
}

func buildRows(c benchConfig, rounds []*roundResult, sections map[string]bool) []row {
	var rows []row
	both := func(name, format string, f func(string) func(*roundResult) float64, fl func(*roundResult) float64) row {
		r := row{name: name, format: format, f: fl}
		if f != nil {
			r.g, r.c = f("Go"), f("C")
		}
		return r
	}
	if sections["query"] {
		q := func(f func(*qresult) float64) func(string) func(*roundResult) float64 {
			return func(n string) func(*roundResult) float64 { return qget(n, f) }
		}
		rows = append(rows, heading(fmt.Sprintf("kazoo_query at %d/s, %d SIP workers, %v (floor: sequential at the same rate)", c.rate, c.workers, c.latDur)))
		p50 := both("latency p50, ms", "%.3f", q(fixedLat(.5)), fget(func(f *floorResult) float64 { return pct(f.fixed.lat, .5) }))
		p50.ratio, p50.target, p50.pass = "Go/floor", "Go/floor ≤ 1.3", func(x float64) bool { return x <= 1.3 }
		// what a module that cost nothing would give: the SIP leg and the AMQP round trip
		// happen one after the other
		floorP50 := fget(func(f *floorResult) float64 { return pct(f.fixed.lat, .5) })
		lbound := both("bound: SIP alone + floor p50, ms (a module that costs nothing)", "%.3f", q(func(q *qresult) float64 { return pct(q.sipOnly.lat, .5) }), floorP50)
		lbound.g, lbound.c = plus(lbound.g, floorP50), plus(lbound.c, floorP50)
		lbound.onlyRatio = "Go/floor"
		rows = append(rows, p50, lbound,
			both("latency p95, ms", "%.3f", q(fixedLat(.95)), fget(func(f *floorResult) float64 { return pct(f.fixed.lat, .95) })),
			both("latency p99, ms", "%.3f", q(fixedLat(.99)), fget(func(f *floorResult) float64 { return pct(f.fixed.lat, .99) })),
			noRatio(both("failed or lost queries", "%.0f", q(func(q *qresult) float64 { return float64(q.fixed.failed) }),
				fget(func(f *floorResult) float64 { return float64(f.fixed.failed) }))),
			both("SIP alone (no query in the route): latency p50, ms", "%.3f", q(func(q *qresult) float64 { return pct(q.sipOnly.lat, .5) }), nil),
			both("SIP alone: Kamailio CPU µs per request", "%.0f", q(func(q *qresult) float64 { return q.sipKamUs }), nil))
		cpu := both("Kamailio CPU µs per query (all processes)", "%.0f", q(func(q *qresult) float64 { return q.kamUs }), nil)
		cpu.ratio, cpu.target, cpu.pass = "Go/C", "Go/C ≤ 0.25", func(x float64) bool { return x <= 0.25 }
		// a module as cheap as a bare Go AMQP client doing the same round trip still pays
		// Kamailio's SIP processing: the least Go/C any module could show
		client := fget(func(f *floorResult) float64 { return f.clientUs })
		cbound := both("bound: SIP alone + floor client CPU µs per query (a module as cheap as a bare Go AMQP client)", "%.0f",
			q(func(q *qresult) float64 { return q.sipKamUs }), client)
		cbound.g, cbound.c = plus(cbound.g, client), qget("C", func(q *qresult) float64 { return q.kamUs })
		cbound.name += "; C column: the C module's CPU per query"
		cbound.onlyRatio = "Go/C"
		rows = append(rows, cpu, cbound,
			both("floor client (Go, amqp091-go) CPU µs per query", "%.0f", nil, client),
			both("voluntary thread switches per query, all Kamailio threads", "%.1f", q(func(q *qresult) float64 { return q.switchesPerQuery }), nil),
			both("RabbitMQ CPU µs per query", "%.0f", q(func(q *qresult) float64 { return q.brokerUs }), fget(func(f *floorResult) float64 { return f.brokerUs })),
			both("responder (kazoo-sim) CPU µs per query", "%.0f", q(func(q *qresult) float64 { return q.simUs }), fget(func(f *floorResult) float64 { return f.simUs })),
			both(fmt.Sprintf("Kamailio CPU in the %v after the warm-up, ms (ours: memory given back)", settleTime), "%.1f", q(func(q *qresult) float64 { return q.settleMs }), nil),
			both(fmt.Sprintf("Kamailio CPU with no traffic, ms per s (%v, before the load, after those %v)", c.idleDur, settleTime), "%.1f", q(func(q *qresult) float64 { return q.idleMsPerSec }), nil))
		rows = append(rows, heading(fmt.Sprintf("kazoo_query maximum, %d SIP workers, %d outstanding, %v (floor: %d in flight)", c.workers, c.outstanding(), c.maxDur, c.workers)))
		mx := both("queries/s answered 200", "%.0f", q(func(q *qresult) float64 {
			if q.diedFixed {
				return nan
			}
			return q.max.perSec()
		}), fget(func(f *floorResult) float64 { return f.max.perSec() }))
		mx.ratio, mx.target, mx.pass = "Go/C", "Go/C ≥ 3", func(x float64) bool { return x >= 3 }
		// the machine's bound: its CPUs divided by what a query costs outside the module
		// (broker, responder, load generator and Kamailio's SIP processing), here on the
		// C module's figures; the Go/C column is that bound over the C module's maximum
		mbound := row{name: fmt.Sprintf("bound: queries/s if the module cost no CPU (%d CPUs ÷ RabbitMQ + responder + load generator + SIP-alone CPU per query); C column: the C module's maximum", runtime.NumCPU()),
			format: "%.0f", onlyRatio: "Go/C",
			g: qget("C", func(q *qresult) float64 {
				return float64(runtime.NumCPU()) * 1e6 / (q.maxBrokerUs + q.maxSimUs + q.maxGenUs + q.sipKamUs)
			}),
			c: qget("C", func(q *qresult) float64 {
				if q.diedFixed {
					return nan
				}
				return q.max.perSec()
			})}
		rows = append(rows, mx, mbound,
			both("responder + load generator CPU µs per query at the maximum", "%.0f", q(func(q *qresult) float64 { return q.maxSimUs + q.maxGenUs }), nil),
			both("latency p50 at the maximum, ms", "%.3f", q(func(q *qresult) float64 { return pct(q.max.lat, .5) }), fget(func(f *floorResult) float64 { return pct(f.max.lat, .5) })),
			both("Kamailio CPU µs per query (all processes)", "%.0f", q(func(q *qresult) float64 { return q.maxKamUs }), nil),
			both("RabbitMQ CPU µs per query", "%.0f", q(func(q *qresult) float64 { return q.maxBrokerUs }), fget(func(f *floorResult) float64 { return f.maxBrokerUs })),
			noRatio(both("failed or lost queries", "%.0f", q(func(q *qresult) float64 { return float64(q.max.failed) }), fget(func(f *floorResult) float64 { return float64(f.max.failed) }))))
	}
	if sections["publish"] {
		p := func(f func(*pubResult) float64) func(string) func(*roundResult) float64 {
			return func(n string) func(*roundResult) float64 { return pget(n, f) }
		}
		rows = append(rows, heading(fmt.Sprintf("kazoo_publish with confirms, one SIP worker, %d back to back", c.pubN)),
			both("publishes/s", "%.0f", p(func(r *pubResult) float64 { return r.perSec }), nil),
			both("Kamailio CPU µs per publish (all processes)", "%.0f", p(func(r *pubResult) float64 { return r.kamUs }), nil),
			both("RabbitMQ CPU µs per publish", "%.0f", p(func(r *pubResult) float64 { return r.brokerUs }), nil),
			noRatio(both("failed publishes", "%.0f", p(func(r *pubResult) float64 { return float64(r.failed) }), nil)),
			both("publishing worker PSS kB after the run", "%.0f", p(func(r *pubResult) float64 { return r.workerPssKB }), nil),
			both(fmt.Sprintf("publishing worker PSS kB, %v later", settleTime), "%.0f", p(func(r *pubResult) float64 { return r.workerPssSettledKB }), nil))
	}
	if sections["consume"] {
		cs := func(f func(*consResult) float64) func(string) func(*roundResult) float64 {
			return func(n string) func(*roundResult) float64 { return cget(n, f) }
		}
		ev := both("events/s", "%.0f", cs(func(r *consResult) float64 { return r.perSec }), nil)
		ev.ratio, ev.target, ev.pass = "Go/C", "Go/C ≥ 2", func(x float64) bool { return x >= 2 }
		ebound := row{name: fmt.Sprintf("bound: events/s if Kamailio cost no CPU (%d CPUs ÷ RabbitMQ CPU per event, Go's run); C column: the C module's events/s", runtime.NumCPU()),
			format: "%.0f", onlyRatio: "Go/C",
			g: cget("Go", func(r *consResult) float64 { return float64(runtime.NumCPU()) * 1e6 / r.brokerUs }),
			c: cget("C", func(r *consResult) float64 { return r.perSec })}
		rows = append(rows, heading(fmt.Sprintf("consume, ack after the event route, %d queued events, %d consumer workers", c.consN, c.consW)), ev, ebound,
			both("Kamailio CPU µs per event (all processes)", "%.1f", cs(func(r *consResult) float64 { return r.kamUs }), nil),
			both("RabbitMQ CPU µs per event", "%.1f", cs(func(r *consResult) float64 { return r.brokerUs }), nil),
			both("largest consumer process PSS kB, at the end of the drain", "%.0f", cs(func(r *consResult) float64 { return r.consumerPssKB }), nil),
			both(fmt.Sprintf("largest consumer process PSS kB, %v later", settleTime), "%.0f", cs(func(r *consResult) float64 { return r.consumerPssSettledKB }), nil))
	}
	if sections["json"] {
		rows = append(rows, heading("{kz.json} on a 1.5 KB payload, in a SIP worker's script loop"),
			both("µs per lookup (script loop included)", "%.2f", func(n string) func(*roundResult) float64 {
				return func(r *roundResult) float64 {
					if v, ok := r.json[n]; ok {
						return v
					}
					return nan
				}
			}, nil))
	}
	if sections["query"] {
		rows = append(rows, memRows(c, rounds)...)
	}
	if sections["fleet"] {
		rows = append(rows, fleetRows(c)...)
	}
	rows = append(rows, heading("crashes (runs in which Kamailio died)"))
	crash := func(name string, f func(*roundResult, string) bool) row {
		g := func(r *roundResult) float64 { return b2f(f(r, "Go")) }
		c := func(r *roundResult) float64 { return b2f(f(r, "C")) }
		return row{name: name, g: g, c: c, count: true}
	}
	var all []row
	if sections["query"] {
		all = append(all, crash("query runs", func(r *roundResult, n string) bool { return r.q[n] != nil && r.q[n].crash }))
	}
	if sections["publish"] {
		all = append(all, crash("publish runs", func(r *roundResult, n string) bool { return r.pub[n] != nil && r.pub[n].crash }))
	}
	if sections["consume"] {
		all = append(all, crash("consume runs", func(r *roundResult, n string) bool { return r.cons[n] != nil && r.cons[n].crash }))
	}
	if sections["json"] {
		all = append(all, crash("kz.json runs", func(r *roundResult, n string) bool { return r.jsonX[n] }))
	}
	if sections["fleet"] {
		all = append(all, crash("fleet runs", func(r *roundResult, n string) bool { return r.fleet[n] != nil && r.fleet[n].crash }))
	}
	total := row{name: "all runs", count: true, ratio: "Go", target: "Go: 0", pass: func(x float64) bool { return x == 0 }}
	sum := func(n string) func(*roundResult) float64 {
		return func(r *roundResult) float64 {
			s := 0.0
			for _, a := range all {
				f := a.g
				if n == "C" {
					f = a.c
				}
				s += f(r)
			}
			return s
		}
	}
	total.g, total.c = sum("Go"), sum("C")
	return append(append(rows, all...), total)
}

// settledSip is the median SIP worker's PSS settleTime after the maximum phase.
func settledSip(name string) func(*roundResult) float64 {
	return qget(name, func(q *qresult) float64 {
		if v, ok := q.memSettled.kindPssKB["udp receiver"]; ok && q.memSettledOK {
			return v
		}
		return nan
	})
}

// memRows: PSS per process kind after the fixed-rate query load, and the total.
func memRows(c benchConfig, rounds []*roundResult) []row {
	kinds := map[string]bool{}
	for _, r := range rounds {
		for _, q := range r.q {
			for k := range q.mem.kindPssKB {
				kinds[k] = true
			}
		}
	}
	var names []string
	for k := range kinds {
		if k != "udp receiver" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	mem := func(f func(m memSnapshot) float64) func(string) func(*roundResult) float64 {
		return func(n string) func(*roundResult) float64 {
			return qget(n, func(q *qresult) float64 {
				if !q.memOK {
					return nan
				}
				return f(q.mem)
			})
		}
	}
	kind := func(k string) func(m memSnapshot) float64 {
		return func(m memSnapshot) float64 {
			if v, ok := m.kindPssKB[k]; ok {
				return v
			}
			return nan
		}
	}
	row0 := func(name string, f func(string) func(*roundResult) float64) row {
		return row{name: name, format: "%.0f", g: f("Go"), c: f("C")}
	}
	sip := row0(fmt.Sprintf("SIP worker (udp receiver, median of %d)", c.workers), mem(kind("udp receiver")))
	sip.ratio, sip.target, sip.pass = "Go-C", "Go−C ≤ 1536 kB", func(x float64) bool { return x <= 1536 }
	settled := row{name: fmt.Sprintf("SIP worker, %v after the maximum load", settleTime), format: "%.0f", ratio: "Go-C",
		g: settledSip("Go"), c: settledSip("C")}
	rows := []row{heading(fmt.Sprintf("PSS kB per process after the query load at %d/s (median per kind)", c.rate)), sip, settled}
	for _, k := range names {
		rows = append(rows, row0(k, mem(kind(k))))
	}
	rows = append(rows, row0("all Kamailio processes", mem(func(m memSnapshot) float64 { return m.totalKB })),
		row0("number of processes", mem(func(m memSnapshot) float64 { return float64(m.procs) })))
	return rows
}
