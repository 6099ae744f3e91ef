package pua

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/kzjson"
)

// Kind selects the script function being served.
type Kind int

const (
	// Any is kazoo_pua_publish: only Event-Name "update" is handled, by
	// Event-Package "dialog", "message-summary" or "presence"; anything else
	// is skipped.
	Any Kind = iota
	// MWI is kazoo_pua_publish_mwi (event message-summary).
	MWI
	// Presence is kazoo_pua_publish_presence (event presence).
	Presence
	// Dialog is kazoo_pua_publish_dialoginfo (event dialog).
	Dialog
)

func (k Kind) String() string {
	switch k {
	case Any:
		return "kazoo_pua_publish"
	case MWI:
		return "kazoo_pua_publish_mwi"
	case Presence:
		return "kazoo_pua_publish_presence"
	case Dialog:
		return "kazoo_pua_publish_dialoginfo"
	}
	return fmt.Sprintf("pua.Kind(%d)", int(k))
}

// Row is one presentity row as the C module's kz_pua_update_presentity wrote
// it (priority is always 0 and not carried).
type Row struct {
	Event    string // "presence", "message-summary" or "dialog"
	Domain   string
	Username string
	Etag     string
	Sender   string
	Body     []byte
	// Expires is absolute unix seconds: now + Expires when the payload's
	// Expires is > 0, else 0 (never expires). Capped at math.MaxInt32, as the
	// column is an INT.
	Expires int64
	// Reset selects the write. 0: REPLACE keyed on (event, domain, username,
	// etag), or DELETE by those 4 keys and INSERT when the driver has no
	// replace. 1..4: DELETE WHERE the first 4-Reset of those keys match, then
	// INSERT (1: every etag of the user, 2: the domain, 3: the event, 4: the
	// whole table). Presence and message-summary use 1, dialog the payload's
	// Flush-Level (default 0).
	Reset        int
	ReceivedTime int64 // now, unix seconds
}

// Errors returned by Build, wrapped with details. The C module returned -1
// to the script only for ErrJSON (and a JSON null document); for the others
// it logged (or not) and returned 1.
var (
	ErrJSON      = errors.New("pua: invalid JSON")
	ErrNotObject = errors.New("pua: JSON document is not an object")
	ErrMissing   = errors.New("pua: missing field")
	ErrValue     = errors.New("pua: value cannot be used")
	ErrKind      = errors.New("pua: unknown kind")
)

// Builder turns payloads into rows, reusing its parsing buffers. The zero
// value is ready to use; a Builder must not be used concurrently.
type Builder struct {
	e kzjson.Evaluator
}

var builders = sync.Pool{New: func() any { return new(Builder) }}

// Build returns the row to write, or skip=true when the C module does
// nothing and returns 1 (kazoo_pua_publish with an Event-Name other than
// "update" or an Event-Package it does not handle), or an error: invalid
// JSON, a document that is not an object, missing required fields (which
// the C module logged before returning 1), or values that cannot go into
// the body. It is safe for concurrent use.
func Build(kind Kind, doc []byte, now time.Time, includeEntity bool) (row Row, skip bool, err error) {
	b := builders.Get().(*Builder)
	defer builders.Put(b)
	return b.Build(kind, doc, now, includeEntity)
}

