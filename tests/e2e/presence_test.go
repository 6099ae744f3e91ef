package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// kazoo_pua_publish, kazoo_pua_publish_mwi, kazoo_pua_publish_presence and
// kazoo_pua_publish_dialoginfo write presentity rows (pua_mode 1, db_url) as the C module
// did; the presence modules NOTIFY the watchers when the cfg calls pres_refresh_watchers
// after the write, as the stock Kazoo configs do. Every test runs on a fresh SQLite
// database (db_sqlite) created from Kamailio's schema files, with names of its own on the
// shared broker.

// presCfg is one cfg for every presence test: the presence modules on the SQLite database
// (subs_db_mode 3 and publ_cache 0 as the stock presence-role.cfg: the watchers and the
// presentities live in the database only, so that rows written by the kazoo module are what
// the presence module reads; notifier_processes 0: NOTIFYs go out from the process that
// calls pres_refresh_watchers), the kazoo module with one consumer worker (events are
// handled in the order published), event routes named as the stock ones, and a request
// route that handles SUBSCRIBE and calls kazoo_pua_publish* on the body of a request with
// an X-Fn header. The same cfg runs with the C module (which takes the bare $kzE argument
// as an expression evaluated at run time).
var presCfg = harness.CfgHead{Children: 2,
	Modules: "tm sl pv xlog textops db_sqlite presence presence_xml presence_dialoginfo presence_mwi"}.String() + `modparam("presence", "db_url", "{{.DB}}")
modparam("presence", "subs_db_mode", 3)
modparam("presence", "publ_cache", 0)
modparam("presence", "clean_period", 0)
modparam("presence", "notifier_processes", 0)
modparam("presence", "server_address", "sip:127.0.0.1:{{.SipPort}}")
modparam("presence_xml", "force_active", 1)
modparam("presence_dialoginfo", "force_dummy_dialog", 1)
modparam("kazoo", "node_hostname", "e2e.presence")
modparam("kazoo", "amqp_connection", "{{.URL}}")
modparam("kazoo", "amqp_consumer_workers", 1)
modparam("kazoo", "pua_mode", {{.PuaMode}})
{{if .KzDB}}modparam("kazoo", "db_url", "{{.DB}}"){{end}}
{{.Params}}
event_route[kazoo:mod-init] {
{{if .Exchange}}	kazoo_subscribe('{"exchange": "{{.Exchange}}", "type": "topic", "queue": "{{.Queue}}", "routing": "#"}');{{else}}	$var(init) = 1;{{end}}
}
route[DONE] {
	xlog("L_NOTICE", "PUA-DONE $(kzE{kz.json,Msg-ID}) rc=$var(rc)\n");
}
event_route[kazoo:consumer-event-presence-dialog-update] {
	$var(rc) = kazoo_pua_publish_dialoginfo($kzE);
	pres_refresh_watchers("$(kzE{kz.json,From})", "dialog", 1);
	route(DONE);
}
event_route[kazoo:consumer-event-presence-mwi-update] {
	$var(rc) = kazoo_pua_publish_mwi($kzE);
	pres_refresh_watchers("$(kzE{kz.json,From})", "message-summary", 1);
	route(DONE);
}
event_route[kazoo:consumer-event-presence-update] {
	$var(rc) = kazoo_pua_publish_presence($kzE);
	pres_refresh_watchers("$(kzE{kz.json,From})", "presence", 1);
	route(DONE);
}
event_route[kazoo:consumer-event-pua-update] {
	$var(rc) = kazoo_pua_publish($kzE);
	route(DONE);
}
event_route[kazoo:consumer-event-pua] {
	$var(rc) = kazoo_pua_publish($kzE);
	route(DONE);
}
request_route {
	if (is_method("SUBSCRIBE")) {
		if (!t_newtran()) {
			sl_reply_error();
			exit;
		}
		if (!handle_subscribe()) {
			xlog("L_NOTICE", "SUBSCRIBE $ci not handled\n");
		}
		t_release();
		exit;
	}
	if (is_present_hf("X-Fn")) {
		$var(json) = $rb;
		$var(rc) = 0;
		if ($hdr(X-Fn) == "any") {
			$var(rc) = kazoo_pua_publish($var(json));
		} else if ($hdr(X-Fn) == "mwi") {
			$var(rc) = kazoo_pua_publish_mwi($var(json));
		} else if ($hdr(X-Fn) == "presence") {
			$var(rc) = kazoo_pua_publish_presence($var(json));
		} else if ($hdr(X-Fn) == "dialog") {
			$var(rc) = kazoo_pua_publish_dialoginfo($var(json));
		}
		append_to_reply("X-Rc: $var(rc)\r\n");
	}
	sl_send_reply("200", "OK");
	exit;
}
`

const (
	presRealm   = "e2e.kazoo.test"
	presRealmF2 = "flush2.kazoo.test" // Flush-Level 2 empties the dialogs of this domain
)

// presDB creates a SQLite database with Kamailio's version table and presence tables
// (WAL, so that the test's reads do not make a writer in Kamailio fail with SQLITE_BUSY)
// and returns its path.
func presDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kamailio.db")
	var sql strings.Builder
	sql.WriteString("PRAGMA journal_mode=WAL;\n")
	for _, f := range []string{"standard-create.sql", "presence-create.sql"} {
		b, err := os.ReadFile(filepath.Join("/usr/share/kamailio/db_sqlite", f))
		if err != nil {
			t.Fatalf("schema: %v", err)
		}
		sql.Write(b)
		sql.WriteString("\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sqlite3", path)
	cmd.Stdin = strings.NewReader(sql.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s", path, err, out)
	}
	return path
}

// presRow is one row of the presentity table (text columns as stored, body's SQLite type).
type presRow struct {
	Event, Domain, Username, Etag, Sender, Body string
	BodyType                                    string
	Received, Expires, Priority                 int64
}

func (r presRow) key() string { return r.Event + " " + r.Domain + " " + r.Username + " " + r.Etag }

func (r presRow) String() string {
	return fmt.Sprintf("{event %q domain %q username %q etag %q sender %q body(%s) %q received_time %d expires %d priority %d}",
		r.Event, r.Domain, r.Username, r.Etag, r.Sender, r.BodyType, r.Body, r.Received, r.Expires, r.Priority)
}

// presRows reads the presentity table with the sqlite3 CLI (text as hex: any byte survives).
func presRows(t *testing.T, db string) []presRow {
	t.Helper()
	const q = "SELECT hex(event), hex(domain), hex(username), hex(etag), hex(sender), hex(body), typeof(body), " +
		"received_time, expires, priority FROM presentity ORDER BY event, domain, username, etag"
	out := presSQL(t, db, q)
	var rows []presRow
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 10 {
			t.Fatalf("sqlite3: unexpected line %q", line)
		}
		var txt [6]string
		for i := range txt {
			b, err := hex.DecodeString(f[i])
			if err != nil {
				t.Fatalf("sqlite3: column %d of %q: %v", i, line, err)
			}
			txt[i] = string(b)
		}
		num := func(s string) int64 {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("sqlite3: number %q in %q", s, line)
			}
			return n
		}
		rows = append(rows, presRow{Event: txt[0], Domain: txt[1], Username: txt[2], Etag: txt[3], Sender: txt[4],
			Body: txt[5], BodyType: f[6], Received: num(f[7]), Expires: num(f[8]), Priority: num(f[9])})
	}
	return rows
}

