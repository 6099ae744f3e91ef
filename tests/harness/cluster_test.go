package harness_test

import (
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
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

// A node of a pause_minority cluster cut off from the others pauses (its AMQP listener
// closes) while the others keep serving; healed, it runs again and the cluster is whole.
// Afterwards neither its namespaces (with their veth pairs) nor its bridge are left.
func TestRabbitClusterNetnsPartition(t *testing.T) {
	var bridgeAddr string
	var made []string // this cluster's namespaces: other test binaries may have their own
	t.Run("cluster", func(t *testing.T) {
		c := harness.StartRabbitClusterNetns(t, 3, "pause_minority")
		for _, r := range c.Nodes {
			made = append(made, r.Netns())
		}
		ip := c.Nodes[2].IP()
		bridgeAddr = ip[:strings.LastIndexByte(ip, '.')] + ".1/24"
		begin := time.Now()
		c.Partition(t, 2)
		if !waitRefused(c.Nodes[2], 30*time.Second) {
			t.Fatalf("node 2 still accepts AMQP 30 s after the partition\n%s", c.Nodes[2].Log())
		}
		t.Logf("node 2 paused (AMQP refused) %v after the partition", time.Since(begin).Round(time.Millisecond))
		for _, i := range []int{0, 1} {
			c.Nodes[i].Dial(t).Close()
		}
		begin = time.Now()
		c.Heal(t)
		t.Logf("cluster whole %v after the heal", c.WaitWhole(t, 60*time.Second).Round(time.Millisecond))
		c.Nodes[2].Dial(t).Close()
	})
	if out, _ := exec.Command("ip", "-4", "-o", "addr", "show").CombinedOutput(); bridgeAddr != "" && strings.Contains(string(out), bridgeAddr) {
		t.Errorf("the bridge with %s is still there:\n%s", bridgeAddr, out)
	}
	left := netnsNames()
	for _, ns := range made {
		if left[ns] {
			t.Errorf("network namespace %s is still there", ns)
		}
	}
}

// netnsNames are the named network namespaces of the machine.
func netnsNames() map[string]bool {
	names := map[string]bool{}
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			names[f[0]] = true
		}
	}
	return names
}

// waitRefused waits until r's AMQP port refuses connections.
func waitRefused(r *harness.Rabbit, timeout time.Duration) bool {
	addr := net.JoinHostPort(r.IP(), strconv.Itoa(r.Port()))
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			return true
		}
		if err == nil {
			c.Close()
		}
	}
	return false
}
