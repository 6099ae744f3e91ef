package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// clusterFormTimeout bounds the wait until every node reports the whole
// cluster running after the joins.
const clusterFormTimeout = 60 * time.Second

// RabbitCluster is a RabbitMQ cluster of private nodes (see Rabbit): each
// node has its own node name, AMQP port, distribution port and data
// directory; they share one Erlang cookie, which is what lets them talk.
type RabbitCluster struct {
	Nodes []*Rabbit
	net   *rabbitNetwork // StartRabbitClusterNetns's: what Partition cuts
}

// StartRabbitCluster starts n private nodes, joins nodes 1..n-1 to node 0
// (rabbitmqctl stop_app, join_cluster, start_app) and waits until every node
// sees n running nodes. t.Cleanup stops them all.
func StartRabbitCluster(t testing.TB, n int) *RabbitCluster {
	t.Helper()
	return startCluster(t, n, func(int) *nodePlace { return nil })
}

// startCluster is StartRabbitCluster with node i placed by place(i) (see newRabbit).
func startCluster(t testing.TB, n int, place func(i int) *nodePlace) *RabbitCluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("harness: StartRabbitCluster: n = %d", n)
	}
	begin := time.Now()
	var ck [16]byte
	_, _ = rand.Read(ck[:])
	cookie := strings.ToUpper(hex.EncodeToString(ck[:]))
	c := &RabbitCluster{}
	for i := 0; i < n; i++ {
		r, err := newRabbit(t.TempDir(), nil, place(i))
		if err == nil {
			err = r.setCookie(cookie)
		}
		if err != nil {
			t.Fatalf("harness: StartRabbitCluster: node %d: %v", i, err)
		}
		t.Cleanup(func() {
			if err := r.shutdown(); err != nil {
				t.Errorf("harness: stopping rabbit %s: %v", r.node, err)
			}
		})
		c.Nodes = append(c.Nodes, r)
	}
	// The nodes boot in parallel: the boot is mostly waiting, and it is the
	// bulk of the start time.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, r := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.start()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("harness: StartRabbitCluster: starting node %d (%s): %v", i, c.Nodes[i].node, err)
		}
	}
	seed := c.Nodes[0].node
	for _, r := range c.Nodes[1:] {
		for _, args := range [][]string{{"stop_app"}, {"join_cluster", seed}, {"start_app"}} {
			if out, err := r.CtlErr(args...); err != nil {
				t.Fatalf("harness: StartRabbitCluster: rabbitmqctl -n %s %s: %v\n%s\n--- rabbit log ---\n%s",
					r.node, strings.Join(args, " "), err, out, tailString(r.Log(), 4000))
			}
		}
	}
	for _, r := range c.Nodes {
		if err := r.waitAMQP(rabbitStartTimeout); err != nil {
			t.Fatalf("harness: StartRabbitCluster: %s: %v", r.node, err)
		}
	}
	if !waitUntil(clusterFormTimeout, func() bool { return c.runningEverywhere(n) }) {
		out, _ := c.Nodes[0].CtlErr("cluster_status")
		t.Fatalf("harness: StartRabbitCluster: the cluster did not show %d running nodes within %v:\n%s", n, clusterFormTimeout, out)
	}
	t.Logf("harness: rabbit cluster of %d nodes (%s) started in %v", n, strings.Join(c.nodeNames(), ", "), time.Since(begin).Round(time.Millisecond))
	return c
}

// runningEverywhere reports whether every running node counts n running nodes.
func (c *RabbitCluster) runningEverywhere(n int) bool {
	for _, r := range c.Nodes {
		if !r.running() {
			continue
		}
		out, err := r.CtlErr("eval", "length(rabbit_nodes:all_running()).")
		if err != nil || strings.TrimSpace(out) != fmt.Sprint(n) {
			return false
		}
	}
	return true
}

func (c *RabbitCluster) nodeNames() []string {
	var names []string
	for _, r := range c.Nodes {
		names = append(names, r.node)
	}
	return names
}

// URLs are the nodes' AMQP URLs, in node order.
func (c *RabbitCluster) URLs() []string {
	var urls []string
	for _, r := range c.Nodes {
		urls = append(urls, r.URL())
	}
	return urls
}

// URL is node i's AMQP URL.
func (c *RabbitCluster) URL(i int) string { return c.Nodes[i].URL() }

// Stop stops node i gracefully; the others keep running.
func (c *RabbitCluster) Stop(t testing.TB, i int) { t.Helper(); c.Nodes[i].Stop(t) }

// Kill SIGKILLs node i; the others keep running.
func (c *RabbitCluster) Kill(t testing.TB, i int) { t.Helper(); c.Nodes[i].Kill(t) }

// Start starts node i again (after Stop or Kill): it rejoins the cluster from
// its data directory.
func (c *RabbitCluster) Start(t testing.TB, i int) { t.Helper(); c.Nodes[i].Start(t) }

// Ctl runs rabbitmqctl against node i (see Rabbit.Ctl).
func (c *RabbitCluster) Ctl(t testing.TB, i int, args ...string) string {
	t.Helper()
	return c.Nodes[i].Ctl(t, args...)
}

// setCookie replaces the node's Erlang cookie (the file is read-only, as
// Erlang demands).
func (r *Rabbit) setCookie(cookie string) error {
	p := filepath.Join(r.dir, "home", ".erlang.cookie")
	if err := os.Chmod(p, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(p, []byte(cookie), 0o600); err != nil {
		return err
	}
	return os.Chmod(p, 0o400)
}

// waitAMQP waits until the node accepts AMQP connections (start_app restarts
// the listener after a join).
func (r *Rabbit) waitAMQP(timeout time.Duration) error {
	var last error
	if waitUntil(timeout, func() bool {
		c, err := amqp.DialConfig(r.URL(), amqp.Config{Dial: amqp.DefaultDial(2 * time.Second)})
		if err != nil {
			last = err
			return false
		}
		c.Close()
		return true
	}) {
		return nil
	}
	return fmt.Errorf("no AMQP connection on port %d within %v: %v", r.port, timeout, last)
}
