// Package subscription turns the description given to kazoo_subscribe into a
// Subscription: the exchange, queue, bindings and consumer options that a
// consumer declares on every broker connection.
//
// Parse reads the JSON form, kazoo_subscribe(json_description), with the
// reading rules of the C module (kamailio 5.6.3 kz_amqp.c,
// ki_kz_amqp_subscribe and its helpers) and json-c's reading of values.
// Simple builds the 4-argument form, kazoo_subscribe(exchange, type, queue,
// routing_key), like kz_amqp_subscribe_simple.
//
// The C module accepted anything and let the broker complain later, in a
// consumer process, where a bad exchange type closes the whole connection
// (503) and the consumer reconnects forever. Here a description the broker
// would refuse, or that the C module would have misread, is an error that
// the script sees at once. Unknown keys and values that are read in a
// surprising way are warnings: the subscription is still made.
//
// # Deliberate differences from the C module
//
//   - All "exchange-bindings" entries are kept. The C module kept only the
//     first one (kz_amqp_exchange_binding_from_json never advances prv).
//   - A value of the wrong JSON type is an error. The C module read a
//     non-string with json_object_get_string (so "queue": 5 named the queue
//     "5"), read an object or array flag as 0, and ignored a "routing" or an
//     "exchange-def" / "queue-def" of the wrong type.
//   - An empty exchange name, a missing or unknown exchange type (unless the
//     exchange is passive: the broker ignores the type of a passive
//     declare), a name or routing key longer than 255 bytes, and a NUL byte
//     in a name or routing key (the C module cut the string there) are
//     errors. The same checks apply to "exchange-bindings" sources.
//   - A null array element in "routing" is an error (the C module crashed
//     on it: strlen(NULL)).
//   - "arguments" (at the root or in "queue-def") is new: queue.declare
//     arguments, type-checked (see arguments.go). A quorum or stream queue
//     with flags RabbitMQ refuses for it is an error.
package subscription

import (
	"fmt"
	"strconv"
	"strings"
)

// Exchange is an exchange.declare. Passive only checks that the exchange
// exists.
type Exchange struct {
	Name, Type                             string
	Passive, Durable, AutoDelete, Internal bool
	// Arguments are exchange.declare arguments (kazoo_declare_exchange's "arguments", e.g.
	// x-consistent-hash's hash-header); subscriptions have none.
	Arguments map[string]any `json:",omitempty"`
}

// CheckExchange checks an exchange that will be declared (name, type) as kazoo_subscribe
// checks its own; key names where it came from, for the message.
func CheckExchange(key string, x Exchange) error {
	return checkExchange(key+" name", key+" type", x)
}

// Queue is a queue.declare. An empty Name asks the broker to name the queue.
type Queue struct {
	Name                                    string
	Passive, Durable, Exclusive, AutoDelete bool
	// Arguments are the queue.declare arguments ("arguments"), in the order
	// given; none for the C module's descriptions, which had no such key.
	Arguments []Argument `json:",omitempty"`
}

// Table is the queue's arguments as amqp091-go sends them; nil when there
// are none, as the C module sent an empty table.
func (q Queue) Table() map[string]any {
	if len(q.Arguments) == 0 {
		return nil
	}
	t := make(map[string]any, len(q.Arguments))
	for _, a := range q.Arguments {
		t[a.Key] = a.Value()
	}
	return t
}

// ExchangeBinding is one "exchange-bindings" entry: Source is declared, then
// bound to the subscription's exchange (exchange.bind destination =
// Subscription.Exchange.Name, source = Source.Name) once per routing key.
type ExchangeBinding struct {
	Source      Exchange
	RoutingKeys []string // never empty
}

// Subscription is one kazoo_subscribe.
type Subscription struct {
	Name             string // "name" (2600hz fork): what kazoo_unsubscribe matches; "" when absent
	Exchange         Exchange
	Queue            Queue
	RoutingKeys      []string // one queue.bind each; never empty ("" when none was given)
	ExchangeBindings []ExchangeBinding

	NoAck bool // consume without acknowledgements (default true)
	// WaitForConsumerAck is parsed (default true) but the C module never used it.
	WaitForConsumerAck bool
	Federate           bool // also consume from brokers outside the primary zone

	// EventKey and EventSubkey name the payload fields that select the event
	// route; "" means the module parameters amqp_consumer_event_key/subkey.
	EventKey, EventSubkey string

	// ConsistentWorker: in the C module, each message went to the worker
	// chosen by hashing the payload field ConsistentWorkerKey (or the routing
	// key), so that messages with the same key ran in order. Here the whole
	// subscription is consumed by one worker (chosen by a hash of its ID),
	// which keeps every message in order, a stronger guarantee; the key is
	// read for compatibility and not needed.
	ConsistentWorker    bool
	ConsistentWorkerKey string
}

