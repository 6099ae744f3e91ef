// Command kazoo-sim stands in for the Kazoo applications that Kamailio's kazoo_query talks
// to, so that a Kazoo-style Kamailio config can be run and tested without Kazoo. It answers
// as Kazoo does (targeted_publish): to exchange "targeted" with the request's Server-ID as
// routing key, the request's Msg-ID copied into the reply.
//
//	kazoo-sim [-url amqp://guest:guest@127.0.0.1:5672/] [-users FILE] [-delay 0s] [-ready-file PATH] [-v]
//
// APIs (one exclusive, auto-delete queue each):
//
//	authn_req           exchange callmgr,  binding authn.req.#       -> authn_resp / authn_err
//	channel_status_req  exchange callevt,  binding call.status_req.# -> channel_status_resp
//	sbc_config          exchange frontier, binding sbc_config        -> sbc_config_resp
//
// -users is a file of "user@realm password" lines (# starts a comment); authn_req of a user
// not in it gets authn_err. -delay waits that long before each reply (to exceed a query
// timeout). -ready-file is created once every queue is bound and consumed. -v logs every
// request and reply to stderr, one line each: "req <api> rk=<routing key> <body>" and
// "reply <api> to=<Server-ID> <body>". SIGTERM or SIGINT stops it (exit 0); losing the
// broker connection ends it with exit status 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const (
	appName    = "kazoo-sim"
	appVersion = "1.0.0"
	node       = "kazoo-sim@localhost"
)

// sim holds what the handlers share: the users, the reply channel and the options.
type sim struct {
	users   map[string]string // "user@realm" (realm lower-cased) -> password
	delay   time.Duration
	verbose bool

	pubMu sync.Mutex
	pub   *amqp.Channel
}

func main() {
	url := flag.String("url", "amqp://guest:guest@127.0.0.1:5672/", "broker URL")
	usersFile := flag.String("users", "", "file of \"user@realm password\" lines")
	delay := flag.Duration("delay", 0, "wait this long before each reply")
	ready := flag.String("ready-file", "", "create this file once all bindings are up")
	verbose := flag.Bool("v", false, "log each request and reply to stderr")
	flag.Parse()
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("kazoo-sim: ")

	s := &sim{users: map[string]string{}, delay: *delay, verbose: *verbose}
	if *usersFile != "" {
		users, err := readUsers(*usersFile)
		if err != nil {
			log.Fatal(err)
		}
		s.users = users
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	conn, err := amqp.Dial(*url)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if s.pub, err = conn.Channel(); err != nil {
		log.Fatal(err)
	}
	// Declared as Kazoo (and the kazoo module) declare them: non-durable, not auto-delete.
	for _, ex := range exchanges {
		if err := s.pub.ExchangeDeclare(ex.name, ex.kind, false, false, false, false, nil); err != nil {
			log.Fatalf("declaring exchange %s: %v", ex.name, err)
		}
	}
	for _, a := range apis {
		deliveries, err := bind(conn, a.exchange, a.binding)
		if err != nil {
			log.Fatalf("%s: %v", a.name, err)
		}
		go func(a api) {
			for d := range deliveries {
				s.handle(ctx, a, d)
			}
		}(a)
	}
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(fmt.Sprintln(os.Getpid())), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("ready: %d users, delay %v", len(s.users), s.delay)

	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	select {
	case <-ctx.Done():
		log.Print("stopping")
	case err := <-closed:
		log.Fatalf("broker connection lost: %v", err)
	}
}

// bind declares an exclusive, auto-delete, server-named queue, binds it and consumes it
// (auto-ack) on a channel of its own.
func bind(conn *amqp.Connection, exchange, binding string) (<-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return nil, err
	}
	if err := ch.QueueBind(q.Name, binding, exchange, false, nil); err != nil {
		return nil, err
	}
	return ch.Consume(q.Name, "", true, true, false, false, nil)
}

// handle answers one request. The reply is sent from a goroutine of its own so that a
// -delay does not hold back the next requests.
func (s *sim) handle(ctx context.Context, a api, d amqp.Delivery) {
	var req map[string]any
	if err := json.Unmarshal(d.Body, &req); err != nil {
		log.Printf("req %s rk=%s: not JSON, ignored: %.200s", a.name, d.RoutingKey, d.Body)
		return
	}
	if s.verbose {
		log.Printf("req %s rk=%s %s", a.name, d.RoutingKey, d.Body)
	}
	reply := a.answer(s, req)
	if reply == nil { // an API that takes notice (route_win, a flush) and answers nothing
		return
	}
	serverID, _ := req["Server-ID"].(string)
	if serverID == "" {
		log.Printf("req %s rk=%s: no Server-ID, no reply", a.name, d.RoutingKey)
		return
	}
	reply["Msg-ID"] = req["Msg-ID"]
	body, err := s.stamp(reply)
	if err != nil {
		log.Printf("reply %s: %v", a.name, err)
		return
	}
	go func() {
		if s.delay > 0 {
			select {
			case <-time.After(s.delay):
			case <-ctx.Done():
				return
			}
		}
		s.pubMu.Lock()
		err := s.pub.PublishWithContext(ctx, "targeted", serverID, false, false,
			amqp.Publishing{ContentType: "application/json", Body: body})
		s.pubMu.Unlock()
		switch {
		case err != nil:
			log.Printf("reply %s to=%s: %v", a.name, serverID, err)
		case s.verbose:
			log.Printf("reply %s to=%s %s", a.name, serverID, body)
		}
	}()
}

// stamp adds what every Kazoo message carries (App-Name, App-Version, Node) and encodes it.
func (s *sim) stamp(msg map[string]any) ([]byte, error) {
	msg["App-Name"] = appName
	msg["App-Version"] = appVersion
	msg["Node"] = node
	return json.Marshal(msg)
}

// publish sends an event of the simulator's own (not a reply), as a Kazoo application
// publishes one: stamped, application/json, on exchange with routing key.
func (s *sim) publish(ctx context.Context, exchange, key string, msg map[string]any) error {
	body, err := s.stamp(msg)
	if err != nil {
		return err
	}
	s.pubMu.Lock()
	defer s.pubMu.Unlock()
	err = s.pub.PublishWithContext(ctx, exchange, key, false, false,
		amqp.Publishing{ContentType: "application/json", Body: body})
	if err == nil && s.verbose {
		log.Printf("event to=%s/%s %s", exchange, key, body)
	}
	return err
}
