package harness

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The Debian package's /usr/sbin/rabbitmq-server and /usr/sbin/rabbitmqctl are
// wrappers that `su rabbitmq` when run as root (which resets HOME, hence the
// Erlang cookie, and hides the PID). The real scripts live here.
const (
	rabbitServerBin = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	rabbitCtlBin    = "/usr/lib/rabbitmq/bin/rabbitmqctl"
	rabbitPluginBin = "/usr/lib/rabbitmq/bin/rabbitmq-plugins"
)

// Bounds for the RabbitMQ node.
const (
	rabbitStartTimeout = 60 * time.Second
	rabbitStopTimeout  = 30 * time.Second
	rabbitCtlTimeout   = 60 * time.Second
)

// Rabbit is a private RabbitMQ node: own node name, AMQP port, Erlang
// distribution port, Erlang cookie, data, log and config directories.
type Rabbit struct {
	mu       sync.Mutex
	node     string
	ip       string // the address it listens on (127.0.0.1 unless it has a network namespace)
	netns    string // its network namespace ("": the harness's own)
	port     int
	distPort int
	tlsPort  int       // 0: no TLS listener
	tls      *TLSFiles // the TLS listener's files (nil: none)
	dir      string
	env      []string
	// the watchdog also removes dir (SharedRabbit's dir is not a t.TempDir())
	removeOnDeath bool

	// current incarnation (nil cmd when not running)
	cmd    *exec.Cmd
	pid    int           // beam.smp PID (from the pid file; equals cmd's PID)
	exited chan struct{} // closed once cmd.Wait returned; then *waitErr is set
	wait   *error
	wd     *watchdog
}

// StartRabbit starts a private RabbitMQ node for this test and waits until it
// accepts AMQP connections. t.Cleanup stops it.
func StartRabbit(t testing.TB) *Rabbit {
	t.Helper()
	r, err := newRabbit(t.TempDir(), nil, nil)
	if err != nil {
		t.Fatalf("harness: StartRabbit: %v", err)
	}
	t.Cleanup(func() {
		if err := r.shutdown(); err != nil {
			t.Errorf("harness: stopping rabbit %s: %v", r.node, err)
		}
	})
	r.Start(t)
	return r
}

// TLSFiles configures the TLS listener of StartRabbitTLS. The files are PEM.
type TLSFiles struct {
	CA   string // CAs the node sends with its chain and trusts for client certificates
	Cert string // the node's server certificate
	Key  string // its private key (unencrypted)
	// VerifyClient: the node requires a client certificate signed by CA
	// (ssl_options.verify = verify_peer, fail_if_no_peer_cert = true); otherwise
	// it asks for none (verify_none).
	VerifyClient bool
}

// StartRabbitTLS is StartRabbit with a TLS (amqps) listener on a port of its
// own besides the plain one (TLSURL, TLSPort). The node is ready once both
// listeners accept connections.
func StartRabbitTLS(t testing.TB, f TLSFiles) *Rabbit {
	t.Helper()
	if f.CA == "" || f.Cert == "" || f.Key == "" {
		t.Fatalf("harness: StartRabbitTLS: CA, Cert and Key are all needed")
	}
	r, err := newRabbit(t.TempDir(), &f, nil)
	if err != nil {
		t.Fatalf("harness: StartRabbitTLS: %v", err)
	}
	t.Cleanup(func() {
		if err := r.shutdown(); err != nil {
			t.Errorf("harness: stopping rabbit %s: %v", r.node, err)
		}
	})
	r.Start(t)
	return r
}

var shared struct {
	mu  sync.Mutex
	r   *Rabbit
	dir string
	err error
}

