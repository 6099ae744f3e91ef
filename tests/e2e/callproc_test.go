package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// The call-processing examples against the Kazoo simulator, with SIP user agents of the
// test on both sides of Kamailio:
//
//   - examples/kazoo-callproc.cfg: route_req / route_resp / route_win, then the INVITE
//     relayed to the winning route (a UA of the test);
//   - examples/kazoo-replaces.cfg: an INVITE with Replaces relayed to the media server that
//     channel_status_req finds (a UA of the test on the simulator's Switch-URL).

const (
	cpRealm       = "callproc.kazoo.test"
	cpWait        = 10 * time.Second
	cpSwitchAddr  = "127.0.0.1:11000" // the Switch-URL of examples/kazoo-sim (apis.go)
	cpSimServerID = "kazoo-sim-callproc-"
)

// cpMsg is a SIP message received by a cpUA.
type cpMsg = presSipMsg

// reason is the reason phrase of a response.
func (m cpMsg) reason() string {
	f := strings.SplitN(m.first, " ", 3)
	if len(f) == 3 {
		return f[2]
	}
	return ""
}

// method is the request's method, or the CSeq method of a response.
func (m cpMsg) method() string {
	if m.code() == 0 {
		return strings.Fields(m.first)[0]
	}
	f := strings.Fields(m.headers["cseq"])
	if len(f) == 2 {
		return f[1]
	}
	return ""
}

// ruri is the Request-URI of a request.
func (m cpMsg) ruri() string {
	if f := strings.Fields(m.first); len(f) == 3 && m.code() == 0 {
		return f[1]
	}
	return ""
}

// cpUA is a SIP user agent on UDP. As a caller it sends INVITEs and ACKs; as a callee
// (answer set) it answers every INVITE it receives with the final response answer gives
// for it, the same To-tag for retransmissions. It keeps what it received.
type cpUA struct {
	*sipInbox
	name   string
	conn   *net.UDPConn
	answer func(m cpMsg) (code int, reason string)
}

var cpSeq atomic.Int64

// newCpUA starts a UA on addr ("127.0.0.1:0" for any port).
func newCpUA(t *testing.T, name, addr string, answer func(m cpMsg) (int, string)) (*cpUA, error) {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	u := &cpUA{name: name, conn: conn, answer: answer}
	u.sipInbox = listenSIP(t, conn, func(m cpMsg) []byte {
		if u.answer == nil || m.code() != 0 || m.method() != "INVITE" {
			return nil
		}
		code, reason := u.answer(m)
		return []byte(u.response(m, code, reason))
	})
	return u, nil
}

func (u *cpUA) addr() string { return u.conn.LocalAddr().String() }

// response builds the callee's final response to req: To-tag from the Call-ID, Contact
// this UA, X-Callee its name.
func (u *cpUA) response(req cpMsg, code int, reason string) string {
	h := fnv.New32a()
	h.Write([]byte(req.headers["call-id"]))
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, v := range req.vias {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s;tag=%s-%x\r\nCall-ID: %s\r\nCSeq: %s\r\n",
		req.headers["from"], req.headers["to"], u.name, h.Sum32(), req.headers["call-id"], req.headers["cseq"])
	fmt.Fprintf(&b, "Contact: <sip:%s@%s>\r\nX-Callee: %s\r\nContent-Length: 0\r\n\r\n", u.name, u.addr(), u.name)
	return b.String()
}

// receivedFor returns the messages of callID received so far.
func (u *cpUA) receivedFor(callID string) []cpMsg {
	var ms []cpMsg
	for _, m := range u.received() {
		if m.headers["call-id"] == callID {
			ms = append(ms, m)
		}
	}
	return ms
}

func (u *cpUA) dump() string {
	var b strings.Builder
	for _, m := range u.received() {
		fmt.Fprintf(&b, "  %s | Call-ID %s\n", m.first, m.headers["call-id"])
	}
	return b.String()
}

// cpCall is an INVITE sent by a caller and its final response.
type cpCall struct {
	callID, branch, ruri, from string
	final                      cpMsg
	took                       time.Duration
}

