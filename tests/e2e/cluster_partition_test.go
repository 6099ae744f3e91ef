package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// partitionSubscription consumes clusterQueue the way examples/kazoo-cluster.cfg does: a
// message is acknowledged only after its route ran, so one whose route did not run is
// delivered again.
const partitionSubscription = `
	kazoo_subscribe('{"exchange": "kz_cluster", "type": "topic", "queue": "` + clusterQueue + `", "routing": "c.*", "no_ack": false,
		"exchange-def": {"type": "topic", "durable": true, "auto_delete": false},
		"queue-def": {"durable": true, "auto_delete": false, "arguments": {"x-queue-type": "quorum"}}}');`

// partitionRoutes (added to publishCfg) subscribe at start and log each run of the event
// route with the event's Msg-ID. The log, unlike a publish from the route, does not go
// through the broker the test cuts off.
const partitionRoutes = `
event_route[kazoo:mod-init] {` + partitionSubscription + `
}
event_route[kazoo:consumer-event-event-category-event-name] {
	if ($(kzE{kz.json,Event-Name}) == "cluster") {
		xlog("L_INFO", "partition event $(kzE{kz.json,Msg-ID}) ran\n");
	}
}
`

var partitionEventRan = regexp.MustCompile(`partition event (c\d+) ran`)

// eventRuns counts the runs of each event's route in Kamailio's log.
func eventRuns(k *harness.Kamailio) map[string]int {
	runs := map[string]int{}
	for _, m := range partitionEventRan.FindAllStringSubmatch(k.Log(), -1) {
		runs[m[1]]++
	}
	return runs
}

// allRan tells whether every event of ids ran its route.
func allRan(k *harness.Kamailio, ids []string) bool {
	runs := eventRuns(k)
	for _, id := range ids {
		if runs[id] == 0 {
			return false
		}
	}
	return true
}

// firstSuccess is how long after since the first call of the kind (query or publish) that
// returned 1 ended (-1: none).
func firstSuccess(calls []loadCall, since time.Time, query bool) time.Duration {
	for _, c := range calls {
		if c.query == query && c.rc == "1" && c.at.After(since) {
			return c.at.Sub(since)
		}
	}
	return -1
}

// failuresBetween lists the calls that ended in [from, to) without success (publish: 1 or
// 2, query: 1).
func failuresBetween(calls []loadCall, from, to time.Time) []loadCall {
	var bad []loadCall
	for _, c := range calls {
		if c.at.Before(from) || !c.at.Before(to) {
			continue
		}
		if c.rc != "1" && (c.query || c.rc != "2") {
			bad = append(bad, c)
		}
	}
	return bad
}

