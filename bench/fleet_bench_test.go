//go:build bench

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// The fleet section: one Kamailio node at the process counts of 2600hz's Kazoo 4.3 cfg
// (25 UDP workers, 8 TCP workers with a TCP listen, 2 rtimer processes whose route
// publishes like a node advertisement, 8 consumer workers, one broker, one subscription),
// and what it costs the broker (connections, channels, queues, by Kamailio process type),
// how long it takes to start, and what it burns when idle. The same cfg for both modules:
// amqp_consumer_workers 8 is also the C module's default, and amqp_consumer_processes is
// left at the C module's default (ours has no such processes).
//
// The query route is queryCfg's (see there why kazoo_query takes an expression); each
// answered query counts in htable w under the worker's pid, which tells that every UDP
// worker ran one. The comment after the head hands the SIP port to the start probe while
// the harness renders the cfg, before Kamailio is launched.
var fleetCfg = harness.CfgHead{Debug: 1, Children: fleetUDPWorkers, TCPChildren: fleetTCPWorkers, TCP: true,
	Modules: "tm sl pv htable rtimer"}.String() + `# start probe{{call .Extra.Port .SipPort}}
modparam("htable", "htable", "w=>size=6;initval=0;")
modparam("rtimer", "timer", "name=kzadv;interval={{.Extra.Advertise}};mode=2;")
modparam("rtimer", "exec", "timer=kzadv;route=KZ_ADVERTISE")
modparam("kazoo", "node_hostname", "bench.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_consumer_workers", 8)
{{.Extra.Params}}
event_route[kazoo:mod-init] {
	kazoo_subscribe('{"exchange": "kz_bench_fleet", "type": "topic", "queue": "kz-bench-fleet", "routing": "fleet.#"}');
}
event_route[kazoo:consumer-event] {
	return;
}
route[KZ_ADVERTISE] {
	$var(ex) = "kz_bench_fleet";
	kazoo_publish($var(ex) + "", "nodes.advertise", "{\"Event-Category\":\"nodes\",\"Event-Name\":\"advertise\",\"Expires\":15000}");
}
request_route {
	if ($rU != "q") { sl_send_reply("200", "OK"); exit; }
	$var(ex) = "callevt";
	kazoo_query($var(ex) + "", "call.status_req.bench", "{\"Event-Category\":\"call_event\",\"Event-Name\":\"channel_status_req\",\"Call-ID\":\"$ci\"}");
	if ($rc == 1) {
		$var(n) = $shtinc(w=>$pp);
		sl_send_reply("200", "OK");
	} else {
		sl_send_reply("500", "Query failed");
	}
	exit;
}
`

// Kazoo 4.3's worker counts, and its node advertisements' period in seconds.
const (
	fleetUDPWorkers = 25
	fleetTCPWorkers = 8
	fleetAdvertise  = 10
)

// fleetLoad: a few hundred queries at a rate any worker keeps up with; the kernel hands a
// UDP datagram to the worker that has waited longest, so every worker gets some.
const (
	fleetRate     = 50
	fleetLoadDur  = 8 * time.Second
	fleetSnapInto = 3 * time.Second // the "during the load" snapshot starts this far in
)

// stableFor: the broker's connection count must stay unchanged this long to call the start
// done; startLimit bounds the wait.
const (
	stableFor  = time.Second
	startLimit = 60 * time.Second
)

// fleetPhases are the moments the broker is looked at.
var fleetPhases = []string{"idle after start", "idle after the window", "during the load", "right after the load"}

// brokerUse is what the broker holds for Kamailio at one moment, in total and by process
// kind. Connections the broker has that no Kamailio process owns (the responder) are left
// out and counted in foreign.
type brokerUse struct {
	conns, chans, queues int
	kinds                map[string]*kindUse
	foreign              int
	ok                   bool
}

type kindUse struct{ procs, conns, chans, queues int }

// fleetResult is one module's run.
type fleetResult struct {
	procs          int
	sipMs, stable  float64 // from launch: first SIP answer; connection count last changed
	idleMsPerSec   float64
	use            map[string]brokerUse // by phase
	workersQueried int                  // UDP workers that answered a query
	loadOK, failed int
	crash          bool
}