// SharedRabbit returns one node shared by all the tests of the test binary. It
// is started on first use (and started again if a test stopped or killed it).
// TestMain must call StopShared after m.Run().
func SharedRabbit(t testing.TB) *Rabbit {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("harness: SharedRabbit: earlier start failed: %v", shared.err)
	}
	if shared.r == nil {
		dir, err := os.MkdirTemp("", "kztest-rabbit-")
		if err != nil {
			t.Fatalf("harness: SharedRabbit: %v", err)
		}
		r, err := newRabbit(dir, nil, nil)
		if err == nil {
			r.removeOnDeath = true
			var d time.Duration
			d, err = r.start()
			t.Logf("harness: shared rabbit %s on port %d started in %v", r.node, r.port, d.Round(time.Millisecond))
		}
		if err != nil {
			if r != nil {
				_ = r.shutdown()
			}
			os.RemoveAll(dir)
			shared.err = err
			t.Fatalf("harness: SharedRabbit: %v", err)
		}
		shared.r, shared.dir = r, dir
		return r
	}
	if !shared.r.running() {
		shared.r.Start(t)
	}
	return shared.r
}

// StopShared stops the node returned by SharedRabbit (if any) and removes its
// files. Call it from TestMain after m.Run().
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.r != nil {
		if err := shared.r.shutdown(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: StopShared: %v\n", err)
		}
		os.RemoveAll(shared.dir)
		shared.r = nil
	}
}

