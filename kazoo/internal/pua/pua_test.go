package pua

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/kzjson"
)

// The expected bodies below are written out by hand from the C templates in
// defs.h; they do not use the package's templates.

var now = time.Unix(1700000000, 0)

const t0 = 1700000000

func TestBuild(t *testing.T) {
	tests := []struct {
		name   string
		kind   Kind
		entity bool // pua_include_entity
		doc    string
		want   Row
	}{
		// ---- presence ----
		{
			name: "presence early",
			kind: Presence,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:2000@example.com","To-User":"2000","To-Realm":"example.com",
				"Call-ID":"abc123","State":"early","Expires":60}`,
			want: Row{
				Event: "presence", Domain: "example.com", Username: "1000", Etag: "abc123",
				Sender: "sip:1000@example.com", Expires: t0 + 60, Reset: 1,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="1000"> <tuple xmlns="urn:ietf:params:xml:ns:pidf" id="abc123"><status><basic>open</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">Busy</note><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities><rpid:busy/></rpid:activities><dm:note>Busy</dm:note></dm:person></presence>`),
			},
		},
		{
			name: "presence confirmed, Sender-URI and ETag",
			kind: Presence,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To-User":"2000","Call-ID":"abc123","State":"confirmed",
				"Sender-URI":"sip:kazoo@10.0.0.1","Switch-URI":"sip:fs@10.0.0.2","ETag":"etag-7"}`,
			want: Row{
				Event: "presence", Domain: "example.com", Username: "1000", Etag: "etag-7",
				Sender: "sip:kazoo@10.0.0.1", Reset: 1,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="1000"> <tuple xmlns="urn:ietf:params:xml:ns:pidf" id="abc123"><status><basic>open</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">On the Phone</note><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note>On the Phone</dm:note></dm:person></presence>`),
			},
		},
		{
			name: "presence offline, Switch-URI",
			kind: Presence,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To-User":"2000","Call-ID":"abc123","State":"offline","Sender-URI":"",
				"Switch-URI":"sip:fs@10.0.0.2"}`,
			want: Row{
				Event: "presence", Domain: "example.com", Username: "1000", Etag: "abc123",
				Sender: "sip:fs@10.0.0.2", Reset: 1,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="1000"> <tuple xmlns="urn:ietf:params:xml:ns:pidf" id="abc123"><status><basic>closed</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">Offline</note><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities></rpid:activities><dm:note>Offline</dm:note></dm:person></presence>`),
			},
		},
		{
			name: "presence other state is Available, no Call-ID",
			kind: Presence,
			doc:  `{"From-User":"1000","From-Realm":"example.com","To-User":"2000","State":"terminated"}`,
			want: Row{
				Event: "presence", Domain: "example.com", Username: "1000", Reset: 1,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="1000"> <tuple xmlns="urn:ietf:params:xml:ns:pidf" id=""><status><basic>open</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">Available</note><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities></rpid:activities><dm:note>Available</dm:note></dm:person></presence>`),
			},
		},
		{
			name: "presence hostile values escaped",
			kind: Presence,
			doc: `{"From":"sip:x@example.com","From-User":"a<b&\"c'd>","From-Realm":"example.com",
				"To-User":"2000","Call-ID":"id\"><x/>","State":"early"}`,
			want: Row{
				Event: "presence", Domain: "example.com", Username: `a<b&"c'd>`, Etag: `id"><x/>`,
				Sender: "sip:x@example.com", Reset: 1,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="a&lt;b&amp;&quot;c&apos;d&gt;"> <tuple xmlns="urn:ietf:params:xml:ns:pidf" id="id&quot;&gt;&lt;x/&gt;"><status><basic>open</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">Busy</note><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities><rpid:busy/></rpid:activities><dm:note>Busy</dm:note></dm:person></presence>`),
			},
		},

		// ---- message-summary ----
		{
			name: "mwi, sender is From despite Sender-URI (C bug kept)",
			kind: MWI,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:1000@example.com","Call-ID":"mwi-1","Messages-Waiting":"yes",
				"Message-Account":"sip:1000@example.com","Messages-New":2,"Messages-Saved":5,
				"Messages-Urgent":0,"Messages-Urgent-Saved":1,"Sender-URI":"sip:vm@example.com",
				"Expires":3600}`,
			want: Row{
				Event: "message-summary", Domain: "example.com", Username: "1000", Etag: "mwi-1",
				Sender: "sip:1000@example.com", Expires: t0 + 3600, Reset: 1,
				Body: []byte("Messages-Waiting: yes\r\nMessage-Account: sip:1000@example.com\r\nVoice-Message: 2/5 (0/1)\r\n"),
			},
		},
		{
			name: "mwi ETag, string counts, markup is not escaped in the text body",
			kind: MWI,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"Call-ID":"mwi-1","ETag":"e1","Messages-Waiting":"no","Message-Account":"a<b>&c",
				"Messages-New":"0","Messages-Saved":"12","Messages-Urgent":"0","Messages-Urgent-Saved":"0"}`,
			want: Row{
				Event: "message-summary", Domain: "example.com", Username: "1000", Etag: "e1",
				Sender: "sip:1000@example.com", Reset: 1,
				Body: []byte("Messages-Waiting: no\r\nMessage-Account: a<b>&c\r\nVoice-Message: 0/12 (0/0)\r\n"),
			},
		},
		{
			name: "mwi requires nothing (as C)",
			kind: MWI,
			doc:  `{}`,
			want: Row{
				Event: "message-summary", Reset: 1,
				Body: []byte("Messages-Waiting: \r\nMessage-Account: \r\nVoice-Message: / (/)\r\n"),
			},
		},

		// ---- dialog ----
		{
			name: "dialog without entity",
			kind: Dialog,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:2000@example.com","To-User":"2000","To-Realm":"example.com",
				"Call-ID":"call-1","From-Tag":"ft1","To-Tag":"tt1","Direction":"initiator",
				"State":"confirmed","Expires":30}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: "1000", Etag: "call-1",
				Sender: "sip:call-1", Expires: t0 + 30, Reset: 0,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com"><dialog id="call-1" call-id="call-1" local-tag="ft1" remote-tag="tt1" direction="initiator"><state>confirmed</state><local><identity display="1000">sip:1000@example.com</identity></local><remote><identity display="2000">sip:2000@example.com</identity></remote></dialog></dialog-info>`),
			},
		},
		{
			name:   "dialog with entity, presentity, URIs, Dialog-ID, Sender-URI, ETag",
			kind:   Dialog,
			entity: true,
			doc: `{"Presentity":"sip:park+100@example.com","Presentity-User":"park+100",
				"Presentity-Realm":"park.example.com",
				"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"From-URI":"sip:1000@10.0.0.1:5060","To":"sip:2000@example.com","To-User":"2000",
				"To-URI":"sip:2000@10.0.0.2","Call-ID":"call-1","Dialog-ID":"dlg-9",
				"From-Tag":"ft1","To-Tag":"tt1","Direction":"recipient","State":"early",
				"Sender-URI":"sip:kazoo@10.0.0.9","Switch-URI":"sip:fs@10.0.0.2","ETag":"et-1"}`,
			want: Row{
				Event: "dialog", Domain: "park.example.com", Username: "park+100", Etag: "et-1",
				Sender: "sip:kazoo@10.0.0.9",
				Body:   []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:park+100@example.com"><dialog id="dlg-9" call-id="call-1" local-tag="ft1" remote-tag="tt1" direction="recipient"><state>early</state><local><identity display="1000">sip:1000@example.com</identity><target uri="sip:1000@10.0.0.1:5060"/></local><remote><identity display="2000">sip:2000@example.com</identity><target uri="sip:2000@10.0.0.2"/></remote></dialog></dialog-info>`),
			},
		},
		{
			name:   "dialog with entity, URIs default to From/To, no tags, Switch-URI",
			kind:   Dialog,
			entity: true,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:2000@example.com","To-User":"2000","Call-ID":"call-1",
				"State":"terminated","Switch-URI":"sip:fs@10.0.0.2"}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: "1000", Etag: "call-1",
				Sender: "sip:fs@10.0.0.2",
				Body:   []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com"><dialog id="call-1" call-id="call-1"   direction=""><state>terminated</state><local><identity display="1000">sip:1000@example.com</identity><target uri="sip:1000@example.com"/></local><remote><identity display="2000">sip:2000@example.com</identity><target uri="sip:2000@example.com"/></remote></dialog></dialog-info>`),
			},
		},
		{
			name: "dialog From-Tag only",
			kind: Dialog,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:2000@example.com","To-User":"2000","Call-ID":"c2","From-Tag":"ft",
				"Direction":"initiator","State":"early"}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: "1000", Etag: "c2", Sender: "sip:c2",
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com"><dialog id="c2" call-id="c2" local-tag="ft"  direction="initiator"><state>early</state><local><identity display="1000">sip:1000@example.com</identity></local><remote><identity display="2000">sip:2000@example.com</identity></remote></dialog></dialog-info>`),
			},
		},
		{
			name: "dialog To-Tag only, incomplete presentity falls back to From",
			kind: Dialog,
			doc: `{"Presentity":"sip:park@example.com","Presentity-User":"park","Presentity-Realm":"",
				"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:2000@example.com","To-User":"2000","Call-ID":"c3","To-Tag":"tt",
				"Direction":"recipient","State":"confirmed"}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: "1000", Etag: "c3", Sender: "sip:c3",
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com"><dialog id="c3" call-id="c3"  remote-tag="tt" direction="recipient"><state>confirmed</state><local><identity display="1000">sip:1000@example.com</identity></local><remote><identity display="2000">sip:2000@example.com</identity></remote></dialog></dialog-info>`),
			},
		},
		{
			name:   "dialog without Call-ID: fixed terminated body, sender sip:",
			kind:   Dialog,
			entity: true,
			doc: `{"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
				"To":"sip:2000@example.com","State":"terminated","From-Tag":"ignored"}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: "1000", Sender: "sip:",
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:1000@example.com"> <dialog call-id="76001e23e09704ea9e1257ebea85e1f3" direction="initiator"><state>terminated</state></dialog></dialog-info>`),
			},
		},
		{
			name: "dialog without Call-ID, presentity, ETag, Flush-Level",
			kind: Dialog,
			doc: `{"Presentity":"sip:a&b@example.com","Presentity-User":"a&b","Presentity-Realm":"example.com",
				"From":"sip:1000@example.com","To":"sip:2000@example.com","State":"terminated",
				"ETag":"e9","Flush-Level":2}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: "a&b", Etag: "e9", Sender: "sip:", Reset: 2,
				Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:a&amp;b@example.com"> <dialog call-id="76001e23e09704ea9e1257ebea85e1f3" direction="initiator"><state>terminated</state></dialog></dialog-info>`),
			},
		},
		{
			name:   "dialog hostile values escaped",
			kind:   Dialog,
			entity: true,
			doc: `{"From":"sip:<x>@example.com","From-User":"Bob \"the\" <Boss> & 'co'",
				"From-Realm":"example.com","To":"sip:2000@example.com","To-User":"2000",
				"Call-ID":"c&4","From-Tag":"f\"t","To-Tag":"t<t","Direction":"in'it",
				"State":"early</state>"}`,
			want: Row{
				Event: "dialog", Domain: "example.com", Username: `Bob "the" <Boss> & 'co'`, Etag: "c&4",
				Sender: "sip:c&4",
				Body:   []byte(`<?xml version="1.0" encoding="UTF-8"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="sip:&lt;x&gt;@example.com"><dialog id="c&amp;4" call-id="c&amp;4" local-tag="f&quot;t" remote-tag="t&lt;t" direction="in&apos;it"><state>early&lt;/state&gt;</state><local><identity display="Bob &quot;the&quot; &lt;Boss&gt; &amp; &apos;co&apos;">sip:&lt;x&gt;@example.com</identity><target uri="sip:&lt;x&gt;@example.com"/></local><remote><identity display="2000">sip:2000@example.com</identity><target uri="sip:2000@example.com"/></remote></dialog></dialog-info>`),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row, skip, err := Build(tc.kind, []byte(tc.doc), now, tc.entity)
			if err != nil || skip {
				t.Fatalf("Build: skip=%v err=%v", skip, err)
			}
			tc.want.ReceivedTime = t0
			checkRow(t, row, tc.want)
			if tc.want.Event != "message-summary" {
				checkWellFormed(t, row.Body)
			}
		})
	}
}

