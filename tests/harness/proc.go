package harness

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStat is the part of /proc/<pid>/stat the harness needs.
type procStat struct {
	PID, PPID, PGRP, SID int
	State                byte
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// comm is in parentheses and may contain anything: split after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("bad stat for %d", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 4 {
		return procStat{}, fmt.Errorf("short stat for %d", pid)
	}
	s := procStat{PID: pid, State: f[0][0]}
	s.PPID, _ = strconv.Atoi(f[1])
	s.PGRP, _ = strconv.Atoi(f[2])
	s.SID, _ = strconv.Atoi(f[3])
	return s, nil
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	s, err := readStat(pid)
	if err != nil {
		return false
	}
	return s.State != 'Z' && s.State != 'X'
}

func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.ReplaceAll(string(bytes.TrimRight(b, "\x00")), "\x00", " ")
}

// groupMembers lists the live (non-zombie) processes whose process group is pgid.
func groupMembers(pgid int) []int {
	if pgid <= 1 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		s, err := readStat(pid)
		if err != nil || s.PGRP != pgid || s.State == 'Z' || s.State == 'X' {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// killGroup SIGKILLs every member of process group pgid, one PID at a time,
// and waits (bounded) until none is left. It refuses the harness's own group.
func killGroup(pgid int, timeout time.Duration) []int {
	if pgid <= 1 || pgid == syscall.Getpgrp() {
		return nil
	}
	killed := groupMembers(pgid)
	for _, pid := range killed {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	waitUntil(timeout, func() bool { return len(groupMembers(pgid)) == 0 })
	return killed
}

// waitUntil polls cond every 20 ms until it is true or timeout elapses.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func portOpen(port int) bool { return portOpenAt("127.0.0.1", port) }

func portOpenAt(ip string, port int) bool {
	c, err := net.DialTimeout("tcp4", net.JoinHostPort(ip, strconv.Itoa(port)), 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// watchdog kills a process group if the test binary dies without running its
// cleanups (go test -timeout panic, SIGKILL, ...). It is a shell that blocks
// reading a pipe whose only writer is this process: when this process dies the
// read returns EOF and the shell SIGKILLs the group. Normal cleanup disarms it
// by killing the shell (by PID) first. removeOnDeath are paths the shell
// removes after the kill (directories outside t.TempDir()).
type watchdog struct {
	cmd *exec.Cmd
	w   *os.File
}

func startWatchdog(pgid int, removeOnDeath ...string) (*watchdog, error) {
	if pgid <= 1 || pgid == syscall.Getpgrp() {
		return nil, fmt.Errorf("refusing watchdog for process group %d", pgid)
	}
	// dash's kill wants "-9 -PGID" (it rejects "-KILL -- -PGID").
	return startShellWatchdog(`kill -9 -"$1" 2>/dev/null; shift; [ $# -eq 0 ] || rm -rf -- "$@"`,
		append([]string{strconv.Itoa(pgid)}, removeOnDeath...)...)
}

// startShellWatchdog is a watchdog that runs the shell commands onDeath, with args as $1...,
// when the test binary dies.
func startShellWatchdog(onDeath string, args ...string) (*watchdog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("/bin/sh", append([]string{"-c", `trap '' INT TERM HUP; read x; ` + onDeath, "kz-watchdog"}, args...)...)
	cmd.Stdin = r
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	r.Close()
	return &watchdog{cmd: cmd, w: w}, nil
}

func (wd *watchdog) disarm() {
	if wd == nil {
		return
	}
	_ = wd.cmd.Process.Kill()
	_ = wd.cmd.Wait()
	wd.w.Close()
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}

func readFileString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
