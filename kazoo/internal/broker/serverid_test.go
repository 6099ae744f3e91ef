package broker

import (
	"io"
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
)

// The Server-ID of publishes and its queue have the C module's names for its first
// channel (kz_amqp_bind_init_targeted_channel), angle brackets included, per broker id.
func TestServerIDNames(t *testing.T) {
	b, err := config.ParseBroker("amqp://guest:guest@h:5672/", 2)
	if err != nil {
		t.Fatal(err)
	}
	c := newIdleConn(b, Options{Node: "kamailio@kz1.example.com"}, klog.NewWriter(io.Discard, klog.Err), newReplyRouter())
	if got, want := c.ServerID(), "kamailio@kz1.example.com-<2>-targeted-0"; got != want {
		t.Errorf("ServerID %q, want %q", got, want)
	}
	sub := c.ServerIDSubscription()
	q := sub.Queue
	if q.Name != "kamailio@kz1.example.com-<2-0>" || q.Durable || q.Exclusive || !q.AutoDelete || q.Passive {
		t.Errorf("queue %+v, want the C module's kamailio@kz1.example.com-<2-0>, auto-delete only", q)
	}
	if x := sub.Exchange; x.Name != "targeted" || x.Type != "direct" || x.Durable || x.AutoDelete {
		t.Errorf("exchange %+v", x)
	}
	if len(sub.RoutingKeys) != 1 || sub.RoutingKeys[0] != c.ServerID() || !sub.NoAck {
		t.Errorf("routing keys %q, no_ack %t", sub.RoutingKeys, sub.NoAck)
	}
}