// newRabbit prepares a node in dir; tlsf adds a TLS listener; place (nil: 127.0.0.1 of the
// harness's own network namespace) puts it in a network namespace of its own.
func newRabbit(dir string, tlsf *TLSFiles, place *nodePlace) (*Rabbit, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tlsPort := 0
	if tlsf != nil {
		if tlsPort, err = freePort(); err != nil {
			return nil, err
		}
		for _, f := range []string{tlsf.CA, tlsf.Cert, tlsf.Key} {
			if strings.ContainsAny(f, " \t\n\"'#") {
				return nil, fmt.Errorf("TLS file path %q: rabbitmq.conf cannot hold it as is", f)
			}
			if _, err := os.Stat(f); err != nil {
				return nil, err
			}
		}
	}
	distPort, err := freePort()
	if err != nil {
		return nil, err
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	r := &Rabbit{
		node:     "kztest-" + hex.EncodeToString(rnd[:]) + "@localhost",
		ip:       "127.0.0.1",
		port:     port,
		distPort: distPort,
		tlsPort:  tlsPort,
		tls:      tlsf,
		dir:      dir,
	}
	access := "loopback_users.guest = true\n" // guest allowed, from loopback only (the default)
	if place != nil {
		r.node = "kztest-" + hex.EncodeToString(rnd[:]) + "@" + place.ip
		r.ip, r.netns = place.ip, place.netns
		access = place.confLines()
	}
	home := filepath.Join(dir, "home")
	for _, d := range []string{home, filepath.Join(dir, "log"), filepath.Join(dir, "mnesia")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	var ck [16]byte
	_, _ = rand.Read(ck[:])
	cookie := strings.ToUpper(hex.EncodeToString(ck[:]))
	tlsConf := ""
	if tlsf != nil {
		verify, failNoCert := "verify_none", "false"
		if tlsf.VerifyClient {
			verify, failNoCert = "verify_peer", "true"
		}
		tlsConf = fmt.Sprintf(
			"listeners.ssl.1 = %s:%d\n"+
				"ssl_options.cacertfile = %s\n"+
				"ssl_options.certfile = %s\n"+
				"ssl_options.keyfile = %s\n"+
				"ssl_options.verify = %s\n"+
				"ssl_options.fail_if_no_peer_cert = %s\n",
			r.ip, tlsPort, tlsf.CA, tlsf.Cert, tlsf.Key, verify, failNoCert)
	}
	files := map[string]string{
		filepath.Join(home, ".erlang.cookie"): cookie,
		// Own (empty) rabbitmq-env.conf: /etc/rabbitmq/rabbitmq-env.conf sets
		// NODENAME=rabbit@localhost (the system node) and must not be sourced.
		filepath.Join(dir, "rabbitmq-env.conf"): "# private test node: nothing here\n",
		filepath.Join(dir, "rabbitmq.conf"): fmt.Sprintf(
			"listeners.tcp.1 = %s:%d\n"+access+
				"disk_free_limit.absolute = 1MB\n"+ // no disk alarm on a crowded /tmp
				"log.file.level = info\n"+tlsConf, r.ip, port),
		filepath.Join(dir, "enabled_plugins"): "[].\n", // no management plugin, no port 15672
	}
	for p, c := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".erlang.cookie") {
			mode = 0o400
		}
		if err := os.WriteFile(p, []byte(c), mode); err != nil {
			return nil, err
		}
	}
	env := map[string]string{
		"HOME":                                home,
		"LANG":                                "C.UTF-8",
		"LC_ALL":                              "C.UTF-8",
		"RABBITMQ_CONF_ENV_FILE":              filepath.Join(dir, "rabbitmq-env.conf"),
		"RABBITMQ_NODENAME":                   r.node,
		"RABBITMQ_USE_LONGNAME":               "false",
		"RABBITMQ_NODE_IP_ADDRESS":            "127.0.0.1",
		"RABBITMQ_NODE_PORT":                  strconv.Itoa(port),
		"RABBITMQ_DIST_PORT":                  strconv.Itoa(distPort),
		"RABBITMQ_MNESIA_BASE":                filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE":                   filepath.Join(dir, "log"),
		"RABBITMQ_CONFIG_FILE":                filepath.Join(dir, "rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE":       filepath.Join(dir, "advanced.config"),
		"RABBITMQ_ENABLED_PLUGINS_FILE":       filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_PID_FILE":                   filepath.Join(dir, "rabbit.pid"),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
		// rabbitmqctl: no listening distribution port at all (the default
		// 35672-35682 range is shared with every other rabbitmqctl).
		"RABBITMQ_CTL_ERL_ARGS": "-dist_listen false",
		"ERL_EPMD_ADDRESS":      "127.0.0.1",
		"ERL_CRASH_DUMP":        filepath.Join(dir, "erl_crash.dump"),
	}
	if place != nil {
		place.setEnv(env)
	}
	r.env = rabbitEnv(env)
	return r, nil
}

// rabbitEnv is the process environment without anything RabbitMQ/Erlang
// related that could leak from the caller, plus set.
func rabbitEnv(set map[string]string) []string {
	var env []string
	hasPath := false
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "RABBITMQ_"), strings.HasPrefix(k, "ERL_"),
			k == "NODENAME", k == "HOME", k == "LANG", k == "LC_ALL", k == "detached",
			k == "NOTIFY_SOCKET", k == "CONF_ENV_FILE":
			continue
		case k == "PATH":
			hasPath = true
		}
		env = append(env, kv)
	}
	if !hasPath {
		env = append(env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// URL is amqp://guest:guest@<IP>:<port>/.
func (r *Rabbit) URL() string { return fmt.Sprintf("amqp://guest:guest@%s:%d/", r.ip, r.port) }

// TLSURL is amqps://guest:guest@<IP>:<TLS port>/ ("" without a TLS listener).
func (r *Rabbit) TLSURL() string {
	if r.tlsPort == 0 {
		return ""
	}
	return fmt.Sprintf("amqps://guest:guest@%s:%d/", r.ip, r.tlsPort)
}

// IP is the address the node listens on: 127.0.0.1, or its address in its network
// namespace (StartRabbitClusterNetns).
func (r *Rabbit) IP() string { return r.ip }

// Netns is the network namespace the node runs in ("": the harness's own).
func (r *Rabbit) Netns() string { return r.netns }

// TLSPort is the port of the TLS listener (0: none).
func (r *Rabbit) TLSPort() int { return r.tlsPort }

// Port is the AMQP port.
func (r *Rabbit) Port() int { return r.port }

// Node is the Erlang node name (kztest-<hex>@localhost, or kztest-<hex>@<IP> in a network
// namespace).
func (r *Rabbit) Node() string { return r.node }

// PID is the beam.smp PID of the running node (0 when not running).
func (r *Rabbit) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.pid
}

// Dir is the node's base directory (config, mnesia/, log/, console.log).
func (r *Rabbit) Dir() string { return r.dir }

// Log returns the node's console output and its log file.
func (r *Rabbit) Log() string {
	return readFileString(filepath.Join(r.dir, "console.log")) +
		readFileString(filepath.Join(r.dir, "log", r.node+".log"))
}

func (r *Rabbit) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return false
	}
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