// runFleet starts the node, times the start, looks at the broker idle, measures the idle
// CPU, looks again, then loads every UDP worker with kazoo_query and looks during and
// right after the load.
func runFleet(t *testing.T, r *harness.Rabbit, module string, c benchConfig) *fleetResult {
	res := &fleetResult{sipMs: nan, stable: nan, idleMsPerSec: nan, use: map[string]brokerUse{}}
	declareExchange(t, r, "kz_bench_fleet")
	w := newStartWatch(r.Port())
	defer w.stop()
	k := harness.StartKamailio(t, fleetCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Params": goParams(module),
			"Advertise": fleetAdvertise, "Port": w.begin}})
	defer func() {
		k.Stop(t)
		res.crash = res.crash || k.Crashed()
		_, _ = r.CtlErr("delete_queue", "kz-bench-fleet")
	}()
	launched, ok := w.launched(k.MainPID())
	if !ok {
		t.Errorf("fleet %s: no start time for pid %d", modName(module), k.MainPID())
		return res
	}
	sipAt, stableAt := w.wait(k.Alive)
	if !sipAt.IsZero() {
		res.sipMs = ms(sipAt.Sub(launched))
	}
	if !stableAt.IsZero() {
		res.stable = ms(stableAt.Sub(launched))
	}
	w.stop()
	res.use[fleetPhases[0]] = snapshotBroker(t, r, k)
	// the window starts once every rtimer process has run its route once: starting Go
	// and connecting there is part of the start, not of being idle
	time.Sleep(time.Until(launched.Add((fleetAdvertise + 2) * time.Second)))
	ps := procs(k)
	res.procs = len(ps)
	i0, idle := cpuByPid(ps), time.Now()
	time.Sleep(c.fleetIdle)
	if allAlive(ps) {
		secs := time.Since(idle).Seconds()
		byKind := map[string]float64{}
		for _, p := range ps {
			byKind[p.kind] += float64(cpuNs(p.pid)-i0[p.pid]) / 1e6 / secs
		}
		res.idleMsPerSec = 0
		var b strings.Builder
		for _, k := range sortedKinds(byKind) {
			res.idleMsPerSec += byKind[k]
			fmt.Fprintf(&b, "; %s %.2f", k, byKind[k])
		}
		t.Logf("fleet %s: idle CPU, ms per s, by process kind%s", modName(module), b.String())
	}
	res.use[fleetPhases[1]] = snapshotBroker(t, r, k)
	l, err := newSipLoad(k.SipPort(), "q", k.Alive)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan loadResult)
	go func() { done <- l.fixedRate(fleetRate, fleetLoadDur) }()
	time.Sleep(fleetSnapInto)
	res.use[fleetPhases[2]] = snapshotBroker(t, r, k)
	lr := <-done
	res.use[fleetPhases[3]] = snapshotBroker(t, r, k)
	res.loadOK, res.failed = lr.ok, lr.failed
	res.workersQueried = workersQueried(k, ps)
	res.crash = lr.died || !allAlive(ps)
	t.Logf("fleet %s: %d processes, first SIP answer %.0f ms, connections stable %.0f ms after launch, idle %.2f ms/s, "+
		"load %d ok %d failed, %d of %d UDP workers queried", modName(module), res.procs, res.sipMs, res.stable,
		res.idleMsPerSec, res.loadOK, res.failed, res.workersQueried, fleetUDPWorkers)
	for _, ph := range fleetPhases {
		logUse(t, modName(module), ph, res.use[ph])
	}
	return res
}

