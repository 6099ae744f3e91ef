package e2e

import (
	"fmt"
	"sort"

	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// loadCall is one kazoo_publish or kazoo_query of the SIP load, with when it ended.
type loadCall struct {
	at    time.Time
	query bool
	id    string
	rc    string
	took  time.Duration // the SIP request's, when measured
}

// durableQueue declares a durable quorum queue bound to a durable topic exchange through
// conn.
func durableQueue(t *testing.T, conn *amqp.Connection, exchange, queue, key string) {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(queue, key, exchange, false, nil); err != nil {
		t.Fatal(err)
	}
}

// drainIDs reads every message of queue (waiting until none came for idle) and returns the
// set of their "Id"s.
func drainIDs(t *testing.T, conn *amqp.Connection, queue string, idle time.Duration) map[string]bool {
	t.Helper()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	ds, err := ch.Consume(queue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for {
		select {
		case d := <-ds:
			ids[fmt.Sprint(decode(t, d.Body)["Id"])] = true
		case <-time.After(idle):
			return ids
		}
	}
}

// Node loss under SIP load (issue 18): Kamailio publishes persistent messages (spool on)
// and queries through cluster node 0 while SIP requests keep coming; node 0 is stopped,
// started again, then killed (-9). After each fault publishes and queries are served again
// within 2 s (through node 1), every publish that returned 1 (confirmed) or 2 (spooled)
// reaches the test's quorum queue, and Kamailio answers every SIP request throughout. The
// test's own connections (responder, queue) are on node 2. A fault of a node Kamailio does
// not publish through does not reach its SIP path; TestClusterQuorumFailover covers the
// quorum leader's loss.
func TestClusterNodeLossUnderLoad(t *testing.T) {
	skipClusterTests(t)
	c := harness.StartRabbitCluster(t, 3)
	survivor := c.Nodes[2].Dial(t)
	durableQueue(t, survivor, "kz_cluster_pub", "kz-e2e-pubs", "p.#")
	startResponder(t, c.Nodes[2], "kz_cluster_q", "q.#", echo(0))
	k := startPublisher(t, c.Nodes[0], map[string]any{"Params": fmt.Sprintf(
		"modparam(\"kazoo\", \"amqp_connection\", \"%s\")\nmodparam(\"kazoo\", \"amqp_connection\", \"%s\")\n"+
			"modparam(\"kazoo\", \"amqp_spool_max\", 1000)\nmodparam(\"kazoo\", \"amqp_publish_persistent\", 1)",
		c.URL(1), c.URL(2))})

	var calls []loadCall
	n := 0
	step := func() {
		n++
		id := fmt.Sprintf("p%05d", n)
		rc := publish(t, k, "kz_cluster_pub", "p."+id, "", `{"Event-Category": "load", "Event-Name": "pub", "Id": "`+id+`"}`)
		calls = append(calls, loadCall{at: time.Now(), id: id, rc: rc})
		res := query(t, k, "3", "kz_cluster_q", "q.ping", `{"Event-Category": "test", "Event-Name": "ping"}`, nil)
		calls = append(calls, loadCall{at: time.Now(), query: true, rc: res.rc})
	}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		step()
	}
	if bad := failedCalls(calls); len(bad) > 0 {
		t.Fatalf("calls failed before any fault: %v\n%s", bad, k.Log())
	}
	for _, kill := range []bool{false, true} {
		how := "stop"
		faultAt := time.Now()
		if kill {
			how = "kill -9"
			c.Kill(t, 0)
		} else {
			c.Stop(t, 0)
		}
		for end := time.Now().Add(8 * time.Second); time.Now().Before(end); {
			step()
		}
		pubGap, queryGap, failed := recovery(calls, faultAt)
		t.Logf("%s of node 0: first confirmed publish %v after the fault began, first answered query %v; calls failed after it: %d",
			how, pubGap.Round(time.Millisecond), queryGap.Round(time.Millisecond), failed)
		if pubGap > 2*time.Second || queryGap > 2*time.Second {
			t.Errorf("%s: service back %v (publish) / %v (query) after the fault, want within 2 s\n%s", how, pubGap, queryGap, k.Log())
		}
		if !kill {
			c.Start(t, 0)
			for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
				step() // and back on node 0, the first broker declared
			}
		}
	}
	arrived := checkPublishesArrived(t, survivor, calls)
	t.Logf("%d publishes and as many queries; %d publishes arrived (returned -1: %d, 2: %d); queries failed: %d",
		n, arrived, countRC(calls, false, "-1"), countRC(calls, false, "2"), countRC(calls, true, "-1"))
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d", rep.Code)
	}
}

func failedCalls(calls []loadCall) []string {
	var bad []string
	for _, c := range calls {
		if c.rc != "1" && c.rc != "2" {
			bad = append(bad, fmt.Sprintf("query=%v rc=%s", c.query, c.rc))
		}
	}
	return bad
}

func countRC(calls []loadCall, query bool, rc string) int {
	n := 0
	for _, c := range calls {
		if c.query == query && c.rc == rc {
			n++
		}
	}
	return n
}

// recovery: how long after the fault the first successful publish (1) and query ended,
// and how many calls failed after it.
func recovery(calls []loadCall, fault time.Time) (pub, query time.Duration, failed int) {
	pub, query = -1, -1
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].at.Before(calls[j].at) })
	for _, c := range calls {
		if c.at.Before(fault) {
			continue
		}
		if c.rc != "1" && c.rc != "2" {
			failed++
			continue
		}
		switch {
		case c.query && query < 0:
			query = c.at.Sub(fault)
		case !c.query && c.rc == "1" && pub < 0:
			pub = c.at.Sub(fault)
		}
	}
	if pub < 0 {
		pub = time.Hour
	}
	if query < 0 {
		query = time.Hour
	}
	return pub, query, failed
}
