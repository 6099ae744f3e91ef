package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// skipClusterTests skips a test that starts its own 3-node cluster when
// KAZOO_SKIP_CLUSTER_TESTS=1 (each costs 15-60 s, most of it the cluster's start).
func skipClusterTests(t *testing.T) {
	if os.Getenv("KAZOO_SKIP_CLUSTER_TESTS") == "1" {
		t.Skip("KAZOO_SKIP_CLUSTER_TESTS=1")
	}
}

// clusterQueue is a quorum queue: replicated on the three nodes, it outlives any one.
const clusterQueue = "kz-e2e-quorum"

const clusterSubscription = `
	kazoo_subscribe('{"exchange": "kz_cluster", "type": "topic", "queue": "` + clusterQueue + `", "routing": "c.*",
		"exchange-def": {"type": "topic", "durable": true, "auto_delete": false},
		"queue-def": {"durable": true, "auto_delete": false, "arguments": {"x-queue-type": "quorum"}}}');`

// quorumLeader is the index of the node that leads clusterQueue, asked of node i. It asks
// with eval, not list_queues: list_queues visits every queue of the cluster (each Kamailio
// process has a reply queue) and took over a minute on the loaded test machine.
func quorumLeader(t *testing.T, c *harness.RabbitCluster, i int) int {
	t.Helper()
	expr := `{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"` + clusterQueue + `">>)), {_, Leader} = amqqueue:get_pid(Q), Leader.`
	var out string
	var err error
	// a queue just declared, or just moved to another leader, is not always found at once
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if out, err = c.Nodes[i].CtlErr("eval", expr); err == nil || time.Now().After(end) {
			break
		}
	}
	if err != nil {
		t.Fatalf("quorum leader of %s: %v: %s", clusterQueue, err, out)
	}
	out = strings.Trim(strings.TrimSpace(out), "'")
	for n, r := range c.Nodes {
		if r.Node() == out {
			return n
		}
	}
	t.Fatalf("leader %q of %s is no node of the cluster", out, clusterQueue)
	return -1
}

// localConnections counts the AMQP connections node i holds itself for Kamailio (their
// client-provided connection_name starts with kamailio@; the test's own connections have
// none); -1
// when the node does not answer.
func localConnections(c *harness.RabbitCluster, i int) int {
	n, _ := localConnectionsOut(c, i)
	return n
}

