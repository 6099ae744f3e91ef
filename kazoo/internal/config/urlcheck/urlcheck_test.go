package urlcheck

import (
	"strings"
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
)

// goRefuses tells whether the Go side refuses url after fork: config.ParseBroker (net/url
// and amqp091-go's ParseURI), then DialConfig's auth_mechanism check, which fails every
// connect.
func goRefuses(url string) error {
	b, err := config.ParseBroker(url, 1)
	if err != nil {
		return err
	}
	for _, m := range b.URI.AuthMechanism {
		switch strings.ToUpper(m) {
		case "PLAIN", "AMQPLAIN", "EXTERNAL":
		default:
			return errString("unsupported auth_mechanism " + m)
		}
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }

// Refused by C though Go would take them: C is stricter on purpose there (the C module
// wanted "scheme://", a port when there is a ':', no whitespace, which Go trims).
var cStricter = map[string]bool{
	"amqp:/h":       true,
	" amqp://h/":    true,
	"amqp://h/ ":    true,
	"amqp://h:/":    true,
	"amqp://h:1:2/": true,
}

var corpus = []string{
	"amqp://guest:guest@127.0.0.1:5672",
	"amqp://guest:guest@127.0.0.1:5672/",
	"amqp://guest:guest@127.0.0.1:5672/%2F",
	"amqps://u:p@rabbit.example.com:5671/vh",
	"kazoo://u:p@h/",
	"zone=west;amqp://u:p@h:5672",
	"zone=my west;amqp://u:p@h:5672",
	"zone=z amqp://h/",
	"amqp://h",
	"amqp://[::1]:5672/",
	"amqp://[fe80::1%25eth0]:5672/",
	"amqp://[fe80::1%25]:5672/",
	"amqp://[1.2.3.4]:5672/",
	"amqp://[::1:5672/",
	"amqp://h[x]/",
	"amqp://guest:50%off@127.0.0.1/",
	"amqp://guest:50%25off@127.0.0.1/",
	"amqp://guest:pa^ss@127.0.0.1/",
	"amqp://gu est@h/",
	"amqp://u:p@h/vh%zz",
	"amqp://u:p@h/vh#frag%",
	"amqp://u:p@h/vh#frag",
	"amqp://h%41/",
	"amqp://h%C3%A9/",
	"amqp://h^/",
	"amqp://h/\x01",
	"amqp://h/\x7f",
	"amqp://h/?heartbeat=5",
	"amqp://h/?heartbeat=0",
	"amqp://h/?heartbeat=65535",
	"amqp://h/?heartbeat=65536",
	"amqp://h/?heartbeat=abc",
	"amqp://h/?heartbeat=",
	"amqp://h/?heartbeat",
	"amqp://h/?heartbeat=-1",
	"amqp://h/?heartbeat=+5",
	"amqp://h/?heartbeat=0005",
	"amqp://h/?heartbeat=5&heartbeat=abc",
	"amqp://h/?heartbeat=abc&heartbeat=5",
	"amqp://h/?heartbeat=abc;x=1",
	"amqp://h/?heartbeat=%zz",
	"amqp://h/?heart%62eat=abc",
	"amqp://h/?heartbeat=1%30",
	"amqp://h/?heartbeat=99999999999",
	"amqp://h/?channel_max=2047",
	"amqp://h/?channel_max=70000",
	"amqp://h/?channel_max=x",
	"amqp://h/?connection_timeout=100",
	"amqp://h/?connection_timeout=-100",
	"amqp://h/?connection_timeout=+100",
	"amqp://h/?connection_timeout=9223372036854775807",
	"amqp://h/?connection_timeout=9223372036854775808",
	"amqp://h/?connection_timeout=-9223372036854775808",
	"amqp://h/?connection_timeout=-9223372036854775809",
	"amqp://h/?connection_timeout=1.5",
	"amqp://h/?connection_timeout=-",
	"amqp://h/?auth_mechanism=plain",
	"amqp://h/?auth_mechanism=PLAIN&auth_mechanism=AMQPlain",
	"amqp://h/?auth_mechanism=external",
	"amqp://h/?auth_mechanism=kerberos",
	"amqp://h/?auth_mechanism=",
	"amqp://h/?auth_mechanism=plain&auth_mechanism=x",
	"amqp://h/?certfile=/x&server_name_indication=y&unknown=z",
	"amqp://h/?&&heartbeat=5&",
	"amqp://h/?heartbeat=5#x",
	"amqp://h/#?heartbeat=abc",
	"amqp://u:p?x@h/",
	"amqp://u@h@h2/",
	"amqp://h:0/",
	"amqp://h:65536/",
	"amqp://h:abc/",
	"http://h/",
	"amqp:/h",
	" amqp://h/",
	"amqp://h/ ",
	"amqp://h:/",
	"amqp://h:1:2/",
}

func TestCRefusesWhatGoRefuses(t *testing.T) {
	for _, u := range corpus {
		cErr, goErr := Check(u), goRefuses(u)
		switch {
		case goErr != nil && cErr == nil:
			t.Errorf("%q: passes the C check, refused by Go: %v", u, goErr)
		case goErr == nil && cErr != nil && !cStricter[u]:
			t.Errorf("%q: refused by the C check (%v), accepted by Go", u, cErr)
		}
	}
}

// go test -fuzz FuzzURLCheck ./kazoo/internal/config/urlcheck/ looks for a URL Go refuses and C passes.
func FuzzURLCheck(f *testing.F) {
	for _, u := range corpus {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		if strings.IndexByte(u, 0) >= 0 || len(u) > 512 {
			return // a modparam string ends at NUL; longer ones are refused by length
		}
		if goErr, cErr := goRefuses(u), Check(u); goErr != nil && cErr == nil {
			t.Errorf("%q: passes the C check, refused by Go: %v", u, goErr)
		}
	})
}
