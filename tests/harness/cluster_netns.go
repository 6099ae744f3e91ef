package harness

import (
	"errors"
	"testing"
	"time"
)

// StartRabbitClusterNetns is StartRabbitCluster with every node in a network namespace of
// its own (see rabbitNetwork), so that Partition can cut a node off from the others while
// the test and Kamailio still reach every node, at Rabbit.IP (URL gives it).
// partitionHandling is the nodes' cluster_partition_handling (pause_minority, autoheal,
// ignore). The nodes use long names (kztest-<hex>@<IP>) and a short Erlang net_ticktime
// (netnsTickTime), so a partition is noticed within seconds. The test is skipped where
// network namespaces cannot be made (it needs root and iproute2). t.Cleanup heals the
// partition, stops the nodes, and removes the namespaces and the bridge.
func StartRabbitClusterNetns(t testing.TB, n int, partitionHandling string) *RabbitCluster {
	t.Helper()
	nw, err := newRabbitNetwork(n)
	if errors.Is(err, errNoNetns) {
		t.Skipf("harness: StartRabbitClusterNetns: %v (needs root and iproute2)", err)
	}
	if err != nil {
		t.Fatalf("harness: StartRabbitClusterNetns: %v", err)
	}
	// registered first, so it runs after the nodes' cleanups: they stop while their
	// namespaces still exist
	t.Cleanup(func() {
		if err := nw.close(); err != nil {
			t.Errorf("harness: removing the cluster's network namespaces: %v", err)
		}
	})
	c := startCluster(t, n, func(i int) *nodePlace {
		return &nodePlace{netns: nw.netns[i], ip: nw.ip(i), partitionHandling: partitionHandling}
	})
	c.net = nw
	// runs before the nodes' cleanups: a partitioned node would stop slowly, or not cleanly
	t.Cleanup(func() {
		if err := nw.heal(); err != nil {
			t.Errorf("harness: healing the partition: %v", err)
		}
	})
	t.Logf("harness: the cluster's network: bridge %s with %s.1, namespaces %v", nw.bridge, nw.prefix, nw.netns)
	return c
}

// Partition cuts node k off from every other node of a StartRabbitClusterNetns cluster, both
// ways; the test and Kamailio still reach node k (and the others).
func (c *RabbitCluster) Partition(t testing.TB, k int) {
	t.Helper()
	if c.net == nil {
		t.Fatalf("harness: Partition: the cluster was not started by StartRabbitClusterNetns")
	}
	if err := c.net.isolate(k); err != nil {
		t.Fatalf("harness: Partition: %v", err)
	}
	t.Logf("harness: node %d (%s) cut off from the other nodes", k, c.Nodes[k].node)
}

// Heal undoes Partition: every node reaches every other one again.
func (c *RabbitCluster) Heal(t testing.TB) {
	t.Helper()
	if c.net == nil {
		t.Fatalf("harness: Heal: the cluster was not started by StartRabbitClusterNetns")
	}
	if err := c.net.heal(); err != nil {
		t.Fatalf("harness: Heal: %v", err)
	}
	t.Logf("harness: partition healed")
}

// WaitWhole waits until every node counts every node running, and returns how long that
// took; it fails the test after timeout.
func (c *RabbitCluster) WaitWhole(t testing.TB, timeout time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	if !waitUntil(timeout, func() bool { return c.runningEverywhere(len(c.Nodes)) }) {
		out, _ := c.Nodes[0].CtlErr("cluster_status")
		t.Fatalf("harness: WaitWhole: the cluster did not show %d running nodes within %v:\n%s", len(c.Nodes), timeout, out)
	}
	return time.Since(begin)
}
