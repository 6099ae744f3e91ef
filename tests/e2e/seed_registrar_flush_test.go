package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// examples/kazoo-registrar-flush.cfg against the Kazoo simulator: REGISTERs authenticated
// through authn_req are saved in usrloc and announced with reg_success on exchange
// registrar; a reg_flush that Kazoo (here the test) publishes on registrar removes the
// user's contacts; OPTIONS sip:user@realm tells whether the user is registered.

const seedFlushQueue = "registrar-flush-registrar.kazoo.local" // the cfg's queue for its NODE_NAME

// seedProbe sends OPTIONS sip:user@simRealm to Kamailio and returns the final response's
// code and X-Contact header.
func seedProbe(t *testing.T, port int, user string) (int, string) {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	callID := "seed-probe-" + tag + "@127.0.0.1"
	msg := fmt.Sprintf("OPTIONS sip:%[1]s@%[2]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[3]s;branch=z9hG4bK-probe-%[4]s;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:probe@%[2]s>;tag=p%[4]s\r\n"+
		"To: <sip:%[1]s@%[2]s>\r\n"+
		"Call-ID: %[5]s\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"Content-Length: 0\r\n\r\n", user, simRealm, conn.LocalAddr(), tag, callID)
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no reply to OPTIONS for %s: %v", user, err)
		}
		m := presParseSip(buf[:n])
		if m.headers["call-id"] == callID && m.code() >= 200 {
			return m.code(), m.headers["x-contact"]
		}
	}
}