// invite sends an INVITE for sip:user@cpRealm from alice to Kamailio on kamPort, with
// extra headers, waits up to cpWait for the final response and acknowledges it (the ACK of
// a 2xx goes to the callee's Contact: no Record-Route). It fails the test without a final
// response.
func (u *cpUA) invite(t *testing.T, kamPort int, user string, extra map[string]string) cpCall {
	t.Helper()
	n := cpSeq.Add(1)
	c := cpCall{
		callID: fmt.Sprintf("cp-%d-%d@127.0.0.1", n, time.Now().UnixNano()),
		branch: fmt.Sprintf("z9hG4bK-cp-%d-%d", n, time.Now().UnixNano()),
		ruri:   "sip:" + user + "@" + cpRealm,
		from:   fmt.Sprintf("\"Alice\" <sip:alice@%s>;tag=a-%d", cpRealm, n),
	}
	var b strings.Builder
	fmt.Fprintf(&b, "INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n", c.ruri, u.addr(), c.branch)
	fmt.Fprintf(&b, "From: %s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@%s>\r\n", c.from, c.ruri, c.callID, u.addr())
	for k, v := range extra {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("User-Agent: kazoo-go e2e\r\nContent-Length: 0\r\n\r\n")
	kam := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: kamPort}
	begin := time.Now()
	if _, err := u.conn.WriteToUDP([]byte(b.String()), kam); err != nil {
		t.Fatal(err)
	}
	final, ok := u.wait(cpWait, func(m cpMsg) bool {
		return m.headers["call-id"] == c.callID && m.method() == "INVITE" && m.code() >= 200
	})
	if !ok {
		t.Fatalf("INVITE %s (%s): no final response within %v; received:\n%s", c.ruri, c.callID, cpWait, u.dump())
	}
	c.final, c.took = final, time.Since(begin)

	// ACK: hop by hop (same branch, to Kamailio) for a negative reply, end to end for a 2xx
	ackRURI, ackBranch, to := c.ruri, c.branch, kam
	if final.code() < 300 {
		contact := strings.Trim(final.headers["contact"], "<>")
		hostport := strings.TrimPrefix(contact, "sip:")
		if _, hp, ok := strings.Cut(hostport, "@"); ok {
			hostport = hp
		}
		addr, err := net.ResolveUDPAddr("udp", hostport)
		if err != nil {
			t.Fatalf("2xx with a bad Contact %q: %v", final.headers["contact"], err)
		}
		ackRURI, ackBranch, to = contact, c.branch+"-ack", addr
	}
	ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
		ackRURI, u.addr(), ackBranch, c.from, final.headers["to"], c.callID)
	if _, err := u.conn.WriteToUDP([]byte(ack), to); err != nil {
		t.Fatal(err)
	}
	return c
}

// cpExpect checks the final response of c.
func cpExpect(t *testing.T, k *harness.Kamailio, c cpCall, code int, reason string) {
	t.Helper()
	if c.final.code() != code || (reason != "" && c.final.reason() != reason) {
		t.Fatalf("INVITE %s: got %q, want %d %s\n--- kamailio ---\n%s", c.ruri, c.final.first, code, reason, k.Log())
	}
	t.Logf("INVITE %s: %s in %v", c.ruri, c.final.first, c.took.Round(time.Millisecond))
}

// cpSimReplies returns the bodies of the replies to api the simulator sent (-v log:
// "reply <api> to=<Server-ID> <json>").
func cpSimReplies(t *testing.T, sim *kazooSim, api string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(sim.log(), "\n") {
		_, rest, ok := strings.Cut(line, " reply "+api+" to=")
		if !ok {
			continue
		}
		_, body, _ := strings.Cut(rest, " ")
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("kazoo-sim logged a reply that is not JSON: %v: %s", err, body)
		}
		out = append(out, m)
	}
	return out
}

