package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SippBin is Debian's sip-tester binary.
const SippBin = "/usr/bin/sipp"

// SippResult holds the final cumulative counters of a sipp run.
type SippResult struct {
	Successful, Failed int
	Output             string // sipp's stdout+stderr (final screens), then its error log
}

// ScenarioDir is the absolute path of tests/sipp (the scenario files).
func ScenarioDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "sipp")
}

// Sipp runs sipp as a UAC (UDP unless extraArgs has "-t", e.g. "-t", "t1")
// with the scenario file (a path, or a file name in ScenarioDir) against
// 127.0.0.1:port: calls calls (-m) at rate calls/s (-r). It runs in a temp
// working directory with its own local SIP, RTP-echo and control ports, is
// bounded by sipp's -timeout and an exec deadline, and returns the final
// cumulative counters parsed from its statistics file (-trace_stat -stf), or
// its screen file when that is missing. Pass "-s", "<user>" to set the
// Request-URI user ([service]). A sipp that cannot produce statistics (bad
// scenario, bind error) or hits the exec deadline fails the test.
func Sipp(t testing.TB, scenario string, port int, calls int, rate int, extraArgs ...string) SippResult {
	t.Helper()
	if calls <= 0 || rate <= 0 {
		t.Fatalf("harness: Sipp: calls and rate must be > 0")
	}
	src := scenario
	if _, err := os.Stat(src); err != nil && !filepath.IsAbs(src) {
		src = filepath.Join(ScenarioDir(), scenario)
	}
	body, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("harness: Sipp: scenario: %v", err)
	}
	// Run on a copy in a private directory: every file sipp writes lands there.
	dir := t.TempDir()
	scen := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(scen, body, 0o644); err != nil {
		t.Fatalf("harness: Sipp: %v", err)
	}

	// sipp's own -timeout (seconds), unless the caller gave one.
	timeout := time.Duration(calls/rate+1)*2*time.Second + 20*time.Second
	userTimeout := false
	hasTransport := false
	for i, a := range extraArgs {
		switch a {
		case "-timeout":
			userTimeout = true
			if i+1 < len(extraArgs) {
				if d, ok := parseSippDuration(extraArgs[i+1]); ok {
					timeout = d
				}
			}
		case "-t":
			hasTransport = true
		}
	}
	localPort, err := freePort()
	if err != nil {
		t.Fatalf("harness: Sipp: %v", err)
	}
	mediaPort, err := freeUDPPair()
	if err != nil {
		t.Fatalf("harness: Sipp: %v", err)
	}
	ctlPort, err := freePort()
	if err != nil {
		t.Fatalf("harness: Sipp: %v", err)
	}
	statFile := filepath.Join(dir, "stat.csv")
	screenFile := filepath.Join(dir, "screen.log")
	errFile := filepath.Join(dir, "errors.log")
	args := []string{
		"-sf", scen, fmt.Sprintf("127.0.0.1:%d", port),
		"-i", "127.0.0.1", "-p", strconv.Itoa(localPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort),
		"-cp", strconv.Itoa(ctlPort),
		"-m", strconv.Itoa(calls), "-r", strconv.Itoa(rate),
		"-trace_stat", "-stf", statFile, "-fd", "1",
		"-trace_screen", "-screen_file", screenFile,
		"-trace_err", "-error_file", errFile,
		"-nostdin",
	}
	if !hasTransport {
		args = append(args, "-t", "u1")
	}
	if !userTimeout {
		args = append(args, "-timeout", fmt.Sprintf("%ds", int(timeout/time.Second)))
	}
	args = append(args, extraArgs...)

	ctx, cancel := context.WithTimeout(context.Background(), timeout+15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, SippBin, args...)
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	begin := time.Now()
	out, runErr := cmd.CombinedOutput()
	res := SippResult{Output: string(out)}
	if e := readFileString(errFile); e != "" {
		res.Output += "\n--- sipp error log ---\n" + e
	}
	if ctx.Err() != nil {
		t.Fatalf("harness: sipp killed after the %v exec deadline\n%s", timeout+15*time.Second, tailString(res.Output, 6000))
	}
	s, f, ok := parseSippStat(readFileString(statFile))
	if !ok {
		s, f, ok = parseSippScreen(readFileString(screenFile))
	}
	if !ok {
		t.Fatalf("harness: sipp (%v) produced no statistics; args %q\n%s", runErr, args, tailString(res.Output, 6000))
	}
	res.Successful, res.Failed = s, f
	t.Logf("harness: sipp %s -> 127.0.0.1:%d: %d successful, %d failed in %v (exit: %v)",
		filepath.Base(src), port, s, f, time.Since(begin).Round(time.Millisecond), runErr)
	return res
}

func parseSippDuration(s string) (time.Duration, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, true // sipp's default unit is seconds
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// parseSippStat reads the last line of the -trace_stat CSV (';'-separated,
// header on the first line; sipp writes a final line when it exits) and
// returns the cumulative SuccessfulCall(C) and FailedCall(C) columns.
func parseSippStat(csv string) (successful, failed int, ok bool) {
	var lines []string
	for _, l := range strings.Split(csv, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 {
		return 0, 0, false
	}
	header := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	si, fi := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "SuccessfulCall(C)":
			si = i
		case "FailedCall(C)":
			fi = i
		}
	}
	if si < 0 || fi < 0 || si >= len(last) || fi >= len(last) {
		return 0, 0, false
	}
	s, err1 := strconv.Atoi(strings.TrimSpace(last[si]))
	f, err2 := strconv.Atoi(strings.TrimSpace(last[fi]))
	return s, f, err1 == nil && err2 == nil
}

// parseSippScreen reads the cumulative column of the last "Successful call"
// and "Failed call" lines of a -trace_screen file.
func parseSippScreen(screen string) (successful, failed int, ok bool) {
	sOK, fOK := false, false
	for _, l := range strings.Split(screen, "\n") {
		name, rest, found := strings.Cut(l, "|")
		if !found {
			continue
		}
		cols := strings.Split(rest, "|")
		f := strings.Fields(cols[len(cols)-1])
		if len(f) == 0 {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		switch strings.TrimSpace(name) {
		case "Successful call":
			successful, sOK = n, true
		case "Failed call":
			failed, fOK = n, true
		}
	}
	return successful, failed, sOK && fOK
}
