package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// The registrar example (examples/kazoo-registrar.cfg) against the Kazoo simulator
// (examples/kazoo-sim): digest authentication of REGISTERs with the password returned by
// kazoo_query, driven by sipp.

const (
	simRealm    = "sim.kazoo.test"
	simUsers    = "# kazoo-sim users\nalice@" + simRealm + " s3cret\no'brien@" + simRealm + " 0b-pass # trailing comment\n"
	simStopWait = 5 * time.Second
)

// kazooSim is a running examples/kazoo-sim started by startKazooSim.
type kazooSim struct {
	logPath string
}

// simRequest is one request logged by the simulator (-v): "req <api> rk=<key> <json>".
type simRequest struct {
	RoutingKey string
	Body       map[string]any
}

// startKazooSim builds examples/kazoo-sim, starts it against r with the test users, -v and
// args, and waits (bounded) for its ready file. t.Cleanup stops it by PID: SIGTERM, then
// SIGKILL after simStopWait; a simulator that died on its own or did not exit 0 on SIGTERM
// fails the test.
func startKazooSim(t *testing.T, r *harness.Rabbit, args ...string) *kazooSim {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "kazoo-sim")
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	build := exec.Command(gobin, "build", "-o", bin, "../../examples/kazoo-sim")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kazoo-sim: %v\n%s", err, out)
	}
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte(simUsers), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &kazooSim{logPath: filepath.Join(dir, "sim.log")}
	ready := filepath.Join(dir, "ready")
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, append([]string{"-url", r.URL(), "-users", users, "-ready-file", ready, "-v"}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// its own process group; killed with the test binary's thread that started it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting kazoo-sim: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
			t.Errorf("kazoo-sim (pid %d) died on its own: %v\n%s", cmd.Process.Pid, waitErr, s.log())
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("kazoo-sim (pid %d) did not exit cleanly on SIGTERM: %v\n%s", cmd.Process.Pid, waitErr, s.log())
			}
		case <-time.After(simStopWait):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("kazoo-sim (pid %d) still running %v after SIGTERM; killed", cmd.Process.Pid, simStopWait)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			return s
		}
		select {
		case <-exited:
			t.Fatalf("kazoo-sim exited during startup: %v\n%s", waitErr, s.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kazoo-sim not ready within 15s\n%s", s.log())
		}
	}
}

func (s *kazooSim) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// requests returns the requests of api the simulator received so far.
func (s *kazooSim) requests(t *testing.T, api string) []simRequest {
	t.Helper()
	var reqs []simRequest
	marker := " req " + api + " rk="
	sc := bufio.NewScanner(strings.NewReader(s.log()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		_, rest, ok := strings.Cut(sc.Text(), marker)
		if !ok {
			continue
		}
		rk, body, _ := strings.Cut(rest, " ")
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("kazoo-sim logged a request that is not JSON: %v: %s", err, body)
		}
		reqs = append(reqs, simRequest{RoutingKey: rk, Body: m})
	}
	return reqs
}

// registrarTemplate is examples/kazoo-registrar.cfg with its #!define values set for the
// harness (the example's #!ifndef guards keep them), plus extraDefines.
func registrarTemplate(t *testing.T, example, extraDefines string) string {
	t.Helper()
	cfg, err := os.ReadFile("../../examples/" + example)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), "{{") {
		t.Fatal("examples/" + example + " contains {{, which the harness would take for a template action")
	}
	return "#!define SIP_LISTEN udp:127.0.0.1:{{.SipPort}}\n" +
		"#!define AMQP_URL \"{{.Extra.URL}}\"\n" +
		"#!define KAZOO_MODULE \"{{.Module}}\"\n" +
		"#!define CTL_SOCKET \"unix:{{.CtlSocket}}\"\n" +
		extraDefines + string(cfg)
}

