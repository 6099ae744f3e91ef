package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errNoNetns: this machine does not let the harness make network namespaces (not root, no
// iproute2, a container without CAP_SYS_ADMIN).
var errNoNetns = errors.New("network namespaces unavailable")

// epmdPort is the port of the epmd each namespace runs: namespaces do not share ports, so
// the standard one, which every Erlang node and rabbitmqctl looks up first.
const epmdPort = 4369

// rabbitNetwork is a private IPv4 /24 for the nodes of a cluster that a test partitions: a
// bridge in the harness's own network namespace holding <prefix>.1, through which the test
// and Kamailio reach every node, and per node a network namespace joined to the bridge by a
// veth pair, with address <prefix>.<i+2> and an epmd of its own. Partition cuts two nodes
// apart with a blackhole route in each one's namespace: they stop hearing each other while
// the bridge address still reaches both, as when the link between two racks fails but not
// the one to the clients.
type rabbitNetwork struct {
	id     string   // random suffix of every name: concurrent test binaries do not collide
	prefix string   // the first three octets, e.g. "10.231.7"
	bridge string   // in the harness's namespace
	netns  []string // per node
	epmds  []*exec.Cmd
	wd     *watchdog

	mu  sync.Mutex
	cut map[[2]int]bool // blackhole routes in place: in node [0]'s namespace, to node [1]
}

// newRabbitNetwork makes the bridge, n namespaces and their epmds. A failure undoes what
// was made.
func newRabbitNetwork(n int) (nw *rabbitNetwork, err error) {
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	nw = &rabbitNetwork{id: hex.EncodeToString(rnd[:]), cut: map[[2]int]bool{}}
	nw.bridge = "kzbr" + nw.id
	for i := 0; i < n; i++ {
		nw.netns = append(nw.netns, fmt.Sprintf("kzns%s-%d", nw.id, i))
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoNetns, err)
	}
	if err := ipCmd("netns", "add", nw.netns[0]); err != nil {
		return nil, fmt.Errorf("%w: %v", errNoNetns, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, nw.close())
			nw = nil
		}
	}()
	// Armed before anything else exists, so that a test binary dying during the setup
	// leaves nothing behind either: every process still in a namespace is one the harness
	// started there.
	if nw.wd, err = startShellWatchdog(`b=$1; shift; for ns; do for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p"; done; ip netns del "$ns" 2>/dev/null; done; ip link del "$b" 2>/dev/null`,
		append([]string{nw.bridge}, nw.netns...)...); err != nil {
		return nw, err
	}
	if nw.prefix, err = freePrefix(); err != nil {
		return nw, err
	}
	if err = ipCmds(
		[]string{"link", "add", "name", nw.bridge, "type", "bridge"},
		[]string{"addr", "add", nw.prefix + ".1/24", "dev", nw.bridge},
		[]string{"link", "set", nw.bridge, "up"},
	); err != nil {
		return nw, err
	}
	for i, ns := range nw.netns {
		host, inner := nw.hostVeth(i), fmt.Sprintf("kzn%s%d", nw.id, i)
		var steps [][]string
		if i > 0 {
			steps = append(steps, []string{"netns", "add", ns})
		}
		steps = append(steps,
			[]string{"link", "add", host, "type", "veth", "peer", "name", inner},
			[]string{"link", "set", inner, "netns", ns},
			[]string{"link", "set", host, "master", nw.bridge},
			[]string{"link", "set", host, "up"},
			[]string{"-n", ns, "addr", "add", nw.ip(i) + "/24", "dev", inner},
			[]string{"-n", ns, "link", "set", inner, "up"},
			[]string{"-n", ns, "link", "set", "lo", "up"},
		)
		if err = ipCmds(steps...); err != nil {
			return nw, err
		}
		if err = nw.startEpmd(i); err != nil {
			return nw, err
		}
	}
	return nw, nil
}

