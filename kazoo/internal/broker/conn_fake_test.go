package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// The handshake names the connection, and the reply queue is declared, bound to
// "targeted" by its own name and consumed before the connection counts as open.
func TestFakeConnect(t *testing.T) {
	srv, c, _, sc := startFake(t, nil)
	if got := sc.ClientProperties()["connection_name"]; got != "kamailio@test pid 1 test" {
		t.Errorf("connection_name %v", got)
	}
	if st, _ := c.State(); st != Open || c.Current() == nil {
		t.Fatalf("state %v, current %v", st, c.Current())
	}
	q := c.ReplyQueue()
	if !srv.Bound(q, "targeted", q) {
		t.Errorf("reply queue %s not bound to targeted; events %+v", q, srv.Events())
	}
	if tags := srv.ConsumerTags(q); len(tags) != 1 {
		t.Errorf("reply queue consumers %v", tags)
	}
	if !c.repliesReady.Load() {
		t.Error("replies not ready once open")
	}
}

// A dropped connection is reported (closed, then open again, in that order), counted, and
// the reply queue is set up again on the new connection.
func TestFakeReconnectAfterDrop(t *testing.T) {
	srv, c, f, sc := startFake(t, nil)
	srv.Refuse(nil) // until the server is done with the old connection (its exclusive reply queue)
	sc.Drop()
	if ch := f.next(); ch.open || ch.reason == "" || ch.errors != 1 {
		t.Fatalf("after a drop: %+v, want closed with a reason, 1 error", ch)
	}
	<-sc.Done()
	srv.Accept()
	if ch := f.until(1, true); !ch.open {
		t.Fatalf("after the drop: %+v, want open again", ch)
	}
	sc2 := srv.WaitAccepted(wait)
	if sc2 == nil || sc2 == sc {
		t.Fatal("no second connection")
	}
	if tags := srv.ConsumerTags(c.ReplyQueue()); len(tags) != 1 {
		t.Errorf("reply queue consumers after reconnect: %v", tags)
	}
	if err := c.Publish(Message{Exchange: "amq.topic", RoutingKey: "k", Body: []byte(`{}`)}, deadline()); err != nil {
		t.Fatalf("publish after reconnect: %v", err)
	}
}

// connection.close from the broker (an operator's 320 CONNECTION_FORCED) gives its code
// and text as the reason; while the broker refuses, each failed attempt is reported, and
// the connection comes back once the broker accepts.
func TestFakeForcedCloseAndRefusedReconnect(t *testing.T) {
	srv, c, f, sc := startFake(t, nil)
	srv.Refuse(nil)
	sc.Close(320, "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'")
	ch := f.next()
	if ch.open || !strings.Contains(ch.reason, "320") || !strings.Contains(ch.reason, "CONNECTION_FORCED") {
		t.Fatalf("after connection.close: %+v", ch)
	}
	if _, ok := srv.WaitMethod(wait, "connection.close-ok"); !ok {
		t.Error("the client did not answer connection.close")
	}
	if ch := f.next(); ch.open || !strings.Contains(ch.reason, "refused") {
		t.Fatalf("a refused attempt: %+v", ch)
	}
	if st, _ := c.State(); st != Down {
		t.Errorf("state %v while refused, want down", st)
	}
	err := c.Publish(Message{Exchange: "amq.topic", Body: []byte(`{}`)}, deadline())
	wantCode(t, err, -2, "not connected")
	<-sc.Done()
	srv.Accept()
	f.until(1, true)
	f.log.waitFor(t, "failed attempts")
}

// A broker that stops sending (not even heartbeats) is noticed by the heartbeat timeout:
// amqp091 reads with a deadline of three half-intervals.
func TestFakeHeartbeatTimeout(t *testing.T) {
	srv := amqpfake.NewServer()
	srv.SetHeartbeat(time.Second)
	f := newFixture(t, srv.Dial)
	f.opt.Heartbeat = time.Second
	f.conn(srv)
	f.until(1, true)
	sc := srv.WaitAccepted(wait)
	start := time.Now()
	sc.Silence()
	ch := f.next()
	if ch.open || !strings.Contains(ch.reason, "timeout") {
		t.Fatalf("after silence: %+v", ch)
	}
	if d := time.Since(start); d < time.Second || d > 4*time.Second {
		t.Errorf("noticed after %v, want about 1.5 s", d)
	}
	f.until(1, true) // and reconnected
}

