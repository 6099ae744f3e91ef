package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Go threads exist only in processes that run the module: SIP workers (started before they
// serve traffic) and a timer process after its first kazoo_publish; never in the main
// process, the core timers, the ctl handler or the log relay. Go threads block the signals
// Kamailio handles, so those land on Kamailio's own thread.
func TestGoRuntimeOnlyWhereUsed(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		name := "foreground"
		if daemon {
			name = "daemon"
		}
		t.Run(name, func(t *testing.T) {
			r := harness.SharedRabbit(t)
			q := r.Bind(t, "kazoo_e2e", "topic", "timer.tick")
			k := harness.StartKamailio(t, publishCfg, harness.KamailioOpts{Module: modulePath, Daemon: daemon,
				Extra: map[string]any{"URL": r.URL(), "Params": "", "Timer": true, "Daemon": daemon}})
			_ = k
			d, ok := q.Next(t, 10*time.Second)
			if !ok {
				t.Fatalf("the rtimer route published nothing\n%s", k.Log())
			}
			timerPid := decode(t, d.Body)["Pid"]
			// TERM INT HUP USR1 (Go itself unblocks SIGCHLD on its threads)
			const blocked = 1<<(15-1) | 1<<(2-1) | 1<<(1-1) | 1<<(10-1)
			sawWorker := false
			for _, p := range k.Procs(t) {
				usesModule := strings.Contains(p.Desc, "receiver") || strings.HasPrefix(p.Desc, "kazoo consumer ") || strconv.Itoa(p.PID) == timerPid
				t.Logf("pid %d threads %d pss %d kB sigblk %#x: %s", p.PID, p.Threads, p.PssKB, p.SigBlk, p.Desc)
				switch {
				case usesModule && p.Threads < 3:
					t.Errorf("process %d (%s) runs the module but has %d threads: no Go runtime", p.PID, p.Desc, p.Threads)
				case !usesModule && p.Threads != 1:
					t.Errorf("process %d (%s) does not use the module but has %d threads", p.PID, p.Desc, p.Threads)
				}
				if usesModule && p.SigBlk&blocked != blocked {
					t.Errorf("process %d (%s): Go threads' signal mask %#x lacks %#x", p.PID, p.Desc, p.SigBlk, blocked)
				}
				if strings.Contains(p.Desc, "udp receiver") {
					sawWorker = true
				}
			}
			if !sawWorker {
				t.Fatal("no udp receiver in core.psx")
			}
		})
	}
}