func checkRow(t *testing.T, got, want Row) {
	t.Helper()
	if !bytes.Equal(got.Body, want.Body) {
		t.Errorf("body\n got %q\nwant %q", got.Body, want.Body)
	}
	if !rowEqual(got, want) {
		t.Errorf("row\n got %+v\nwant %+v", got, want)
	}
}

func rowEqual(a, b Row) bool {
	return a.Event == b.Event && a.Domain == b.Domain && a.Username == b.Username &&
		a.Etag == b.Etag && a.Sender == b.Sender && a.Expires == b.Expires &&
		a.Reset == b.Reset && a.ReceivedTime == b.ReceivedTime
}

// checkWellFormed parses body to its end with encoding/xml.
func checkWellFormed(t *testing.T, body []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("body is not well-formed XML: %v\n%s", err, body)
		}
	}
}

// Escaped values must come back unchanged from an XML parser.
func TestEscapingRoundTrip(t *testing.T) {
	hostile := "a<b>&c\"d'e\tf\ng\rh]]>i"
	doc := `{"From":"sip:1@x","From-User":` + strconv.Quote(hostile) + `,"From-Realm":"x",
		"To":"sip:2@x","To-User":"2","Call-ID":` + strconv.Quote(hostile) + `,"State":"early"}`

	row, _, err := Build(Presence, []byte(doc), now, false)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Entity string `xml:"entity,attr"`
		Tuple  struct {
			ID string `xml:"id,attr"`
		} `xml:"tuple"`
	}
	if err := xml.Unmarshal(row.Body, &p); err != nil {
		t.Fatalf("presence: %v\n%s", err, row.Body)
	}
	if p.Entity != hostile || p.Tuple.ID != hostile {
		t.Errorf("presence round trip: entity %q id %q", p.Entity, p.Tuple.ID)
	}

	row, _, err = Build(Dialog, []byte(doc), now, true)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Dialog struct {
			CallID string `xml:"call-id,attr"`
			Local  struct {
				Identity struct {
					Display string `xml:"display,attr"`
				} `xml:"identity"`
			} `xml:"local"`
		} `xml:"dialog"`
	}
	if err := xml.Unmarshal(row.Body, &d); err != nil {
		t.Fatalf("dialog: %v\n%s", err, row.Body)
	}
	if d.Dialog.CallID != hostile || d.Dialog.Local.Identity.Display != hostile {
		t.Errorf("dialog round trip: call-id %q display %q", d.Dialog.CallID, d.Dialog.Local.Identity.Display)
	}
}