func cpuByPid(ps []kproc) map[int]int64 {
	m := map[int]int64{}
	for _, p := range ps {
		m[p.pid] = cpuNs(p.pid)
	}
	return m
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// declareExchange creates the exchange the node subscribes on and advertises to, as fill
// does for the consume bench (topic, not durable): both modules' kazoo_subscribe declare it
// that way, and the advertisements need it to exist before the first one.
func declareExchange(t *testing.T, r *harness.Rabbit, name string) {
	conn := r.Dial(t)
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(name, "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
}

// startTick is the clock tick (10 ms) in which process pid was started, as a wall-clock
// interval: /proc/PID/stat has the start in ticks since boot, CLOCK_BOOTTIME says how long
// ago boot was.
func startTick(pid int) (from, to time.Time, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ticks, err := strconv.ParseInt(f[19], 10, 64) // field 22, starttime
	if err != nil {
		return
	}
	var ts syscall.Timespec
	const clockBoottime = 7
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockBoottime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return
	}
	from = time.Now().Add(time.Duration(ticks)*10*time.Millisecond - time.Duration(ts.Nano()))
	return from, from.Add(10 * time.Millisecond), true
}

// startWatch follows a start from before the launch: as soon as the harness renders the
// cfg (begin), one goroutine sends OPTIONS to the SIP port until one is answered, another
// looks every few ms for the launched Kamailio among this process's children and counts
// the established connections to the broker's port that were not there before (the
// kernel's table: the broker's own list is too slow to ask every few ms).
type startWatch struct {
	brokerPort int
	quit       chan struct{}
	once       sync.Once

	mu         sync.Mutex
	sipAt      time.Time         // first answer
	seen       map[int]time.Time // Kamailio's main pid -> when the poll first saw it
	changedAt  time.Time         // the connection count's last change
	count      int
	began      bool
	baseline   map[int]bool
	probeEnded chan struct{}
	pollEnded  chan struct{}
}

// watchPeriod: how often the probe sends and the poll looks.
const watchPeriod = 2 * time.Millisecond

func newStartWatch(brokerPort int) *startWatch {
	return &startWatch{brokerPort: brokerPort, quit: make(chan struct{}), seen: map[int]time.Time{},
		probeEnded: make(chan struct{}), pollEnded: make(chan struct{})}
}

// begin is called by the cfg template with the SIP port; it prints nothing.
func (w *startWatch) begin(port int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.began {
		return ""
	}
	w.began = true
	w.baseline = map[int]bool{}
	for p := range brokerSockets(w.brokerPort) {
		w.baseline[p] = true
	}
	go w.probe(port)
	go w.poll()
	return ""
}

// probe sends an OPTIONS every watchPeriod from one socket: those sent before a worker
// reads wait in the socket's buffer, so the first reply comes as soon as one does.
func (w *startWatch) probe(port int) {
	defer close(w.probeEnded)
	l, err := newSipLoad(port, "plain", func() bool { return true })
	if err != nil {
		return
	}
	defer l.Close()
	tick := time.NewTicker(watchPeriod)
	defer tick.Stop()
	for {
		select {
		case <-w.quit:
			return
		case now := <-tick.C:
			l.mu.Lock()
			answered := l.ok > 0
			l.mu.Unlock()
			if answered {
				w.mu.Lock()
				w.sipAt = now
				w.mu.Unlock()
				return
			}
			l.send()
		}
	}
}

func (w *startWatch) poll() {
	defer close(w.pollEnded)
	tick := time.NewTicker(watchPeriod)
	defer tick.Stop()
	for {
		select {
		case <-w.quit:
			return
		case now := <-tick.C:
			pid := kamailioChild()
			n := 0
			for p := range brokerSockets(w.brokerPort) {
				if !w.baseline[p] {
					n++
				}
			}
			w.mu.Lock()
			if _, ok := w.seen[pid]; !ok && pid > 0 {
				w.seen[pid] = now
			}
			if n != w.count {
				w.count, w.changedAt = n, now
			}
			w.mu.Unlock()
		}
	}
}

// kamailioChild is the pid of this process's child that runs Kamailio (not `kamailio -c`),
// 0 when there is none.
func kamailioChild() int {
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		b, _ := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			args, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if argv := strings.Split(string(args), "\x00"); len(argv) > 1 && filepath.Base(argv[0]) == "kamailio" && argv[1] == "-DD" {
				return pid
			}
		}
	}
	return 0
}

// launched is when Kamailio's main process pid was started: when the poll first saw it,
// kept within the clock tick /proc gives (the poll may see it late, the tick is coarse).
func (w *startWatch) launched(pid int) (time.Time, bool) {
	from, to, ok := startTick(pid)
	if !ok {
		return time.Time{}, false
	}
	w.mu.Lock()
	seen := w.seen[pid]
	w.mu.Unlock()
	switch {
	case seen.IsZero() || seen.After(to):
		return to, true
	case seen.Before(from):
		return from, true
	}
	return seen, true
}