// cpSimRequest waits (bounded) for the simulator's request of api whose Call-ID is callID.
func cpSimRequest(t *testing.T, sim *kazooSim, api, callID string) (simRequest, bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, req := range sim.requests(t, api) {
			if req.Body["Call-ID"] == callID {
				return req, true
			}
		}
		if time.Now().After(deadline) {
			return simRequest{}, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The callee of TestCallProc: users starting with "busy" are busy, the others answer.
func cpBob(m cpMsg) (int, string) {
	if strings.HasPrefix(m.ruri(), "sip:busy") {
		return 486, "Busy Here"
	}
	return 200, "OK"
}

// examples/kazoo-callproc.cfg: Kazoo's route_req answered "bridge" sends the route_win to
// the winning application and relays the INVITE to its route, whose answers (200, 486)
// reach the caller; "error" gives the caller Kazoo's code; no answer within the query
// timeout (1 s here) is 500.
func TestCallProc(t *testing.T) {
	r := harness.SharedRabbit(t)
	bob, err := newCpUA(t, "bob", "127.0.0.1:0", cpBob)
	if err != nil {
		t.Fatal(err)
	}
	// the simulator bridges every call to bob's host:port (see kazoo-sim's callproc.go)
	t.Setenv("KAZOO_SIM_BRIDGE", bob.addr())
	sim := startKazooSim(t, r)
	k := startRegistrar(t, "kazoo-callproc.cfg", r.URL(), "#!define QUERY_TIMEOUT_SEC 1\n")
	caller, err := newCpUA(t, "alice", "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("bridge", func(t *testing.T) {
		c := caller.invite(t, k.SipPort(), "bob", nil)
		cpExpect(t, k, c, 200, "OK")
		if c.final.headers["x-callee"] != "bob" || !strings.Contains(c.final.headers["to"], ";tag=bob-") {
			t.Errorf("200 OK not bob's: %v", c.final.headers)
		}
		inv, ok := bob.wait(cpWait, func(m cpMsg) bool { return m.headers["call-id"] == c.callID && m.method() == "INVITE" })
		if !ok {
			t.Fatalf("bob got no INVITE; bob received:\n%s", bob.dump())
		}
		if want := "sip:bob@" + bob.addr(); inv.ruri() != want {
			t.Errorf("bob's INVITE has Request-URI %q, want the route %q", inv.ruri(), want)
		}
		if len(inv.vias) != 2 {
			t.Errorf("bob's INVITE has %d Via headers, want 2 (Kamailio's, alice's): %q", len(inv.vias), inv.vias)
		}
		if _, ok := bob.wait(cpWait, func(m cpMsg) bool { return m.headers["call-id"] == c.callID && m.method() == "ACK" }); !ok {
			t.Errorf("bob got no ACK for the 200 OK; bob received:\n%s", bob.dump())
		}

		req, ok := cpSimRequest(t, sim, "route_req", c.callID)
		if !ok {
			t.Fatalf("kazoo-sim saw no route_req for %s\n%s", c.callID, sim.log())
		}
		b := req.Body
		serverID, _ := b["Server-ID"].(string)
		msgID, _ := b["Msg-ID"].(string)
		if req.RoutingKey != "route.req.callproc%2Ekazoo%2Etest" || b["Event-Category"] != "dialplan" || b["Event-Name"] != "route_req" ||
			b["From"] != "alice@"+cpRealm || b["To"] != "bob@"+cpRealm || b["Request"] != "bob@"+cpRealm ||
			b["Caller-ID-Name"] != "Alice" || b["Caller-ID-Number"] != "alice" || b["Call-Direction"] != "inbound" ||
			b["From-Network-Addr"] != "127.0.0.1" || msgID == "" ||
			!strings.HasPrefix(serverID, "kamailio@callproc.kazoo.local-") || b["Node"] != "kamailio@callproc.kazoo.local" {
			t.Errorf("route_req with routing key %q: %v", req.RoutingKey, b)
		}
		var winner string
		for _, resp := range cpSimReplies(t, sim, "route_req") {
			if resp["Call-ID"] == c.callID {
				winner, _ = resp["Server-ID"].(string)
			}
		}
		if !strings.HasPrefix(winner, cpSimServerID) {
			t.Fatalf("no route_resp with the simulator's Server-ID for %s\n%s", c.callID, sim.log())
		}
		win, ok := cpSimRequest(t, sim, "route_win", c.callID)
		if !ok {
			t.Fatalf("kazoo-sim got no route_win for %s\n%s\n--- kamailio ---\n%s", c.callID, sim.log(), k.Log())
		}
		w := win.Body
		if win.RoutingKey != winner || w["Event-Category"] != "dialplan" || w["Event-Name"] != "route_win" ||
			w["Msg-ID"] != msgID || w["Control-Queue"] == nil || w["Control-Queue"] == "" {
			t.Errorf("route_win with routing key %q (want %q, Msg-ID %s): %v", win.RoutingKey, winner, msgID, w)
		}
	})

	t.Run("callee busy", func(t *testing.T) {
		c := caller.invite(t, k.SipPort(), "busy-bob", nil)
		cpExpect(t, k, c, 486, "Busy Here")
		if c.final.headers["x-callee"] != "bob" {
			t.Errorf("486 not bob's: %v", c.final.headers)
		}
		inv, ok := bob.wait(cpWait, func(m cpMsg) bool { return m.headers["call-id"] == c.callID && m.method() == "INVITE" })
		if !ok || inv.ruri() != "sip:busy-bob@"+bob.addr() {
			t.Errorf("bob's INVITE: %q (found %v)", inv.first, ok)
		}
		// tm acknowledges the 486 itself (and absorbs alice's ACK)
		if _, ok := bob.wait(cpWait, func(m cpMsg) bool { return m.headers["call-id"] == c.callID && m.method() == "ACK" }); !ok {
			t.Errorf("bob got no ACK for the 486; bob received:\n%s", bob.dump())
		}
		if _, ok := cpSimRequest(t, sim, "route_win", c.callID); !ok {
			t.Errorf("no route_win for %s", c.callID)
		}
	})

	for _, code := range []int{404, 603} {
		t.Run(fmt.Sprintf("error route %d", code), func(t *testing.T) {
			c := caller.invite(t, k.SipPort(), fmt.Sprintf("err-%d", code), nil)
			cpExpect(t, k, c, code, fmt.Sprintf("kazoo-sim: error %d", code))
			if _, ok := cpSimRequest(t, sim, "route_req", c.callID); !ok {
				t.Errorf("kazoo-sim saw no route_req for %s", c.callID)
			}
			time.Sleep(200 * time.Millisecond) // time for a wrong route_win or INVITE to show up
			if ms := bob.receivedFor(c.callID); len(ms) != 0 {
				t.Errorf("bob got %d messages of an error route: %q", len(ms), ms[0].first)
			}
			for _, w := range sim.requests(t, "route_win") {
				if w.Body["Call-ID"] == c.callID {
					t.Errorf("route_win for an error route: %v", w.Body)
				}
			}
		})
	}

	t.Run("no application answers", func(t *testing.T) {
		c := caller.invite(t, k.SipPort(), "noroute-carol", nil)
		cpExpect(t, k, c, 500, "Kazoo unavailable")
		if c.took < 900*time.Millisecond || c.took > 2500*time.Millisecond {
			t.Errorf("500 after %v, want about the 1 s query timeout", c.took)
		}
		if _, ok := cpSimRequest(t, sim, "route_req", c.callID); !ok {
			t.Errorf("kazoo-sim saw no route_req for %s", c.callID)
		}
		if !strings.Contains(k.Log(), "INVITE "+c.callID+" to noroute-carol@"+cpRealm+": no route_resp from Kazoo") {
			t.Errorf("no failure line in the log:\n%s", k.Log())
		}
	})
}

// Nothing consumes route_req: the query fails at once (the broker returns it, or callmgr
// does not even exist) and the caller gets 500 well within the 2 s query timeout.
func TestCallProcKazooAbsent(t *testing.T) {
	r := harness.SharedRabbit(t)
	k := startRegistrar(t, "kazoo-callproc.cfg", r.URL(), "")
	caller, err := newCpUA(t, "alice", "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	c := caller.invite(t, k.SipPort(), "bob", nil)
	cpExpect(t, k, c, 500, "Kazoo unavailable")
	if c.took > 1500*time.Millisecond {
		t.Errorf("500 after %v: the query must fail at once, not after its 2 s timeout", c.took)
	}
}

// cpStatusResponder answers every channel_status_req, until the test ends, with Status
// "terminated": ecallmgr's answer for a call it does not have when Active-Only is false
// (asked with Active-Only true, as the example asks, it stays silent). kazoo-sim reports
// every call active, so the example's 481 branch is run against this responder.
func cpStatusResponder(t *testing.T, r *harness.Rabbit) {
	t.Helper()
	conn := r.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.ExchangeDeclare("callevt", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "call.status_req.#", "callevt", false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for d := range deliveries {
			var req map[string]any
			if json.Unmarshal(d.Body, &req) != nil {
				continue
			}
			serverID, _ := req["Server-ID"].(string)
			body, _ := json.Marshal(map[string]any{
				"Event-Category": "call_event", "Event-Name": "channel_status_resp",
				"Call-ID": req["Call-ID"], "Msg-ID": req["Msg-ID"],
				"Status": "terminated", "Error-Msg": "no node found with channel",
				"App-Name": "ecallmgr", "App-Version": "4.3.0", "Node": "ecallmgr@e2e",
			})
			_ = ch.PublishWithContext(context.Background(), "targeted", serverID, false, false,
				amqp.Publishing{ContentType: "application/json", Body: body})
		}
	}()
}

// examples/kazoo-replaces.cfg: an INVITE whose Replaces names a call Kazoo reports active
// is relayed, Request-URI and Replaces unchanged, to that call's media server (a UA of the
// test on the simulator's Switch-URL, 127.0.0.1:11000), whose 200 OK reaches the caller;
// a call Kazoo reports terminated is 481; no answer (Kazoo absent) is 500; an INVITE
// without Replaces is 404 and asks Kazoo nothing.
func TestReplaces(t *testing.T) {
	r := harness.SharedRabbit(t)
	k := startRegistrar(t, "kazoo-replaces.cfg", r.URL(), "")
	caller, err := newCpUA(t, "alice", "127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	const replaced = "orig.42@pbx.kazoo.test"
	replaces := map[string]string{"Replaces": replaced + ";to-tag=fs-1;from-tag=ph-2"}

	t.Run("without Replaces", func(t *testing.T) {
		watch := r.Bind(t, "callevt", "topic", "call.status_req.#")
		c := caller.invite(t, k.SipPort(), "bob", nil)
		cpExpect(t, k, c, 404, "No Call To Replace")
		time.Sleep(200 * time.Millisecond)
		if n := watch.Count(); n != 0 {
			t.Errorf("%d channel_status_req published for an INVITE without Replaces", n)
		}
	})

	t.Run("Kazoo absent", func(t *testing.T) {
		c := caller.invite(t, k.SipPort(), "bob", replaces)
		cpExpect(t, k, c, 500, "Kazoo unavailable")
		if c.took > 1500*time.Millisecond {
			t.Errorf("500 after %v: the query must fail at once, not after its 2 s timeout", c.took)
		}
	})

	t.Run("unknown call", func(t *testing.T) {
		cpStatusResponder(t, r)
		c := caller.invite(t, k.SipPort(), "bob", map[string]string{"Replaces": "gone-1@pbx;to-tag=a;from-tag=b"})
		cpExpect(t, k, c, 481, "Call/Transaction Does Not Exist")
		if !strings.Contains(k.Log(), "call gone-1@pbx is terminated (no node found with channel)") {
			t.Errorf("no 'terminated' line in the log:\n%s", k.Log())
		}
	})

	t.Run("active call", func(t *testing.T) {
		fs, err := newCpUA(t, "mod_sofia", cpSwitchAddr, func(cpMsg) (int, string) { return 200, "OK" })
		if err != nil {
			t.Skipf("UDP %s (the Switch-URL kazoo-sim answers) is not available: %v", cpSwitchAddr, err)
		}
		sim := startKazooSim(t, r)
		c := caller.invite(t, k.SipPort(), "bob", replaces)
		cpExpect(t, k, c, 200, "OK")
		if c.final.headers["x-callee"] != "mod_sofia" {
			t.Errorf("200 OK not the media server's: %v", c.final.headers)
		}
		inv, ok := fs.wait(cpWait, func(m cpMsg) bool { return m.headers["call-id"] == c.callID && m.method() == "INVITE" })
		if !ok {
			t.Fatalf("the media server got no INVITE; it received:\n%s", fs.dump())
		}
		if inv.ruri() != c.ruri || inv.headers["replaces"] != replaces["Replaces"] {
			t.Errorf("the media server's INVITE: Request-URI %q (want %q), Replaces %q", inv.ruri(), c.ruri, inv.headers["replaces"])
		}
		req, ok := cpSimRequest(t, sim, "channel_status_req", replaced)
		if !ok {
			t.Fatalf("kazoo-sim saw no channel_status_req for %s\n%s", replaced, sim.log())
		}
		b := req.Body
		if req.RoutingKey != "call.status_req.orig%2E42%40pbx%2Ekazoo%2Etest" || b["Event-Category"] != "call_event" ||
			b["Event-Name"] != "channel_status_req" || b["Active-Only"] != true ||
			!strings.HasPrefix(fmt.Sprint(b["Server-ID"]), "kamailio@replaces.kazoo.local-") {
			t.Errorf("channel_status_req with routing key %q: %v", req.RoutingKey, b)
		}
	})
}