// A cluster partition under pause_minority (issue 18). Kamailio has one amqp_connection per
// node of a 3-node cluster; node 0, the first, is where its SIP workers publish and query
// and where the quorum queue it consumes has its leader. Node 0 is cut off from the two
// other nodes, not from Kamailio, while SIP publishes (persistent, spool on) and queries
// keep coming and the test publishes events through node 2. Node 0 must pause (its AMQP
// listener closes, RabbitMQ logs the minority), Kamailio's connections to it move to the
// surviving nodes by themselves, publishes and queries are served again, every SIP request
// is answered (a failing call returns -1 within its timeout), events run their route on the
// majority, and nothing confirmed is lost (publishes that returned 1 or 2 reach their
// queue; events the broker confirmed run at least once). After the heal node 0 runs again,
// the cluster is whole and Kamailio's connections return to node 0.
func TestClusterPartitionPauseMinority(t *testing.T) {
	skipClusterTests(t)
	c := harness.StartRabbitClusterNetns(t, 3, "pause_minority")
	// node 0: Kamailio's first amqp_connection, cut off; node 1: the next one, where the SIP
	// workers go; node 2: the test's own connections, which stay up throughout
	const minority, failover, testNode = 0, 1, 2
	const consumerWorkers = 2 // each consumes through its connection to every node
	// declared through node 0 first: RabbitMQ puts a quorum queue's leader on the node of
	// the connection that declares it, so the majority must elect a new one
	durableQueue(t, c.Nodes[minority].Dial(t), "kz_cluster", clusterQueue, "c.*")
	testConn := c.Nodes[testNode].Dial(t)
	durableQueue(t, testConn, "kz_cluster_pub", "kz-e2e-pubs", "p.#")
	startResponder(t, c.Nodes[testNode], "kz_cluster_q", "q.#", echo(0))
	k := startPublisher(t, c.Nodes[minority], map[string]any{"Params": fmt.Sprintf(
		"modparam(\"kazoo\", \"amqp_connection\", \"%s\")\nmodparam(\"kazoo\", \"amqp_connection\", \"%s\")\n"+
			"modparam(\"kazoo\", \"amqp_spool_max\", 1000)\nmodparam(\"kazoo\", \"amqp_publish_persistent\", 1)\n"+
			"modparam(\"kazoo\", \"amqp_consumer_workers\", %d)\n",
		c.URL(failover), c.URL(testNode), consumerWorkers) + partitionRoutes})
	if !waitFor(t, 30*time.Second, func() bool { return cmQueueState(t, c.Nodes[testNode], clusterQueue).consumers >= 3*consumerWorkers }) {
		t.Fatalf("queue %s has %d consumers 30 s after Kamailio started, want %d\n%s",
			clusterQueue, cmQueueState(t, c.Nodes[testNode], clusterQueue).consumers, 3*consumerWorkers, k.Log())
	}
	if l := quorumLeader(t, c, testNode); l != minority {
		t.Fatalf("the quorum leader of %s is node %d, not node %d where it was declared", clusterQueue, l, minority)
	}

	load := startSIPLoad(k, 20*time.Millisecond)
	t.Cleanup(func() { load.Stop() })
	ev := &clusterEvents{t: t, conn: testConn}
	var events []string
	for i := 0; i < 3; i++ {
		events = append(events, ev.publish())
	}
	if !waitFor(t, 10*time.Second, func() bool { return allRan(k, events) }) {
		t.Fatalf("events %v did not all run before the partition (runs: %v)\n%s", events, eventRuns(k), k.Log())
	}
	time.Sleep(2 * time.Second)
	if bad := failuresBetween(load.Calls(), time.Time{}, time.Now()); len(bad) > 0 {
		t.Fatalf("calls failed before the partition: %s\n%s", describeCalls(bad, time.Now()), k.Log())
	}
	var before [3]int
	for i := range before {
		before[i] = localConnections(c, i)
	}
	// Node 2 holds only the consumers' connections (a SIP worker connects that far down the
	// list only when nodes 0 and 1 both fail), so node 0's excess over it are the SIP
	// workers, which must move to node 1.
	moving := before[minority] - before[testNode]
	if moving <= 0 {
		t.Fatalf("no SIP worker is connected to node %d (Kamailio connections per node: %v)", minority, before)
	}
	t.Logf("before the partition: Kamailio connections per node %v; %d calls, none failed", before, len(load.Calls()))

	users := brokerUsers(parseStatus(k.Kamcmd(t, "kazoo.status")), minority)
	if len(users) != before[minority] {
		t.Fatalf("kazoo.status shows %d processes using node %d, the node counts %d Kamailio connections", len(users), minority, before[minority])
	}
	partitionAt := time.Now()
	c.Partition(t, minority)
	watch := watchPartition(c.Nodes[minority], k, minority, users)
	t.Cleanup(watch.Stop)
	pubBack, queryBack := time.Duration(-1), time.Duration(-1)
	var during []string // events published after the cut, before the heal
	var firstConfirmed time.Duration
	for deadline := partitionAt.Add(60 * time.Second); ; {
		if len(during) < 10 {
			during = append(during, ev.publish())
			if len(during) == 1 {
				firstConfirmed = time.Since(partitionAt)
			}
		}
		pausedAt, movedAt := watch.times()
		if !pausedAt.IsZero() {
			calls := load.Calls()
			pubBack, queryBack = firstSuccess(calls, pausedAt, false), firstSuccess(calls, pausedAt, true)
		}
		if !movedAt.IsZero() && pubBack >= 0 && queryBack >= 0 && len(during) == 10 && allRan(k, during) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after the partition: node %d paused: %v, Kamailio left it: %v, publish back %v, query back %v after the pause, events %v ran: %v (runs %v); connections per node now: %d %d %d\n--- node %d ---\n%s\n--- kamailio ---\n%s",
				minority, sinceOrNever(pausedAt, partitionAt), sinceOrNever(movedAt, partitionAt), pubBack, queryBack, during, allRan(k, during), eventRuns(k),
				localConnections(c, 0), localConnections(c, 1), localConnections(c, 2), minority, c.Nodes[minority].Log(), k.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	pausedAt, movedAt := watch.times()
	if out, err := c.Nodes[minority].CtlErr("eval", "rabbit:is_running()."); err != nil || strings.TrimSpace(out) != "false" {
		t.Errorf("node %d: rabbit:is_running() = %q (%v), want false: it should be paused", minority, out, err)
	}
	if log := c.Nodes[minority].Log(); !strings.Contains(log, "minority") {
		t.Errorf("node %d logged no minority status: it stopped serving for another reason\n%s", minority, log)
	}
	// the brokers' view agrees with Kamailio's: the SIP workers' connections are on node 1
	if !waitFor(t, 15*time.Second, func() bool { return localConnections(c, failover) >= before[failover]+moving }) {
		t.Errorf("node %d holds %d Kamailio connections during the partition, want %d (had %d, plus %d from node %d)",
			failover, localConnections(c, failover), before[failover]+moving, before[failover], moving, minority)
	}
	if n := localConnections(c, testNode); n < before[testNode] {
		t.Errorf("node %d holds %d Kamailio connections during the partition, had %d", testNode, n, before[testNode])
	}
	lastRun := time.Duration(0)
	for _, id := range during {
		lastRun = max(lastRun, watch.ran(id).Sub(partitionAt))
	}
	calls := load.Calls()
	t.Logf("partition: node %d refused AMQP (paused) %v after the cut; every Kamailio process that used it (%d) had left it %v after the cut; first confirmed publish %v and first answered query %v after the pause (%v, %v after the cut); %d calls failed since the cut: %s",
		minority, pausedAt.Sub(partitionAt).Round(time.Millisecond), len(users), movedAt.Sub(partitionAt).Round(time.Millisecond),
		pubBack.Round(time.Millisecond), queryBack.Round(time.Millisecond),
		(pausedAt.Sub(partitionAt) + pubBack).Round(time.Millisecond), (pausedAt.Sub(partitionAt) + queryBack).Round(time.Millisecond),
		len(failuresBetween(calls, partitionAt, time.Now())), describeCalls(failuresBetween(calls, partitionAt, time.Now()), partitionAt))
	t.Logf("events: the first one published after the cut was confirmed %v after it (quorum leader now node %d, was node %d); the 10 published during the partition had all run %v after the cut; publishes nacked and sent again: %d",
		firstConfirmed.Round(time.Millisecond), quorumLeader(t, c, testNode), minority, lastRun.Round(time.Millisecond), ev.nacks)
	serviceBack := pausedAt.Add(max(pubBack, queryBack))

	healAt := time.Now()
	c.Heal(t)
	whole := c.WaitWhole(t, 60*time.Second)
	if !waitFor(t, 30*time.Second, func() bool { return localConnections(c, minority) >= before[minority] }) {
		t.Fatalf("Kamailio has %d connections on node %d 30 s after the heal, had %d\n%s",
			localConnections(c, minority), minority, before[minority], k.Log())
	}
	connsBack := time.Since(healAt)
	ev.conn = c.Nodes[minority].Dial(t)
	var healed []string
	for i := 0; i < 3; i++ {
		healed = append(healed, ev.publish())
	}
	if !waitFor(t, 15*time.Second, func() bool { return allRan(k, healed) }) {
		t.Fatalf("events %v, published through node %d after the heal, did not run (runs %v)\n%s", healed, minority, eventRuns(k), k.Log())
	}
	time.Sleep(time.Second)
	t.Logf("heal: the cluster was whole %v after it, Kamailio's %d connections back on node %d %v after it",
		whole.Round(time.Millisecond), before[minority], minority, connsBack.Round(time.Millisecond))

	calls = load.Stop()
	var longest time.Duration
	for _, call := range calls {
		longest = max(longest, call.took)
		if call.rc != "1" && call.rc != "2" && call.rc != "-1" {
			t.Errorf("a call %s: SIP requests must be answered, with 1, 2 or -1", call.rc)
		}
	}
	// a failing call waits at most its timeouts: a query 2 s for its reply, a publish 2 s for
	// a failover connect then 2 s for its confirm
	if longest > 5*time.Second {
		t.Errorf("the longest SIP request took %v", longest)
	}
	// Once the service is back a call can still fail now and then: a broker slow to confirm
	// a persistent publish on a loaded machine while quorum queues elect leaders (the heal
	// moves them too). More than one in a hundred means the service is not really back.
	late, served := failuresBetween(calls, serviceBack, time.Now()), 0
	for _, call := range calls {
		if call.at.After(serviceBack) {
			served++
		}
	}
	if len(late)*100 > served {
		t.Errorf("%d of %d calls failed after the service was back: %s\n%s", len(late), served, describeCalls(late, partitionAt), k.Log())
	}
	t.Logf("after the service was back (heal included): %d calls, %d failed %s", served, len(late), describeCalls(late, partitionAt))
	arrived := checkPublishesArrived(t, testConn, calls)
	runs := eventRuns(k)
	var twice []string
	for _, id := range append(append(events, during...), healed...) {
		if runs[id] == 0 {
			t.Errorf("event %s, confirmed by the broker, never ran its route", id)
		}
		if runs[id] > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d)", id, runs[id]))
		}
	}
	log := k.Log()
	if !strings.Contains(log, "lost AMQP broker") || !strings.Contains(log, c.Nodes[minority].IP()) {
		t.Errorf("Kamailio's log does not say it lost node %d (%s)\n%s", minority, c.Nodes[minority].IP(), log)
	}
	checkFailuresLogged(t, log, calls)
	t.Logf("%d publishes (returned 1: %d, 2: %d, -1: %d), %d arrived; %d queries (failed: %d); longest SIP request %v; events run more than once: %v",
		countKind(calls, false), countRC(calls, false, "1"), countRC(calls, false, "2"), countRC(calls, false, "-1"), arrived,
		countKind(calls, true), countRC(calls, true, "-1"), longest.Round(time.Millisecond), twice)
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d", rep.Code)
	}
}

