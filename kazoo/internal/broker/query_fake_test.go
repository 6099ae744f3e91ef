package broker

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// responder answers each request as Kazoo does: targeted_publish to the requester's reply
// queue, with the request's Msg-ID (here taken from the AMQP message-id).
func responder(srv *amqpfake.Server, c *Conn, extra string) func(*amqpfake.Publish) {
	return func(p *amqpfake.Publish) {
		p.Route()
		srv.Publish("targeted", c.ReplyQueue(), amqpfake.Properties{ContentType: "application/json"},
			[]byte(fmt.Sprintf(`{"Msg-ID":"%s","Answer":"%s"%s}`, p.MessageID, p.RoutingKey, extra)))
	}
}

func request(key string) Message {
	return Message{Exchange: "amq.direct", RoutingKey: key, Body: []byte(`{"Event-Name":"q"}`)}
}

// A query gets the reply with its Msg-ID; the request went out mandatory, with the Msg-ID as
// message-id, on a channel without confirms.
func TestFakeQueryReply(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	srv.OnPublish(responder(srv, c, ""))
	reply, err := c.Query(request("callmgr"), "m1", deadline())
	if err != nil || string(reply) != `{"Msg-ID":"m1","Answer":"callmgr"}` {
		t.Fatalf("reply %s, %v", reply, err)
	}
	e, _ := srv.WaitMethod(wait, "basic.publish")
	if p := e.Publish; !p.Mandatory || p.MessageID != "m1" || p.Seq != 0 {
		t.Fatalf("request %+v", p)
	}
	if c.replies.InFlight() != 0 {
		t.Errorf("in flight %d", c.replies.InFlight())
	}
}

// Replies that come back as fast as the broker can send them, even before the publish call
// returns, reach their query: the query registers before it publishes (the C module lost
// about one reply in a thousand to this race).
func TestFakeQueryFastReplies(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	srv.OnPublish(responder(srv, c, ""))
	for i := 0; i < 300; i++ {
		id := fmt.Sprintf("fast-%d", i)
		reply, err := c.Query(request("k"), id, deadline())
		if err != nil || !strings.Contains(string(reply), id) {
			t.Fatalf("query %d: %s, %v", i, reply, err)
		}
	}
}

// A reply after the query timed out is dropped, and never handed to a later query that
// reuses the Msg-ID; a reply for a Msg-ID nobody waits for, and one without a Msg-ID, are
// dropped too.
func TestFakeQueryLateAndUnknownReplies(t *testing.T) {
	srv, c, f, _ := startFake(t, nil)
	held := make(chan *amqpfake.Publish, 1)
	srv.OnPublish(func(p *amqpfake.Publish) { held <- p })
	_, err := c.Query(request("slow"), "m1", time.Now().Add(20*time.Millisecond))
	wantCode(t, err, status.Timeout, "no reply within the timeout (Msg-ID m1)")
	responder(srv, c, `,"Late":true`)(<-held)
	f.log.waitFor(t, "late or unknown reply for Msg-ID m1 dropped")

	srv.Publish("targeted", c.ReplyQueue(), amqpfake.Properties{}, []byte(`{"Msg-ID":"nobody"}`))
	f.log.waitFor(t, "late or unknown reply for Msg-ID nobody dropped")
	srv.Publish("targeted", c.ReplyQueue(), amqpfake.Properties{}, []byte(`not json`))
	f.log.waitFor(t, "without a Msg-ID (or not JSON), dropped: not json")

	srv.OnPublish(responder(srv, c, ""))
	reply, err := c.Query(request("again"), "m1", deadline())
	if err != nil || strings.Contains(string(reply), "Late") {
		t.Fatalf("reply %s, %v", reply, err)
	}
	if c.replies.InFlight() != 0 {
		t.Errorf("in flight %d", c.replies.InFlight())
	}
}

// A request nothing is bound to receive comes back (basic.return): the query ends at once
// with Rejected and the broker's code.
func TestFakeQueryReturned(t *testing.T) {
	_, c, _, _ := startFake(t, nil)
	_, err := c.Query(request("nobody-listens"), "m1", deadline())
	se := wantCode(t, err, status.Rejected, `returned the request: 312 NO_ROUTE (nothing bound to exchange "amq.direct" with routing key "nobody-listens")`)
	if se.Returned == nil || se.Returned.Code != 312 || se.Returned.Reason != "NO_ROUTE" {
		t.Fatalf("returned %+v", se.Returned)
	}
}

// A request to an unknown exchange closes its channel: the query ends at once (the channel
// may close before or after StartQuery recorded it: sentOn/isClosed), and the next query
// gets a fresh channel.
func TestFakeQueryChannelClosed(t *testing.T) {
	srv, c, _, _ := startFake(t, nil)
	for i := 0; i < 20; i++ {
		_, err := c.Query(Message{Exchange: "nope", Body: []byte(`{}`)}, fmt.Sprintf("m%d", i), deadline())
		wantCode(t, err, status.Rejected, `refused the message to exchange "nope": NOT_FOUND`)
	}
	srv.OnPublish(responder(srv, c, ""))
	if _, err := c.Query(request("k"), "ok", deadline()); err != nil {
		t.Fatal(err)
	}
}