// startRegistrar starts Kamailio with an example cfg and waits (bounded) until every process
// running the module has its broker open or idle (kamcmd kazoo.status): the consumers
// connect after Kamailio answers RPC, and a SIP worker at its first request.
func startRegistrar(t *testing.T, example, url, extraDefines string) *harness.Kamailio {
	t.Helper()
	k := harness.StartKamailio(t, registrarTemplate(t, example, extraDefines), harness.KamailioOpts{Module: modulePath,
		Extra: map[string]any{"URL": url}})
	waitAllConnected(t, k)
	return k
}

// waitAllConnected waits (bounded) until kamcmd kazoo.status shows the SIP workers and
// consumer 1, with every broker connection open or idle (not needed yet) and consumer 1's
// open.
func waitAllConnected(t *testing.T, k *harness.Kamailio) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := k.Kamcmd(t, "kazoo.status")
		if strings.Contains(s, "udp receiver") && consumersOpen(parseStatus(s)) &&
			strings.Count(s, "state:") == strings.Count(s, "state: open")+strings.Count(s, "state: idle") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the module's processes are not all connected after 15 s:\n%s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// registrarExamples: the same registrar with kazoo_query and with kazoo_async_query.
var registrarExamples = []string{"kazoo-registrar.cfg", "kazoo-registrar-async.cfg"}

// eachRegistrar runs f as a subtest for each registrar example.
func eachRegistrar(t *testing.T, f func(t *testing.T, example string)) {
	for _, example := range registrarExamples {
		t.Run(example, func(t *testing.T) { f(t, example) })
	}
}

// registerArgs are sipp's arguments for REGISTERs of user@simRealm with password.
func registerArgs(user, password string) []string {
	return []string{"-s", user, "-key", "realm", simRealm, "-au", user, "-ap", password}
}

func expectSipp(t *testing.T, k *harness.Kamailio, res harness.SippResult, calls int) {
	t.Helper()
	if res.Successful != calls || res.Failed != 0 {
		t.Fatalf("sipp: %d successful, %d failed of %d\n%s\n--- kamailio ---\n%s", res.Successful, res.Failed, calls, res.Output, k.Log())
	}
}

// Good credentials get 200 with the account of Custom-Channel-Vars (register_auth.xml
// checks X-Account-ID); one authn_req per REGISTER reaches Kazoo, with the fields its
// registrar needs. A wrong password and an unknown user get 403.
func TestRegistrarAuth(t *testing.T) { eachRegistrar(t, testRegistrarAuth) }

func testRegistrarAuth(t *testing.T, example string) {
	r := harness.SharedRabbit(t)
	sim := startKazooSim(t, r)
	k := startRegistrar(t, example, r.URL(), "")
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d", rep.Code)
	}

	const calls = 20
	expectSipp(t, k, harness.Sipp(t, "register_auth.xml", k.SipPort(), calls, 20, registerArgs("alice", "s3cret")...), calls)
	reqs := sim.requests(t, "authn_req")
	callIDs := map[string]bool{}
	for _, req := range reqs {
		b := req.Body
		callID, _ := b["Call-ID"].(string)
		callIDs[callID] = true
		serverID, _ := b["Server-ID"].(string)
		msgID, _ := b["Msg-ID"].(string)
		if req.RoutingKey != "authn.req."+simRealm || b["Event-Category"] != "directory" || b["Event-Name"] != "authn_req" ||
			b["Method"] != "REGISTER" || b["Auth-User"] != "alice" || b["Auth-Realm"] != simRealm ||
			b["From"] != "sip:alice@"+simRealm || b["To"] != "sip:alice@"+simRealm || b["Orig-IP"] != "127.0.0.1" ||
			b["User-Agent"] != "sipp register_auth" || callID == "" || msgID == "" ||
			!strings.HasPrefix(serverID, "kamailio@registrar.kazoo.local-") ||
			b["App-Name"] != "kamailio" || b["Node"] != "kamailio@registrar.kazoo.local" {
			t.Errorf("authn_req with routing key %q: %v", req.RoutingKey, b)
		}
	}
	// sipp retransmits a REGISTER after 500 ms; the transaction absorbs retransmissions
	if len(reqs) != calls || len(callIDs) != calls {
		t.Errorf("kazoo-sim saw %d authn_req for %d Call-IDs, want %d", len(reqs), len(callIDs), calls)
	}

	// a quote in the user name must not break the lenient-JSON payload
	t.Run("quote in user name", func(t *testing.T) {
		expectSipp(t, k, harness.Sipp(t, "register_auth.xml", k.SipPort(), 2, 20, registerArgs("o'brien", "0b-pass")...), 2)
	})
	for _, c := range []struct{ name, user, password string }{
		{"wrong password", "alice", "wrong"},
		{"unknown user", "mallory", "s3cret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(sim.requests(t, "authn_req"))
			expectSipp(t, k, harness.Sipp(t, "register_forbidden.xml", k.SipPort(), 5, 20, registerArgs(c.user, c.password)...), 5)
			reqs := sim.requests(t, "authn_req")[before:]
			if len(reqs) != 5 || reqs[0].Body["Auth-User"] != c.user {
				t.Errorf("kazoo-sim saw %d more authn_req (want 5 for %s): %v", len(reqs), c.user, reqs)
			}
		})
	}
}