func presSQL(t *testing.T, db, query string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sqlite3", "-cmd", ".timeout 5000", "-separator", "|", db, query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s %q: %v\n%s", db, query, err, out)
	}
	return string(out)
}

func presFind(rows []presRow, event, username string) (presRow, bool) {
	for _, r := range rows {
		if r.Event == event && r.Username == username {
			return r, true
		}
	}
	return presRow{}, false
}

// presStart starts Kamailio with presCfg. exchange "" subscribes nothing.
func presStart(t *testing.T, module, url, db string, puaMode int, kzDB bool, exchange, queue, params string) *harness.Kamailio {
	t.Helper()
	return harness.StartKamailio(t, presCfg, harness.KamailioOpts{Module: module, Extra: map[string]any{
		// sqlite:////abs/path: db_sqlite reads what follows "sqlite://" minus its first "/"
		"DB": "sqlite:///" + db, "URL": url, "PuaMode": puaMode, "KzDB": kzDB,
		"Exchange": exchange, "Queue": queue, "Params": params,
	}})
}

var presDoneRE = regexp.MustCompile(`PUA-DONE (\S+) rc=(-?\d+)`)

// presWaitDone waits until route[DONE] logged every id; returns the rc of each.
func presWaitDone(t *testing.T, k *harness.Kamailio, ids []string, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := map[string]int{}
		for _, m := range presDoneRE.FindAllStringSubmatch(k.Log(), -1) {
			got[m[1]], _ = strconv.Atoi(m[2])
		}
		var missing []string
		for _, id := range ids {
			if _, ok := got[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return got
		}
		if time.Now().After(deadline) || !k.Alive() {
			t.Fatalf("events not handled within %v: %v\n--- log ---\n%s", timeout, missing, presTail(k.Log(), 8000))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func presTail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// presEvent is one AMQP event of the differential test. rc is what our module must return.
// presWaitConsumer waits until queue has a consumer (the subscription of mod-init), asking
// the broker with a passive declare (cheaper than rabbitmqctl on a loaded machine).
func presWaitConsumer(t *testing.T, conn *amqp.Connection, queue string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatalf("channel: %v", err)
		}
		q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
		ch.Close()
		if err == nil && q.Consumers > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s has no consumer after 20 s (%v)", queue, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type presEvent struct {
	id string
	m  map[string]any
	rc int
}

// presEvents builds the events: Event-Category/Event-Name select the event route (and so
// the function), Msg-ID identifies the event in route[DONE]'s log line.
func presEvents() []presEvent {
	R := presRealm
	var evs []presEvent
	add := func(id, cat, name string, rc int, kv ...any) {
		m := map[string]any{"Event-Category": cat, "Event-Name": name, "Msg-ID": id}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		evs = append(evs, presEvent{id: id, m: m, rc: rc})
	}
	dialog := func(id string, rc int, kv ...any) { add(id, "presence", "dialog_update", rc, kv...) }
	mwi := func(id string, rc int, kv ...any) { add(id, "presence", "mwi_update", rc, kv...) }
	presence := func(id string, rc int, kv ...any) { add(id, "presence", "update", rc, kv...) }
	user := func(u, realm string) []any {
		return []any{"From", "sip:" + u + "@" + realm, "From-User", u, "From-Realm", realm}
	}
	to := func(u string) []any { return []any{"To", "sip:" + u + "@" + R, "To-User", u, "To-Realm", R} }
	cat := func(parts ...[]any) []any {
		var all []any
		for _, p := range parts {
			all = append(all, p...)
		}
		return all
	}

	// dialog: every optional field, then the same dialog confirmed (same etag: replaced)
	dialog("d1a", 1, cat(user("d1", R), to("5551"), []any{"Call-ID", "cid-d1", "From-Tag", "ft-d1", "To-Tag", "tt-d1",
		"Direction", "initiator", "State", "early", "Expires", 3600, "Switch-URI", "sip:10.1.1.1:5060"})...)
	dialog("d1b", 1, cat(user("d1", R), to("5551"), []any{"Call-ID", "cid-d1", "From-Tag", "ft-d1", "To-Tag", "tt-d1",
		"Direction", "initiator", "State", "confirmed", "Expires", 3600, "Switch-URI", "sip:10.1.1.1:5060"})...)
	// Presentity*, Dialog-ID, From-URI/To-URI, Sender-URI, ETag; no tags
	dialog("d2", 1, cat(user("d2", R), to("5552"), []any{"Presentity", "sip:pres2@" + R, "Presentity-User", "pres2",
		"Presentity-Realm", R, "Call-ID", "cid-d2", "Dialog-ID", "dlg-d2", "From-URI", "sip:d2@10.0.0.2",
		"To-URI", "sip:5552@10.0.0.3", "Direction", "recipient", "State", "confirmed", "Sender-URI", "sip:sender-d2@" + R,
		"ETag", "etag-d2", "Expires", 120})...)
	// no Call-ID: the fixed terminated body, sender "sip:", etag ""
	dialog("d3", 1, cat(user("d3", R), to("5553"), []any{"State", "terminated"})...)
	// Presentity without Presentity-User/Realm: From is the presentity; a numeric From-Tag
	dialog("d4", 1, cat(user("d4", R), to("5554"), []any{"Presentity", "sip:pres4@" + R, "Call-ID", "cid-d4",
		"From-Tag", 12345, "State", "early"})...)
	// Flush-Level 1: the dialogs of d5 before it are deleted
	dialog("d5a", 1, cat(user("d5", R), to("5555"), []any{"Call-ID", "cid-d5a", "State", "confirmed", "Expires", 3600})...)
	dialog("d5b", 1, cat(user("d5", R), to("5555"), []any{"Call-ID", "cid-d5b", "State", "early", "Expires", 3600})...)
	dialog("d5c", 1, cat(user("d5", R), to("5555"), []any{"Call-ID", "cid-d5c", "State", "terminated", "Flush-Level", 1})...)
	// Flush-Level 2: the dialogs of the whole domain before it are deleted
	dialog("d6a", 1, cat(user("x1", presRealmF2), to("5556"), []any{"Call-ID", "cid-d6a", "State", "early"})...)
	dialog("d6b", 1, cat(user("x2", presRealmF2), to("5556"), []any{"Call-ID", "cid-d6b", "State", "early"})...)
	dialog("d6c", 1, cat(user("x3", presRealmF2), to("5556"), []any{"Call-ID", "cid-d6c", "State", "confirmed", "Flush-Level", 2})...)
	// Flush-Level as a string (json_object_get_int converts it)
	dialog("d7a", 1, cat(user("d7", R), to("5557"), []any{"Call-ID", "cid-d7a", "State", "early"})...)
	dialog("d7b", 1, cat(user("d7", R), to("5557"), []any{"Call-ID", "cid-d7b", "State", "confirmed", "Flush-Level", "1"})...)
	// Expires as a string
	dialog("d8", 1, cat(user("d8", R), to("5558"), []any{"Call-ID", "cid-d8", "State", "early", "Expires", "600"})...)
	// missing State / To / empty State: nothing written (the C module returns 1 anyway)
	dialog("d9", -1, cat(user("d9", R), to("5559"), []any{"Call-ID", "cid-d9"})...)
	dialog("d10", -1, cat(user("d10", R), []any{"Call-ID", "cid-d10", "State", "early"})...)
	dialog("d11", -1, cat(user("d11", R), to("5559"), []any{"Call-ID", "cid-d11", "State", ""})...)

	// values that need escaping in XML: the C module wrote them raw (an ill-formed body)
	dialog("dh", 1, "From", "sip:dh@"+R, "From-User", `dh<&>`, "From-Realm", R, "To", `sip:"5"@`+R, "To-User", `O'5`,
		"Call-ID", `cid"dh'`, "From-Tag", `f<t`, "State", "early")
	presence("ph", 1, "From", "sip:ph@"+R, "From-User", `ph&<>`, "From-Realm", R, "To-User", "ph", "State", "confirmed",
		"Call-ID", "cid-ph")

	// message-summary: counts as numbers (as Kazoo sends them); Sender-URI is ignored
	mwi("m1a", 1, cat(user("m1", R), []any{"Messages-Waiting", "yes", "Messages-New", 2, "Messages-Saved", 1,
		"Messages-Urgent", 0, "Messages-Urgent-Saved", 0, "Message-Account", "sip:m1@" + R, "Call-ID", "cid-m1",
		"Sender-URI", "sip:ignored@" + R, "Expires", 3600})...)
	// a new etag for m1 replaces every row of m1 (reset 1)
	mwi("m1b", 1, cat(user("m1", R), []any{"Messages-Waiting", "yes", "Messages-New", 3, "Messages-Saved", 1,
		"Messages-Urgent", 1, "Messages-Urgent-Saved", 0, "Message-Account", "sip:m1@" + R, "Call-ID", "cid-m1b",
		"Expires", 3600})...)
	// minimal: no From, no Call-ID, counts as strings, some missing
	mwi("m2", 1, "From-User", "m2", "From-Realm", R, "Messages-Waiting", "no", "Messages-New", "0", "Messages-Saved", "0")
	mwi("m3", 1, cat(user("m3", R), []any{"Messages-Waiting", "yes", "Messages-New", 1, "Messages-Saved", 0,
		"Messages-Urgent", 0, "Messages-Urgent-Saved", 0, "ETag", "etag-m3", "Call-ID", "cid-m3", "Expires", "120"})...)

	// presence: early, confirmed, offline, other
	presence("p1a", 1, cat(user("p1", R), to("p1"), []any{"State", "early", "Call-ID", "cid-p1",
		"Switch-URI", "sip:fs@10.0.0.9", "Expires", 3600})...)
	presence("p2", 1, cat(user("p2", R), to("p2"), []any{"State", "confirmed", "Call-ID", "cid-p2", "ETag", "etag-p2",
		"Sender-URI", "sip:s2@" + R, "Expires", 300})...)
	presence("p3", 1, cat(user("p3", R), to("p3"), []any{"State", "offline"})...)
	presence("p4", 1, cat(user("p4", R), to("p4"), []any{"State", "terminated", "Call-ID", "cid-p4"})...)
	// a new etag for p1 replaces every row of p1 (reset 1)
	presence("p1b", 1, cat(user("p1", R), to("p1"), []any{"State", "confirmed", "Call-ID", "cid-p1b", "Expires", 3600})...)
	// missing From-User / State: nothing written
	presence("p5", -1, "From", "sip:p5@"+R, "From-Realm", R, "To-User", "p5", "State", "early", "Call-ID", "cid-p5")
	presence("p6", -1, cat(user("p6", R), to("p6"), []any{"Call-ID", "cid-p6"})...)

	// kazoo_pua_publish: an update of each package; anything else writes nothing (rc 1)
	add("g1", "pua", "update", 1, cat(user("g1", R), to("5561"), []any{"Event-Package", "dialog", "Call-ID", "cid-g1",
		"From-Tag", "ft-g1", "To-Tag", "tt-g1", "Direction", "recipient", "State", "confirmed", "Expires", 3600})...)
	add("g2", "pua", "update", 1, cat(user("g2", R), []any{"Event-Package", "message-summary", "Messages-Waiting", "yes",
		"Messages-New", 5, "Messages-Saved", 2, "Messages-Urgent", 0, "Messages-Urgent-Saved", 1,
		"Message-Account", "sip:g2@" + R, "Call-ID", "cid-g2", "Expires", 3600})...)
	add("g3", "pua", "update", 1, cat(user("g3", R), to("g3"), []any{"Event-Package", "presence", "State", "early",
		"Call-ID", "cid-g3"})...)
	add("g4", "pua", "update", 1, cat(user("g4", R), to("5564"), []any{"Event-Package", "unknown", "Call-ID", "cid-g4",
		"State", "early"})...)
	add("g5", "pua", "update", 1, cat(user("g5", R), to("5565"), []any{"Call-ID", "cid-g5", "State", "early"})...)
	add("g6", "pua", "probe", 1, cat(user("g6", R), to("5566"), []any{"Event-Package", "dialog", "Call-ID", "cid-g6",
		"State", "early"})...) // route pua (category only): not an update
	add("g7", "pua", "Update", 1, cat(user("g7", R), to("5567"), []any{"Event-Package", "dialog", "Call-ID", "cid-g7",
		"State", "early"})...) // route pua-update, but Event-Name is not exactly "update"
	return evs
}

// presWantKeys are the rows the events leave (event domain username etag).
var presWantKeys = []string{
	"dialog " + presRealm + " d1 cid-d1",
	"dialog " + presRealm + " pres2 etag-d2",
	"dialog " + presRealm + " d3 ",
	"dialog " + presRealm + " d4 cid-d4",
	"dialog " + presRealm + " d5 cid-d5c",
	"dialog " + presRealmF2 + " x3 cid-d6c",
	"dialog " + presRealm + " d7 cid-d7b",
	"dialog " + presRealm + " d8 cid-d8",
	"dialog " + presRealm + " g1 cid-g1",
	"dialog " + presRealm + ` dh<&> cid"dh'`,
	"message-summary " + presRealm + " m1 cid-m1b",
	"message-summary " + presRealm + " m2 ",
	"message-summary " + presRealm + " m3 etag-m3",
	"message-summary " + presRealm + " g2 cid-g2",
	"presence " + presRealm + " p1 cid-p1b",
	"presence " + presRealm + " p2 etag-p2",
	"presence " + presRealm + " p3 ",
	"presence " + presRealm + " p4 cid-p4",
	"presence " + presRealm + " g3 cid-g3",
	"presence " + presRealm + " ph&<> cid-ph",
}

// presEscapedKeys are the rows whose values need escaping in the XML body: ours escapes
// them (a well-formed body), the C module did not (its body is ill-formed); unescaped, ours
// is the C module's body.
var presEscapedKeys = map[string]bool{
	"dialog " + presRealm + ` dh<&> cid"dh'`:  true,
	"presence " + presRealm + " ph&<> cid-ph": true,
}

// presWellFormed reads body as XML to the end.
func presWellFormed(body string) error {
	d := xml.NewDecoder(strings.NewReader(body))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

var presUnescape = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'")

type presRun struct {
	rows       []presRow
	rc         map[string]int
	start, end int64
	log        string
}

// presRunEvents starts Kamailio with module (and the modparams params) on a fresh
// database, publishes the events and returns the presentity rows once every event route has
// run.
func presRunEvents(t *testing.T, r *harness.Rabbit, module, params string, evs []presEvent) presRun {
	t.Helper()
	u := cmUniq()
	exchange, queue := "kz_e2e_pres_"+u, "kz-e2e-pres-"+u
	db := presDB(t)
	url := strings.TrimSuffix(r.URL(), "/") // the C module reads a trailing '/' as the empty vhost
	k := presStart(t, module, url, db, 1, true, exchange, queue, params)
	defer k.Stop(t)
	conn := r.Dial(t)
	presWaitConsumer(t, conn, queue)
	start := time.Now().Unix()
	var ids []string
	for _, ev := range evs {
		body, err := json.Marshal(ev.m)
		if err != nil {
			t.Fatal(err)
		}
		publishTo(t, conn, exchange, "presence."+ev.id, string(body))
		ids = append(ids, ev.id)
	}
	rc := presWaitDone(t, k, ids, 30*time.Second)
	end := time.Now().Unix()
	return presRun{rows: presRows(t, db), rc: rc, start: start, end: end, log: k.Log()}
}

// presDiff runs evs through the C module and ours with the same modparams, each on a fresh
// database, and compares: our return codes, the rows wantKeys (event domain username etag)
// and nothing else in both tables, and every column of every row (received_time aside;
// expires both 0 or both received_time + the same Expires, within 2 s). It returns the rows
// of each module by key.
func presDiff(t *testing.T, r *harness.Rabbit, label, params string, evs []presEvent, wantKeys []string) (ours, theirs map[string]presRow) {
	t.Helper()
	begin := time.Now()
	c := presRunEvents(t, r, cModulePath, params, evs)
	t.Logf("%s: C module: %d events, %d rows in %v", label, len(evs), len(c.rows), time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	o := presRunEvents(t, r, modulePath, params, evs)
	t.Logf("%s: ours: %d events, %d rows in %v", label, len(evs), len(o.rows), time.Since(begin).Round(time.Millisecond))
	failed := t.Failed()

	// return codes: ours honest, the C module 1 throughout
	for _, ev := range evs {
		if o.rc[ev.id] != ev.rc {
			t.Errorf("%s: %s: our rc %d, want %d (payload %v)", label, ev.id, o.rc[ev.id], ev.rc, ev.m)
		}
		if c.rc[ev.id] != 1 {
			t.Logf("%s: %s: the C module returned %d", label, ev.id, c.rc[ev.id])
		}
	}

	index := func(run presRun, who string) map[string]presRow {
		m := map[string]presRow{}
		for _, row := range run.rows {
			if _, dup := m[row.key()]; dup {
				t.Errorf("%s: %s: duplicate row %v", label, who, row)
			}
			m[row.key()] = row
			if row.Received < run.start-2 || row.Received > run.end+2 {
				t.Errorf("%s: %s: received_time %d outside the run [%d, %d]: %v", label, who, row.Received, run.start, run.end, row)
			}
		}
		return m
	}
	om, cm := index(o, "ours"), index(c, "C")

	// the expected rows, independently of the C module
	want := map[string]bool{}
	for _, k := range wantKeys {
		want[k] = true
		if _, ok := om[k]; !ok {
			t.Errorf("%s: ours: row %q missing", label, k)
		}
		if _, ok := cm[k]; !ok {
			t.Errorf("%s: C: row %q missing", label, k)
		}
	}
	for k, row := range om {
		if !want[k] {
			t.Errorf("%s: ours: unexpected row %v", label, row)
		}
	}
	for k, row := range cm {
		if !want[k] {
			t.Errorf("%s: C: unexpected row %v", label, row)
		}
	}

	// column by column
	keys := make([]string, 0, len(cm))
	for k := range cm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	same := 0
	for _, k := range keys {
		cr, or := cm[k], om[k]
		if _, ok := om[k]; !ok {
			continue
		}
		var diffs []string
		if or.Sender != cr.Sender {
			diffs = append(diffs, fmt.Sprintf("sender ours %q C %q", or.Sender, cr.Sender))
		}
		if presEscapedKeys[k] {
			// the deliberate difference: ours escaped, well-formed; the C module's raw
			if err := presWellFormed(or.Body); err != nil {
				diffs = append(diffs, fmt.Sprintf("our body is not well-formed XML (%v): %q", err, or.Body))
			}
			if presWellFormed(cr.Body) == nil {
				diffs = append(diffs, fmt.Sprintf("the C module's body is well-formed: %q", cr.Body))
			}
			if presUnescape.Replace(or.Body) != cr.Body {
				diffs = append(diffs, fmt.Sprintf("body, unescaped\n  ours %q\n  C    %q", presUnescape.Replace(or.Body), cr.Body))
			}
		} else if or.Body != cr.Body {
			diffs = append(diffs, fmt.Sprintf("body\n  ours %q\n  C    %q", or.Body, cr.Body))
		}
		if or.BodyType != cr.BodyType {
			diffs = append(diffs, fmt.Sprintf("body type ours %s C %s", or.BodyType, cr.BodyType))
		}
		if or.Priority != cr.Priority || or.Priority != 0 {
			diffs = append(diffs, fmt.Sprintf("priority ours %d C %d", or.Priority, cr.Priority))
		}
		if (or.Expires == 0) != (cr.Expires == 0) || presAbs(presRel(or)-presRel(cr)) > 2 {
			diffs = append(diffs, fmt.Sprintf("expires ours %d (received+%d) C %d (received+%d)",
				or.Expires, presRel(or), cr.Expires, presRel(cr)))
		}
		if len(diffs) > 0 {
			t.Errorf("%s: row %q differs:\n %s", label, k, strings.Join(diffs, "\n "))
		} else {
			same++
		}
	}
	t.Logf("%s: %d of %d C rows identical in ours", label, same, len(cm))
	if os.Getenv("PRES_DUMP") != "" {
		for _, k := range keys {
			t.Logf("C    %v\nours %v", cm[k], om[k])
		}
	}
	if !failed && t.Failed() {
		t.Logf("--- %s: ours, log tail ---\n%s", label, presTail(o.log, 6000))
	}
	return om, cm
}

// The same events through the C module and ours, each on a fresh database: the same rows.
// Then the dialog events again with pua_include_entity 0 (the body without <target>).
func TestPresenceDifferential(t *testing.T) {
	r := harness.SharedRabbit(t)
	evs := presEvents()
	om, cm := presDiff(t, r, "pua_include_entity 1", "", evs, presWantKeys)

	// spot checks of what the rows hold (both modules)
	for who, m := range map[string]map[string]presRow{"ours": om, "C": cm} {
		if row := m["dialog "+presRealm+" d1 cid-d1"]; !strings.Contains(row.Body, "<state>confirmed</state>") ||
			!strings.Contains(row.Body, `local-tag="ft-d1"`) || !strings.Contains(row.Body, `<target uri="sip:d1@`+presRealm+`"/>`) ||
			row.Sender != "sip:10.1.1.1:5060" || presRel(row) != 3600 {
			t.Errorf("%s: d1 %v", who, row)
		}
		if row := m["dialog "+presRealm+" d3 "]; !strings.Contains(row.Body, "76001e23e09704ea9e1257ebea85e1f3") ||
			row.Sender != "sip:" || row.Expires != 0 {
			t.Errorf("%s: d3 %v", who, row)
		}
		if row := m["message-summary "+presRealm+" m1 cid-m1b"]; row.Body !=
			"Messages-Waiting: yes\r\nMessage-Account: sip:m1@"+presRealm+"\r\nVoice-Message: 3/1 (1/0)\r\n" ||
			row.Sender != "sip:m1@"+presRealm {
			t.Errorf("%s: m1 %v", who, row)
		}
		if row := m["presence "+presRealm+" p3 "]; !strings.Contains(row.Body, "<basic>closed</basic>") ||
			row.Sender != "sip:p3@"+presRealm {
			t.Errorf("%s: p3 %v", who, row)
		}
	}

	var dialogEvs []presEvent
	var dialogKeys []string
	for _, ev := range evs {
		if ev.m["Event-Name"] == "dialog_update" {
			dialogEvs = append(dialogEvs, ev)
		}
	}
	for _, k := range presWantKeys {
		if strings.HasPrefix(k, "dialog ") && !strings.Contains(k, " g1 ") {
			dialogKeys = append(dialogKeys, k)
		}
	}
	om, cm = presDiff(t, r, "pua_include_entity 0", `modparam("kazoo", "pua_include_entity", 0)`, dialogEvs, dialogKeys)
	for who, m := range map[string]map[string]presRow{"ours": om, "C": cm} {
		if row := m["dialog "+presRealm+" d1 cid-d1"]; !strings.Contains(row.Body, "<state>confirmed</state>") ||
			strings.Contains(row.Body, "<target") {
			t.Errorf("pua_include_entity 0: %s: d1 %v", who, row)
		}
	}
}

func presAbs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func presRel(r presRow) int64 {
	if r.Expires == 0 {
		return 0
	}
	return r.Expires - r.Received
}

// presSipMsg is a SIP message received by presUA.
type presSipMsg struct {
	first   string
	headers map[string]string // lower-cased name -> last value
	vias    []string
	body    string
	from    *net.UDPAddr
	at      time.Time
}

func (m presSipMsg) code() int { return sipCode(m.first) }

// sipCode is the status code of a response's first line, 0 for a request.
func sipCode(first string) int {
	f := strings.Fields(first)
	if len(f) >= 2 && strings.HasPrefix(f[0], "SIP/") {
		n, _ := strconv.Atoi(f[1])
		return n
	}
	return 0
}

func presParseSip(b []byte) presSipMsg {
	s := string(b)
	head, body, _ := strings.Cut(s, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m := presSipMsg{first: lines[0], headers: map[string]string{}, body: body}
	compact := map[string]string{"v": "via", "f": "from", "t": "to", "i": "call-id", "o": "event", "m": "contact",
		"l": "content-length", "c": "content-type"}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if full, ok := compact[k]; ok {
			k = full
		}
		v = strings.TrimSpace(v)
		if k == "via" {
			m.vias = append(m.vias, v)
		}
		m.headers[k] = v
	}
	return m
}

// presUA is a small SIP UA on UDP: it sends SUBSCRIBEs, answers every NOTIFY 200 OK and
// keeps what it received.
type presUA struct {
	*sipInbox
	conn *net.UDPConn
	kam  *net.UDPAddr
}

func newPresUA(t *testing.T, kamPort int) *presUA {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	reply := func(m presSipMsg) []byte {
		if !strings.HasPrefix(m.first, "NOTIFY ") {
			return nil
		}
		var b strings.Builder
		b.WriteString("SIP/2.0 200 OK\r\n")
		for _, v := range m.vias {
			fmt.Fprintf(&b, "Via: %s\r\n", v)
		}
		for _, h := range []string{"From", "To", "Call-ID", "CSeq"} {
			fmt.Fprintf(&b, "%s: %s\r\n", h, m.headers[strings.ToLower(h)])
		}
		b.WriteString("Content-Length: 0\r\n\r\n")
		return []byte(b.String())
	}
	return &presUA{sipInbox: listenSIP(t, conn, reply), conn: conn,
		kam: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: kamPort}}
}

func (ua *presUA) local() *net.UDPAddr { return ua.conn.LocalAddr().(*net.UDPAddr) }

// subscribe sends an initial SUBSCRIBE for user@presRealm and returns its Call-ID.
func (ua *presUA) subscribe(t *testing.T, user, event, accept string, n int) string {
	t.Helper()
	callID := fmt.Sprintf("pres-sub-%d-%d@127.0.0.1", n, time.Now().UnixNano())
	l := ua.local()
	msg := fmt.Sprintf("SUBSCRIBE sip:%s@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bK-pres-%d-%d;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:watcher%d@%s>;tag=w-%d\r\n"+
		"To: <sip:%s@%s>\r\n"+
		"Call-ID: %s\r\n"+
		"CSeq: 1 SUBSCRIBE\r\n"+
		"Contact: <sip:watcher%d@%s>\r\n"+
		"Event: %s\r\n"+
		"Accept: %s\r\n"+
		"Expires: 300\r\n"+
		"User-Agent: kazoo-go e2e\r\n"+
		"Content-Length: 0\r\n\r\n",
		user, presRealm, l, n, time.Now().UnixNano(), n, presRealm, n, user, presRealm, callID, n, l, event, accept)
	if _, err := ua.conn.WriteToUDP([]byte(msg), ua.kam); err != nil {
		t.Fatal(err)
	}
	return callID
}

func (ua *presUA) dump() string {
	var b strings.Builder
	for _, m := range ua.received() {
		fmt.Fprintf(&b, "%s | Event %q | Call-ID %q | body %q\n", m.first, m.headers["event"], m.headers["call-id"], m.body)
	}
	return b.String()
}

// dialog-info (RFC 4235) as far as the tests read it.
type presDialogInfo struct {
	XMLName xml.Name `xml:"dialog-info"`
	Entity  string   `xml:"entity,attr"`
	Dialogs []struct {
		ID        string         `xml:"id,attr"`
		CallID    string         `xml:"call-id,attr"`
		LocalTag  string         `xml:"local-tag,attr"`
		RemoteTag string         `xml:"remote-tag,attr"`
		Direction string         `xml:"direction,attr"`
		State     string         `xml:"state"`
		Local     presDialogSide `xml:"local"`
		Remote    presDialogSide `xml:"remote"`
	} `xml:"dialog"`
}

type presDialogSide struct {
	Identity struct {
		Display string `xml:"display,attr"`
		URI     string `xml:",chardata"`
	} `xml:"identity"`
	Target struct {
		URI string `xml:"uri,attr"`
	} `xml:"target"`
}

// PIDF as far as the tests read it.
type presPIDF struct {
	XMLName xml.Name `xml:"presence"`
	Entity  string   `xml:"entity,attr"`
	Tuple   struct {
		ID    string `xml:"id,attr"`
		Basic string `xml:"status>basic"`
	} `xml:"tuple"`
	Note string `xml:"note"`
}

// A SIP client subscribes to dialog and message-summary of a user; an AMQP dialog update and
// an MWI update for that user are written by our module and pres_refresh_watchers NOTIFYs
// the client with bodies built from the rows.
func TestPresenceNotify(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	exchange, queue := "kz_e2e_presn_"+u, "kz-e2e-presn-"+u
	db := presDB(t)
	k := presStart(t, modulePath, strings.TrimSuffix(r.URL(), "/"), db, 1, true, exchange, queue, "")
	conn := r.Dial(t)
	presWaitConsumer(t, conn, queue)
	ua := newPresUA(t, k.SipPort())
	const user = "nalice"
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\n--- SIP received ---\n%s--- active_watchers ---\n%s--- log ---\n%s", append(args,
			ua.dump(), presSQL(t, db, "SELECT presentity_uri, event, callid, status, contact FROM active_watchers"),
			presTail(k.Log(), 8000))...)
	}

	subs := map[string]string{} // event -> Call-ID of the subscription
	for i, s := range []struct{ event, accept string }{
		{"dialog", "application/dialog-info+xml"},
		{"message-summary", "application/simple-message-summary"},
	} {
		callID := ua.subscribe(t, user, s.event, s.accept, i+1)
		subs[s.event] = callID
		resp, ok := ua.wait(10*time.Second, func(m presSipMsg) bool {
			return m.headers["call-id"] == callID && m.code() >= 200
		})
		if !ok {
			fail("no final response to SUBSCRIBE %s", s.event)
		}
		if resp.code() != 200 && resp.code() != 202 {
			fail("SUBSCRIBE %s: %s", s.event, resp.first)
		}
		if _, ok := ua.wait(10*time.Second, func(m presSipMsg) bool {
			return strings.HasPrefix(m.first, "NOTIFY ") && m.headers["call-id"] == callID
		}); !ok {
			fail("no initial NOTIFY for the %s subscription", s.event)
		}
	}
	t.Logf("subscribed; %s", strings.TrimSpace(presSQL(t, db, "SELECT count(*) FROM active_watchers")))

	notifyFor := func(event string, ok func(body string) bool) presSipMsg {
		t.Helper()
		m, found := ua.wait(15*time.Second, func(m presSipMsg) bool {
			return strings.HasPrefix(m.first, "NOTIFY ") && m.headers["call-id"] == subs[event] &&
				strings.HasPrefix(m.headers["event"], event) && ok(m.body)
		})
		if !found {
			fail("no NOTIFY for %s with the expected body", event)
		}
		return m
	}

	// dialog update
	begin := time.Now()
	publishTo(t, conn, exchange, "dialog", fmt.Sprintf(`{"Event-Category": "presence", "Event-Name": "dialog_update",
		"Msg-ID": "n-dialog", "From": "sip:%[1]s@%[2]s", "From-User": "%[1]s", "From-Realm": "%[2]s",
		"To": "sip:5599@%[2]s", "To-User": "5599", "To-Realm": "%[2]s", "Call-ID": "cid-notify-1",
		"From-Tag": "ftn", "To-Tag": "ttn", "Direction": "initiator", "State": "confirmed", "Expires": 300,
		"Switch-URI": "sip:10.9.9.9:5060"}`, user, presRealm))
	m := notifyFor("dialog", func(body string) bool { return strings.Contains(body, "cid-notify-1") })
	var di presDialogInfo
	if err := xml.Unmarshal([]byte(m.body), &di); err != nil {
		fail("dialog NOTIFY body is not XML: %v\n%s", err, m.body)
	}
	found := false
	for _, d := range di.Dialogs {
		if d.CallID == "cid-notify-1" {
			found = true
			if d.State != "confirmed" || d.Direction != "initiator" || d.LocalTag != "ftn" || d.RemoteTag != "ttn" ||
				d.Local.Identity.URI != "sip:"+user+"@"+presRealm || d.Remote.Identity.URI != "sip:5599@"+presRealm {
				t.Errorf("dialog NOTIFY: dialog %+v\n%s", d, m.body)
			}
		}
	}
	if !found || !strings.Contains(di.Entity, user) {
		t.Errorf("dialog NOTIFY: entity %q, dialog cid-notify-1 found %v\n%s", di.Entity, found, m.body)
	}
	if ct := m.headers["content-type"]; ct != "application/dialog-info+xml" {
		t.Errorf("dialog NOTIFY Content-Type %q", ct)
	}
	t.Logf("dialog NOTIFY %v after the publish", m.at.Sub(begin).Round(time.Millisecond))

	// MWI update
	begin = time.Now()
	publishTo(t, conn, exchange, "mwi", fmt.Sprintf(`{"Event-Category": "presence", "Event-Name": "mwi_update",
		"Msg-ID": "n-mwi", "From": "sip:%[1]s@%[2]s", "From-User": "%[1]s", "From-Realm": "%[2]s",
		"Messages-Waiting": "yes", "Messages-New": 3, "Messages-Saved": 1, "Messages-Urgent": 1,
		"Messages-Urgent-Saved": 0, "Message-Account": "sip:%[1]s@%[2]s", "Call-ID": "cid-notify-2",
		"Expires": 300}`, user, presRealm))
	m = notifyFor("message-summary", func(body string) bool { return strings.Contains(body, "Messages-Waiting: yes") })
	want := "Messages-Waiting: yes\r\nMessage-Account: sip:" + user + "@" + presRealm + "\r\nVoice-Message: 3/1 (1/0)\r\n"
	if m.body != want {
		t.Errorf("message-summary NOTIFY body %q, want %q", m.body, want)
	}
	if ct := m.headers["content-type"]; ct != "application/simple-message-summary" {
		t.Errorf("message-summary NOTIFY Content-Type %q", ct)
	}
	t.Logf("message-summary NOTIFY %v after the publish", m.at.Sub(begin).Round(time.Millisecond))

	rc := presWaitDone(t, k, []string{"n-dialog", "n-mwi"}, 10*time.Second)
	if rc["n-dialog"] != 1 || rc["n-mwi"] != 1 {
		t.Errorf("rc %v", rc)
	}
	rows := presRows(t, db)
	if len(rows) != 2 {
		t.Errorf("presentity rows: %v", rows)
	}
}