// wait returns when SIP was answered and the connection count has been above zero and
// unchanged for stableFor (zero times for what did not happen within startLimit or
// before Kamailio died).
func (w *startWatch) wait(alive func() bool) (sipAt, stableAt time.Time) {
	deadline := time.Now().Add(startLimit)
	for time.Now().Before(deadline) && alive() {
		w.mu.Lock()
		sipAt, stableAt = w.sipAt, w.changedAt
		done := !sipAt.IsZero() && w.count > 0 && time.Since(stableAt) >= stableFor
		w.mu.Unlock()
		if done {
			return sipAt, stableAt
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.count == 0 || time.Since(w.changedAt) < stableFor {
		return w.sipAt, time.Time{}
	}
	return w.sipAt, w.changedAt
}

func (w *startWatch) stop() {
	w.once.Do(func() {
		close(w.quit)
		w.mu.Lock()
		began := w.began
		w.mu.Unlock()
		if began {
			<-w.probeEnded
			<-w.pollEnded
		}
	})
}

// brokerSockets maps the local port of every established connection to 127.0.0.1:port
// (the client's end: the remote port is the broker's) to its socket inode.
func brokerSockets(port int) map[int]uint64 {
	m := map[int]uint64{}
	b, _ := os.ReadFile("/proc/net/tcp")
	lines := strings.Split(string(b), "\n")
	for _, line := range lines[min(1, len(lines)):] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" { // 01: ESTABLISHED
			continue
		}
		_, rem, _ := strings.Cut(f[2], ":")
		if rp, _ := strconv.ParseInt(rem, 16, 32); int(rp) != port {
			continue
		}
		_, loc, _ := strings.Cut(f[1], ":")
		lp, _ := strconv.ParseInt(loc, 16, 32)
		ino, _ := strconv.ParseUint(f[9], 10, 64)
		m[int(lp)] = ino
	}
	return m
}

// socketOwners maps socket inodes to the pid among pids that holds them.
func socketOwners(pids []int) map[uint64]int {
	m := map[uint64]int{}
	for _, pid := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		fds, _ := os.ReadDir(dir)
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(dir, fd.Name()))
			if err != nil || !strings.HasPrefix(l, "socket:[") {
				continue
			}
			if ino, err := strconv.ParseUint(strings.TrimSuffix(l[len("socket:["):], "]"), 10, 64); err == nil {
				m[ino] = pid
			}
		}
	}
	return m
}

