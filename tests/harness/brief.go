package harness

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// CheckKamailio renders cfgTemplate and runs `kamailio -c` on it: its output and whether
// it accepted the cfg.
func CheckKamailio(t testing.TB, cfgTemplate string, o KamailioOpts) (string, bool) {
	t.Helper()
	k := prepareKamailio(t, cfgTemplate, o)
	ctx, cancel := context.WithTimeout(context.Background(), kamCheckTimeout)
	defer cancel()
	check := exec.CommandContext(ctx, KamailioBin, "-c", "-f", k.cfgPath, "-Y", k.runDir, "-w", k.dir)
	check.Dir = k.dir
	check.WaitDelay = 2 * time.Second
	out, err := check.CombinedOutput()
	return string(out), err == nil
}

// RunKamailioFor renders cfgTemplate and runs Kamailio in the foreground for at most d,
// whether it starts or not (a test of what any outcome prints): then SIGTERM, and
// SIGKILL of its process group if it is still there. It returns the log and whether
// Kamailio had exited on its own before d.
func RunKamailioFor(t testing.TB, cfgTemplate string, o KamailioOpts, d time.Duration) (log string, exited bool) {
	t.Helper()
	o.Daemon = false
	k := prepareKamailio(t, cfgTemplate, o)
	logf, err := os.OpenFile(k.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	defer logf.Close()
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
	defer wd.disarm()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		exited = true
	case <-time.After(d):
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(kamStopTimeout):
		}
	}
	if !waitUntil(5*time.Second, func() bool { return len(groupMembers(k.pgid)) == 0 }) {
		killGroup(k.pgid, 5*time.Second)
	}
	return k.Log(), exited
}
