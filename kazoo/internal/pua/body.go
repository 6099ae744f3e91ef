package pua

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Body templates, transcribed from the C module's defs.h (kamailio 5.6.3,
// lines 90-141) with every %s / %.*s written as %s. The C strings were
// split over lines with a backslash at the end of each line; the line breaks
// are not part of the text, but the space before the backslash after
// entity="%s"> in the presence and empty dialog bodies is.
const (
	mwiBody = "Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %s/%s (%s/%s)\r\n"

	presenceBody = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" xmlns:c="urn:ietf:params:xml:ns:pidf:cipid" entity="%s"> ` +
		`<tuple xmlns="urn:ietf:params:xml:ns:pidf" id="%s">` +
		`<status>` +
		`<basic>%s</basic>` +
		`</status>` +
		`</tuple>` +
		`<note xmlns="urn:ietf:params:xml:ns:pidf">%s</note>` +
		`<dm:person xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" id="1">` +
		`<rpid:activities>%s</rpid:activities>` +
		`<dm:note>%s</dm:note>` +
		`</dm:person>` +
		`</presence>`

	dialogEmptyBody = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="%s"> ` +
		`<dialog call-id="76001e23e09704ea9e1257ebea85e1f3" direction="initiator">` +
		`<state>terminated</state>` +
		`</dialog>` +
		`</dialog-info>`

	localTag  = `local-tag="%s"`
	remoteTag = `remote-tag="%s"`

	// DIALOGINFO_BODY, used with pua_include_entity=1.
	dialogBodyTarget = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="%s">` +
		`<dialog id="%s" call-id="%s" %s %s direction="%s">` +
		`<state>%s</state>` +
		`<local>` +
		`<identity display="%s">%s</identity>` +
		`<target uri="%s"/>` +
		`</local>` +
		`<remote>` +
		`<identity display="%s">%s</identity>` +
		`<target uri="%s"/>` +
		`</remote>` +
		`</dialog>` +
		`</dialog-info>`

	// DIALOGINFO_BODY_2, used with pua_include_entity=0.
	dialogBody = `<?xml version="1.0" encoding="UTF-8"?>` +
		`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1" state="full" entity="%s">` +
		`<dialog id="%s" call-id="%s" %s %s direction="%s">` +
		`<state>%s</state>` +
		`<local>` +
		`<identity display="%s">%s</identity>` +
		`</local>` +
		`<remote>` +
		`<identity display="%s">%s</identity>` +
		`</remote>` +
		`</dialog>` +
		`</dialog-info>`
)

// fill replaces the n-th "%s" of tmpl with args[n], verbatim. The templates
// hold no other '%'. Callers escape the arguments first.
func fill(tmpl string, args ...string) []byte {
	size := len(tmpl)
	for _, a := range args {
		size += len(a)
	}
	out := make([]byte, 0, size)
	for _, a := range args {
		i := strings.Index(tmpl, "%s")
		if i < 0 {
			panic("pua: template has fewer placeholders than arguments")
		}
		out = append(out, tmpl[:i]...)
		out = append(out, a...)
		tmpl = tmpl[i+2:]
	}
	if strings.Contains(tmpl, "%s") {
		panic("pua: template has more placeholders than arguments")
	}
	return append(out, tmpl...)
}

// xmlEscaper escapes values for an XML body and remembers the first value
// that cannot be put into one.
type xmlEscaper struct {
	builder string // for error messages: "presence", "dialog"
	err     error
}

// esc returns s escaped for both XML attribute values and character data:
// & < > " ' as the predefined entities, and TAB, LF, CR as character
// references so that attribute-value normalisation and end-of-line handling
// keep them. Bytes that XML 1.0 cannot carry at all (other control
// characters, invalid UTF-8, U+FFFE, U+FFFF) are an error naming field.
func (x *xmlEscaper) esc(field, s string) string {
	if x.err != nil {
		return ""
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '&' || c == '<' || c == '>' || c == '"' || c == '\'' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&apos;")
		case r == '\t':
			b.WriteString("&#9;")
		case r == '\n':
			b.WriteString("&#10;")
		case r == '\r':
			b.WriteString("&#13;")
		case r < 0x20:
			x.err = fmt.Errorf("%w: %s: %s holds control character %#02x, which XML cannot carry",
				ErrValue, x.builder, field, r)
			return ""
		case r == utf8.RuneError && size == 1:
			x.err = fmt.Errorf("%w: %s: %s is not valid UTF-8 (byte %#02x at %d)",
				ErrValue, x.builder, field, s[i], i)
			return ""
		case r == 0xFFFE || r == 0xFFFF:
			x.err = fmt.Errorf("%w: %s: %s holds %U, which XML cannot carry",
				ErrValue, x.builder, field, r)
			return ""
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
