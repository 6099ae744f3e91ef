package harness

import (
	"syscall"
	"testing"
	"time"
)

// CheckKamailio renders cfgTemplate and runs `kamailio -c` on it: its output and whether
// it accepted the cfg.
func CheckKamailio(t testing.TB, cfgTemplate string, o KamailioOpts) (string, bool) {
	t.Helper()
	out, err := prepareKamailio(t, cfgTemplate, o).checkConfig()
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
	cmd, wd, done := k.startForegroundWatched(t)
	defer wd.disarm()
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
