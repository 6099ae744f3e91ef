package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"
)

// The Kamailio under test: the distribution's, or another build's (scripts/matrix.sh runs
// the suite against Kamailio trees built from source) through KAMAILIO_BIN, KAMCMD_BIN and
// KAMAILIO_MODULES.
var (
	KamailioBin     = envOr("KAMAILIO_BIN", "/usr/sbin/kamailio")
	KamcmdBin       = envOr("KAMCMD_BIN", "/usr/sbin/kamcmd")
	KamailioModules = strings.TrimSuffix(envOr("KAMAILIO_MODULES", "/usr/lib/x86_64-linux-gnu/kamailio/modules"), "/") + "/"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Bounds for Kamailio.
const (
	kamCheckTimeout   = 30 * time.Second // kamailio -c
	kamStartTimeout   = 30 * time.Second // until kamcmd core.version answers
	kamStopTimeout    = 10 * time.Second // SIGTERM -> main gone
	kamcmdTimeout     = 10 * time.Second
	kamFailureTimeout = 20 * time.Second // StartKamailioExpectFailure
)

// crashMarkers are log lines of Kamailio's main process when a child died by
// a signal (segfault, abort, ...). Any of them fails the test at Stop/cleanup.
var crashMarkers = []string{"exited by a signal", "core was generated", "terminating due to SIGCHLD"}

// KamailioOpts configures StartKamailio.
type KamailioOpts struct {
	// Daemon false: `kamailio -DD -E` in the foreground (log captured).
	// Daemon true: real daemon mode (no -D): double fork, pid file. stderr is
	// still redirected to the log file, so a template that keeps
	// log_stderror=yes in daemon mode has its log captured too.
	Daemon bool
	// Module is the absolute path of the kazoo.so under test ({{.Module}}).
	Module string
	// Extra holds more template values: {{.Extra.key}}, and {{.key}} when
	// key does not clash with a standard field.
	Extra map[string]any
	// AllowCrash turns a crash or an unclean stop into a log line and Crashed()
	// instead of a test failure: benchmarks count the C module's crashes.
	AllowCrash bool
}

// Kamailio is a running Kamailio instance started by StartKamailio.
type Kamailio struct {
	opts    KamailioOpts
	dir     string // work dir (-w), holds the cfg, the log, the pid file
	runDir  string // -Y
	cfgPath string
	pidFile string
	logPath string
	ctlSock string
	sockDir string
	sipPort int

	mainPID int
	pgid    int
	// foreground only: the main process is our child; exited is closed once
	// it has been reaped.
	proc    *os.Process
	exited  chan struct{}
	waitErr *error

	mu      sync.Mutex
	wd      *watchdog
	stopped bool
	crashed bool
	psx     []int // PIDs listed by core.psx right after start
}

// kamTemplateData is what cfg templates see.
func kamTemplateData(k *Kamailio) map[string]any {
	data := map[string]any{}
	for key, v := range k.opts.Extra {
		data[key] = v
	}
	extra := k.opts.Extra
	if extra == nil {
		extra = map[string]any{}
	}
	data["Extra"] = extra
	data["Module"] = k.opts.Module
	data["SipPort"] = k.sipPort
	data["CtlSocket"] = k.ctlSock
	data["Dir"] = k.dir
	data["MPath"] = KamailioModules
	data["Daemon"] = k.opts.Daemon
	return data
}

// prepareKamailio creates the directories, picks the SIP port and renders the cfg.
func prepareKamailio(t testing.TB, cfgTemplate string, o KamailioOpts) *Kamailio {
	t.Helper()
	dir := t.TempDir()
	// unix socket paths are limited to 108 bytes and t.TempDir() embeds the
	// test name: keep the ctl socket in a short directory of its own.
	sockDir, err := os.MkdirTemp("", "kzctl")
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	k := &Kamailio{
		sockDir: sockDir,
		opts:    o,
		dir:     dir,
		runDir:  filepath.Join(dir, "run"),
		cfgPath: filepath.Join(dir, "kamailio.cfg"),
		pidFile: filepath.Join(dir, "kamailio.pid"),
		logPath: filepath.Join(dir, "kamailio.log"),
		ctlSock: filepath.Join(sockDir, "ctl.sock"),
		sipPort: FreePort(t),
	}
	if len(k.ctlSock) > 100 {
		t.Fatalf("harness: ctl socket path too long: %s", k.ctlSock)
	}
	if err := os.MkdirAll(k.runDir, 0o755); err != nil {
		t.Fatalf("harness: %v", err)
	}
	tmpl, err := template.New("kamailio.cfg").Option("missingkey=error").Parse(cfgTemplate)
	if err != nil {
		t.Fatalf("harness: parsing cfg template: %v", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, kamTemplateData(k)); err != nil {
		t.Fatalf("harness: rendering cfg template: %v", err)
	}
	if err := os.WriteFile(k.cfgPath, buf.Bytes(), 0o644); err != nil {
		t.Fatalf("harness: %v", err)
	}
	return k
}

func (k *Kamailio) args(daemon bool) []string {
	a := []string{"-f", k.cfgPath, "-P", k.pidFile, "-Y", k.runDir, "-w", k.dir}
	if !daemon {
		a = append([]string{"-DD", "-E"}, a...)
	}
	return a
}

// StartKamailio renders cfgTemplate (text/template, missingkey=error) with
// .Module .SipPort .CtlSocket .Dir .MPath .Daemon .Extra (and the Extra keys
// at top level), writes it to a temp dir, checks it with `kamailio -c` (the
// test fails with its output), starts Kamailio (-P pidfile -Y rundir -w dir)
// and waits (bounded) until `kamcmd core.version` answers on the ctl socket
// (or, for a cfg without ctl, until the SIP TCP port accepts connections).
//
// At cleanup (or Stop) it is stopped: SIGTERM to the main PID, up to 10 s,
// then SIGKILL of whatever is left of its process group. The test fails if
// Kamailio had died on its own, did not stop within 10 s, left processes
// behind, exited with a non-zero status or by a signal (foreground), left its
// pid file behind (main process did not reach its clean exit), left a core
// file in its work dir, or logged a child killed by a signal.
func StartKamailio(t testing.TB, cfgTemplate string, o KamailioOpts) *Kamailio {
	t.Helper()
	k := prepareKamailio(t, cfgTemplate, o)

	// 1. config check
	out, err := k.checkConfig()
	if err != nil {
		t.Fatalf("harness: kamailio -c -f %s failed: %v\n%s\n--- cfg ---\n%s", k.cfgPath, err, out, numbered(readFileString(k.cfgPath)))
	}

	// 2. start
	begin := time.Now()
	logf, err := os.OpenFile(k.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	defer logf.Close()
	if !o.Daemon {
		cmd := exec.Command(KamailioBin, k.args(false)...)
		cmd.Dir = k.dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatalf("harness: starting kamailio: %v", err)
		}
		k.mainPID, k.pgid, k.proc = cmd.Process.Pid, cmd.Process.Pid, cmd.Process
		k.exited, k.waitErr = make(chan struct{}), new(error)
		go func() {
			*k.waitErr = cmd.Wait()
			close(k.exited)
		}()
	} else {
		// The launcher forks, the child calls setsid() and forks the main
		// process, and the launcher exits once the main process reports a
		// successful startup (non-zero if it failed).
		ctx, cancel := context.WithTimeout(context.Background(), kamStartTimeout)
		cmd := exec.CommandContext(ctx, KamailioBin, k.args(true)...)
		cmd.Dir = k.dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		err := cmd.Run()
		cancel()
		if err != nil {
			k.killLeftovers()
			t.Fatalf("harness: kamailio (daemon mode) launcher failed: %v\n--- log ---\n%s", err, tailString(k.Log(), 8000))
		}
		var pid int
		waitUntil(5*time.Second, func() bool { pid = readPidFile(k.pidFile); return pid > 0 })
		st, err := readStat(pid)
		if pid <= 0 || err != nil {
			k.killLeftovers()
			t.Fatalf("harness: kamailio daemon: no live main process from pid file %s (pid %d): %v\n--- log ---\n%s", k.pidFile, pid, err, tailString(k.Log(), 8000))
		}
		if !strings.Contains(cmdline(pid), k.cfgPath) {
			t.Fatalf("harness: kamailio daemon: pid %d from %s is not ours: %q", pid, k.pidFile, cmdline(pid))
		}
		k.mainPID, k.pgid = pid, st.PGRP
	}
	wd, err := startWatchdog(k.pgid, k.sockDir)
	if err != nil {
		k.killLeftovers()
		t.Fatalf("harness: %v", err)
	}
	k.wd = wd
	t.Cleanup(func() { k.cleanup(t) })

	// 3. ready?
	ready := false
	var lastOut string
	deadline := time.Now().Add(kamStartTimeout)
	usesCtl := strings.Contains(readFileString(k.cfgPath), k.ctlSock)
	for !ready && time.Now().Before(deadline) {
		if !k.Alive() {
			k.stopped = true
			k.killLeftovers()
			t.Fatalf("harness: kamailio died during startup (%s)\n--- log ---\n%s", k.exitStatus(), tailString(k.Log(), 8000))
		}
		if usesCtl {
			lastOut, err = k.kamcmd(3*time.Second, "core.version")
			ready = err == nil
		} else {
			ready = portOpen(k.sipPort) // template without ctl: wait for the TCP listener
		}
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatalf("harness: kamailio not ready within %v (last kamcmd: %s)\n--- log ---\n%s", kamStartTimeout, lastOut, tailString(k.Log(), 8000))
	}
	if usesCtl {
		if ps, err := k.procs(); err == nil {
			for _, p := range ps {
				k.psx = append(k.psx, p.PID)
			}
		}
	}
	mode := "foreground"
	if o.Daemon {
		mode = "daemon"
	}
	t.Logf("harness: kamailio (%s, main pid %d, sip 127.0.0.1:%d) ready in %v", mode, k.mainPID, k.sipPort, time.Since(begin).Round(time.Millisecond))
	return k
}

// StartKamailioExpectFailure renders cfgTemplate and runs Kamailio in the
// foreground, expecting it to exit non-zero within 20 s. It returns the log.
func StartKamailioExpectFailure(t testing.TB, cfgTemplate string, o KamailioOpts) string {
	t.Helper()
	o.Daemon = false
	k := prepareKamailio(t, cfgTemplate, o)
	cmd, wd, done := k.startForegroundWatched(t)
	var werr error
	select {
	case werr = <-done:
	case <-time.After(kamFailureTimeout):
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(kamStopTimeout):
		}
		killGroup(k.pgid, 5*time.Second)
		wd.disarm()
		t.Fatalf("harness: kamailio was expected to fail but still ran after %v\n--- log ---\n%s", kamFailureTimeout, tailString(k.Log(), 8000))
	}
	// children (if it got that far) exit with the main process; make sure.
	if !waitUntil(5*time.Second, func() bool { return len(groupMembers(k.pgid)) == 0 }) {
		killGroup(k.pgid, 5*time.Second)
	}
	wd.disarm()
	if werr == nil {
		t.Fatalf("harness: kamailio was expected to fail but exited with status 0\n--- log ---\n%s", tailString(k.Log(), 8000))
	}
	return k.Log()
}

// SipPort is the UDP+TCP SIP port on 127.0.0.1.
func (k *Kamailio) SipPort() int { return k.sipPort }

// MainPID is the PID of the main (attendant) process.
func (k *Kamailio) MainPID() int { return k.mainPID }

// Dir is the work directory (cfg, log, pid file; core files land here).
func (k *Kamailio) Dir() string { return k.dir }

// CtlSocket is the unix socket of the ctl module ({{.CtlSocket}}).
func (k *Kamailio) CtlSocket() string { return k.ctlSock }

// Alive reports whether the main process is still running.
func (k *Kamailio) Alive() bool {
	if k.exited != nil {
		select {
		case <-k.exited:
			return false
		default:
		}
		return pidAlive(k.mainPID)
	}
	return pidAlive(k.mainPID) && strings.Contains(cmdline(k.mainPID), k.cfgPath)
}

func (k *Kamailio) exitStatus() string {
	if k.exited == nil {
		return "daemon: exit status unknown"
	}
	select {
	case <-k.exited:
		if *k.waitErr == nil {
			return "exit status 0"
		}
		return (*k.waitErr).Error()
	default:
		return "still running"
	}
}

// Log returns the whole log so far: stdout+stderr of Kamailio. In daemon
// mode that is only what the cfg sends to stderr ("" with log_stderror=no).
func (k *Kamailio) Log() string { return readFileString(k.logPath) }

// WaitLog waits until the log contains substr (false on timeout, or as soon
// as Kamailio is gone without having logged it).
func (k *Kamailio) WaitLog(t testing.TB, substr string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if strings.Contains(k.Log(), substr) {
			return true
		}
		if !k.Alive() {
			return strings.Contains(k.Log(), substr)
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kamcmd runs `kamcmd -s unix:<ctl> args...` (bounded); failure fails the test.
func (k *Kamailio) Kamcmd(t testing.TB, args ...string) string {
	t.Helper()
	out, err := k.kamcmd(kamcmdTimeout, args...)
	if err != nil {
		t.Fatalf("harness: kamcmd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// KamcmdErr is Kamcmd returning the error instead of failing the test.
func (k *Kamailio) KamcmdErr(args ...string) (string, error) {
	return k.kamcmd(kamcmdTimeout, args...)
}

func (k *Kamailio) kamcmd(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, KamcmdBin, append([]string{"-s", "unix:" + k.ctlSock}, args...)...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", timeout, err)
	}
	return string(out), err
}

// Proc is one Kamailio process as listed by core.psx, with /proc data.
type Proc struct {
	PID       int
	Desc      string
	Threads   int    // entries of /proc/PID/task
	PssKB     int    // Pss from /proc/PID/smaps_rollup
	RssAnonKB int    // RssAnon from /proc/PID/status
	SigBlk    uint64 // signals blocked by every thread except the main one (AND of their SigBlk); 0 if single-threaded
}

// Procs parses `kamcmd core.psx` and adds /proc data to each process.
func (k *Kamailio) Procs(t testing.TB) []Proc {
	t.Helper()
	ps, err := k.procs()
	if err != nil {
		t.Fatalf("harness: Procs: %v", err)
	}
	return ps
}

func (k *Kamailio) procs() ([]Proc, error) {
	out, err := k.kamcmd(kamcmdTimeout, "core.psx")
	if err != nil {
		return nil, fmt.Errorf("kamcmd core.psx: %v: %s", err, out)
	}
	ps := parsePsx(out)
	if len(ps) == 0 {
		return nil, fmt.Errorf("no process in core.psx output: %q", out)
	}
	for i := range ps {
		enrichProc(&ps[i])
	}
	return ps, nil
}

// parsePsx parses the records of core.psx:
//
//	{
//		IDX: 1
//		PID: 13689
//		DSC: udp receiver child=0 sock=127.0.0.1:25060
//	}
func parsePsx(out string) []Proc {
	var ps []Proc
	var cur *Proc
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		key, val, ok := strings.Cut(line, ":")
		switch {
		case line == "{":
			ps = append(ps, Proc{})
			cur = &ps[len(ps)-1]
		case cur == nil || !ok:
		case key == "PID":
			cur.PID, _ = strconv.Atoi(strings.TrimSpace(val))
		case key == "DSC":
			cur.Desc = strings.TrimSpace(val)
		}
	}
	return ps
}

func enrichProc(p *Proc) {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p.PID))
	p.Threads = len(tasks)
	p.PssKB = statusKB(fmt.Sprintf("/proc/%d/smaps_rollup", p.PID), "Pss:")
	p.RssAnonKB = statusKB(fmt.Sprintf("/proc/%d/status", p.PID), "RssAnon:")
	first := true
	for _, e := range tasks {
		tid, err := strconv.Atoi(e.Name())
		if err != nil || tid == p.PID {
			continue
		}
		v, ok := statusHex(fmt.Sprintf("/proc/%d/task/%d/status", p.PID, tid), "SigBlk:")
		if !ok {
			continue
		}
		if first {
			p.SigBlk, first = v, false
		} else {
			p.SigBlk &= v
		}
	}
}

func statusKB(path, key string) int {
	for _, line := range strings.Split(readFileString(path), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) > 0 {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
	}
	return 0
}

func statusHex(path, key string) (uint64, bool) {
	for _, line := range strings.Split(readFileString(path), "\n") {
		if strings.HasPrefix(line, key) {
			v, err := strconv.ParseUint(strings.TrimSpace(line[len(key):]), 16, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// Stop stops Kamailio gracefully (SIGTERM to the main PID), waits up to 10 s,
// then SIGKILLs what is left of its process group, and verifies that all its
// processes are gone. The test fails if Kamailio had died before, did not stop
// in time, left processes behind or logged a child killed by a signal.
func (k *Kamailio) Stop(t testing.TB) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	if !k.Alive() {
		k.report(t, fmt.Errorf("kamailio (main pid %d) had died on its own before Stop (%s)\n--- log ---\n%s", k.mainPID, k.exitStatus(), tailString(k.Log(), 8000)))
	}
	k.stopAndReport(t)
}

// Crashed tells, after Stop, whether an instance started with AllowCrash crashed.
func (k *Kamailio) Crashed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.crashed
}

// report fails the test with err, or only logs it with AllowCrash.
func (k *Kamailio) report(t testing.TB, err error) {
	t.Helper()
	if k.opts.AllowCrash {
		k.crashed = true
		t.Logf("harness: (crash allowed) %v", err)
		return
	}
	t.Errorf("harness: %v", err)
}

func (k *Kamailio) cleanup(t testing.TB) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return
	}
	if !k.Alive() {
		k.report(t, fmt.Errorf("kamailio (main pid %d) died on its own before cleanup (%s)\n--- log ---\n%s", k.mainPID, k.exitStatus(), tailString(k.Log(), 8000)))
	}
	k.stopAndReport(t)
}

func (k *Kamailio) stopAndReport(t testing.TB) {
	t.Helper()
	d, errs := k.stop()
	for _, err := range errs {
		k.report(t, err)
	}
	if k.opts.AllowCrash { // cores are tens of MB each
		cores, _ := filepath.Glob(filepath.Join(k.dir, "core*"))
		for _, c := range cores {
			_ = os.Remove(c)
		}
	}
	t.Logf("harness: kamailio (main pid %d) stopped in %v", k.mainPID, d.Round(time.Millisecond))
}

// stop does the work of Stop; called with k.mu held.
func (k *Kamailio) stop() (time.Duration, []error) {
	var errs []error
	k.stopped = true
	begin := time.Now()
	if k.Alive() {
		if k.proc != nil {
			_ = k.proc.Signal(syscall.SIGTERM) // pidfd based
		} else {
			_ = syscall.Kill(k.mainPID, syscall.SIGTERM) // Alive() checked the cmdline
		}
		if !waitUntil(kamStopTimeout, func() bool { return !k.Alive() }) {
			errs = append(errs, fmt.Errorf("kamailio main pid %d still running %v after SIGTERM; SIGKILLed its process group", k.mainPID, kamStopTimeout))
		}
	}
	// The children exit with (before, in fact) the main process. Anything of
	// the group still there a moment later is a leak.
	if !waitUntil(3*time.Second, func() bool { return len(groupMembers(k.pgid)) == 0 }) {
		left := killGroup(k.pgid, 5*time.Second)
		if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("kamailio left processes behind after its main process exited: %v (SIGKILLed)", left))
		}
	}
	for _, pid := range k.psx {
		if pidAlive(pid) && strings.Contains(cmdline(pid), k.cfgPath) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			errs = append(errs, fmt.Errorf("kamailio process %d (from core.psx) survived the stop; SIGKILLed", pid))
		}
	}
	if k.exited != nil {
		select {
		case <-k.exited:
			// SIGTERM makes the main process exit 0; a crash of the main
			// process itself (e.g. in a module's destroy) shows here only.
			if *k.waitErr != nil {
				errs = append(errs, fmt.Errorf("kamailio main pid %d exited abnormally: %v", k.mainPID, *k.waitErr))
			}
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("kamailio main pid %d not reaped", k.mainPID))
		}
	}
	// The main process removes its pid file in its clean exit path: a pid file
	// left behind means it did not get there (crash, SIGKILL) - in daemon mode
	// the only sign of a main-process crash besides a core file.
	if _, err := os.Stat(k.pidFile); err == nil {
		errs = append(errs, fmt.Errorf("kamailio main pid %d did not exit cleanly (pid file %s left behind)", k.mainPID, k.pidFile))
	}
	k.wd.disarm()
	k.wd = nil
	log := k.Log()
	for _, m := range crashMarkers {
		if strings.Contains(log, m) {
			errs = append(errs, fmt.Errorf("kamailio log shows a crash (%q)\n--- log ---\n%s", m, tailString(log, 8000)))
			break
		}
	}
	if cores, _ := filepath.Glob(filepath.Join(k.dir, "core*")); len(cores) > 0 {
		errs = append(errs, fmt.Errorf("kamailio left core files: %v", cores))
	}
	return time.Since(begin), errs
}

