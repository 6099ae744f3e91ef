// Command amqp-tail prints the messages published to an AMQP exchange: a small stand-in
// for the Kazoo side, to watch what Kamailio's kazoo_publish sends.
//
//	amqp-tail -url amqp://guest:guest@127.0.0.1:5672/ -exchange kazoo_demo -type topic -key '#' [-n 1] [-timeout 30s]
//
// It declares the exchange (non-durable, like Kazoo's own), binds a private queue with the
// routing key, prints "exchange routing-key headers body" per message, and exits after -n
// messages (0: never) or when -timeout passes without them (exit status 1).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "broker URL")
	exchange := flag.String("exchange", "kazoo_demo", "exchange to bind to")
	kind := flag.String("type", "topic", "exchange type")
	key := flag.String("key", "#", "binding routing key")
	count := flag.Int("n", 0, "exit after this many messages (0: run until killed)")
	timeout := flag.Duration("timeout", 0, "with -n: fail when the messages did not come within this time")
	ready := flag.String("ready-file", "", "create this file once bound (for scripts)")
	flag.Parse()

	conn, err := amqp.Dial(*url)
	fail(err)
	defer conn.Close()
	ch, err := conn.Channel()
	fail(err)
	fail(ch.ExchangeDeclare(*exchange, *kind, false, false, false, false, nil))
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	fail(err)
	fail(ch.QueueBind(q.Name, *key, *exchange, false, nil))
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	fail(err)
	if *ready != "" {
		fail(os.WriteFile(*ready, nil, 0o644))
	}
	var deadline <-chan time.Time
	if *timeout > 0 {
		deadline = time.After(*timeout)
	}
	for n := 0; *count == 0 || n < *count; n++ {
		select {
		case d := <-deliveries:
			fmt.Printf("exchange=%s routing_key=%s headers=%v\n%s\n", d.Exchange, d.RoutingKey, d.Headers, d.Body)
		case <-deadline:
			fmt.Fprintf(os.Stderr, "amqp-tail: %d of %d messages within %v\n", n, *count, *timeout)
			os.Exit(1)
		}
	}
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "amqp-tail:", err)
		os.Exit(1)
	}
}
