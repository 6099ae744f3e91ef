package config

import (
	"errors"
	"net/url"
	"strings"
)

// The one place that decides what of an amqp_connection value is secret, and the one
// function (Redact) every text that may carry such a value passes before it is logged,
// shown by an RPC or handed to a route. cshim/kz_url.c's kz_url_masked applies the same
// rule to the same strings, so the two sides print the same masked URL.
//
// The rule works on malformed values too (a value that fails to parse is the one most
// likely to be printed): the secret is what lies between the first ':' after the scheme
// separator ("://", else the start of the value) and the last '@'. Without an '@', what
// follows the host's ':' up to '/', '?', '#' or the end is a password whose host was left
// out unless it is a port (digits only).

// secretSpan returns the offsets of the password in s, ok false when there is none.
func secretSpan(s string) (start, end int, ok bool) {
	from := 0
	if i := strings.Index(s, "://"); i >= 0 {
		from = i + 3
	}
	if at := strings.LastIndex(s[from:], "@"); at >= 0 {
		colon := strings.Index(s[from:from+at], ":")
		if colon < 0 {
			return 0, 0, false
		}
		return from + colon + 1, from + at, true
	}
	auth := s[from:]
	if i := strings.IndexAny(auth, "/?#"); i >= 0 {
		auth = auth[:i]
	}
	host := 0
	if strings.HasPrefix(auth, "[") { // an IPv6 literal's colons are not the port's
		if host = strings.Index(auth, "]"); host < 0 {
			return 0, 0, false
		}
	}
	colon := strings.Index(auth[host:], ":")
	if colon < 0 {
		return 0, 0, false
	}
	start, end = from+host+colon+1, from+len(auth)
	if start == end || strings.Trim(s[start:end], "0123456789") == "" {
		return 0, 0, false // a port
	}
	return start, end, true
}

// MaskURL is s with its password replaced by "***".
func MaskURL(s string) string {
	start, end, ok := secretSpan(s)
	if !ok {
		return s
	}
	return s[:start] + "***" + s[end:]
}

// minRedactedLen is the shortest password Redact also looks for outside the URL: a
// shorter one would turn common letters of any message into "***", and is masked wherever
// the URL appears anyway.
const minRedactedLen = 4

// Redact returns text with every trace of the amqp_connection value rawURL replaced: the
// URL itself by MaskURL's form, and its password, as written and percent-decoded, by "***"
// wherever it appears alone (an error that quotes a piece of the URL).
func Redact(text, rawURL string) string {
	if rawURL == "" || text == "" {
		return text
	}
	start, end, ok := secretSpan(rawURL)
	if !ok {
		return text
	}
	text = strings.ReplaceAll(text, rawURL, MaskURL(rawURL))
	secret := rawURL[start:end]
	forms := []string{secret}
	if decoded, err := url.PathUnescape(secret); err == nil && decoded != secret {
		forms = append(forms, decoded)
	}
	for _, f := range forms {
		if len(f) >= minRedactedLen {
			text = strings.ReplaceAll(text, f, "***")
		}
	}
	return text
}

// RedactError is err with its text through Redact (nil stays nil). The result keeps only
// the text: unwrapping it must not give back the original.
func RedactError(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	return errors.New(Redact(err.Error(), rawURL))
}

// describeURIError says what is wrong with a URL amqp.ParseURI refused without quoting
// it: net/url's errors quote the input or a piece of it ("invalid URL escape \"%of\"",
// a password taken for a port), which can be the password.
func describeURIError(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err.Error() // amqp091's own messages (scheme, whitespace, query options): Redact still applies
	}
	var esc url.EscapeError
	var host url.InvalidHostError
	switch {
	case errors.As(ue.Err, &esc):
		return "a '%' not followed by two hexadecimal digits (write a literal '%' as %25)"
	case errors.As(ue.Err, &host):
		return "invalid character in the host"
	case strings.Contains(ue.Err.Error(), "port"):
		return "invalid port (a ':' in the user name or password must be written %3A)"
	}
	return "not a valid URL (a reserved character such as ?, #, @, : or / in the user name or password must be percent-encoded)"
}
