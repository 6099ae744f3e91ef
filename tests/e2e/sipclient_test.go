package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// sipReply is what the tests read of a SIP response.
type sipReply struct {
	Code    int
	Headers map[string]string // lower-cased names
}

// sipRequest sends one SIP request to Kamailio; the e2e cfg drives kazoo_publish from the
// X-* headers, so tests choose exchange, routing key, headers and payload per request.
func sipRequest(t testing.TB, port int, method, user string, headers map[string]string, body string) sipReply {
	t.Helper()
	h := harness.SipRequest(t, port, method, user, headers, body, 10*time.Second)
	code, _ := strconv.Atoi(h[":code"])
	return sipReply{Code: code, Headers: h}
}