// Build is the package-level Build using b's buffers. The result does not
// refer to them.
func (b *Builder) Build(kind Kind, doc []byte, now time.Time, includeEntity bool) (row Row, skip bool, err error) {
	if kind < Any || kind > Dialog {
		return Row{}, false, fmt.Errorf("%w %d", ErrKind, int(kind))
	}
	root, err := b.e.RootKind(doc)
	if err != nil {
		return Row{}, false, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if root != kzjson.Object {
		return Row{}, false, fmt.Errorf("%w (%s)", ErrNotObject, root)
	}
	f := &fields{e: &b.e, doc: doc}
	defer b.e.Reset(64 << 10) // a pooled builder must not pin a huge document

	if kind == Any {
		if f.text("Event-Name") != "update" {
			return Row{}, true, nil
		}
		switch f.text("Event-Package") {
		case "dialog":
			kind = Dialog
		case "message-summary":
			kind = MWI
		case "presence":
			kind = Presence
		default:
			return Row{}, true, nil
		}
	}
	switch kind {
	case MWI:
		row, err = buildMWI(f)
	case Presence:
		row, err = buildPresence(f)
	default:
		row, err = buildDialog(f, includeEntity)
	}
	if err != nil {
		return Row{}, false, err
	}
	row.ReceivedTime = now.Unix()
	if exp := f.getInt("Expires"); exp > 0 {
		// The C module added (int)time(NULL) in int, which overflows for
		// large values; add in 64 bits and cap at the INT column's maximum.
		row.Expires = min(now.Unix()+int64(exp), math.MaxInt32)
	}
	return row, false, nil
}

// missing returns an ErrMissing naming the required fields that are empty.
func missing(builder string, f *fields, keys ...string) error {
	var absent []string
	for _, k := range keys {
		if f.text(k) == "" {
			absent = append(absent, k)
		}
	}
	if absent == nil {
		return nil
	}
	return fmt.Errorf("%w: %s needs %s (missing or empty: %s)",
		ErrMissing, builder, strings.Join(keys, ", "), strings.Join(absent, ", "))
}

// firstOf returns the first non-empty value.
func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// buildPresence is kz_pua_publish_presence_to_presentity.
func buildPresence(f *fields) (Row, error) {
	if err := missing("presence", f, "From-User", "To-User", "State"); err != nil {
		return Row{}, err
	}
	fromUser, callID, state := f.text("From-User"), f.text("Call-ID"), f.text("State")

	note, activity, status := "Available", "", "open"
	switch state {
	case "early":
		note, activity = "Busy", "<rpid:busy/>"
	case "confirmed":
		note, activity = "On the Phone", "<rpid:on-the-phone/>"
	case "offline":
		note, status = "Offline", "closed"
	}

	x := xmlEscaper{builder: "presence"}
	// entity is From-User, not a URI: kept as the C module wrote it.
	entity, id := x.esc("From-User", fromUser), x.esc("Call-ID", callID)
	if x.err != nil {
		return Row{}, x.err
	}
	return Row{
		Event:    "presence",
		Domain:   f.text("From-Realm"),
		Username: fromUser,
		Etag:     firstOf(f.text("ETag"), callID),
		Sender:   firstOf(f.text("Sender-URI"), f.text("Switch-URI"), f.text("From")),
		Body:     fill(presenceBody, entity, id, status, note, activity, note),
		Reset:    1,
	}, nil
}

// buildMWI is kz_pua_publish_mwi_to_presentity. It requires no field, as
// the C function did not.
func buildMWI(f *fields) (Row, error) {
	keys := [...]string{"Messages-Waiting", "Message-Account", "Messages-New",
		"Messages-Saved", "Messages-Urgent", "Messages-Urgent-Saved"}
	var vals [len(keys)]string
	for i, k := range keys {
		vals[i] = f.text(k)
		// The body is header-like text lines: a line break inside a value
		// would inject lines into it.
		if strings.ContainsAny(vals[i], "\r\n") {
			return Row{}, fmt.Errorf("%w: message-summary: %s holds a CR or LF", ErrValue, k)
		}
	}
	return Row{
		Event:    "message-summary",
		Domain:   f.text("From-Realm"),
		Username: f.text("From-User"),
		Etag:     firstOf(f.text("ETag"), f.text("Call-ID")),
		// The C function computed Sender-URI-or-From but then passed From
		// to the write: kept, the sender is From.
		Sender: f.text("From"),
		Body:   fill(mwiBody, vals[:]...),
		Reset:  1,
	}, nil
}

// buildDialog is kz_pua_publish_dialoginfo_to_presentity.
func buildDialog(f *fields, includeEntity bool) (Row, error) {
	if err := missing("dialog", f, "From", "To", "State"); err != nil {
		return Row{}, err
	}
	reset := 0
	if f.has("Flush-Level") {
		// C: a negative level fell through to REPLACE (same as 0); above 4
		// the DELETE got a negative key count and produced invalid SQL.
		switch lvl := f.getInt("Flush-Level"); {
		case lvl > 4:
			return Row{}, fmt.Errorf("%w: dialog: Flush-Level %d is above 4", ErrValue, lvl)
		case lvl > 0:
			reset = int(lvl)
		}
	}

	pres, presUser, presRealm := f.text("Presentity"), f.text("Presentity-User"), f.text("Presentity-Realm")
	from, fromUser, fromRealm := f.text("From"), f.text("From-User"), f.text("From-Realm")
	if pres == "" || presUser == "" || presRealm == "" {
		pres, presUser, presRealm = from, fromUser, fromRealm
	}
	to, toUser := f.text("To"), f.text("To-User")
	fromURI := firstOf(f.text("From-URI"), from)
	toURI := firstOf(f.text("To-URI"), to)
	callID := f.text("Call-ID")
	dialogID := firstOf(f.text("Dialog-ID"), callID)

	x := xmlEscaper{builder: "dialog"}
	var body []byte
	if callID == "" {
		entity := x.esc("Presentity", pres)
		if x.err != nil {
			return Row{}, x.err
		}
		body = fill(dialogEmptyBody, entity)
	} else {
		// The C module printed the tags into 100-byte stack buffers with
		// sprintf (an overflow for tags over ~85 bytes); no limit here.
		var fromTag, toTag string
		if t := f.text("From-Tag"); t != "" {
			fromTag = string(fill(localTag, x.esc("From-Tag", t)))
		}
		if t := f.text("To-Tag"); t != "" {
			toTag = string(fill(remoteTag, x.esc("To-Tag", t)))
		}
		entity, id, cid := x.esc("Presentity", pres), x.esc("Dialog-ID", dialogID), x.esc("Call-ID", callID)
		dir, state := x.esc("Direction", f.text("Direction")), x.esc("State", f.text("State"))
		xFromUser, xFrom := x.esc("From-User", fromUser), x.esc("From", from)
		xToUser, xTo := x.esc("To-User", toUser), x.esc("To", to)
		if includeEntity {
			xFromURI, xToURI := x.esc("From-URI", fromURI), x.esc("To-URI", toURI)
			body = fill(dialogBodyTarget, entity, id, cid, fromTag, toTag, dir, state,
				xFromUser, xFrom, xFromURI, xToUser, xTo, xToURI)
		} else {
			body = fill(dialogBody, entity, id, cid, fromTag, toTag, dir, state,
				xFromUser, xFrom, xToUser, xTo)
		}
		if x.err != nil {
			return Row{}, x.err
		}
	}

	return Row{
		Event:    "dialog",
		Domain:   presRealm,
		Username: presUser,
		Etag:     firstOf(f.text("ETag"), callID),
		// C: sprintf into a 1024-byte stack buffer; no limit here.
		Sender: firstOf(f.text("Sender-URI"), f.text("Switch-URI"), "sip:"+callID),
		Body:   body,
		Reset:  reset,
	}, nil
}