// killLeftovers is used when startup fails: kill whatever of the process
// group exists and disarm the watchdog.
func (k *Kamailio) killLeftovers() {
	if k.pgid > 1 {
		killGroup(k.pgid, 5*time.Second)
	} else if pid := readPidFile(k.pidFile); pid > 0 && strings.Contains(cmdline(pid), k.cfgPath) {
		if st, err := readStat(pid); err == nil {
			killGroup(st.PGRP, 5*time.Second)
		}
	}
	if k.wd != nil {
		k.wd.disarm()
		k.wd = nil
	}
}

// numbered prefixes each line with its number (for cfg error messages).
func numbered(s string) string {
	var b strings.Builder
	for i, l := range strings.Split(s, "\n") {
		fmt.Fprintf(&b, "%4d  %s\n", i+1, l)
	}
	return b.String()
}

var kamailioVersion struct {
	once sync.Once
	v    string
}

// KamailioVersion is the version of the Kamailio under test ("6.0.1"), from `kamailio -v`:
// what the module sends as App-Version and core.version reports.
func KamailioVersion(t testing.TB) string {
	kamailioVersion.once.Do(func() {
		out, _ := exec.Command(KamailioBin, "-v").Output()
		if f := strings.Fields(strings.SplitN(string(out), "\n", 2)[0]); len(f) >= 3 && f[0] == "version:" {
			kamailioVersion.v = f[2]
		}
	})
	if kamailioVersion.v == "" {
		t.Fatalf("cannot read the version of %s -v", KamailioBin)
	}
	return kamailioVersion.v
}

// checkConfig runs `kamailio -c` on the rendered cfg: its output, and an error when
// Kamailio refused it (or did not answer within kamCheckTimeout).
func (k *Kamailio) checkConfig() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kamCheckTimeout)
	defer cancel()
	check := exec.CommandContext(ctx, KamailioBin, "-c", "-f", k.cfgPath, "-Y", k.runDir, "-w", k.dir)
	check.Dir = k.dir
	check.WaitDelay = 2 * time.Second
	return check.CombinedOutput()
}

// startForegroundWatched starts Kamailio in the foreground in its own process group, its
// output appended to the log, under the watchdog (which kills the group if the test
// binary dies); done receives the main process's exit.
func (k *Kamailio) startForegroundWatched(t testing.TB) (*exec.Cmd, *watchdog, <-chan error) {
	t.Helper()
	logf, err := os.OpenFile(k.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(KamailioBin, k.args(false)...)
	cmd.Dir = k.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("harness: starting kamailio: %v", err)
	}
	k.mainPID, k.pgid = cmd.Process.Pid, cmd.Process.Pid
	wd, err := startWatchdog(k.pgid, k.sockDir)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("harness: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, wd, done
}