func TestAnyDispatch(t *testing.T) {
	presence := `"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
		"To-User":"2000","Call-ID":"abc","State":"offline"`
	dialog := `"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
		"To":"sip:2000@example.com","To-User":"2000","Call-ID":"abc","State":"early"`
	mwi := `"From":"sip:1000@example.com","From-User":"1000","From-Realm":"example.com",
		"Messages-Waiting":"yes","Message-Account":"sip:1000@example.com","Messages-New":1,
		"Messages-Saved":0,"Messages-Urgent":0,"Messages-Urgent-Saved":0`
	routed := []struct {
		pkg, fields string
		kind        Kind
	}{
		{"presence", presence, Presence},
		{"dialog", dialog, Dialog},
		{"message-summary", mwi, MWI},
	}
	for _, r := range routed {
		t.Run(r.pkg, func(t *testing.T) {
			got, skip, err := Build(Any, []byte(`{"Event-Name":"update","Event-Package":"`+r.pkg+`",`+r.fields+`}`), now, true)
			if err != nil || skip {
				t.Fatalf("skip=%v err=%v", skip, err)
			}
			want, _, err := Build(r.kind, []byte(`{`+r.fields+`}`), now, true)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Body, want.Body) || !rowEqual(got, want) {
				t.Errorf("Any gave %+v, direct %+v", got, want)
			}
		})
	}

	skipped := []string{
		`{"Event-Name":"create","Event-Package":"presence",` + presence + `}`,
		`{"Event-Name":"Update","Event-Package":"presence",` + presence + `}`,
		`{"Event-Name":"update ","Event-Package":"presence",` + presence + `}`,
		`{"Event-Package":"presence",` + presence + `}`,
		`{"Event-Name":"update",` + presence + `}`,
		`{"Event-Name":"update","Event-Package":"Presence",` + presence + `}`,
		`{"Event-Name":"update","Event-Package":"dialog ",` + dialog + `}`,
		`{"Event-Name":"update","Event-Package":"message-summary2",` + mwi + `}`,
		`{"Event-Name":"update","Event-Package":null,` + presence + `}`,
		`{}`,
	}
	for _, doc := range skipped {
		row, skip, err := Build(Any, []byte(doc), now, false)
		if err != nil || !skip || row.Body != nil {
			t.Errorf("%s: skip=%v err=%v row=%+v, want skip", doc, skip, err, row)
		}
	}

	// Dispatched, then the builder's rules apply.
	_, skip, err := Build(Any, []byte(`{"Event-Name":"update","Event-Package":"dialog","From":"sip:a@b"}`), now, false)
	if skip || !errors.Is(err, ErrMissing) {
		t.Errorf("update/dialog missing fields: skip=%v err=%v", skip, err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
		want error
	}{
		{"empty", Presence, ``, ErrJSON},
		{"garbage", Any, `{"a":`, ErrJSON},
		{"unquoted key", Dialog, `{From:"x"}`, ErrJSON},
		{"array", MWI, `[1,2]`, ErrNotObject},
		{"string", Any, `"update"`, ErrNotObject},
		{"null", Presence, `null`, ErrJSON}, // json-c's parse gives no object: "empty or invalid JSON", as the C module
		{"unknown kind", Kind(9), `{}`, ErrKind},
		{"negative kind", Kind(-1), `{}`, ErrKind},

		{"presence no From-User", Presence, `{"To-User":"2","State":"early"}`, ErrMissing},
		{"presence empty To-User", Presence, `{"From-User":"1","To-User":"","State":"early"}`, ErrMissing},
		{"presence null State", Presence, `{"From-User":"1","To-User":"2","State":null}`, ErrMissing},
		{"presence From is not From-User", Presence, `{"From":"sip:1@x","To-User":"2","State":"early"}`, ErrMissing},
		{"dialog no From", Dialog, `{"From-User":"1","To":"sip:2@x","State":"early","Call-ID":"c"}`, ErrMissing},
		{"dialog no To", Dialog, `{"From":"sip:1@x","To-User":"2","State":"early","Call-ID":"c"}`, ErrMissing},
		{"dialog no State", Dialog, `{"From":"sip:1@x","To":"sip:2@x","Call-ID":"c"}`, ErrMissing},
		{"dialog State cut at NUL is empty", Dialog, `{"From":"sip:1@x","To":"sip:2@x","State":"\u0000early"}`, ErrMissing},

		{"mwi CR", MWI, `{"From-User":"1","Messages-Waiting":"yes\r"}`, ErrValue},
		{"mwi LF", MWI, `{"From-User":"1","Message-Account":"sip:1@x\nX-Injected: 1"}`, ErrValue},
		{"mwi LF in count", MWI, `{"Messages-Urgent-Saved":"0\n"}`, ErrValue},
		{"mwi CRLF in Messages-Saved", MWI, `{"Messages-Saved":"1\r\n"}`, ErrValue},
		{"mwi LF in Messages-Urgent", MWI, `{"Messages-Urgent":"\n"}`, ErrValue},
		{"mwi LF in Messages-New", MWI, `{"Messages-New":"\n0"}`, ErrValue},

		{"dialog control char", Dialog, `{"From":"sip:1@x","To":"sip:2@x","State":"early","Call-ID":"c","To-User":"a\u0001b"}`, ErrValue},
		{"dialog control char in tag", Dialog, `{"From":"sip:1@x","To":"sip:2@x","State":"early","Call-ID":"c","From-Tag":"\u001f"}`, ErrValue},
		{"dialog control char, empty body", Dialog, `{"From":"sip:1\u0002@x","To":"sip:2@x","State":"early"}`, ErrValue},
		{"presence U+FFFE", Presence, `{"From-User":"1\ufffe","To-User":"2","State":"early"}`, ErrValue},
		{"presence invalid UTF-8", Presence, "{\"From-User\":\"1\xff\",\"To-User\":\"2\",\"State\":\"early\"}", ErrValue},
		{"dialog Flush-Level 5", Dialog, `{"From":"sip:1@x","To":"sip:2@x","State":"early","Call-ID":"c","Flush-Level":5}`, ErrValue},
		{"dialog Flush-Level huge", Dialog, `{"From":"sip:1@x","To":"sip:2@x","State":"early","Call-ID":"c","Flush-Level":"99999999999"}`, ErrValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			row, skip, err := Build(tc.kind, []byte(tc.doc), now, true)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if skip || row.Body != nil || row.Event != "" {
				t.Errorf("error came with skip=%v row=%+v", skip, row)
			}
		})
	}
}