// connection.blocked sends requests elsewhere (here: nowhere) until connection.unblocked.
func TestFakeBlocked(t *testing.T) {
	srv := amqpfake.NewServer()
	f := newFixture(t, srv.Dial)
	p := NewPool([]config.Broker{broker(t, "amqp://guest:guest@fake:5672/", 1)}, f.opt, klog.NewWriter(f.log, klog.Debug))
	t.Cleanup(p.Close)
	t.Cleanup(srv.Close)
	p.ConnectAll()
	f.until(1, true)
	sc := srv.WaitAccepted(wait)
	// serve() starts listening for connection.blocked only after OnChange reported the
	// connection open, so a block sent at once may be missed: it is sent again until seen
	for !f.log.seenWithin("blocked this connection (low on memory)", 50*time.Millisecond) {
		sc.Block("low on memory")
	}
	err := p.Publish(Message{Exchange: "amq.topic", Body: []byte(`{}`)}, deadline())
	wantCode(t, err, -2, "blocks publishing (low on memory)")
	sc.Unblock()
	f.log.waitFor(t, "unblocked this connection")
	if err := p.Publish(Message{Exchange: "amq.topic", Body: []byte(`{}`)}, deadline()); err != nil {
		t.Fatal(err)
	}
}

// A broker that stops reading (full TCP window) costs a publish at most the write timeout
// (deadlineConn), and the connection is replaced.
func TestFakeBrokerStopsReading(t *testing.T) {
	_, c, f, sc := startFake(t, func(o *Options) { o.WriteTimeout = 50 * time.Millisecond })
	if err := c.Publish(event, deadline()); err != nil { // the publishing channel is open
		t.Fatal(err)
	}
	sc.Stall()
	start := time.Now()
	wantCode(t, c.Publish(event, deadline()), status.Rejected, "publish failed: write pipe: i/o timeout")
	if d := time.Since(start); d >= wait {
		t.Fatalf("the publish took %v", d)
	}
	if ch := f.next(); ch.open || !strings.Contains(ch.reason, "connection closed after a failed write: write pipe: i/o timeout") {
		t.Fatalf("after the write timeout: %+v", ch)
	}
	f.until(1, true)
	if err := c.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
}

// After a write timed out, the connection is given up at once (deadline.go: "a missed one
// closes the connection"), so that requests fail over instead of going to a dead one.
// amqp091 shuts a connection down when a frame write fails but not when the flush of a
// buffered publish fails: deadlineConn closes the connection underneath, and amqp091's
// reader ends it.
func TestFakeWriteTimeoutEndsConnection(t *testing.T) {
	srv, c, f, sc := startFake(t, func(o *Options) { o.WriteTimeout = 50 * time.Millisecond })
	if err := c.Publish(event, deadline()); err != nil {
		t.Fatal(err)
	}
	srv.Refuse(nil) // no new connection: the state after the loss stays
	sc.Stall()
	wantCode(t, c.Publish(event, deadline()), status.Rejected, "i/o timeout")
	select {
	case ch := <-f.changes:
		if ch.open || !strings.Contains(ch.reason, "i/o timeout") {
			t.Fatalf("change %+v", ch)
		}
	case <-time.After(time.Second): // without the fix: the heartbeat tick, 5 s by default
		st, _ := c.State()
		t.Fatalf("1 s after a publish's write timed out the connection is still %v", st)
	}
	if st, _ := c.State(); st == Open {
		t.Fatal("still open after the loss was reported")
	}
	// "not connected", or amqp091's "channel/connection is not open" while the old
	// publishing channel has not seen its close yet
	wantCode(t, c.Publish(event, deadline()), status.NoBroker, "")
}

