package harness_test

import (
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// A 3-node cluster forms, every node serves AMQP, a quorum queue declared on one node is
// consumed on another, and a stopped node rejoins.
func TestRabbitCluster(t *testing.T) {
	c := harness.StartRabbitCluster(t, 3)
	for i := range c.Nodes {
		c.Nodes[i].Dial(t).Close()
	}
	status := c.Ctl(t, 2, "cluster_status")
	for _, r := range c.Nodes {
		if !strings.Contains(status, r.Node()) {
			t.Errorf("cluster_status on node 2 does not list %s:\n%s", r.Node(), status)
		}
	}

	begin := time.Now()
	ch, err := c.Nodes[0].Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("kz-harness-qq", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatalf("declare a quorum queue: %v\n%s", err, c.Nodes[0].Log())
	}
	t.Logf("quorum queue declared in %v", time.Since(begin).Round(time.Millisecond))
	if err := ch.Publish("", "kz-harness-qq", false, false, amqp.Publishing{Body: []byte("hello")}); err != nil {
		t.Fatal(err)
	}
	ch2, err := c.Nodes[1].Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch2.QueueDeclare("kz-harness-qq", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatalf("declare the quorum queue again on node 1: %v", err)
	}
	d, err := ch2.Consume("kz-harness-qq", "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-d:
		if string(m.Body) != "hello" {
			t.Errorf("got %q", m.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no message from the quorum queue on node 1\n%s", c.Nodes[1].Log())
	}
	t.Logf("published on node 0, consumed on node 1, %v after the declare began", time.Since(begin).Round(time.Millisecond))

	c.Stop(t, 1)
	c.Start(t, 1)
	c.Nodes[1].Dial(t).Close()
}