// The connection dies while a query waits: it ends at once as a lost connection.
func TestFakeQueryConnectionLost(t *testing.T) {
	srv, c, f, _ := startFake(t, nil)
	srv.OnPublish(func(p *amqpfake.Publish) { p.Conn.Drop() })
	start := time.Now()
	_, err := c.Query(request("k"), "m1", deadline())
	if time.Since(start) >= wait {
		t.Fatal("the query waited out its timeout")
	}
	wantCode(t, err, status.NoBroker, "connection lost before the reply: EOF")
	f.until(1, true)
}

// No query can start while the reply queue is not set up.
func TestFakeQueryNotConnected(t *testing.T) {
	srv, c, f, sc := startFake(t, nil)
	srv.Refuse(nil)
	sc.Drop()
	f.until(1, false)
	_, err := c.StartQuery(request("k"), "m1", nil)
	wantCode(t, err, status.NoBroker, "no reply queue (not connected)")
}

// A reply larger than amqp_max_payload is dropped as its frames arrive (frameLimitConn, on
// the fake's byte stream): the query fails at once, found by the Msg-ID at the start of the
// dropped body, and the replies after it on the same connection are intact.
func TestFakeOversizedReply(t *testing.T) {
	srv, c, _, _ := startFake(t, func(o *Options) { o.MaxBody = 1000 })
	big := strings.Repeat("x", 300000) // more than two frames of 131072
	srv.OnPublish(responder(srv, c, `,"Pad":"`+big+`"`))
	_, err := c.Query(request("k"), "big", deadline())
	wantCode(t, err, status.Rejected, "is larger than amqp_max_payload (1000): dropped unread")

	srv.OnPublish(responder(srv, c, ""))
	reply, err := c.Query(request("k"), "small", deadline())
	if err != nil || string(reply) != `{"Msg-ID":"small","Answer":"k"}` {
		t.Fatalf("reply after an oversized one: %s, %v", reply, err)
	}
}

// An oversized reply whose Msg-ID no query waits for is logged and forgotten.
func TestFakeOversizedUnknownReply(t *testing.T) {
	srv, c, f, _ := startFake(t, func(o *Options) { o.MaxBody = 100 })
	srv.Publish("targeted", c.ReplyQueue(), amqpfake.Properties{}, []byte(`{"Msg-ID":"gone","Pad":"`+strings.Repeat("y", 500)+`"}`))
	f.log.waitFor(t, `larger than amqp_max_payload (100): dropped unread (Msg-ID "gone", no query waits for it)`)
}

// A consumer's delivery larger than amqp_max_payload arrives with an empty body, and
// TakeOversized tells it from an empty message (once); the deliveries around it are intact.
func TestFakeOversizedDelivery(t *testing.T) {
	srv, c, _, _ := startFake(t, func(o *Options) { o.MaxBody = 1000 })
	ch, err := c.Current().Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("events", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume("events", "consumer-1", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Publish("", "events", amqpfake.Properties{}, []byte(`{"n":1}`))
	srv.Publish("", "events", amqpfake.Properties{}, []byte(`{"n":2,"pad":"`+strings.Repeat("z", 200000)+`"}`))
	srv.Publish("", "events", amqpfake.Properties{}, nil)
	srv.Publish("", "events", amqpfake.Properties{}, []byte(`{"n":4}`))
	var got []string
	for i := 0; i < 4; i++ {
		select {
		case d := <-deliveries:
			o, oversized := c.TakeOversized(d.ConsumerTag, d.DeliveryTag)
			switch {
			case oversized && len(d.Body) == 0 && o.Size == 200016 && o.Limit == 1000 && strings.HasPrefix(string(o.Prefix()), `{"n":2,"pad":"zzz`):
				got = append(got, "oversized")
			case oversized:
				t.Fatalf("delivery %d: oversized record of %d bytes (limit %d), body %d bytes", d.DeliveryTag, o.Size, o.Limit, len(d.Body))
			default:
				got = append(got, string(d.Body))
			}
			if _, again := c.TakeOversized(d.ConsumerTag, d.DeliveryTag); again {
				t.Error("a record was handed out twice")
			}
			_ = d.Ack(false)
		case <-time.After(wait):
			t.Fatalf("deliveries so far: %q", got)
		}
	}
	if want := `{"n":1}|oversized||{"n":4}`; strings.Join(got, "|") != want {
		t.Fatalf("deliveries %q, want %s", strings.Join(got, "|"), want)
	}
	acks := 0
	if _, ok := srv.WaitEvent(wait, func(e amqpfake.Event) bool {
		if e.Method == "basic.ack" {
			acks++
		}
		return acks == 4
	}); !ok {
		t.Errorf("%d acks reached the broker, want 4", acks)
	}
}
