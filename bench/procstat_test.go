//go:build bench

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// cpuNs is the CPU time of a process, all its threads, in ns: the sum of the first field of
// /proc/PID/task/*/schedstat (exact, where utime+stime of /proc/PID/stat counts 10 ms
// ticks); threads that exited are not counted, so it falls back to stat's utime+stime when
// that is larger. 0 when the process is gone.
func cpuNs(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	var ns int64
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, e.Name()))
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			ns += v
		}
	}
	if t := statTicks(pid) * 1e7; t > ns+2e7 { // 100 ticks a second; more than 2 ticks apart
		return t
	}
	return ns
}

// statTicks is utime+stime of /proc/PID/stat, in clock ticks (USER_HZ, 100).
func statTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// usPer turns a CPU time difference (ns) into µs per operation.
func usPer(dns int64, ops int) float64 {
	if ops <= 0 || dns < 0 { // negative: a process vanished in between
		return nan
	}
	return float64(dns) / 1e3 / float64(ops)
}

// kproc is one Kamailio process: core.psx's description plus /proc figures.
type kproc struct {
	pid   int
	desc  string // as core.psx gives it
	kind  string // desc without instance numbers and sockets: "udp receiver", "kazoo consumer"
	pssKB int
	anon  int
}

// procs lists Kamailio's processes through core.psx; nil (no error, no test failure)
// when Kamailio is gone: a crashed C module must not end the benchmark.
func procs(k *harness.Kamailio) []kproc {
	if !k.Alive() {
		return nil
	}
	out, err := k.KamcmdErr("core.psx")
	if err != nil {
		return nil
	}
	var ps []kproc
	var cur *kproc
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		key, val, _ := strings.Cut(line, ":")
		switch {
		case line == "{":
			ps = append(ps, kproc{})
			cur = &ps[len(ps)-1]
		case cur == nil:
		case key == "PID":
			cur.pid, _ = strconv.Atoi(strings.TrimSpace(val))
		case key == "DSC":
			cur.desc = strings.TrimSpace(val)
		}
	}
	for i := range ps {
		p := &ps[i]
		p.kind = procKind(p.desc)
		p.pssKB = kbField(fmt.Sprintf("/proc/%d/smaps_rollup", p.pid), "Pss:")
		p.anon = kbField(fmt.Sprintf("/proc/%d/status", p.pid), "RssAnon:")
	}
	return ps
}

var kindNoise = regexp.MustCompile(`\s*(child=\S+|sock=\S+|\d+)\s*`)

// procKind: "udp receiver child=2 sock=127.0.0.1:5060" -> "udp receiver",
// "kazoo consumer 3" -> "kazoo consumer".
func procKind(desc string) string {
	k := strings.TrimSpace(kindNoise.ReplaceAllString(desc, " "))
	if k == "" {
		return "?"
	}
	return k
}

func kbField(path, key string) int {
	b, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			if f := strings.Fields(line[len(key):]); len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

// allAlive: every process of ps still exists.
func allAlive(ps []kproc) bool {
	for _, p := range ps {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p.pid)); err != nil {
			return false
		}
	}
	return len(ps) > 0
}

// kamCPU is the CPU time (ns) of all of Kamailio's processes (0 when it is gone).
func kamCPU(ps []kproc) int64 {
	var sum int64
	for _, p := range ps {
		sum += cpuNs(p.pid)
	}
	return sum
}

// memSnapshot is PSS per process kind (median over the processes of that kind), the
// total and the number of processes.
type memSnapshot struct {
	kindPssKB map[string]float64
	kindCount map[string]int
	totalKB   float64
	procs     int
}

func snapshotMem(ps []kproc) (m memSnapshot, ok bool) {
	if len(ps) == 0 {
		return memSnapshot{}, false
	}
	dumpSmaps(ps)
	m = memSnapshot{kindPssKB: map[string]float64{}, kindCount: map[string]int{}}
	by := map[string][]float64{}
	for _, p := range ps {
		by[p.kind] = append(by[p.kind], float64(p.pssKB))
		m.totalKB += float64(p.pssKB)
		m.procs++
	}
	for k, v := range by {
		sort.Float64s(v)
		m.kindPssKB[k] = v[len(v)/2]
		m.kindCount[k] = len(v)
	}
	return m, true
}

// dumpSmaps, with BENCH_SMAPS=<dir>, copies /proc/PID/smaps of every process into
// <dir>/<pid>-<kind>.smaps at the memory snapshot: where a process's PSS comes from
// (heap arena, thread stacks, the module's relocated data) is read off these.
func dumpSmaps(ps []kproc) {
	dir := os.Getenv("BENCH_SMAPS")
	if dir == "" {
		return
	}
	_ = os.MkdirAll(dir, 0o755)
	for _, p := range ps {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", p.pid)); err == nil {
			name := fmt.Sprintf("%d-%s.smaps", p.pid, strings.ReplaceAll(p.kind, " ", "_"))
			_ = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
	}
}

// threadStats: per thread of pid, CPU ns, voluntary and involuntary context switches. On a
// virtual machine a thread switch costs more than most of the work of a query, so the
// table shows them; BENCH_THREADS=1 logs them per thread.
type threadStat struct{ cpu, vol, invol int64 }

func threadStats(pid int) map[string]threadStat {
	m := map[string]threadStat{}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, e := range tasks {
		var s threadStat
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", pid, e.Name())); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				s.cpu, _ = strconv.ParseInt(f[0], 10, 64)
			}
		}
		s.vol = int64(kbField(fmt.Sprintf("/proc/%d/task/%s/status", pid, e.Name()), "voluntary_ctxt_switches:"))
		s.invol = int64(kbField(fmt.Sprintf("/proc/%d/task/%s/status", pid, e.Name()), "nonvoluntary_ctxt_switches:"))
		m[e.Name()] = s
	}
	return m
}

func sumSwitches(m map[string]threadStat) int64 {
	var n int64
	for _, s := range m {
		n += s.vol
	}
	return n
}

// logThreadDiff logs what each thread of pid cost between a and b, per operation.
func logThreadDiff(t interface{ Logf(string, ...any) }, label string, pid int, a, b map[string]threadStat, ops int) {
	for tid, y := range b {
		x := a[tid]
		t.Logf("threads %s pid %d tid %s: cpu %.1f us/op, vol %.2f/op, invol %.2f/op", label, pid, tid,
			float64(y.cpu-x.cpu)/1e3/float64(ops), float64(y.vol-x.vol)/float64(ops), float64(y.invol-x.invol)/float64(ops))
	}
}