// ctlRows runs a rabbitmqctl list command and returns its rows' tab-separated fields.
func ctlRows(r *harness.Rabbit, args ...string) ([][]string, error) {
	out, err := r.CtlErr(append(args, "-q", "--no-table-headers")...)
	if err != nil {
		return nil, fmt.Errorf("rabbitmqctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows, nil
}

// snapshotBroker asks the broker for its connections (client port), channels (their
// connection), queues (the owner of an exclusive one) and consumers (the channel of a
// shared queue's consumer), all at once, and attributes each to a Kamailio process
// through the connection's client port: the socket of that port is in one process's
// file descriptors, and core.psx names the process.
func snapshotBroker(t *testing.T, r *harness.Rabbit, k *harness.Kamailio) brokerUse {
	u := brokerUse{kinds: map[string]*kindUse{}}
	ps := procs(k)
	if len(ps) == 0 {
		return u
	}
	lists := [][]string{{"list_connections", "pid", "peer_port"}, {"list_channels", "pid", "connection"},
		{"list_queues", "name", "owner_pid"}, {"list_consumers", "queue_name", "channel_pid"}}
	rows := make([][][]string, len(lists))
	errs := make([]error, len(lists))
	var wg sync.WaitGroup
	for i, args := range lists {
		wg.Add(1)
		go func(i int, args []string) {
			defer wg.Done()
			rows[i], errs[i] = ctlRows(r, args...)
		}(i, args)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("fleet: %v", err)
			return u
		}
	}
	kindOf := map[int]string{}
	var pids []int
	for _, p := range ps {
		kindOf[p.pid] = p.kind
		pids = append(pids, p.pid)
		u.kind(p.kind).procs++
	}
	owners, sockets := socketOwners(pids), brokerSockets(r.Port())
	connKind := map[string]string{} // broker's connection pid -> process kind
	for _, row := range rows[0] {
		if len(row) < 2 {
			continue
		}
		port, _ := strconv.Atoi(row[1])
		pid, mine := owners[sockets[port]]
		if !mine || sockets[port] == 0 {
			u.foreign++
			continue
		}
		connKind[row[0]] = kindOf[pid]
		u.conns++
		u.kind(kindOf[pid]).conns++
	}
	chanKind := map[string]string{}
	for _, row := range rows[1] {
		if len(row) < 2 {
			continue
		}
		if kind, ok := connKind[row[1]]; ok {
			chanKind[row[0]] = kind
			u.chans++
			u.kind(kind).chans++
		}
	}
	consumedBy := map[string]string{} // queue -> kind of a consumer's process
	for _, row := range rows[3] {
		if len(row) >= 2 {
			if kind, ok := chanKind[row[1]]; ok {
				consumedBy[row[0]] = kind
			}
		}
	}
	for _, row := range rows[2] {
		kind, ok := "", false
		if len(row) >= 2 && row[1] != "" {
			kind, ok = connKind[row[1]]
		} else if len(row) >= 1 {
			kind, ok = consumedBy[row[0]]
		}
		if ok {
			u.queues++
			u.kind(kind).queues++
		}
	}
	u.ok = true
	return u
}

func (u *brokerUse) kind(k string) *kindUse {
	if u.kinds[k] == nil {
		u.kinds[k] = &kindUse{}
	}
	return u.kinds[k]
}

func logUse(t *testing.T, mod, phase string, u brokerUse) {
	if !u.ok {
		t.Logf("fleet %s, %s: not measured", mod, phase)
		return
	}
	var b strings.Builder
	for _, k := range sortedKinds(u.kinds) {
		v := u.kinds[k]
		fmt.Fprintf(&b, "; %s ×%d: %d conn %d ch %d q", k, v.procs, v.conns, v.chans, v.queues)
	}
	t.Logf("fleet %s, %s: %d connections, %d channels, %d queues (%d connections not Kamailio's)%s",
		mod, phase, u.conns, u.chans, u.queues, u.foreign, b.String())
}

func sortedKinds[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// workersQueried counts the UDP workers with an entry in htable w (an answered query).
func workersQueried(k *harness.Kamailio, ps []kproc) int {
	out, err := k.KamcmdErr("htable.dump", "w")
	if err != nil {
		return 0
	}
	seen := map[int]bool{}
	for _, line := range strings.Split(out, "\n") {
		if key, val, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && key == "name" {
			if pid, err := strconv.Atoi(strings.TrimSpace(val)); err == nil {
				seen[pid] = true
			}
		}
	}
	n := 0
	for _, p := range ps {
		if p.kind == "udp receiver" && seen[p.pid] {
			n++
		}
	}
	return n
}

// fleetGet: NaN when a module's fleet run of that round is missing.
func fleetGet(name string, f func(*fleetResult) float64) func(*roundResult) float64 {
	return func(r *roundResult) float64 {
		if v := r.fleet[name]; v != nil {
			return f(v)
		}
		return nan
	}
}

// useGet is a figure of the broker's use at one phase, NaN when it was not measured.
func useGet(phase string, f func(brokerUse) int) func(*fleetResult) float64 {
	return func(r *fleetResult) float64 {
		if u := r.use[phase]; u.ok {
			return float64(f(u))
		}
		return nan
	}
}

// fleetRows: the fleet's lines of the table; the breakdown by process kind follows the
// table (renderFleetKinds).
func fleetRows(c benchConfig) []row {
	both := func(name, format string, f func(*fleetResult) float64) row {
		return row{name: name, format: format, g: fleetGet("Go", f), c: fleetGet("C", f)}
	}
	rows := []row{heading(fmt.Sprintf("one node at Kazoo 4.3's process counts: %d UDP + %d TCP workers, 2 rtimer processes "+
		"publishing every %d s, 8 consumer workers, one broker, one subscription (one start per round)",
		fleetUDPWorkers, fleetTCPWorkers, fleetAdvertise)),
		noRatio(both("Kamailio processes", "%.0f", func(r *fleetResult) float64 { return float64(r.procs) })),
		both("start: first SIP answer, ms after launch", "%.0f", func(r *fleetResult) float64 { return r.sipMs }),
		both(fmt.Sprintf("start: broker connections stable (their last change, then none for %v), ms after launch", stableFor),
			"%.0f", func(r *fleetResult) float64 { return r.stable }),
		both(fmt.Sprintf("idle CPU, all processes, ms per s (%v, from %d s after launch; default heartbeats: C none, Go 10 s in consumer processes and 60 s in the others)", c.fleetIdle, fleetAdvertise+2),
			"%.2f", func(r *fleetResult) float64 { return r.idleMsPerSec })}
	for _, ph := range fleetPhases {
		rows = append(rows,
			both("broker connections, "+ph, "%.0f", useGet(ph, func(u brokerUse) int { return u.conns })),
			both("broker channels, "+ph, "%.0f", useGet(ph, func(u brokerUse) int { return u.chans })),
			both("broker queues, "+ph, "%.0f", useGet(ph, func(u brokerUse) int { return u.queues })))
	}
	return append(rows,
		noRatio(both(fmt.Sprintf("UDP workers that answered a query (of %d)", fleetUDPWorkers), "%.0f",
			func(r *fleetResult) float64 { return float64(r.workersQueried) })),
		noRatio(both(fmt.Sprintf("queries answered, of %d/s for %v", fleetRate, fleetLoadDur), "%.0f",
			func(r *fleetResult) float64 { return float64(r.loadOK) })),
		noRatio(both("failed or lost queries", "%.0f", func(r *fleetResult) float64 { return float64(r.failed) })))
}

// renderFleetKinds writes the broker's use by Kamailio process kind: per module, the
// number of processes and the connections, channels and queues at each phase (median over
// the rounds).
func renderFleetKinds(b *strings.Builder, rounds []*roundResult) {
	kinds := map[string]bool{}
	for _, r := range rounds {
		for _, f := range r.fleet {
			for _, u := range f.use {
				for k := range u.kinds {
					kinds[k] = true
				}
			}
		}
	}
	fmt.Fprintf(b, "\nFleet node, the broker's use by Kamailio process kind (median over the rounds); each cell "+
		"is %s.\n\n", strings.Join(fleetPhases, " / "))
	b.WriteString("| process kind | C: processes | C: connections | C: channels | C: queues | Go: processes | Go: connections | Go: channels | Go: queues |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	med := func(mod string, f func(*fleetResult) float64) float64 {
		var v []float64
		for _, r := range rounds {
			if x := r.fleet[mod]; x != nil {
				v = append(v, f(x))
			}
		}
		return median(v)
	}
	num := func(x float64) string {
		if x != x {
			return "n/a"
		}
		return fmt.Sprintf("%.0f", x)
	}
	for _, k := range sortedKinds(kinds) {
		fmt.Fprintf(b, "| %s", k)
		for _, mod := range []string{"C", "Go"} {
			kindGet := func(ph string, f func(*kindUse) int) func(*fleetResult) float64 {
				return useGet(ph, func(u brokerUse) int {
					if v := u.kinds[k]; v != nil {
						return f(v)
					}
					return 0
				})
			}
			fmt.Fprintf(b, " | %s", num(med(mod, kindGet(fleetPhases[0], func(v *kindUse) int { return v.procs }))))
			for _, f := range []func(*kindUse) int{
				func(v *kindUse) int { return v.conns }, func(v *kindUse) int { return v.chans }, func(v *kindUse) int { return v.queues }} {
				var cells []string
				for _, ph := range fleetPhases {
					cells = append(cells, num(med(mod, kindGet(ph, f))))
				}
				fmt.Fprintf(b, " | %s", strings.Join(cells, " / "))
			}
		}
		b.WriteString(" |\n")
	}
}

// TestFleetBench: the fleet rows of the table only, and the breakdown by process kind.
func TestFleetBench(t *testing.T) { runTable(t, map[string]bool{"fleet": true}) }