func TestLenientJSON(t *testing.T) {
	doc := `/* json-c dialect */ {'Event-Name':'update', 'Event-Package':'presence', // comment
		'From':'sip:1000@example.com', 'From-User':1000, 'From-Realm':'example.com',
		"To-User":'20"00', 'Call-ID':"it's", 'State':'early', 'Expires':060, 'State':'confirmed',
		'ETag':TRUE, 'Sender-URI':NULL,} trailing garbage`
	row, skip, err := Build(Any, []byte(doc), now, false)
	if err != nil || skip {
		t.Fatalf("skip=%v err=%v", skip, err)
	}
	want := Row{
		Event: "presence", Domain: "example.com", Username: "1000", Etag: "true",
		Sender: "sip:1000@example.com", Expires: t0 + 60, Reset: 1, ReceivedTime: t0,
		// The last State wins (json-c keeps the last value of a repeated key).
		Body: []byte(`<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="1000"> <tuple xmlns="urn:ietf:params:xml:ns:pidf" id="it&apos;s"><status><basic>open</basic></status></tuple><note xmlns="urn:ietf:params:xml:ns:pidf">On the Phone</note><dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1"><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note>On the Phone</dm:note></dm:person></presence>`),
	}
	checkRow(t, row, want)
}

func TestExpires(t *testing.T) {
	tests := []struct {
		expires string // JSON text, "" for absent
		want    int64
	}{
		{"", 0},
		{"null", 0},
		{"60", t0 + 60},
		{"0", 0},
		{"-5", 0},
		{`"120"`, t0 + 120},
		{`" 120s"`, t0 + 120},
		{`"abc"`, 0},
		{`""`, 0},
		{"1.9", t0 + 1},
		{"-0.5", 0},
		{"true", t0 + 1},
		{"false", 0},
		{`{"a":1}`, 0},
		{"[60]", 0},
		{"2147483647", math.MaxInt32},
		{"99999999999", math.MaxInt32},
		{"1e12", math.MaxInt32},
		{`"99999999999999999999999"`, math.MaxInt32},
		{"447483647", t0 + 447483647},
		{"447483648", math.MaxInt32},
	}
	for _, kind := range []Kind{Presence, MWI, Dialog} {
		for _, tc := range tests {
			doc := `{"From":"sip:1@x","From-User":"1","To":"sip:2@x","To-User":"2","State":"early","Call-ID":"c"`
			if tc.expires != "" {
				doc += `,"Expires":` + tc.expires
			}
			doc += `}`
			row, _, err := Build(kind, []byte(doc), now, false)
			if err != nil {
				t.Fatalf("%v %s: %v", kind, tc.expires, err)
			}
			if row.Expires != tc.want || row.ReceivedTime != t0 {
				t.Errorf("%v Expires %s: got %d (received %d), want %d", kind, tc.expires, row.Expires, row.ReceivedTime, tc.want)
			}
		}
	}
}