// seedWaitProbe probes user until the answer is want (within timeout) and returns how long
// that took; the test fails otherwise.
func seedWaitProbe(t *testing.T, k *harness.Kamailio, user string, want int, timeout time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	for {
		code, _ := seedProbe(t, k.SipPort(), user)
		if code == want {
			return time.Since(begin)
		}
		if time.Since(begin) > timeout {
			t.Fatalf("OPTIONS for %s still %d after %v (want %d)\n--- kamailio ---\n%s", user, code, timeout, want, presTail(k.Log(), 6000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedRegSuccess reads the next reg_success and checks it is user's.
func seedRegSuccess(t *testing.T, k *harness.Kamailio, q *harness.Queue, user string) map[string]any {
	t.Helper()
	d, ok := q.Next(t, 10*time.Second)
	if !ok {
		t.Fatalf("no reg_success for %s on exchange registrar\n--- kamailio ---\n%s", user, presTail(k.Log(), 6000))
	}
	var m map[string]any
	if err := json.Unmarshal(d.Body, &m); err != nil {
		t.Fatalf("reg_success is not JSON: %v: %s", err, d.Body)
	}
	wantKey := "registration.success.sim%2Ekazoo%2Etest." + strings.ReplaceAll(user, "'", "%27")
	ccv, _ := m["Custom-Channel-Vars"].(map[string]any)
	contact, _ := m["Contact"].(string)
	if d.RoutingKey != wantKey || m["Event-Category"] != "directory" || m["Event-Name"] != "reg_success" ||
		m["Username"] != user || m["Realm"] != simRealm || m["Expires"] != float64(300) ||
		!strings.Contains(contact, "sip:"+user+"@127.0.0.1:") || m["Call-ID"] == "" ||
		m["User-Agent"] != "sipp register_auth" || d.ContentType != "application/json" ||
		m["App-Name"] != "kamailio" || m["Node"] != "kamailio@registrar.kazoo.local" ||
		ccv == nil || ccv["Account-ID"] != seedMD5(simRealm) || ccv["Username"] != user || ccv["Realm"] != simRealm {
		t.Errorf("reg_success with routing key %q (want %q): %s", d.RoutingKey, wantKey, d.Body)
	}
	return m
}

// seedMD5 is kazoo-sim's md5hex: the Account-ID it gives a realm.
func seedMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSeedRegFlush(t *testing.T) {
	r := harness.SharedRabbit(t)
	sim := startKazooSim(t, r)
	k := startRegistrar(t, "kazoo-registrar-flush.cfg", r.URL(), "")
	conn := r.Dial(t)
	presWaitConsumer(t, conn, seedFlushQueue) // mod-init subscribed (and declared registrar)
	success := r.Bind(t, "registrar", "topic", "registration.success.#")

	// nobody is registered yet
	if code, _ := seedProbe(t, k.SipPort(), "alice"); code != 404 {
		t.Fatalf("OPTIONS for alice before any REGISTER: %d, want 404", code)
	}

	// alice and o'brien register: authn_req reaches Kazoo, 200 (with X-Account-ID, which
	// register_auth.xml checks), reg_success on registrar, and the contact is stored
	for _, u := range []struct{ user, password string }{{"alice", "s3cret"}, {"o'brien", "0b-pass"}} {
		before := len(sim.requests(t, "authn_req"))
		expectSipp(t, k, harness.Sipp(t, "register_auth.xml", k.SipPort(), 1, 10, registerArgs(u.user, u.password)...), 1)
		reqs := sim.requests(t, "authn_req")[before:]
		if len(reqs) != 1 || reqs[0].Body["Auth-User"] != u.user || reqs[0].RoutingKey != "authn.req."+simRealm {
			t.Errorf("kazoo-sim saw %d authn_req for %s: %v", len(reqs), u.user, reqs)
		}
		seedRegSuccess(t, k, success, u.user)
		code, contact := seedProbe(t, k.SipPort(), u.user)
		if code != 200 || !strings.HasPrefix(contact, "sip:"+u.user+"@127.0.0.1:") {
			t.Fatalf("OPTIONS for %s after REGISTER: %d, X-Contact %q\n%s", u.user, code, contact, presTail(k.Log(), 6000))
		}
		t.Logf("%s registered at %s", u.user, contact)
	}
	// a wrong password is refused and stores nothing, announces nothing
	expectSipp(t, k, harness.Sipp(t, "register_forbidden.xml", k.SipPort(), 1, 10, registerArgs("alice", "wrong")...), 1)

	flush := func(key string, m map[string]any) {
		t.Helper()
		m["App-Name"], m["App-Version"], m["Node"] = "kazoo-e2e", "4.3.0", "kazoo-e2e@localhost"
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		publishTo(t, conn, "registrar", key, string(b))
	}
	const flushKey = "registration.flush.sim%2Ekazoo%2Etest"

	// Kazoo flushes alice: gone within 2 s, o'brien stays
	flush(flushKey, map[string]any{"Event-Category": "directory", "Event-Name": "reg_flush",
		"Username": "alice", "Realm": simRealm, "Msg-ID": "flush-alice"})
	took := seedWaitProbe(t, k, "alice", 404, 2*time.Second)
	t.Logf("alice not found %v after the flush", took.Round(time.Millisecond))
	if !k.WaitLog(t, "REG-FLUSH sip:alice@"+simRealm+": contacts removed", 5*time.Second) {
		t.Errorf("no flush log line\n%s", presTail(k.Log(), 6000))
	}
	if code, _ := seedProbe(t, k.SipPort(), "o'brien"); code != 200 {
		t.Errorf("o'brien after alice's flush: %d, want 200", code)
	}

	// malformed flushes: no Username, no Realm, not JSON; then a flush of someone not
	// registered. None removes o'brien, Kamailio keeps running.
	flush(flushKey, map[string]any{"Event-Category": "directory", "Event-Name": "reg_flush",
		"Realm": simRealm, "Msg-ID": "flush-no-user"})
	flush(flushKey, map[string]any{"Event-Category": "directory", "Event-Name": "reg_flush",
		"Username": "o'brien", "Msg-ID": "flush-no-realm"})
	publishTo(t, conn, "registrar", flushKey, `{"Event-Category": "directory", "Event-Name": "reg_flush", "Username": `)
	flush(flushKey, map[string]any{"Event-Category": "directory", "Event-Name": "reg_flush",
		"Username": "nobody", "Realm": simRealm, "Msg-ID": "flush-nobody"})
	if !k.WaitLog(t, "REG-FLUSH sip:nobody@"+simRealm+": nothing registered", 5*time.Second) {
		t.Fatalf("flush of nobody not handled\n%s", presTail(k.Log(), 6000))
	}
	if n := strings.Count(k.Log(), "REG-FLUSH ignored: no Username or Realm"); n != 2 {
		t.Errorf("%d flushes ignored for a missing Username or Realm, want 2\n%s", n, presTail(k.Log(), 6000))
	}
	if code, contact := seedProbe(t, k.SipPort(), "o'brien"); code != 200 {
		t.Errorf("o'brien after the malformed flushes: %d %q, want 200", code, contact)
	}
	if !k.Alive() {
		t.Fatalf("Kamailio died\n%s", k.Log())
	}

	// alice registers again and is found
	expectSipp(t, k, harness.Sipp(t, "register_auth.xml", k.SipPort(), 1, 10, registerArgs("alice", "s3cret")...), 1)
	seedRegSuccess(t, k, success, "alice")
	if code, _ := seedProbe(t, k.SipPort(), "alice"); code != 200 {
		t.Errorf("alice after registering again: %d", code)
	}
	// the only error logged is the rejection of the flush that is not JSON
	for _, l := range presErrorLines(k.Log()) {
		if !strings.Contains(l, "is not JSON") || !strings.Contains(l, "rejected") {
			t.Errorf("unexpected error line: %s", l)
		} else {
			t.Logf("expected: %s", strings.TrimSpace(l))
		}
	}
	if n := success.Count(); n != 3 {
		t.Errorf("%d reg_success published, want 3 (the refused REGISTER announces nothing)", n)
	}
}