// presCall calls kazoo_pua_publish<fn> with doc from the request route and returns its rc
// and what the call logged.
func presCall(t *testing.T, k *harness.Kamailio, fn, doc string) (int, string) {
	t.Helper()
	before := len(k.Log())
	rep := sipRequest(t, k.SipPort(), "OPTIONS", "pua", map[string]string{"X-Fn": fn}, doc)
	if rep.Code != 200 {
		t.Fatalf("%s %q: SIP %d", fn, doc, rep.Code)
	}
	rc, err := strconv.Atoi(rep.Headers["x-rc"])
	if err != nil {
		t.Fatalf("%s %q: X-Rc %q", fn, doc, rep.Headers["x-rc"])
	}
	time.Sleep(20 * time.Millisecond) // stderr of the worker, written before its reply
	return rc, k.Log()[before:]
}

func presErrorLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "ERROR") || strings.Contains(l, "CRITICAL") || strings.Contains(l, "BUG") {
			out = append(out, l)
		}
	}
	return out
}

var presFnName = map[string]string{"any": "kazoo_pua_publish", "mwi": "kazoo_pua_publish_mwi",
	"presence": "kazoo_pua_publish_presence", "dialog": "kazoo_pua_publish_dialoginfo"}

// Bad input from a SIP route: -1 and one log line, nothing written; hostile values are
// escaped into well-formed XML; CR/LF cannot inject message-summary lines; pua_mode 0 and a
// database error give -1; Kamailio keeps answering.
func TestPresenceBadInput(t *testing.T) {
	r := harness.SharedRabbit(t)
	url := strings.TrimSuffix(r.URL(), "/")
	db := presDB(t)
	k := presStart(t, modulePath, url, db, 1, true, "", "", "")
	R := presRealm
	count := func() int {
		n, _ := strconv.Atoi(strings.TrimSpace(presSQL(t, db, "SELECT count(*) FROM presentity")))
		return n
	}

	dialogOK := `"From": "sip:b1@` + R + `", "From-User": "b1", "From-Realm": "` + R + `", "To": "sip:2@` + R + `", "To-User": "2", "Call-ID": "c1", "State": "early"`
	bad := []struct{ name, fn, doc, logs string }{
		{"invalid JSON (any)", "any", `{"Event-Name": "update", `, ""},
		{"invalid JSON (mwi)", "mwi", `{"From-User": "x" "From-Realm": "y"}`, ""},
		{"invalid JSON (presence)", "presence", `not json`, ""},
		{"invalid JSON (dialog)", "dialog", `{"From": "a"`, ""},
		{"empty document", "dialog", ``, ""},
		{"not an object (mwi)", "mwi", `["From-User", "x"]`, ""},
		{"not an object (dialog)", "dialog", `"text"`, ""},
		{"dialog without From", "dialog", `{"To": "sip:2@` + R + `", "To-User": "2", "From-User": "b", "From-Realm": "` + R + `", "Call-ID": "c", "State": "early"}`, "From"},
		{"dialog without To", "dialog", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "Call-ID": "c", "State": "early"}`, "To"},
		{"dialog without State", "dialog", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "To": "sip:2@` + R + `", "Call-ID": "c"}`, "State"},
		{"dialog with an empty State", "dialog", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "To": "sip:2@` + R + `", "Call-ID": "c", "State": ""}`, "State"},
		{"dialog update without State (any)", "any", `{"Event-Name": "update", "Event-Package": "dialog", "From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "To": "sip:2@` + R + `", "Call-ID": "c"}`, "State"},
		{"presence without From-User", "presence", `{"From": "sip:b@` + R + `", "From-Realm": "` + R + `", "To-User": "b", "State": "early", "Call-ID": "c"}`, "From-User"},
		{"presence without To-User", "presence", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "State": "early", "Call-ID": "c"}`, "To-User"},
		{"presence without State", "presence", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "To-User": "b", "Call-ID": "c"}`, "State"},
		{"presence update without From-User (any)", "any", `{"Event-Name": "update", "Event-Package": "presence", "From-Realm": "` + R + `", "To-User": "b", "State": "early"}`, "From-User"},
		{"message-summary with CR LF in Messages-Waiting", "mwi", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "Messages-Waiting": "yes\r\nX-Injected: 1", "Messages-New": 1}`, "Messages-Waiting"},
		{"message-summary with LF in Message-Account", "mwi", `{"From": "sip:b@` + R + `", "From-User": "b", "From-Realm": "` + R + `", "Messages-Waiting": "yes", "Message-Account": "sip:b@x\nVoice-Message: 9/9 (9/9)"}`, "Message-Account"},
		{"message-summary with CR in Messages-New (any)", "any", `{"Event-Name": "update", "Event-Package": "message-summary", "From-User": "b", "From-Realm": "` + R + `", "Messages-Waiting": "no", "Messages-New": "1\r"}`, "Messages-New"},
		{"control character in From-User (presence)", "presence", `{"From": "sip:b@` + R + `", "From-User": "b\u0001", "From-Realm": "` + R + `", "To-User": "b", "State": "early", "Call-ID": "c"}`, "From-User"},
		{"Flush-Level above 4", "dialog", `{` + dialogOK + `, "Flush-Level": 5}`, "Flush-Level"},
	}
	for _, b := range bad {
		n0 := count()
		rc, log := presCall(t, k, b.fn, b.doc)
		errs := presErrorLines(log)
		if rc != -1 {
			t.Errorf("%s: rc %d, want -1", b.name, rc)
		}
		if len(errs) != 1 {
			t.Errorf("%s: %d error lines, want 1:\n%s", b.name, len(errs), log)
		} else {
			if !strings.Contains(errs[0], presFnName[b.fn]) || (b.logs != "" && !strings.Contains(errs[0], b.logs)) {
				t.Errorf("%s: log line does not name %s and %q: %s", b.name, presFnName[b.fn], b.logs, errs[0])
			}
			t.Logf("%s: %s", b.name, strings.TrimSpace(errs[0]))
		}
		if n := count(); n != n0 {
			t.Errorf("%s: %d rows written", b.name, n-n0)
		}
	}

	// nothing to write: 1, no row, no error
	for _, doc := range []string{
		`{"Event-Name": "probe", "Event-Package": "dialog", ` + dialogOK + `}`,
		`{"Event-Name": "update", "Event-Package": "reg", ` + dialogOK + `}`,
		`{"Event-Name": "update", ` + dialogOK + `}`,
	} {
		n0 := count()
		rc, log := presCall(t, k, "any", doc)
		if rc != 1 || len(presErrorLines(log)) != 0 || count() != n0 {
			t.Errorf("kazoo_pua_publish(%s): rc %d, %d rows written, log:\n%s", doc, rc, count()-n0, log)
		}
	}

	// hostile values: written, the bodies well-formed XML holding the values
	const (
		hUser    = `h<1>&"x'`
		hToUser  = `O'Neil <&> "2"`
		hCallID  = `cid<&>"'1`
		hFrom    = `sip:h&1@` + presRealm
		hFromTag = `f"t<`
		hToTag   = `t'&t>`
		hDir     = `in"it`
	)
	enc := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	rc, log := presCall(t, k, "presence", fmt.Sprintf(`{"From": %s, "From-User": %s, "From-Realm": %s, "To-User": %s, "State": "confirmed", "Call-ID": %s, "Expires": 60}`,
		enc(hFrom), enc(hUser), enc(R), enc(hToUser), enc(hCallID)))
	if rc != 1 || len(presErrorLines(log)) != 0 {
		t.Errorf("hostile presence: rc %d, log:\n%s", rc, log)
	}
	rows := presRows(t, db)
	if row, ok := presFind(rows, "presence", hUser); !ok {
		t.Errorf("hostile presence: no row for %q in %v", hUser, rows)
	} else {
		var p presPIDF
		if err := xml.Unmarshal([]byte(row.Body), &p); err != nil {
			t.Errorf("hostile presence: body is not XML: %v\n%s", err, row.Body)
		} else if p.Entity != hUser || p.Tuple.ID != hCallID || p.Tuple.Basic != "open" || p.Note != "On the Phone" {
			t.Errorf("hostile presence: parsed %+v\n%s", p, row.Body)
		}
		if row.Etag != hCallID || row.Domain != R || row.Sender != hFrom || presRel(row) != 60 {
			t.Errorf("hostile presence: row %v", row)
		}
	}

	rc, log = presCall(t, k, "dialog", fmt.Sprintf(`{"From": %s, "From-User": %s, "From-Realm": %s, "To": %s, "To-User": %s, "Call-ID": %s, "From-Tag": %s, "To-Tag": %s, "Direction": %s, "State": "early", "Flush-Level": 1}`,
		enc(hFrom), enc(hUser), enc(R), enc("sip:<2>@"+R), enc(hToUser), enc(hCallID), enc(hFromTag), enc(hToTag), enc(hDir)))
	if rc != 1 || len(presErrorLines(log)) != 0 {
		t.Errorf("hostile dialog: rc %d, log:\n%s", rc, log)
	}
	rows = presRows(t, db)
	if row, ok := presFind(rows, "dialog", hUser); !ok {
		t.Errorf("hostile dialog: no row for %q in %v", hUser, rows)
	} else {
		var d presDialogInfo
		if err := xml.Unmarshal([]byte(row.Body), &d); err != nil || len(d.Dialogs) != 1 {
			t.Errorf("hostile dialog: body is not XML with one dialog: %v\n%s", err, row.Body)
		} else {
			g := d.Dialogs[0]
			if d.Entity != hFrom || g.ID != hCallID || g.CallID != hCallID || g.LocalTag != hFromTag || g.RemoteTag != hToTag ||
				g.Direction != hDir || g.State != "early" || g.Local.Identity.Display != hUser || g.Local.Identity.URI != hFrom ||
				g.Local.Target.URI != hFrom || g.Remote.Identity.Display != hToUser || g.Remote.Identity.URI != "sip:<2>@"+R ||
				g.Remote.Target.URI != "sip:<2>@"+R {
				t.Errorf("hostile dialog: parsed %+v\n%s", d, row.Body)
			}
		}
		if row.Etag != hCallID || row.Sender != "sip:"+hCallID {
			t.Errorf("hostile dialog: row %v", row)
		}
	}

	// the same dialog through kazoo_pua_publish, without Call-ID: the fixed body, entity escaped
	rc, log = presCall(t, k, "any", fmt.Sprintf(`{"Event-Name": "update", "Event-Package": "dialog", "From": %s, "From-User": "h2", "From-Realm": %s, "To": "sip:3@x", "State": "terminated"}`,
		enc(`sip:"h2"&<>@`+R), enc(R)))
	if rc != 1 || len(presErrorLines(log)) != 0 {
		t.Errorf("hostile empty dialog: rc %d, log:\n%s", rc, log)
	}
	if row, ok := presFind(presRows(t, db), "dialog", "h2"); !ok {
		t.Errorf("hostile empty dialog: no row")
	} else {
		var d presDialogInfo
		if err := xml.Unmarshal([]byte(row.Body), &d); err != nil || d.Entity != `sip:"h2"&<>@`+R {
			t.Errorf("hostile empty dialog: %v %+v\n%s", err, d, row.Body)
		}
	}

	// message-summary is text: values as given (no CR/LF)
	rc, log = presCall(t, k, "mwi", fmt.Sprintf(`{"From": %s, "From-User": %s, "From-Realm": %s, "Messages-Waiting": "yes", "Messages-New": 1, "Messages-Saved": 0, "Messages-Urgent": 0, "Messages-Urgent-Saved": 0, "Message-Account": %s, "Call-ID": %s}`,
		enc(hFrom), enc(hUser), enc(R), enc(`sip:<a&b>@`+R), enc(hCallID)))
	if rc != 1 || len(presErrorLines(log)) != 0 {
		t.Errorf("hostile message-summary: rc %d, log:\n%s", rc, log)
	}
	if row, ok := presFind(presRows(t, db), "message-summary", hUser); !ok {
		t.Errorf("hostile message-summary: no row")
	} else if want := "Messages-Waiting: yes\r\nMessage-Account: sip:<a&b>@" + R + "\r\nVoice-Message: 1/0 (0/0)\r\n"; row.Body != want || row.Sender != hFrom {
		t.Errorf("hostile message-summary: row %v, want body %q", row, want)
	}

	// still answering
	for i := 0; i < 3; i++ {
		if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
			t.Fatalf("OPTIONS: %d", rep.Code)
		}
	}
	k.Stop(t)

	// pua_mode 0: -1 and a clear line, nothing written
	db0 := presDB(t)
	k0 := presStart(t, modulePath, url, db0, 0, false, "", "", "")
	for fn := range presFnName {
		rc, log := presCall(t, k0, fn, `{"Event-Name": "update", "Event-Package": "dialog", `+dialogOK+`}`)
		errs := presErrorLines(log)
		if rc != -1 || len(errs) != 1 || !strings.Contains(errs[0], "pua_mode") {
			t.Errorf("pua_mode 0, %s: rc %d, log:\n%s", fn, rc, log)
		}
	}
	if n := len(presRows(t, db0)); n != 0 {
		t.Errorf("pua_mode 0: %d rows written", n)
	}
	if rep := sipRequest(t, k0.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Errorf("pua_mode 0: OPTIONS %d", rep.Code)
	}
	k0.Stop(t)

	// a database error (no such table): -1 and a line naming the presentity
	dbE := presDB(t)
	kE := presStart(t, modulePath, url, dbE, 1, true, "", "", `modparam("kazoo", "presentity_table", "no_such_table")`)
	rc, log = presCall(t, kE, "dialog", `{`+dialogOK+`}`)
	if rc != -1 || !strings.Contains(log, "b1") {
		t.Errorf("database error: rc %d, log:\n%s", rc, log)
	} else {
		t.Logf("database error: %s", strings.Join(presErrorLines(log), " | "))
	}
	if rep := sipRequest(t, kE.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Errorf("database error: OPTIONS %d", rep.Code)
	}
}