func TestFlushLevel(t *testing.T) {
	tests := []struct {
		level string
		want  int
	}{
		{"", 0},
		{"null", 0},
		{"0", 0},
		{"1", 1},
		{"2", 2},
		{"3", 3},
		{"4", 4},
		{`"3"`, 3},
		{"2.7", 2},
		{"true", 1},
		{"-1", 0},
		{"-99999999999", 0},
		{`"x"`, 0},
	}
	for _, tc := range tests {
		doc := `{"From":"sip:1@x","To":"sip:2@x","State":"early","Call-ID":"c"`
		if tc.level != "" {
			doc += `,"Flush-Level":` + tc.level
		}
		doc += `}`
		row, _, err := Build(Dialog, []byte(doc), now, false)
		if err != nil {
			t.Fatalf("Flush-Level %s: %v", tc.level, err)
		}
		if row.Reset != tc.want {
			t.Errorf("Flush-Level %s: Reset %d, want %d", tc.level, row.Reset, tc.want)
		}
	}
	// Flush-Level is the dialog's only: presence and mwi always use 1.
	for _, kind := range []Kind{Presence, MWI} {
		row, _, err := Build(kind, []byte(`{"From-User":"1","To-User":"2","State":"early","Flush-Level":3}`), now, false)
		if err != nil || row.Reset != 1 {
			t.Errorf("%v: Reset %d err %v, want 1", kind, row.Reset, err)
		}
	}
}

