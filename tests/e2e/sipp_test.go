package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// SIP MESSAGEs from sipp, each published by Kamailio, arrive in RabbitMQ with the right
// exchange, routing key, headers and body; in the foreground and as a real daemon.
func TestSippMessagesArrive(t *testing.T) {
	scenario, _ := filepath.Abs("../sipp/message_publish.xml")
	for _, daemon := range []bool{false, true} {
		name := "foreground"
		if daemon {
			name = "daemon"
		}
		t.Run(name, func(t *testing.T) {
			r := harness.SharedRabbit(t)
			q := r.Bind(t, "kazoo_e2e", "topic", "sipp.*")
			k := harness.StartKamailio(t, sippCfg, harness.KamailioOpts{Module: modulePath, Daemon: daemon,
				Extra: map[string]any{"URL": r.URL(), "Daemon": daemon}})
			const calls = 50
			res := harness.Sipp(t, scenario, k.SipPort(), calls, 50, "-s", "alice")
			if res.Successful != calls || res.Failed != 0 {
				t.Fatalf("sipp: %d successful, %d failed\n%s\n%s", res.Successful, res.Failed, res.Output, k.Log())
			}
			// sipp retransmits a MESSAGE whose 200 is late, and Kamailio then publishes it again:
			// count distinct Call-IDs
			callIDs := map[string]bool{}
			for len(callIDs) < calls {
				d, ok := q.Next(t, 5*time.Second)
				if !ok {
					t.Fatalf("%d of %d messages arrived", len(callIDs), calls)
				}
				if d.Exchange != "kazoo_e2e" || d.RoutingKey != "sipp.alice" {
					t.Fatalf("exchange %q routing key %q", d.Exchange, d.RoutingKey)
				}
				id, _ := d.Headers["X-Call-ID"].(string)
				if id == "" || d.Headers["X-CSeq"] != "1" {
					t.Fatalf("headers %v", d.Headers)
				}
				m := decode(t, d.Body)
				if m["call_id"] != id || m["service"] != "alice" || m["Node"] != "kamailio@e2e.kazoo.test" || m["Msg-ID"] == nil {
					t.Fatalf("body %s for Call-ID %s", d.Body, id)
				}
				callIDs[id] = true
			}
		})
	}
}
