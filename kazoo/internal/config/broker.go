package config

import (
	"fmt"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Broker is one amqp_connection modparam.
type Broker struct {
	ID   int    // 1, 2, ... in declaration order (the C module's server id)
	Zone string // "zone=<name>;" prefix, "" for the primary zone
	URL  string // amqp:// or amqps:// URL to dial (kazoo:// rewritten)
	URI  amqp.URI
}

// Masked is the URL without its password, for logs.
func (b Broker) Masked() string { return MaskURL(b.URL) }

// Redact is text (an error about this broker) without its URL's password (see Redact).
func (b Broker) Redact(text string) string { return Redact(text, b.URL) }

// RedactError is err without this broker's password (see RedactError).
func (b Broker) RedactError(err error) error { return RedactError(err, b.URL) }

// ParseBroker parses "[zone=<name>;]<scheme>://user:pass@host:port/vhost" as the C module
// does: kazoo:// is an old alias of amqp://, the zone prefix ends with ';'.
func ParseBroker(s string, id int) (Broker, error) {
	b := Broker{ID: id}
	raw := strings.TrimSpace(s)
	if strings.HasPrefix(raw, "zone=") {
		zone, rest, ok := strings.Cut(raw[len("zone="):], ";")
		if !ok || zone == "" {
			return b, fmt.Errorf("%q: the zone=<name>; prefix needs a name and a ';'", MaskURL(s))
		}
		b.Zone, raw = zone, rest
	}
	if strings.HasPrefix(raw, "kazoo://") {
		raw = "amqp://" + raw[len("kazoo://"):]
	}
	uri, err := amqp.ParseURI(raw)
	if err != nil {
		return b, fmt.Errorf("%q: %s", MaskURL(raw), Redact(describeURIError(err), raw))
	}
	if uri.Host == "" {
		return b, fmt.Errorf("%q: no host", MaskURL(raw))
	}
	if uri.Port < 1 || uri.Port > 65535 {
		return b, fmt.Errorf("%q: port %d out of range", MaskURL(raw), uri.Port)
	}
	b.URL, b.URI = raw, uri
	return b, nil
}
