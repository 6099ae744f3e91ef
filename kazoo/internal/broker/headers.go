package broker

import (
	"bytes"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// MaxShortString is AMQP's limit for exchange names, routing keys and header names (and
// the C module's).
const MaxShortString = 255

// Headers are a message's AMQP headers.
type Headers = amqp.Table

// ParseHeaders reads a message's AMQP headers in either form scripts write them. Text
// starting with '{' is a JSON object, the 2600hz fork's "arguments" (see jsonHeaders);
// anything else is the C module's "k1=v1;k2=v2" (string values), where, as in the C
// module, a pair without '=' or with an empty value is skipped.
func ParseHeaders(s []byte) (Headers, error) {
	trimmed := bytes.TrimSpace(s)
	if len(trimmed) == 0 {
		return nil, nil
	}
	if trimmed[0] == '{' {
		return jsonHeaders(trimmed)
	}
	t := Headers{}
	for _, pair := range bytes.Split(s, []byte{';'}) {
		k, v, ok := bytes.Cut(pair, []byte{'='})
		k = bytes.TrimSpace(k)
		if !ok || len(k) == 0 || len(v) == 0 {
			continue
		}
		if len(k) > MaxShortString {
			return nil, status.Errorf(status.Argument, "AMQP header name of %d bytes is too long", len(k))
		}
		t[string(k)] = string(v)
	}
	return t, nil
}