func localConnectionsOut(c *harness.RabbitCluster, i int) (int, string) {
	out, err := c.Nodes[i].CtlErr("eval", `length([P || P <- rabbit_networking:local_connections(), `+
		`case catch rabbit_reader:info(P, [client_properties]) of [{client_properties, Props}] when is_list(Props) -> `+
		`case lists:keyfind(<<"connection_name">>, 1, Props) of {_, longstr, N} -> binary:match(N, <<"kamailio@">>) =:= {0, 9}; _ -> false end; _ -> false end]).`)
	if err != nil {
		return -1, fmt.Sprintf("%v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[len(lines)-1]))
	if err != nil {
		return -1, out
	}
	return n, out
}

// clusterEvents publishes events through conn and checks each runs its route once.
type clusterEvents struct {
	t     *testing.T
	conn  *amqp.Connection
	outQ  *harness.Queue
	next  int
	nacks int // publishes the cluster refused and that were sent again
	seen  map[string]bool
}

// publish sends event c<n> and returns its Msg-ID. A publish the broker nacks is sent
// again: RabbitMQ nacks what it cannot enqueue while a quorum queue elects a new leader,
// and a publisher of Kazoo events retries those too.
func (e *clusterEvents) publish() string {
	e.t.Helper()
	e.next++
	id := fmt.Sprintf("c%d", e.next)
	body := fmt.Sprintf(`{"Event-Category": "other", "Event-Name": "cluster", "Msg-ID": %q}`, id)
	deadline := time.Now().Add(30 * time.Second)
	for !e.publishConfirmed(body) {
		e.nacks++
		if time.Now().After(deadline) {
			e.t.Fatalf("event %s: the cluster nacked it for 30 s", id)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return id
}

// publishConfirmed publishes body to kz_cluster and tells whether the broker acked it.
func (e *clusterEvents) publishConfirmed(body string) bool {
	e.t.Helper()
	ch, err := e.conn.Channel()
	if err != nil {
		e.t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		e.t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "kz_cluster", "c.x", false, false,
		amqp.Publishing{ContentType: "application/json", Body: []byte(body)})
	if err != nil {
		e.t.Fatalf("publish to kz_cluster: %v", err)
	}
	return dc.Wait()
}

// waitRun waits until the route ran for id (and notes every other event seen meanwhile).
func (e *clusterEvents) waitRun(id string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !e.seen[id] {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		o, ok := nextOut(e.t, e.outQ, left)
		if !ok {
			return false
		}
		if o.Route != "event-category-event-name" {
			e.t.Errorf("event %v ran route %s", o.E["Msg-ID"], o.Route)
		}
		mid, _ := o.E["Msg-ID"].(string)
		if e.seen[mid] {
			e.t.Errorf("event %s ran twice", mid)
		}
		e.seen[mid] = true
	}
	return true
}

// Kamailio with one amqp_connection per node of a 3-node cluster consumes a quorum queue.
// The queue's leader is stopped, then the first node (where Kamailio publishes) is killed:
// events published through a surviving node still run their route, and when the node
// comes back Kamailio reconnects to it by itself.
func TestClusterQuorumFailover(t *testing.T) {
	skipClusterTests(t)
	c := harness.StartRabbitCluster(t, 3)
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, c.URL(0), map[string]any{
		"Params": fmt.Sprintf("modparam(\"kazoo\", \"amqp_connection\", \"%s\")\nmodparam(\"kazoo\", \"amqp_connection\", \"%s\")\n"+
			// route[OUT]'s publish while the first broker is going away is kept, not lost
			"modparam(\"kazoo\", \"amqp_spool_max\", 1000)", c.URL(1), c.URL(2)),
		"ModInit": clusterSubscription,
	}))
	if !waitFor(t, 30*time.Second, func() bool { return cmQueueState(t, c.Nodes[0], clusterQueue).consumers > 0 }) {
		t.Fatalf("queue %s has no consumer 30 s after Kamailio started (%+v)\n%s", clusterQueue, cmQueueState(t, c.Nodes[0], clusterQueue), k.Log())
	}
	ev := &clusterEvents{t: t, seen: map[string]bool{}}
	clusterOutage(t, c, k, ev, quorumLeader(t, c, 0), false)
	clusterOutage(t, c, k, ev, 0, true)
}

// clusterOutage takes node victim away (kill: SIGKILL, else a graceful stop) and checks
// that events published through another node run their route, then starts it again and
// checks that Kamailio reconnects to it by itself and that events published through it run.
func clusterOutage(t *testing.T, c *harness.RabbitCluster, k *harness.Kamailio, ev *clusterEvents, victim int, kill bool) {
	t.Helper()
	survivor := (victim + 1) % len(c.Nodes)
	how, event := "stopped", "stop"
	if kill {
		how, event = "killed", "kill"
	}
	t.Logf("node %d (quorum leader: node %d) will be %s; events are published through node %d", victim, quorumLeader(t, c, survivor), how, survivor)
	if ev.conn != nil {
		_ = ev.conn.Close() // the last round's, maybe on victim: it is not Kamailio's to count
	}
	ev.conn, ev.outQ = c.Nodes[survivor].Dial(t), c.Nodes[survivor].Bind(t, "kz_e2e_out", "topic", "#")
	for i := 0; i < 3; i++ {
		if id := ev.publish(); !ev.waitRun(id, 10*time.Second) {
			t.Fatalf("event %s did not run its route before node %d was %s\n%s", id, victim, how, k.Log())
		}
	}
	conns, out := localConnectionsOut(c, victim)
	if conns <= 0 {
		t.Fatalf("Kamailio has no connection on node %d (%d): %s", victim, conns, out)
	}

	nacksBefore := ev.nacks
	begin := time.Now()
	if kill {
		c.Kill(t, victim)
	} else {
		c.Stop(t, victim)
	}
	gone := time.Since(begin)
	// From then on, one event at a time: the first that runs its route marks the service
	// back.
	var after []string
	var recovered time.Duration
	for {
		id := ev.publish()
		after = append(after, id)
		if ev.waitRun(id, 500*time.Millisecond) {
			recovered = time.Since(begin)
			break
		}
		if time.Since(begin) > 60*time.Second {
			t.Fatalf("no event runs its route 60 s after node %d was %s\n%s", victim, how, k.Log())
		}
	}
	for i := 0; i < 10; i++ {
		after = append(after, ev.publish())
	}
	for _, id := range after {
		if !ev.waitRun(id, 15*time.Second) {
			t.Fatalf("event %s, published after node %d was %s, did not run its route\n%s", id, victim, how, k.Log())
		}
	}
	t.Logf("node %d %s in %v; the first event published after that ran its route %v after the %s began (%d events after it, all run); quorum leader now: node %d; publishes nacked and sent again: %d",
		victim, how, gone.Round(time.Millisecond), recovered.Round(time.Millisecond), event, len(after), quorumLeader(t, c, survivor), ev.nacks-nacksBefore)

	startAt := time.Now()
	c.Start(t, victim)
	accepting := time.Since(startAt)
	if !waitFor(t, 30*time.Second, func() bool { return localConnections(c, victim) >= conns }) {
		t.Fatalf("Kamailio has %d connections on node %d 30 s after it came back, had %d\n%s", localConnections(c, victim), victim, conns, k.Log())
	}
	t.Logf("node %d accepted AMQP %v after its start; Kamailio's %d connections to it were back %v after its start",
		victim, accepting.Round(time.Millisecond), conns, time.Since(startAt).Round(time.Millisecond))

	ev.conn = c.Nodes[victim].Dial(t)
	for i := 0; i < 3; i++ {
		if id := ev.publish(); !ev.waitRun(id, 10*time.Second) {
			t.Fatalf("event %s, published through node %d after it came back, did not run its route\n%s", id, victim, k.Log())
		}
	}
}

// classicQueue is a classic queue: it lives on one node of the cluster.
const classicQueue = "kz-e2e-classic"

// classicConsumers counts the consumers of classicQueue, asked of node i (-1: not found).
func classicConsumers(c *harness.RabbitCluster, i int) int {
	out, err := c.Nodes[i].CtlErr("eval", `case rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"`+classicQueue+`">>)) of `+
		`{ok, Q} -> length(rabbit_amqqueue:consumers(Q)); _ -> -1 end.`)
	if err != nil {
		return -1
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n, err := strconv.Atoi(strings.TrimSpace(lines[len(lines)-1]))
	if err != nil {
		return -1
	}
	return n
}

// classicHome is the index of the node a classic queue lives on, asked of node i.
func classicHome(t *testing.T, c *harness.RabbitCluster, i int) int {
	t.Helper()
	out := c.Ctl(t, i, "eval", `{ok, Q} = rabbit_amqqueue:lookup(rabbit_misc:r(<<"/">>, queue, <<"`+classicQueue+`">>)), node(amqqueue:get_pid(Q)).`)
	out = strings.Trim(strings.TrimSpace(out), "'")
	for n, r := range c.Nodes {
		if r.Node() == out {
			return n
		}
	}
	t.Fatalf("classic queue %s lives on %q, no node of the cluster", classicQueue, out)
	return -1
}

// Issue 20 on a cluster: the node a classic (non-durable) queue lives on stops; the
// consumers on the other nodes get basic.cancel with their connections up, declare the
// queue again on their own node and consume it; when the node is back, the consumer count
// returns to what it was.
func TestClusterClassicQueueNodeLoss(t *testing.T) {
	skipClusterTests(t)
	c := harness.StartRabbitCluster(t, 3)
	sub := `kazoo_subscribe('{"exchange": "kz_cluster_classic", "type": "topic", "queue": "` + classicQueue + `", "routing": "c.*", "exclusive": false, "auto_delete": false}');`
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, c.URL(0), map[string]any{
		"Params": fmt.Sprintf("modparam(\"kazoo\", \"amqp_connection\", \"%s\")\nmodparam(\"kazoo\", \"amqp_connection\", \"%s\")\n"+
			"modparam(\"kazoo\", \"amqp_consumer_workers\", 2)", c.URL(1), c.URL(2)),
		"ModInit": sub,
	}))
	const all = 6 // 2 workers, each on its connection to each of the 3 nodes
	if !waitFor(t, 30*time.Second, func() bool { return classicConsumers(c, 0) == all }) {
		t.Fatalf("queue %s has %d consumers 30 s after start, want %d\n%s", classicQueue, classicConsumers(c, 0), all, k.Log())
	}
	home := classicHome(t, c, 0)
	other := (home + 1) % 3
	start := time.Now()
	c.Stop(t, home)
	// the 2 workers' connections to the stopped node are gone; the 4 on the others
	// consume again from the queue they declared anew
	if !waitFor(t, 15*time.Second, func() bool { return classicConsumers(c, other) == all-2 }) {
		t.Fatalf("queue %s has %d consumers 15 s after node %d stopped, want %d\n%s", classicQueue, classicConsumers(c, other), home, all-2, k.Log())
	}
	t.Logf("node %d (the queue's) stopped: %d consumers again %v after the stop began", home, all-2, time.Since(start).Round(time.Millisecond))
	c.Start(t, home)
	if !waitFor(t, 30*time.Second, func() bool { return classicConsumers(c, other) == all }) {
		t.Fatalf("queue %s has %d consumers 30 s after node %d came back, want %d\n%s", classicQueue, classicConsumers(c, other), home, all, k.Log())
	}
	if s := k.Kamcmd(t, "kazoo.subscriptions"); strings.Count(s, `"State":"consuming"`) != all {
		t.Errorf("kazoo.subscriptions: %s", s)
	}
}
