//go:build bench

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// perfRecord, with BENCH_PERF=<dir>, records a perf profile (call graphs) of pids for d
// into <dir>/<name>.data, in the background; the returned func waits for it. Read with
// `perf report -i <file> --sort dso,sym` (Go symbols resolve from build/kazoo.so).
// Without BENCH_PERF, or without perf, it does nothing.
func perfRecord(t *testing.T, name string, pids []int, d time.Duration) func() {
	dir := os.Getenv("BENCH_PERF")
	if dir == "" || len(pids) == 0 {
		return func() {}
	}
	if _, err := exec.LookPath("perf"); err != nil {
		t.Logf("BENCH_PERF: no perf: %v", err)
		return func() {}
	}
	_ = os.MkdirAll(dir, 0o755)
	var ps []string
	for _, p := range pids {
		ps = append(ps, strconv.Itoa(p))
	}
	out := filepath.Join(dir, name+".data")
	cmd := exec.Command("perf", "record", "-q", "-g", "-F", "999", "-o", out, "-p", strings.Join(ps, ","),
		"--", "sleep", fmt.Sprint(d.Seconds()))
	if b, err := os.Create(out + ".log"); err == nil {
		cmd.Stdout, cmd.Stderr = b, b
		defer b.Close()
	}
	if err := cmd.Start(); err != nil {
		t.Logf("BENCH_PERF: %v", err)
		return func() {}
	}
	return func() {
		_ = cmd.Wait()
		t.Logf("BENCH_PERF: %s", out)
	}
}