// Field text follows json_object_get_string.
func TestFieldText(t *testing.T) {
	tests := []struct{ json, want string }{
		{`"plain"`, "plain"},
		{`"a\u0000b"`, "a"},
		{`"\u00e9\ud83d\ude00"`, "é😀"},
		{`null`, ""},
		{`true`, "true"},
		{`false`, "false"},
		{`42`, "42"},
		{`-0`, "0"},
		{`007`, "7"},
		{`18446744073709551615`, "18446744073709551615"},
		{`18446744073709551616`, "18446744073709551615"},
		{`-9223372036854775808`, "-9223372036854775808"},
		{`-9223372036854775809`, "-9223372036854775808"},
		{`1.50`, "1.50"},
		{`1E5`, "1E5"},
		{`[]`, "[ ]"},
		{`{}`, "{ }"},
		{`[1,"a/b",[]]`, `[ 1, "a\/b", [ ] ]`},
		{`{"a":1,"b":{"c":"x\ny"},"a":2}`, `{ "a": 2, "b": { "c": "x\ny" } }`},
		{`{"k\"":"\u0001"}`, `{ "k\"": "\u0001" }`},
	}
	for _, tc := range tests {
		if got := fieldsOf(`{"f":` + tc.json + `}`).text("f"); got != tc.want {
			t.Errorf("text(%s) = %q, want %q", tc.json, got, tc.want)
		}
	}
	if got := fieldsOf(`{}`).text("f"); got != "" {
		t.Errorf("missing field: %q", got)
	}
}