// Kazoo answers after the query timeout: 500 once the timeout (1 s here) expires.
func TestRegistrarKazooTooSlow(t *testing.T) { eachRegistrar(t, testRegistrarKazooTooSlow) }

func testRegistrarKazooTooSlow(t *testing.T, example string) {
	r := harness.SharedRabbit(t)
	sim := startKazooSim(t, r, "-delay", "3s")
	k := startRegistrar(t, example, r.URL(), "#!define QUERY_TIMEOUT_SEC 1\n")
	const calls = 3
	begin := time.Now()
	expectSipp(t, k, harness.Sipp(t, "register_unavailable.xml", k.SipPort(), calls, 10, registerArgs("alice", "s3cret")...), calls)
	took := time.Since(begin)
	if took < time.Second || took > 2800*time.Millisecond {
		t.Errorf("%d REGISTERs at 10/s answered in %v, want about the 1 s query timeout", calls, took)
	}
	if n := len(sim.requests(t, "authn_req")); n != calls {
		t.Errorf("kazoo-sim saw %d authn_req, want %d", n, calls)
	}
	if !strings.Contains(k.Log(), "no reply within the timeout") {
		t.Errorf("no timeout in the log:\n%s", k.Log())
	}
}

// Nothing consumes authn_req: the query fails at once (the broker returns the request, or
// callmgr does not even exist) and the REGISTER gets 500 without waiting for the timeout;
// once Kazoo is there, REGISTERs are authenticated again.
func TestRegistrarKazooAbsent(t *testing.T) { eachRegistrar(t, testRegistrarKazooAbsent) }

func testRegistrarKazooAbsent(t *testing.T, example string) {
	r := harness.SharedRabbit(t)
	k := startRegistrar(t, example, r.URL(), "")
	const calls = 5
	begin := time.Now()
	expectSipp(t, k, harness.Sipp(t, "register_unavailable.xml", k.SipPort(), calls, 50, registerArgs("alice", "s3cret")...), calls)
	if took := time.Since(begin); took > 1500*time.Millisecond {
		t.Errorf("%d REGISTERs answered in %v: the query must fail at once, not after its 2 s timeout", calls, took)
	}
	if !strings.Contains(k.Log(), "query to exchange 'callmgr' with routing key 'authn.req."+simRealm+"' failed") {
		t.Errorf("no kazoo_query failure in the log:\n%s", k.Log())
	}
	// Kazoo comes up: the next REGISTERs are authenticated
	startKazooSim(t, r)
	expectSipp(t, k, harness.Sipp(t, "register_auth.xml", k.SipPort(), calls, 50, registerArgs("alice", "s3cret")...), calls)
}