// Start starts the node again on the same ports and data directory (after
// Stop or Kill). StartRabbit and SharedRabbit already call it once.
func (r *Rabbit) Start(t testing.TB) {
	t.Helper()
	d, err := r.start()
	if err != nil {
		t.Fatalf("harness: starting rabbit %s: %v", r.node, err)
	}
	tlsNote := ""
	if r.tlsPort != 0 {
		tlsNote = fmt.Sprintf(" (TLS port %d)", r.tlsPort)
	}
	t.Logf("harness: rabbit %s (pid %d) on port %d%s started in %v", r.node, r.PID(), r.port, tlsNote, d.Round(time.Millisecond))
}

func (r *Rabbit) start() (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		select {
		case <-r.exited:
			r.reapLocked()
		default:
			return 0, errors.New("already running")
		}
	}
	begin := time.Now()
	pidFile := filepath.Join(r.dir, "rabbit.pid")
	os.Remove(pidFile)
	console, err := os.OpenFile(filepath.Join(r.dir, "console.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer console.Close()
	fmt.Fprintf(console, "==== harness: starting %s at %s\n", r.node, begin.Format(time.RFC3339Nano))
	cmd := r.command(rabbitServerBin)
	// detached=1 makes the rabbitmq-server script `exec erl` instead of running
	// it as a background job of a signal-forwarding shell: the PID we start
	// *is* beam.smp (erl and erlexec exec too), so we own and can wait for it.
	cmd.Env = append(append([]string(nil), r.env...), "detached=1")
	cmd.Dir = r.dir
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var remove []string
	if r.removeOnDeath {
		remove = append(remove, r.dir)
	}
	wd, err := startWatchdog(cmd.Process.Pid, remove...)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return 0, err
	}
	exited, waitErr := make(chan struct{}), new(error)
	r.cmd, r.pid, r.exited, r.wait, r.wd = cmd, cmd.Process.Pid, exited, waitErr, wd
	go func() {
		*waitErr = cmd.Wait()
		close(exited)
	}()

	fail := func(format string, a ...any) (time.Duration, error) {
		msg := fmt.Sprintf(format, a...)
		r.killLocked()
		return time.Since(begin), fmt.Errorf("%s\n--- rabbit log ---\n%s", msg, tailString(r.Log(), 6000))
	}
	deadline := time.Now().Add(rabbitStartTimeout)
	for {
		select {
		case <-exited:
			return fail("rabbitmq-server exited during startup: %v", *waitErr)
		default:
		}
		// The pid file is written early in the boot, the AMQP listener is
		// started last: both must be there (the pid file also guarantees the
		// answering listener is not somebody else's). The TLS listener, if
		// any, must accept TCP connections too.
		if pid := readPidFile(pidFile); pid > 0 {
			if c, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)}); err == nil {
				c.Close()
				if r.tlsPort != 0 && !r.portOpen(r.tlsPort) {
					if time.Now().After(deadline) {
						return fail("TLS listener not open on port %d within %v", r.tlsPort, rabbitStartTimeout)
					}
					time.Sleep(100 * time.Millisecond)
					continue
				}
				if pid != r.pid {
					// Not expected with the detached=1 exec chain; trust the
					// pid file, which the beam itself wrote.
					r.pid = pid
				}
				return time.Since(begin), nil
			}
		}
		if time.Now().After(deadline) {
			return fail("node did not accept AMQP connections on port %d within %v", r.port, rabbitStartTimeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// command runs bin in the node's network namespace, if it has one: `ip netns exec` execs
// bin in place, so the PID the harness starts is still bin's own.
func (r *Rabbit) command(bin string, args ...string) *exec.Cmd {
	if r.netns == "" {
		return exec.Command(bin, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", r.netns, bin}, args...)...)
}

// portOpen tells whether the node's address accepts TCP connections on port.
func (r *Rabbit) portOpen(port int) bool { return portOpenAt(r.ip, port) }

func readPidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// Stop stops the node gracefully (SIGTERM to its beam.smp PID) and waits
// until the process is gone and the AMQP port is closed.
func (r *Rabbit) Stop(t testing.TB) {
	t.Helper()
	begin := time.Now()
	if err := r.stop(syscall.SIGTERM); err != nil {
		t.Fatalf("harness: Rabbit.Stop %s: %v", r.node, err)
	}
	t.Logf("harness: rabbit %s stopped in %v", r.node, time.Since(begin).Round(time.Millisecond))
}

// Kill SIGKILLs the node's beam.smp (by PID; epmd is left alone) and waits
// until it is gone and the AMQP port is closed.
func (r *Rabbit) Kill(t testing.TB) {
	t.Helper()
	begin := time.Now()
	if err := r.stop(syscall.SIGKILL); err != nil {
		t.Fatalf("harness: Rabbit.Kill %s: %v", r.node, err)
	}
	t.Logf("harness: rabbit %s killed in %v", r.node, time.Since(begin).Round(time.Millisecond))
}

func (r *Rabbit) stop(sig syscall.Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return errors.New("not running")
	}
	select {
	case <-r.exited:
		r.reapLocked()
		return errors.New("not running (it had exited on its own)")
	default:
	}
	if err := r.signalLocked(sig); err != nil {
		return err
	}
	var errs []error
	timeout := rabbitStopTimeout
	if sig == syscall.SIGKILL {
		timeout = 10 * time.Second
	}
	if !r.waitExitLocked(timeout) {
		errs = append(errs, fmt.Errorf("beam %d still running %v after %v; SIGKILLed", r.pid, timeout, sig))
	}
	if !waitUntil(5*time.Second, func() bool { return !r.portOpen(r.port) }) {
		errs = append(errs, fmt.Errorf("port %d still open after the node exited", r.port))
	}
	if r.tlsPort != 0 && !waitUntil(5*time.Second, func() bool { return !r.portOpen(r.tlsPort) }) {
		errs = append(errs, fmt.Errorf("TLS port %d still open after the node exited", r.tlsPort))
	}
	r.reapLocked()
	return errors.Join(errs...)
}

// signalLocked signals the beam: through os.Process (pidfd based, immune to
// PID reuse) when the beam is our direct child, by PID otherwise.
func (r *Rabbit) signalLocked(sig syscall.Signal) error {
	if r.pid == r.cmd.Process.Pid {
		return r.cmd.Process.Signal(sig)
	}
	return syscall.Kill(r.pid, sig)
}

// waitExitLocked waits for the beam to exit; on timeout it SIGKILLs the
// whole process group the harness created for it.
func (r *Rabbit) waitExitLocked(timeout time.Duration) bool {
	select {
	case <-r.exited:
		return true
	case <-time.After(timeout):
	}
	killGroup(r.cmd.Process.Pid, 5*time.Second)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
	}
	return false
}

// reapLocked cleans up after the beam exited: leftover helpers of its process
// group (erl_child_setup, inet_gethost, the disk monitor shell normally exit
// by themselves) are given a moment, then SIGKILLed; the watchdog is disarmed.
func (r *Rabbit) reapLocked() {
	if r.cmd == nil {
		return
	}
	pgid := r.cmd.Process.Pid
	if !waitUntil(5*time.Second, func() bool { return len(groupMembers(pgid)) == 0 }) {
		killGroup(pgid, 5*time.Second)
	}
	r.wd.disarm()
	r.cmd, r.wd = nil, nil
}

func (r *Rabbit) killLocked() {
	if r.cmd == nil {
		return
	}
	select {
	case <-r.exited:
	default:
		_ = r.signalLocked(syscall.SIGKILL)
	}
	r.waitExitLocked(10 * time.Second)
	r.reapLocked()
}

// shutdown is the cleanup: graceful stop if running, else just reap.
func (r *Rabbit) shutdown() error {
	if r.running() {
		return r.stop(syscall.SIGTERM)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reapLocked()
	return nil
}

// Ctl runs `rabbitmqctl -n <node> args...` (bounded) and returns its combined
// output; a non-zero exit fails the test.
func (r *Rabbit) Ctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := r.CtlErr(args...)
	if err != nil {
		t.Fatalf("harness: rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// CtlErr is Ctl returning the error instead of failing the test.
func (r *Rabbit) CtlErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), rabbitCtlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rabbitCtlBin, append([]string{"-n", r.node}, args...)...)
	cmd.Env = r.env
	cmd.Dir = r.dir
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v: %w", rabbitCtlTimeout, err)
	}
	return string(out), err
}

// EnablePlugins enables plugins on the running node (rabbitmq-plugins enable, which also
// writes the node's own enabled_plugins file, so they stay enabled across restarts).
func (r *Rabbit) EnablePlugins(t testing.TB, names ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rabbitCtlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rabbitPluginBin, append([]string{"-n", r.node, "enable"}, names...)...)
	cmd.Env = r.env
	cmd.Dir = r.dir
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("harness: rabbitmq-plugins enable %v on %s: %v\n%s", names, r.node, err, out)
	}
}

