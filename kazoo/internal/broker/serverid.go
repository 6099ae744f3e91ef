package broker

import (
	"strconv"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// Every kazoo_publish carries a Server-ID, as with the C module: Kazoo applications answer
// a message with targeted_publish(Server-ID, ...), that is to exchange "targeted" with the
// Server-ID as routing key, and older Kazoo versions list Server-ID among the default
// headers every message must carry. A query names its process's own reply queue (ReplyQueue), where the waiting
// query picks the reply up. A plain publish has nobody waiting in its process, which may be
// a SIP worker that cannot run event routes; its Server-ID names a queue per node and
// broker that the consumer workers consume, so that whatever is sent to it runs an event
// route like any consumed message (the C module dispatched such messages, arriving on its
// targeted queues with no query waiting, the same way).
//
// Names are the C module's for its first channel (kz_amqp_bind_init_targeted_channel,
// with the literal angle brackets): queue kamailio@<node_hostname>-<ID-0>, bound to
// "targeted" with routing key kamailio@<node_hostname>-<ID>-targeted-0, ID being the
// broker's id. The C module spread its publishes over one such queue per channel; one is
// enough here, consumed by every consumer worker. Its flags are the C module's too
// (non-durable, auto-delete, not exclusive), so a node that switches modules finds the
// queue it left as it declares it.

// ServerID is the Server-ID kazoo_publish adds to a message sent through this broker when
// the payload has none.
func (c *Conn) ServerID() string { return c.serverID }

// ServerIDSubscription is what the consumer workers consume on this broker so that a
// message sent to ServerID runs an event route: its queue, bound to "targeted" with
// ServerID. Acknowledged when a worker takes it, as the C module consumed it (no_ack).
func (c *Conn) ServerIDSubscription() subscription.Subscription {
	return subscription.Subscription{
		Exchange:    subscription.Exchange{Name: targetedExchange, Type: "direct"},
		Queue:       subscription.Queue{Name: c.serverIDQueue, AutoDelete: true},
		RoutingKeys: []string{c.serverID},
		NoAck:       true,
	}
}

// serverIDNames are the routing key and the queue of ServerIDSubscription.
func serverIDNames(node string, brokerID int) (routingKey, queue string) {
	id := strconv.Itoa(brokerID)
	return node + "-<" + id + ">-targeted-0", node + "-<" + id + "-0>"
}