// checkPublishesArrived drains the load's queue (kz-e2e-pubs) and checks that every
// publish that returned 1 or 2 is there; it returns how many arrived.
func checkPublishesArrived(t *testing.T, conn *amqp.Connection, calls []loadCall) int {
	t.Helper()
	got := drainIDs(t, conn, "kz-e2e-pubs", 3*time.Second)
	var lost []string
	for _, call := range calls {
		if !call.query && (call.rc == "1" || call.rc == "2") && !got[call.id] {
			lost = append(lost, call.id+" (rc "+call.rc+")")
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d publishes that returned 1 or 2 never arrived: %v", len(lost), lost)
	}
	return len(got)
}

// checkFailuresLogged checks that each call of the load that returned -1 has its line in
// Kamailio's log, and reports the reasons given.
func checkFailuresLogged(t *testing.T, log string, calls []loadCall) {
	t.Helper()
	pubLines, pubWhy := failedCallLines(log, "kazoo_publish", "kz_cluster_pub")
	queryLines, queryWhy := failedCallLines(log, "kazoo_query", "kz_cluster_q")
	if pubLines < countRC(calls, false, "-1") || queryLines < countRC(calls, true, "-1") {
		t.Errorf("every call that returned -1 should have its line in Kamailio's log: %d lines for %d publishes, %d for %d queries",
			pubLines, countRC(calls, false, "-1"), queryLines, countRC(calls, true, "-1"))
	}
	t.Logf("why publishes failed: %v; why queries failed: %v", pubWhy, queryWhy)
}

var (
	failedCallRE = regexp.MustCompile(`(kazoo_publish|kazoo_query) to exchange '([^']*)' with routing key '[^']*' failed: (.*)`)
	variablePart = regexp.MustCompile(`\(Msg-ID [^)]*\)|[0-9]+(\.[0-9]+)*`)
)

// failedCallLines counts the log lines of fn's failed calls to exchange, and the reasons
// given (without Msg-IDs and numbers) with how often each came.
func failedCallLines(log, fn, exchange string) (int, map[string]int) {
	n, why := 0, map[string]int{}
	for _, m := range failedCallRE.FindAllStringSubmatch(log, -1) {
		if m[1] == fn && m[2] == exchange {
			n++
			why[variablePart.ReplaceAllString(m[3], "N")]++
		}
	}
	return n, why
}

func countKind(calls []loadCall, query bool) int {
	n := 0
	for _, c := range calls {
		if c.query == query {
			n++
		}
	}
	return n
}

// describeCalls lists calls with their end relative to since.
func describeCalls(calls []loadCall, since time.Time) string {
	var b strings.Builder
	for _, c := range calls {
		what := "publish " + c.id
		if c.query {
			what = "query"
		}
		fmt.Fprintf(&b, "[%s: %s at %v, took %v] ", what, c.rc, c.at.Sub(since).Round(time.Millisecond), c.took.Round(time.Millisecond))
	}
	return b.String()
}

// sinceOrNever is at - since, or "never" for a zero at.
func sinceOrNever(at, since time.Time) string {
	if at.IsZero() {
		return "never"
	}
	return at.Sub(since).Round(time.Millisecond).String()
}