// The broker cancels the reply queue's consumer (basic.cancel: the queue was deleted, or
// its node went down; the fake, as RabbitMQ, deletes the auto-delete queue with its last
// consumer). Queries must not wait out their timeout for replies nobody reads: from the
// cancel on they fail at once, until the reply queue is declared and consumed again, which
// happens at once.
func TestFakeReplyConsumerCancelled(t *testing.T) {
	srv, c, f, sc := startFake(t, nil)
	q := c.ReplyQueue()
	tags := srv.ConsumerTags(q)
	if len(tags) != 1 || !sc.CancelConsumer(tags[0]) {
		t.Fatalf("reply consumer %v", tags)
	}
	srv.OnPublish(responder(srv, c, ""))
	// (a query sent before the client handled the cancel loses its reply, the queue being
	// gone, and waits out its timeout as any query whose reply does not come: so this waits
	// for the cancel to be handled)
	f.log.waitFor(t, "kazoo_query unavailable: reply queue "+q+" no longer consumed, the broker cancelled its consumer")
	start := time.Now()
	if _, err := c.Query(request("k"), "m1", deadline()); err != nil {
		wantCode(t, err, status.NoBroker, "no reply queue (kazoo_query unavailable on this connection")
	}
	if d := time.Since(start); d > wait/2 {
		t.Fatalf("the query took %v", d)
	}
	f.log.waitFor(t, "kazoo_query available again: reply queue "+q+" set up")
	if reply, err := c.Query(request("k"), "m2", deadline()); err != nil || !strings.Contains(string(reply), `"m2"`) {
		t.Fatalf("query after the consumer came back: %s, %v", reply, err)
	}
	if now := srv.ConsumerTags(q); len(now) != 1 || now[0] == tags[0] {
		t.Errorf("reply queue consumers %v (the cancelled one: %s)", now, tags[0])
	}
	if !srv.Bound(q, "targeted", q) {
		t.Error("the reply queue is not bound to targeted again")
	}
	if n := strings.Count(f.log.String(), "kazoo_query unavailable"); n != 1 {
		t.Errorf("%d log lines about kazoo_query unavailable, want 1:\n%s", n, f.log.String())
	}
}

// The client lost its connection but the broker has not noticed yet (a network cut: the
// broker learns of it from its own heartbeat timeout, seconds later), so the old connection
// still owns the exclusive reply queue, whose name is the same on every connection of the
// process (node-pid-broker id): the new connection cannot declare it (405 RESOURCE_LOCKED).
// The reply queue is set up again (Options.ReplyRetry) until the broker dropped the old
// connection, with one log line for the outage; queries fail at once meanwhile.
func TestFakeReplyQueueStillLocked(t *testing.T) {
	srv := amqpfake.NewServer()
	srv.SetHeartbeat(time.Second)
	f := newFixture(t, srv.Dial)
	f.opt.Heartbeat = time.Second
	c := f.conn(srv)
	f.until(1, true)
	old := srv.WaitAccepted(wait)
	old.Stall() // the cut: the broker neither reads nor sends on the old connection
	old.Silence()
	f.until(1, false)
	f.until(1, true)
	if _, ok := srv.WaitEvent(wait, func(e amqpfake.Event) bool { return e.Method == "queue.declare" && e.Conn != old }); !ok {
		t.Fatal("no reply queue declared on the new connection")
	}
	f.log.waitFor(t, "kazoo_query unavailable: declaring reply queue kamailio@test-")
	f.log.waitFor(t, "RESOURCE_LOCKED")
	_, err := c.StartQuery(request("k"), "m0", nil)
	wantCode(t, err, status.NoBroker, "no reply queue (kazoo_query unavailable on this connection, see the log)")
	// retried, one log line for them all
	declaredOnNew := func() int {
		n := 0
		for _, e := range srv.Events() {
			if e.Method == "queue.declare" && e.Conn != old {
				n++
			}
		}
		return n
	}
	for timeout := time.Now().Add(wait); declaredOnNew() < 3; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(timeout) {
			t.Fatalf("the reply queue was declared %d times on the new connection", declaredOnNew())
		}
	}
	old.Drop() // the broker's heartbeat timeout
	<-old.Done()
	f.log.waitFor(t, "kazoo_query available again: reply queue "+c.ReplyQueue()+" set up")
	srv.OnPublish(responder(srv, c, ""))
	if _, err := c.Query(request("k"), "m1", deadline()); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(f.log.String(), "kazoo_query unavailable"); n != 1 {
		t.Errorf("%d log lines about kazoo_query unavailable, want 1:\n%s", n, f.log.String())
	}
}