func fieldsOf(doc string) *fields {
	return &fields{e: new(kzjson.Evaluator), doc: []byte(doc)}
}

// Integers follow json_object_get_int.
func TestFieldInt(t *testing.T) {
	tests := []struct {
		json string
		want int32
	}{
		{`7`, 7},
		{`-7`, -7},
		{`2147483648`, math.MaxInt32},
		{`-2147483649`, math.MinInt32},
		{`18446744073709551616`, math.MaxInt32},
		{`-5.9`, -5},
		{`-1e300`, math.MinInt32},
		{`1e-400`, 0},
		{`"  +12x"`, 12},
		{`"\t-3"`, -3},
		{`"-"`, 0},
		{`"0x10"`, 0},
		{`"9223372036854775808"`, math.MaxInt32},
		{`"-9223372036854775809"`, math.MinInt32},
		{`true`, 1},
		{`false`, 0},
		{`null`, 0},
		{`[1]`, 0},
		{`{"a":1}`, 0},
	}
	for _, tc := range tests {
		if got := fieldsOf(`{"f":` + tc.json + `}`).getInt("f"); got != tc.want {
			t.Errorf("getInt(%s) = %d, want %d", tc.json, got, tc.want)
		}
	}
}

func TestBuilderReuse(t *testing.T) {
	var b Builder
	docs := []string{
		`{"From-User":"1","To-User":"2","State":"early","Call-ID":"first"}`,
		`{"From-User":"3","To-User":"4","State":"offline","Call-ID":"second"}`,
	}
	var rows []Row
	for _, d := range docs {
		row, _, err := b.Build(Presence, []byte(d), now, false)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if rows[0].Username != "1" || rows[0].Etag != "first" || !strings.Contains(string(rows[0].Body), `id="first"`) {
		t.Errorf("first row changed after reuse: %+v", rows[0])
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{
		Any: "kazoo_pua_publish", MWI: "kazoo_pua_publish_mwi", Presence: "kazoo_pua_publish_presence",
		Dialog: "kazoo_pua_publish_dialoginfo", Kind(7): "pua.Kind(7)",
	} {
		if got := k.String(); got != want {
			t.Errorf("%d: %q", int(k), got)
		}
	}
}