// freePrefix picks a 10.x.y/24 that no address or route of this machine uses.
func freePrefix() (string, error) {
	out, err := exec.Command("sh", "-c", "ip -4 -o addr show; ip -4 route show table all").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("listing addresses and routes: %v: %s", err, out)
	}
	for i := 0; i < 50; i++ {
		p := fmt.Sprintf("10.%d.%d", 100+mrand.IntN(150), mrand.IntN(256))
		if !strings.Contains(string(out), p+".") {
			return p, nil
		}
	}
	return "", errors.New("no free 10.x.y.0/24 found in 50 attempts")
}

// hostVeth is the name of the bridge's end of node i's veth pair.
func (nw *rabbitNetwork) hostVeth(i int) string { return fmt.Sprintf("kzh%s%d", nw.id, i) }

// ip is node i's address.
func (nw *rabbitNetwork) ip(i int) string { return fmt.Sprintf("%s.%d", nw.prefix, i+2) }

// startEpmd runs an epmd in node i's namespace, as a process of the harness: left to the
// node, epmd would daemonize out of the node's process group and outlive it.
func (nw *rabbitNetwork) startEpmd(i int) error {
	cmd := exec.Command("ip", "netns", "exec", nw.netns[i], "epmd", "-port", fmt.Sprint(epmdPort))
	cmd.Env = rabbitEnv(map[string]string{"ERL_EPMD_ADDRESS": "127.0.0.1," + nw.ip(i)})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("epmd in %s: %v", nw.netns[i], err)
	}
	nw.epmds = append(nw.epmds, cmd)
	if !waitUntil(10*time.Second, func() bool { return portOpenAt(nw.ip(i), epmdPort) }) {
		return fmt.Errorf("epmd in %s does not listen on %s:%d", nw.netns[i], nw.ip(i), epmdPort)
	}
	return nil
}

// isolate cuts node k off from every other node, both ways.
func (nw *rabbitNetwork) isolate(k int) error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	var errs []error
	for j := range nw.netns {
		if j == k {
			continue
		}
		for _, pair := range [][2]int{{k, j}, {j, k}} {
			if nw.cut[pair] {
				continue
			}
			if err := ipCmd("-n", nw.netns[pair[0]], "route", "add", "blackhole", nw.ip(pair[1])+"/32"); err != nil {
				errs = append(errs, err)
				continue
			}
			nw.cut[pair] = true
		}
	}
	return errors.Join(errs...)
}

// heal removes every cut.
func (nw *rabbitNetwork) heal() error {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	var errs []error
	for pair := range nw.cut {
		if err := ipCmd("-n", nw.netns[pair[0]], "route", "del", "blackhole", nw.ip(pair[1])+"/32"); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(nw.cut, pair)
	}
	return errors.Join(errs...)
}

// close stops the epmds, SIGKILLs whatever else still runs in the namespaces (processes the
// harness started there: the nodes are stopped before), deletes the namespaces (and with
// them the veth pairs) and the bridge, and disarms the watchdog.
func (nw *rabbitNetwork) close() error {
	var errs []error
	for _, cmd := range nw.epmds {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	nw.epmds = nil
	for _, ns := range nw.netns {
		out, err := exec.Command("ip", "netns", "pids", ns).Output()
		if err != nil {
			continue // never made
		}
		for _, f := range strings.Fields(string(out)) {
			var pid int
			if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
				errs = append(errs, fmt.Errorf("pid %d (%s) still ran in %s", pid, cmdline(pid), ns))
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if err := ipCmd("netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	// a veth pair whose inner end never reached its namespace, then the bridge
	for i := range nw.netns {
		if host := nw.hostVeth(i); linkExists(host) {
			if err := ipCmd("link", "del", host); err != nil && linkExists(host) {
				errs = append(errs, err)
			}
		}
	}
	if linkExists(nw.bridge) {
		if err := ipCmd("link", "del", nw.bridge); err != nil {
			errs = append(errs, err)
		}
	}
	nw.wd.disarm()
	return errors.Join(errs...)
}

func linkExists(name string) bool { return exec.Command("ip", "link", "show", name).Run() == nil }

// ipCmd runs `ip args...` (bounded).
func ipCmd(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func ipCmds(cmds ...[]string) error {
	for _, args := range cmds {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	return nil
}
