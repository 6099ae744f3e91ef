//go:build bench

package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

var simBuild struct {
	once sync.Once
	bin  string
	err  error
	out  []byte
}

// simProc is a running examples/kazoo-sim, the Kazoo-side responder.
type simProc struct {
	pid    int
	log    string // its stderr
	exited chan struct{}
}

func (s *simProc) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// startSim builds examples/kazoo-sim (once per test binary) and starts it against r, in a
// process of its own as Kazoo is. Stopped (SIGTERM, by pid) at t's cleanup.
func startSim(t *testing.T, r *harness.Rabbit) *simProc {
	simBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "kzbench-sim-")
		if err != nil {
			simBuild.err = err
			return
		}
		simBuild.bin = filepath.Join(dir, "kazoo-sim")
		simBuild.out, simBuild.err = exec.Command("go", "build", "-o", simBuild.bin, "../examples/kazoo-sim").CombinedOutput()
	})
	if simBuild.err != nil {
		t.Fatalf("building kazoo-sim: %v\n%s", simBuild.err, simBuild.out)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(simBuild.bin)) })
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	s := &simProc{log: filepath.Join(dir, "stderr"), exited: make(chan struct{})}
	logf, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(simBuild.bin, "-url", r.URL(), "-ready-file", ready)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.pid = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-s.exited
		}
	})
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(ready); err == nil {
			return s
		}
		if !s.alive() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(s.log)
	t.Fatalf("kazoo-sim did not start:\n%s", b)
	return nil
}
