package e2e

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// examples/kazoo-presence.cfg against the Kazoo simulator playing omnipresence: a SIP UA's
// SUBSCRIBE is handled by the presence modules and published to exchange omnipresence; the
// simulator answers with the user's state on exchange presence (users named idle* are
// idle, the others on a call with 2 new and 1 saved voicemails); the cfg writes it with
// kazoo_pua_publish_* and pres_refresh_watchers NOTIFYs the UA.

const seedPresQueue = "presence-presence.kazoo.local" // the cfg's queue for its NODE_NAME

// seedSimCallID is the Call-ID kazoo-sim gives the state of user for package pkg.
func seedSimCallID(pkg, user string) string {
	return "sim-" + seedMD5(pkg+":sip:"+user+"@"+presRealm)
}

func TestSeedPresence(t *testing.T) {
	r := harness.SharedRabbit(t)
	sim := startKazooSim(t, r)
	db := presDB(t)
	// sqlite:////abs/path, as presStart
	k := startRegistrar(t, "kazoo-presence.cfg", r.URL(), "#!define DB_URL \"sqlite:///"+db+"\"\n")
	conn := r.Dial(t)
	presWaitConsumer(t, conn, seedPresQueue)
	ua := newPresUA(t, k.SipPort())
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n--- SIP received ---\n%s--- kazoo-sim ---\n%s--- log ---\n%s", append(args,
			ua.dump(), presTail(sim.log(), 4000), presTail(k.Log(), 8000))...)
	}

	n := 0
	// subscribe sends a SUBSCRIBE, checks it is accepted and that the simulator saw its
	// subscription, and returns its Call-ID.
	subscribe := func(user, event, accept string) string {
		t.Helper()
		n++
		before := len(sim.requests(t, "presence_subscription"))
		callID := ua.subscribe(t, user, event, accept, n)
		resp, ok := ua.wait(10*time.Second, func(m presSipMsg) bool {
			return m.headers["call-id"] == callID && m.code() >= 200
		})
		if !ok {
			fail("no final response to SUBSCRIBE %s for %s", event, user)
		}
		if resp.code() != 200 && resp.code() != 202 {
			fail("SUBSCRIBE %s for %s: %s", event, user, resp.first)
		}
		deadline := time.Now().Add(5 * time.Second)
		var reqs []simRequest
		for {
			reqs = sim.requests(t, "presence_subscription")[before:]
			if len(reqs) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(reqs) != 1 {
			fail("kazoo-sim saw %d subscriptions for SUBSCRIBE %s of %s, want 1", len(reqs), event, user)
		}
		b := reqs[0].Body
		contact, _ := b["Contact"].(string)
		from, _ := b["From"].(string)
		expires, _ := b["Expires"].(float64)
		if reqs[0].RoutingKey != "subscribe.e2e%2Ekazoo%2Etest."+user || b["Event-Category"] != "presence" ||
			b["Event-Name"] != "subscription" || b["Event-Package"] != event || b["User"] != "sip:"+user+"@"+presRealm ||
			b["Call-ID"] != callID || b["To"] != "sip:"+user+"@"+presRealm ||
			!strings.HasPrefix(from, fmt.Sprintf("sip:watcher%d@", n)) ||
			!strings.Contains(contact, ua.local().String()) || expires < 250 || expires > 300 ||
			b["User-Agent"] != "kazoo-go e2e" || b["Node"] != "kamailio@presence.kazoo.local" {
			t.Errorf("subscription with routing key %q: %v", reqs[0].RoutingKey, b)
		}
		return callID
	}
	// notify waits for a NOTIFY of the subscription callID received after since whose body
	// satisfies ok.
	notify := func(callID string, since time.Time, what string, ok func(body string) bool) presSipMsg {
		t.Helper()
		m, found := ua.wait(10*time.Second, func(m presSipMsg) bool {
			return strings.HasPrefix(m.first, "NOTIFY ") && m.headers["call-id"] == callID && !m.at.Before(since) && ok(m.body)
		})
		if !found {
			fail("no NOTIFY with %s", what)
		}
		return m
	}
	// dialogState returns the state of the dialog with Call-ID cid in a dialog-info body.
	dialogState := func(body, cid string) string {
		var di presDialogInfo
		if err := xml.Unmarshal([]byte(body), &di); err != nil {
			return ""
		}
		for _, d := range di.Dialogs {
			if d.CallID == cid {
				return d.State
			}
		}
		return ""
	}

	// BLF: busy1 is on a call, idle1 is not
	for _, c := range []struct{ user, state string }{{"busy1", "confirmed"}, {"idle1", "terminated"}} {
		begin := time.Now()
		callID := subscribe(c.user, "dialog", "application/dialog-info+xml")
		cid := seedSimCallID("dialog", c.user)
		m := notify(callID, begin, "the dialog "+cid+" of "+c.user, func(body string) bool { return dialogState(body, cid) != "" })
		var di presDialogInfo
		_ = xml.Unmarshal([]byte(m.body), &di)
		if got := dialogState(m.body, cid); got != c.state || m.headers["content-type"] != "application/dialog-info+xml" ||
			di.Entity != "sip:"+c.user+"@"+presRealm {
			t.Errorf("dialog NOTIFY for %s: state %q (want %q), entity %q, Content-Type %q\n%s",
				c.user, got, c.state, di.Entity, m.headers["content-type"], m.body)
		}
		t.Logf("dialog of %s: %s, NOTIFY %v after the SUBSCRIBE", c.user, c.state, m.at.Sub(begin).Round(time.Millisecond))

		if c.user == "busy1" {
			// Kazoo publishes a later update of that dialog: the watcher is told at once
			begin = time.Now()
			publishTo(t, conn, "presence", "dialog.e2e%2Ekazoo%2Etest.busy1", fmt.Sprintf(`{"Event-Category": "presence",
				"Event-Name": "dialog_update", "Msg-ID": "seed-hangup", "From": "sip:busy1@%[1]s", "From-User": "busy1",
				"From-Realm": "%[1]s", "To": "sip:busy1@%[1]s", "To-User": "busy1", "To-Realm": "%[1]s", "Call-ID": "%[2]s",
				"From-Tag": "sim-from", "To-Tag": "sim-to", "Direction": "initiator", "State": "terminated", "Expires": 3600,
				"App-Name": "omnipresence", "App-Version": "4.3.0", "Node": "kazoo-e2e@localhost"}`, presRealm, cid))
			m = notify(callID, begin, "the dialog "+cid+" terminated", func(body string) bool { return dialogState(body, cid) == "terminated" })
			t.Logf("dialog of busy1 terminated: NOTIFY %v after the update", m.at.Sub(begin).Round(time.Millisecond))
		}
	}

	// MWI
	for _, c := range []struct{ user, waiting, counts string }{{"busy1", "yes", "2/1 (0/0)"}, {"idle1", "no", "0/0 (0/0)"}} {
		begin := time.Now()
		callID := subscribe(c.user, "message-summary", "application/simple-message-summary")
		want := "Messages-Waiting: " + c.waiting + "\r\nMessage-Account: sip:" + c.user + "@" + presRealm +
			"\r\nVoice-Message: " + c.counts + "\r\n"
		m := notify(callID, begin, "message-summary "+strings.ReplaceAll(want, "\r\n", " | "), func(body string) bool { return body == want })
		if ct := m.headers["content-type"]; ct != "application/simple-message-summary" {
			t.Errorf("message-summary NOTIFY for %s: Content-Type %q", c.user, ct)
		}
		t.Logf("message-summary of %s: NOTIFY %v after the SUBSCRIBE", c.user, m.at.Sub(begin).Round(time.Millisecond))
	}

	// presence (PIDF): busy1 on the phone
	begin := time.Now()
	callID := subscribe("busy1", "presence", "application/pidf+xml")
	m := notify(callID, begin, "busy1 on the phone", func(body string) bool { return strings.Contains(body, "On the Phone") })
	var p presPIDF
	if err := xml.Unmarshal([]byte(m.body), &p); err != nil || p.Tuple.Basic != "open" || p.Tuple.ID != seedSimCallID("presence", "busy1") {
		t.Errorf("presence NOTIFY for busy1: %v %+v\n%s", err, p, m.body)
	}

	// the presentity table holds what the simulator and the test published
	rows := presRows(t, db)
	for _, want := range []struct{ event, user string }{{"dialog", "busy1"}, {"dialog", "idle1"},
		{"message-summary", "busy1"}, {"message-summary", "idle1"}, {"presence", "busy1"}} {
		if _, ok := presFind(rows, want.event, want.user); !ok {
			t.Errorf("no presentity row %s %s in %v", want.event, want.user, rows)
		}
	}
	if len(rows) != 5 {
		t.Errorf("%d presentity rows, want 5: %v", len(rows), rows)
	}
	// nothing went wrong on the way
	for _, l := range presErrorLines(k.Log()) {
		t.Errorf("error logged: %s", l)
	}
	if n := len(sim.requests(t, "presence_subscription")); n != 5 {
		t.Errorf("kazoo-sim saw %d subscriptions, want 5", n)
	}
}