// Dial opens an AMQP connection to the node (closed at cleanup).
func (r *Rabbit) Dial(t testing.TB) *amqp.Connection {
	t.Helper()
	c, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("harness: dial %s: %v", r.URL(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Queue receives the deliveries of a queue bound by Rabbit.Bind.
type Queue struct {
	Name string // server-named queue

	conn   *amqp.Connection
	mu     sync.Mutex
	buf    []amqp.Delivery
	count  int
	notify chan struct{}
}

// Bind declares exchange (kind "topic", "direct", "fanout", ...; non-durable,
// not auto-deleted; amq.* exchanges are only checked passively), an exclusive
// auto-delete server-named queue bound to it with routingKey, and starts
// consuming (auto-ack). The connection is closed at cleanup.
func (r *Rabbit) Bind(t testing.TB, exchange, kind, routingKey string) *Queue {
	t.Helper()
	return r.bind(t, exchange, kind, routingKey, strings.HasPrefix(exchange, "amq."))
}

// BindExisting is Bind to an exchange that someone else declared (e.g. Kamailio, durable):
// the exchange is only checked passively.
func (r *Rabbit) BindExisting(t testing.TB, exchange, routingKey string) *Queue {
	t.Helper()
	return r.bind(t, exchange, "topic", routingKey, true)
}

func (r *Rabbit) bind(t testing.TB, exchange, kind, routingKey string, passive bool) *Queue {
	t.Helper()
	conn, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		t.Fatalf("harness: Bind: dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("harness: Bind: channel: %v", err)
	}
	switch {
	case exchange == "":
		t.Fatalf("harness: Bind: the default exchange cannot be bound")
	case passive:
		err = ch.ExchangeDeclarePassive(exchange, kind, true, false, false, false, nil)
	default:
		err = ch.ExchangeDeclare(exchange, kind, false, false, false, false, nil)
	}
	if err != nil {
		t.Fatalf("harness: Bind: declare exchange %q (%s): %v", exchange, kind, err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatalf("harness: Bind: declare queue: %v", err)
	}
	if err := ch.QueueBind(q.Name, routingKey, exchange, false, nil); err != nil {
		t.Fatalf("harness: Bind: bind %s to %s/%q: %v", q.Name, exchange, routingKey, err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatalf("harness: Bind: consume: %v", err)
	}
	rq := &Queue{Name: q.Name, conn: conn, notify: make(chan struct{}, 1)}
	go func() {
		for d := range deliveries {
			rq.mu.Lock()
			rq.buf = append(rq.buf, d)
			rq.count++
			rq.mu.Unlock()
			select {
			case rq.notify <- struct{}{}:
			default:
			}
		}
	}()
	return rq
}

// Next returns the next delivery, waiting at most timeout (ok=false on timeout).
func (q *Queue) Next(t testing.TB, timeout time.Duration) (amqp.Delivery, bool) {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		q.mu.Lock()
		if len(q.buf) > 0 {
			d := q.buf[0]
			q.buf = q.buf[1:]
			q.mu.Unlock()
			return d, true
		}
		q.mu.Unlock()
		select {
		case <-q.notify:
		case <-timer.C:
			return amqp.Delivery{}, false
		}
	}
}

// Count is the number of deliveries received so far (consumed by Next or not).
func (q *Queue) Count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.count
}