// ID is what kazoo_unsubscribe matches and what logs call the subscription:
// the name when set, else the queue name, else "<exchange>:<first routing key>"
// (an unnamed queue has no name to match before the broker assigns one).
func (s Subscription) ID() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Queue.Name != "":
		return s.Queue.Name
	}
	rk := ""
	if len(s.RoutingKeys) > 0 {
		rk = s.RoutingKeys[0]
	}
	return s.Exchange.Name + ":" + rk
}

// Shared reports whether several consumers (processes, nodes) may consume
// the same queue: it has a fixed name and is not exclusive. A consistent
// worker subscription is not shared, because the choice of worker must be
// made by one consumer that sees every message.
func (s Subscription) Shared() bool {
	return s.Queue.Name != "" && !s.Queue.Exclusive && !s.ConsistentWorker
}

// Simple is the 4-argument kazoo_subscribe, as kz_amqp_subscribe_simple built
// it: a non-durable, non-auto-delete exchange; a non-durable, non-exclusive,
// auto-delete queue (kz_amqp_queue_new's default); one routing key; no_ack.
// WaitForConsumerAck is false because kz_amqp_bind_alloc zeroes it and the
// 4-argument form never sets it (it is unused, and NoAck makes it moot).
func Simple(exchange, exchangeType, queue, routingKey string) (Subscription, error) {
	s := Subscription{
		Exchange:    Exchange{Name: exchange, Type: exchangeType},
		Queue:       Queue{Name: queue, AutoDelete: true},
		RoutingKeys: []string{routingKey},
		NoAck:       true,
	}
	if err := checkExchange("exchange", "exchange type", s.Exchange); err != nil {
		return Subscription{}, err
	}
	if err := checkShortstr("queue", "queue name", queue); err != nil {
		return Subscription{}, err
	}
	if err := checkShortstr("routing_key", "routing key", routingKey); err != nil {
		return Subscription{}, err
	}
	return s, nil
}

// maxShortstr is the longest AMQP 0-9-1 short string: exchange and queue
// names and routing keys are sent as one, so a longer one cannot be sent.
const maxShortstr = 255

// checkShortstr checks a name or routing key that goes on the wire as an
// AMQP short string. key is where it came from, for the message.
func checkShortstr(key, what, s string) error {
	if len(s) > maxShortstr {
		return fmt.Errorf("%s: %s is %d bytes long, AMQP allows at most %d", key, what, len(s), maxShortstr)
	}
	if strings.IndexByte(s, 0) >= 0 {
		// The C module copied names as C strings and so cut them at the NUL.
		return fmt.Errorf("%s: %s %s contains a NUL byte", key, what, strconv.Quote(s))
	}
	return nil
}

// checkExchange checks an exchange that will be declared. nameKey and
// typeKey say where x.Name and x.Type came from, for the messages.
func checkExchange(nameKey, typeKey string, x Exchange) error {
	if x.Name == "" {
		// The default exchange "" can be neither declared nor bound.
		return fmt.Errorf("%s: missing or empty exchange name", nameKey)
	}
	if err := checkShortstr(nameKey, "exchange name", x.Name); err != nil {
		return err
	}
	if x.Passive {
		// A passive declare only checks that the exchange exists; RabbitMQ
		// does not look at the type, so the C module's "" works there.
		return nil
	}
	return checkType(typeKey, x.Type)
}

// checkType checks an exchange type before the broker sees it: RabbitMQ
// answers an unknown type (including "") with connection error 503, which
// closes every channel of the consumer's connection, and the C module then
// reconnected in a loop. Types are case-sensitive on the broker.
func checkType(key, t string) error {
	switch t {
	case "":
		return fmt.Errorf("%s: missing or empty exchange type (want direct, fanout, topic, headers or x-...)", key)
	case "direct", "fanout", "topic", "headers":
		return nil
	}
	if strings.HasPrefix(t, "x-") && len(t) > len("x-") {
		return nil // a plugin type, e.g. x-consistent-hash
	}
	return fmt.Errorf("%s: unknown exchange type %s (want direct, fanout, topic, headers or x-...)", key, strconv.Quote(t))
}
