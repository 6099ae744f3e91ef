//go:build bench

package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// The reconnection storm: several Kamailio nodes at stock process counts share a 3-node
// RabbitMQ cluster, every process that sends holds a connection to node 0 (the first
// amqp_connection of each), and node 0 restarts while a low publish load goes on. When it
// accepts AMQP again every one of those processes reconnects at about the same moment:
// how long until each Kamailio has all its connections there again, how spread out they
// come, how slow the broker is to answer meanwhile, and whether a publish Kamailio
// acknowledged (1) or spooled (2) went missing. Not part of TestTable: it needs a cluster.
//
// One cfg for both modules; the publish route answers 200 for 1, 202 for 2 (spooled) and
// 500 otherwise, so the load generator knows what each publish returned. The payload's
// Storm-Id is the instance's tag and the request's Call-ID: unique over the whole run.
// The spool and persistence parameters are ours only (the C module refuses them), hence
// Params.
var stormCfg = harness.CfgHead{Debug: 1, Children: fleetUDPWorkers, TCPChildren: fleetTCPWorkers, TCP: true,
	Modules: "tm sl pv"}.String() + `modparam("kazoo", "node_hostname", "{{.Extra.Host}}")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL0}}")
modparam("kazoo", "amqp_connection", "{{.Extra.URL1}}")
modparam("kazoo", "amqp_connection", "{{.Extra.URL2}}")
modparam("kazoo", "amqp_consumer_workers", 8)
{{.Extra.Params}}
event_route[kazoo:mod-init] {
	kazoo_subscribe('{"exchange": "` + stormEventExchange + `", "type": "topic", "queue": "` + stormSharedQueue + `", "routing": "storm.#",
		"exchange-def": {"type": "topic", "durable": true, "auto_delete": false},
		"queue-def": {"durable": true, "auto_delete": false, "arguments": {"x-queue-type": "quorum"}}}');
}
event_route[kazoo:consumer-event] {
	return;
}
request_route {
	if ($rU != "p") { sl_send_reply("200", "OK"); exit; }
	kazoo_publish("` + stormExchange + `", "storm.publish", "{\"Event-Category\":\"storm\",\"Event-Name\":\"publish\",\"Storm-Id\":\"{{.Extra.Tag}}/$ci\"}");
	$var(rc) = $rc;
	if ($var(rc) == 1) {
		sl_send_reply("200", "OK");
	} else if ($var(rc) == 2) {
		sl_send_reply("202", "Spooled");
	} else {
		sl_send_reply("500", "Publish failed");
	}
	exit;
}
`

// Ours only: what README's "Running on a RabbitMQ cluster" asks of a node that must not
// lose a publish.
const stormGoParams = `modparam("kazoo", "amqp_spool_max", 1000)
modparam("kazoo", "amqp_publish_persistent", 1)`

const (
	stormExchange      = "kz_storm"         // durable, the test's; every publish goes there
	stormQueue         = "kz-storm-publish" // durable quorum queue the test owns and counts
	stormEventExchange = "kz_storm_events"  // the shared subscription's
	stormSharedQueue   = "kz-storm-shared"  // quorum queue every instance's consumers share
	stormNode          = 0                  // the node that restarts
	stormSafeNode      = 1                  // the node the test declares and drains through
)

// stormConfig holds the storm's knobs (environment variables, see run.sh).
type stormConfig struct {
	instances int
	warmN     int           // requests per instance before the stop, so that every UDP worker connects
	warmRate  int           // their rate per instance
	rate      int           // publishes/s per instance during the restart
	limit     time.Duration // longest wait for every instance's connections after node 0 is back
	tail      time.Duration // the probe and the load go on this long after that
	withC     bool
	out       string
}

func loadStormConfig() stormConfig {
	return stormConfig{
		instances: envInt("STORM_INSTANCES", 8),
		warmN:     envInt("STORM_WARM", 300),
		warmRate:  envInt("STORM_WARM_RATE", 30),
		rate:      envInt("STORM_RATE", 20),
		limit:     envSeconds("STORM_LIMIT", 90*time.Second),
		tail:      envSeconds("STORM_TAIL", 5*time.Second),
		withC:     os.Getenv("STORM_C") == "1",
		out:       os.Getenv("OUT"),
	}
}

func (c stormConfig) String() string {
	return fmt.Sprintf("%d instances of %d UDP + %d TCP workers and 8 consumer workers each, on a 3-node cluster "+
		"(amqp_connection: node 0, 1, 2); %d publishes per instance at %d/s first, then %d/s per instance while node 0 "+
		"restarts; the probe and the load go on %v after the last instance is back (at most %v)",
		c.instances, fleetUDPWorkers, fleetTCPWorkers, c.warmN, c.warmRate, c.rate, c.tail, c.limit)
}

// stormInstance is one Kamailio of the storm with its load generator and what each of its
// publishes returned, by Call-ID (SIP code: 200 for 1, 202 for 2, 500 for -1).
type stormInstance struct {
	tag, host string
	k         *harness.Kamailio
	load      *sipLoad

	mu    sync.Mutex
	codes map[string]int
	sent  map[string]bool // every Call-ID sent, replied or not
}

// nodeConn is one of node 0's connections as the broker lists it: the instance it belongs
// to (-1: none), the kind of process that holds it (connKinds, from its name), and when
// the broker accepted it (connected_at, ms since the epoch).
type nodeConn struct {
	inst, kind int
	port       int
	at         int64
}

// connKinds are the process kinds told apart in node 0's connections, by what their
// connection_name contains (core.psx's description); index 0 is everything else.
var connKinds = []string{"other", "udp receiver", "kazoo consumer"}

// instanceStorm is one instance's figures.
type instanceStorm struct {
	before, after       int
	beforeKinds         []int   // before, by connKinds
	first, back, last   float64 // ms after node 0 accepted AMQP; NaN: not back within the limit
	ok, spooled, failed int
	noReply             int
	missing, errLines   int
}

// stormResult is one module's storm.
type stormResult struct {
	procs               int // Kamailio processes per instance
	stopTook, startTook time.Duration
	before, after       int // node 0's Kamailio connections
	inst                []instanceStorm
	probe, base         *probeResult // node 0's round trips after the restart; before the stop
	t0                  time.Time    // node 0 accepted AMQP again: its first connection after the start
	duplicates, extra   int          // ids that arrived twice; ids that arrived though their publish did not return 1 or 2
	missingExamples     []string
	dupExamples         []string
	errKinds            map[string]int // ERROR lines of all instances by message, pids and numbers left out
}

// runStorm starts the instances on c, loads them until every UDP worker is connected,
// restarts node 0 under a low load and measures the reconnections.
func runStorm(t *testing.T, cl *harness.RabbitCluster, module string, c stormConfig) *stormResult {
	res := &stormResult{}
	insts := startStormInstances(t, cl, module, c)
	defer func() {
		for _, in := range insts {
			in.load.Close()
			in.k.Stop(t)
		}
		// the next module declares the shared queue its own way (the C module's kind of
		// queue may differ)
		_, _ = cl.Nodes[stormSafeNode].CtlErr("delete_queue", stormSharedQueue)
	}()
	res.procs = len(procs(insts[0].k))
	warm(insts, c)
	countBefore(res, settle(t, cl, insts), len(insts))
	progress("storm %s: node 0 holds %d Kamailio connections before the stop", modName(module), res.before)

	stop := make(chan struct{})
	loads := startStormLoad(insts, c.rate, stop)
	// the load runs before the stop, as it does in production; the probe times node 0's
	// round trips meanwhile, to compare the storm's with
	p := &probe{url: cl.URL(stormNode)}
	baseStop := make(chan struct{})
	baseDone := make(chan *probeResult)
	go func() { baseDone <- p.run(baseStop) }()
	time.Sleep(3 * time.Second)
	close(baseStop)
	res.base = <-baseDone

	begin := time.Now()
	cl.Stop(t, stormNode)
	res.stopTook = time.Since(begin)
	probed := make(chan *probeResult)
	probeStop := make(chan struct{})
	go func() { probed <- p.run(probeStop) }()
	begin = time.Now()
	cl.Start(t, stormNode)
	res.startTook = time.Since(begin)
	waitBack(t, cl, insts, res.inst, c.limit)
	time.Sleep(c.tail)
	close(probeStop)
	res.probe = <-probed
	conns := nodeConns(t, cl, insts)
	close(stop)
	loads.Wait()

	res.after = kamailioConns(conns)
	res.t0 = acceptedAgain(conns, res.probe.upAt)
	reconnectTimes(res, conns, res.t0)
	time.Sleep(2 * time.Second) // spools flush as soon as a broker takes publishes
	verifyArrivals(t, cl, insts, res)
	res.errKinds = map[string]int{}
	for i, in := range insts {
		log := in.k.Log()
		res.inst[i].errLines, _ = errorLines(log, 0)
		errorKinds(log, res.errKinds)
	}
	logStorm(t, module, res)
	return res
}

// countBefore counts node 0's connections of each instance, by process kind.
func countBefore(res *stormResult, conns []nodeConn, instances int) {
	res.inst = make([]instanceStorm, instances)
	for i := range res.inst {
		res.inst[i].beforeKinds = make([]int, len(connKinds))
	}
	for _, nc := range conns {
		if nc.inst >= 0 {
			res.inst[nc.inst].before++
			res.inst[nc.inst].beforeKinds[nc.kind]++
		}
	}
	res.before = kamailioConns(conns)
}

// startStormInstances starts c.instances Kamailios with unique node_hostnames, all
// preferring node 0.
func startStormInstances(t *testing.T, cl *harness.RabbitCluster, module string, c stormConfig) []*stormInstance {
	params := ""
	if module != cModule {
		params = stormGoParams + "\n" + goParams(module)
	}
	var insts []*stormInstance
	for i := 0; i < c.instances; i++ {
		in := &stormInstance{tag: fmt.Sprintf("%s%d", strings.ToLower(modName(module)), i),
			host: fmt.Sprintf("storm%d.kazoo.test", i), codes: map[string]int{}, sent: map[string]bool{}}
		in.k = harness.StartKamailio(t, stormCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
			Extra: map[string]any{"Host": in.host, "Tag": in.tag, "Params": params,
				"URL0": strings.TrimSuffix(cl.URL(0), "/"), "URL1": strings.TrimSuffix(cl.URL(1), "/"),
				"URL2": strings.TrimSuffix(cl.URL(2), "/")}})
		l, err := newSipLoad(in.k.SipPort(), "p", in.k.Alive)
		if err != nil {
			t.Fatal(err)
		}
		// a publish held by a connect (2 s) and then by its confirm (2 s) still gets its answer
		l.timeout = 10 * time.Second
		l.mu.Lock()
		l.onFinal = in.record
		l.mu.Unlock()
		in.load = l
		insts = append(insts, in)
		progress("storm %s: instance %d of %d started", modName(module), i+1, c.instances)
	}
	return insts
}

func (in *stormInstance) record(callID string, code int) {
	in.mu.Lock()
	in.codes[callID] = code
	in.mu.Unlock()
}

// send sends one publish request and remembers its Call-ID.
func (in *stormInstance) send() {
	id := in.load.send()
	in.mu.Lock()
	in.sent[id] = true
	in.mu.Unlock()
}

// warm makes every UDP worker of every instance publish: the kernel hands a datagram to
// the worker that has waited longest, so a few hundred requests reach all of them.
func warm(insts []*stormInstance, c stormConfig) {
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.load.reset(nil)
			in.pace(c.warmRate, func(i int) bool { return i < c.warmN })
			in.load.drain(0, false)
		}()
	}
	wg.Wait()
}

// pace sends rate requests per second while more(i) holds for the i-th (open loop).
func (in *stormInstance) pace(rate int, more func(int) bool) {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := 0; more(i) && in.k.Alive(); i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		in.send()
	}
}

// startStormLoad publishes rate/s on every instance until stop is closed; Wait returns
// once the last replies are in.
func startStormLoad(insts []*stormInstance, rate int, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.load.reset(nil)
			in.pace(rate, func(int) bool {
				select {
				case <-stop:
					return false
				default:
					return true
				}
			})
			in.load.drain(0, false)
		}()
	}
	return &wg
}

// settle waits until node 0's Kamailio connections stop changing (3 looks a second apart
// agree) and returns the last look.
func settle(t *testing.T, cl *harness.RabbitCluster, insts []*stormInstance) []nodeConn {
	var last []nodeConn
	same := 0
	for end := time.Now().Add(60 * time.Second); same < 3 && time.Now().Before(end); time.Sleep(time.Second) {
		conns := nodeConns(t, cl, insts)
		if last != nil && kamailioConns(conns) == kamailioConns(last) {
			same++
		} else {
			same = 0
		}
		last = conns
	}
	return last
}

// waitBack waits until every instance holds on node 0 at least as many connections as
// before the stop (at most limit). When each came back is read afterwards from the
// broker's connected_at (reconnectTimes), so this look's own pace does not matter.
func waitBack(t *testing.T, cl *harness.RabbitCluster, insts []*stormInstance, is []instanceStorm, limit time.Duration) {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		conns := nodeConns(t, cl, insts)
		n := make([]int, len(insts))
		for _, nc := range conns {
			if nc.inst >= 0 {
				n[nc.inst]++
			}
		}
		back := true
		for i := range is {
			back = back && n[i] >= is[i].before
		}
		if back {
			return
		}
	}
	t.Logf("storm: not every instance was back on node 0 within %v", limit)
}

// acceptedAgain is when node 0 accepted AMQP again: the probe's first handshake or the
// first of Kamailio's connections the broker accepted, whichever came first (the probe
// dials every probeDialEvery and may come second).
func acceptedAgain(conns []nodeConn, probeUp time.Time) time.Time {
	t0 := probeUp
	for _, nc := range conns {
		if at := time.UnixMilli(nc.at); nc.inst >= 0 && (t0.IsZero() || at.Before(t0)) {
			t0 = at
		}
	}
	return t0
}

// reconnectTimes reads each instance's reconnections from the times the broker opened its
// connections (connected_at, ms): the first, the one that made the count what it was
// before the stop (back), and the last. The broker's own times: asking it every few ms
// which connections it has is too slow (each rabbitmqctl takes most of a second).
func reconnectTimes(res *stormResult, conns []nodeConn, t0 time.Time) {
	ats := make([][]int64, len(res.inst))
	for _, nc := range conns {
		if nc.inst >= 0 {
			ats[nc.inst] = append(ats[nc.inst], nc.at)
			res.inst[nc.inst].after++
		}
	}
	up := t0.UnixMilli()
	for i := range res.inst {
		s := &res.inst[i]
		s.first, s.back, s.last = nan, nan, nan
		a := ats[i]
		if len(a) == 0 || t0.IsZero() {
			continue
		}
		sort.Slice(a, func(x, y int) bool { return a[x] < a[y] })
		s.first, s.last = float64(a[0]-up), float64(a[len(a)-1]-up)
		if s.before > 0 && len(a) >= s.before {
			s.back = float64(a[s.before-1] - up)
		}
	}
}

// stormConnsExpr lists node 0's own connections as {instance, kind, peer_port,
// connected_at}: the instance whose "kamailio@<node_hostname> " starts the
// connection_name (-1: none; our module names its connections so) and the index in
// connKinds of the first kind the name contains (0: none). Integers only, so rabbitmqctl's
// printing cannot break a name.
func stormConnsExpr(insts []*stormInstance) string {
	var pfx, kinds []string
	for _, in := range insts {
		pfx = append(pfx, `<<"kamailio@`+in.host+` ">>`)
	}
	for _, k := range connKinds[1:] {
		kinds = append(kinds, `<<"`+k+`">>`)
	}
	return `Pfx = [` + strings.Join(pfx, ", ") + `],
Kinds = [` + strings.Join(kinds, ", ") + `],
Ix = fun Ix(_, [], _) -> -1; Ix(N, [P | T], I) -> case binary:match(N, P) of {0, _} -> I; _ -> Ix(N, T, I + 1) end end,
Kind = fun Kind(_, [], _) -> 0; Kind(N, [K | T], I) -> case binary:match(N, K) of nomatch -> Kind(N, T, I + 1); _ -> I end end,
[case lists:keyfind(<<"connection_name">>, 1, Props) of
    {_, longstr, N} -> {Ix(N, Pfx, 0), Kind(N, Kinds, 1), Port, At};
    _ -> {-1, 0, Port, At}
 end || P <- rabbit_networking:local_connections(),
        [{client_properties, Props}, {peer_port, Port}, {connected_at, At}] <- [catch rabbit_reader:info(P, [client_properties, peer_port, connected_at])],
        is_list(Props)].`
}

var connTuple = regexp.MustCompile(`\{(-?\d+),\s*(\d+),\s*(\d+),\s*(\d+)\}`)

// nodeConns asks node 0 for its connections. One without a kamailio@ name (the C
// module's) is given to the instance whose process holds the socket of its client port.
func nodeConns(t *testing.T, cl *harness.RabbitCluster, insts []*stormInstance) []nodeConn {
	out, err := cl.Nodes[stormNode].CtlErr("eval", stormConnsExpr(insts))
	if err != nil {
		t.Logf("storm: listing node 0's connections: %v: %s", err, out)
		return nil
	}
	owner := portOwners(cl.Nodes[stormNode].Port(), insts)
	var conns []nodeConn
	for _, m := range connTuple.FindAllStringSubmatch(out, -1) {
		nc := nodeConn{}
		nc.inst, _ = strconv.Atoi(m[1])
		nc.kind, _ = strconv.Atoi(m[2])
		if nc.kind < 0 || nc.kind >= len(connKinds) {
			nc.kind = 0
		}
		nc.port, _ = strconv.Atoi(m[3])
		nc.at, _ = strconv.ParseInt(m[4], 10, 64)
		if nc.inst < 0 {
			if i, ok := owner[nc.port]; ok {
				nc.inst = i
			}
		}
		if nc.inst >= len(insts) {
			nc.inst = -1
		}
		conns = append(conns, nc)
	}
	return conns
}

// portOwners maps the client port of each connection to the broker's port to the
// instance whose process holds it.
func portOwners(brokerPort int, insts []*stormInstance) map[int]int {
	m := map[int]int{}
	sockets := brokerSockets(brokerPort)
	for i, in := range insts {
		var pids []int
		for _, p := range procs(in.k) {
			pids = append(pids, p.pid)
		}
		owners := socketOwners(pids)
		for port, ino := range sockets {
			if _, ok := owners[ino]; ok {
				m[port] = i
			}
		}
	}
	return m
}

func kamailioConns(conns []nodeConn) int {
	n := 0
	for _, nc := range conns {
		if nc.inst >= 0 {
			n++
		}
	}
	return n
}

// probe times an AMQP round trip on one node (declare and delete a server-named queue,
// two synchronous methods) every probeEvery, from the moment the node accepts AMQP again.
type probe struct{ url string }

type probeResult struct {
	upAt    time.Time // the first AMQP handshake that succeeded
	lat     []float64 // ms, sorted
	slowest float64   // when the slowest round trip began, ms after upAt
	errors  int       // round trips that failed (the probe then reconnects)
}

const (
	probeDialEvery = 20 * time.Millisecond
	probeEvery     = 100 * time.Millisecond
)

// run dials until the node answers, then probes until stop is closed.
func (p *probe) run(stop <-chan struct{}) *probeResult {
	res := &probeResult{}
	var conn *amqp.Connection
	for conn == nil {
		select {
		case <-stop:
			return res
		default:
		}
		c, err := amqp.DialConfig(p.url, amqp.Config{Dial: amqp.DefaultDial(time.Second)})
		if err != nil {
			time.Sleep(probeDialEvery)
			continue
		}
		conn, res.upAt = c, time.Now()
	}
	p.sample(conn, res, stop)
	sort.Float64s(res.lat)
	return res
}

// sample times a round trip every probeEvery until stop is closed.
func (p *probe) sample(conn *amqp.Connection, res *probeResult, stop <-chan struct{}) {
	defer func() { conn.Close() }()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	var ch *amqp.Channel
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		begin := time.Now()
		var err error
		if ch == nil {
			ch, err = conn.Channel()
		}
		if err == nil {
			var q amqp.Queue
			if q, err = ch.QueueDeclare("", false, true, true, false, nil); err == nil {
				_, err = ch.QueueDelete(q.Name, false, false, false)
			}
		}
		if err != nil {
			res.errors++
			ch = nil
			if conn.IsClosed() {
				if c, err := amqp.DialConfig(p.url, amqp.Config{Dial: amqp.DefaultDial(time.Second)}); err == nil {
					conn = c
				}
			}
			continue
		}
		d := ms(time.Since(begin))
		if len(res.lat) == 0 || d > slices.Max(res.lat) {
			res.slowest = ms(begin.Sub(res.upAt))
		}
		res.lat = append(res.lat, d)
	}
}

// declareStormQueue declares the test's exchange and durable quorum queue through a node
// that does not restart: a quorum queue's leader is on the node that declared it, so the
// restart does not make it elect another (which nacks publishes), and the queue outlives
// node 0 either way.
func declareStormQueue(t *testing.T, cl *harness.RabbitCluster) {
	ch, err := cl.Nodes[stormSafeNode].Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare(stormExchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(stormQueue, true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(stormQueue, "storm.#", stormExchange, false, nil); err != nil {
		t.Fatal(err)
	}
}

// verifyArrivals takes every message out of the test's queue and checks that each publish
// that returned 1 or 2 is there; it counts the outcomes per instance.
func verifyArrivals(t *testing.T, cl *harness.RabbitCluster, insts []*stormInstance, res *stormResult) {
	got := drainStormQueue(t, cl)
	for i, in := range insts {
		s := &res.inst[i]
		in.mu.Lock()
		for id := range in.sent {
			code, replied := in.codes[id]
			key := in.tag + "/" + id
			switch {
			case !replied:
				s.noReply++
			case code == 200:
				s.ok++
			case code == 202:
				s.spooled++
			default:
				s.failed++
			}
			n := got[key]
			delete(got, key)
			switch {
			case n > 1:
				res.duplicates++
				if len(res.dupExamples) < 5 {
					res.dupExamples = append(res.dupExamples, fmt.Sprintf("%s (returned %d, arrived %d times)", key, code, n))
				}
			case n == 0 && replied && (code == 200 || code == 202):
				s.missing++
				if len(res.missingExamples) < 5 {
					res.missingExamples = append(res.missingExamples, fmt.Sprintf("%s (returned %d)", key, code))
				}
			case n > 0 && replied && code != 200 && code != 202:
				res.extra++
			}
		}
		in.mu.Unlock()
	}
	for key := range got { // ids never sent: another run's, or a broken payload
		t.Logf("storm: unexpected Storm-Id %q in %s", key, stormQueue)
	}
}

// drainStormQueue consumes the queue through the safe node until it stays empty for 3 s
// and returns how often each Storm-Id arrived.
func drainStormQueue(t *testing.T, cl *harness.RabbitCluster) map[string]int {
	conn := cl.Nodes[stormSafeNode].Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Qos(1000, 0, false); err != nil {
		t.Fatal(err)
	}
	d, err := ch.Consume(stormQueue, "", true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for {
		select {
		case m, ok := <-d:
			if !ok {
				return got
			}
			var body struct {
				ID string `json:"Storm-Id"`
			}
			_ = json.Unmarshal(m.Body, &body)
			got[body.ID]++
		case <-time.After(3 * time.Second):
			return got
		}
	}
}

func logStorm(t *testing.T, module string, res *stormResult) {
	t.Logf("storm %s: node 0 stopped in %v, accepted AMQP %v after its start began; Kamailio connections on node 0 %d before, %d after; "+
		"probe %d round trips, p99 %.1f ms, max %.1f ms, %d errors", modName(module), res.stopTook.Round(time.Millisecond),
		res.startTook.Round(time.Millisecond), res.before, res.after, len(res.probe.lat), pct(res.probe.lat, .99),
		pct(res.probe.lat, 1), res.probe.errors)
	for i, s := range res.inst {
		t.Logf("storm %s instance %d: %+v", modName(module), i, s)
	}
	for _, e := range res.missingExamples {
		t.Logf("storm %s: missing %s", modName(module), e)
	}
	for _, e := range res.dupExamples {
		t.Logf("storm %s: duplicate %s", modName(module), e)
	}
	for _, k := range sortedKinds(res.errKinds) {
		t.Logf("storm %s: %d error lines like: %s", modName(module), res.errKinds[k], k)
	}
}

var pidOrNumber = regexp.MustCompile(`\[pid \d+\]|\b\d+\b`)

// errorKinds counts the ERROR and CRITICAL lines of log into kinds by their message with
// pids and numbers left out: a storm's lines are the same few repeated per process.
func errorKinds(log string, kinds map[string]int) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "ERROR") && !strings.Contains(line, "CRITICAL") {
			continue
		}
		if i := strings.Index(line, "]: "); i >= 0 {
			line = line[i+3:]
		}
		kinds[pidOrNumber.ReplaceAllString(line, "N")]++
	}
}

// TestStormBench restarts node 0 of a 3-node cluster under our module (and under the C
// module, after it on the same cluster, with STORM_C=1) and prints the table (also written
// to $OUT when set).
func TestStormBench(t *testing.T) {
	c := loadStormConfig()
	began, load0 := time.Now(), loadavg()
	progress("storm: %s", c)
	cl := harness.StartRabbitCluster(t, 3)
	declareStormQueue(t, cl)
	modules := []string{ourModule()}
	if c.withC {
		modules = append(modules, cModule)
	}
	res := map[string]*stormResult{}
	for _, m := range modules {
		t.Run(modName(m), func(t *testing.T) { res[modName(m)] = runStorm(t, cl, m, c) })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Reconnection storm: node 0 of a 3-node RabbitMQ cluster restarts\n\n")
	fmt.Fprintf(&b, "%s; %s, %d CPUs, load average %s at the start, %s at the end; %s; took %v.\n\n",
		time.Now().Format("2006-01-02 15:04"), kamailioVersion(), runtime.NumCPU(), load0, loadavg(), c,
		time.Since(began).Round(time.Second))
	renderStormSummary(&b, c, res)
	for _, m := range modules {
		renderStormInstances(&b, modName(m), res[modName(m)])
	}
	emitTable(t, "storm table", b.String(), c.out)
}

// renderStormSummary: one column per module. Times are from node 0 accepting AMQP again
// (see acceptedAgain).
func renderStormSummary(b *strings.Builder, c stormConfig, res map[string]*stormResult) {
	b.WriteString("| | kazoo.so (Go) | C module |\n|---|---:|---:|\n")
	line := func(name string, f func(*stormResult) string) {
		cell := func(n string) string {
			if r := res[n]; r != nil {
				return f(r)
			}
			return "not run"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, cell("Go"), cell("C"))
	}
	col := func(r *stormResult, f func(instanceStorm) float64) []float64 {
		var v []float64
		for _, s := range r.inst {
			v = append(v, f(s))
		}
		return v
	}
	sum := func(r *stormResult, f func(instanceStorm) int) int {
		n := 0
		for _, s := range r.inst {
			n += f(s)
		}
		return n
	}
	line("Kamailio processes per instance", func(r *stormResult) string { return strconv.Itoa(r.procs) })
	line("node 0: stop took, s", func(r *stormResult) string { return fmt.Sprintf("%.1f", r.stopTook.Seconds()) })
	line("node 0: start until it accepted AMQP, s", func(r *stormResult) string { return fmt.Sprintf("%.1f", r.startTook.Seconds()) })
	line("Kamailio connections on node 0 before the stop (of which UDP workers')", func(r *stormResult) string {
		return fmt.Sprintf("%d (%d)", r.before, sum(r, func(s instanceStorm) int { return kindCount(s, 1) }))
	})
	line(fmt.Sprintf("Kamailio connections on node 0 after (%v after the last instance was back)", c.tail), func(r *stormResult) string {
		return strconv.Itoa(r.after)
	})
	line("instances back on node 0 (as many connections as before)", func(r *stormResult) string {
		return fmt.Sprintf("%d of %d", len(finite(col(r, func(s instanceStorm) float64 { return s.back }))), len(r.inst))
	})
	line("every instance back, ms after node 0 accepted AMQP: max (per instance min..max)", func(r *stormResult) string {
		return maxSpread(col(r, func(s instanceStorm) float64 { return s.back }))
	})
	line("first connection back, ms: earliest instance (min..max)", func(r *stormResult) string {
		return maxSpread(col(r, func(s instanceStorm) float64 { return s.first }))
	})
	line("last connection back, ms: max (min..max)", func(r *stormResult) string {
		return maxSpread(col(r, func(s instanceStorm) float64 { return s.last }))
	})
	line("jitter (last − first connection back) per instance, ms: max (min..max)", func(r *stormResult) string {
		return maxSpread(col(r, func(s instanceStorm) float64 { return s.last - s.first }))
	})
	probeCell := func(p *probeResult) string {
		return fmt.Sprintf("%d, %.1f / %.1f / %.1f, %d", len(p.lat), pct(p.lat, .5), pct(p.lat, .99), pct(p.lat, 1), p.errors)
	}
	line(fmt.Sprintf("AMQP round trip on node 0 (queue.declare + queue.delete every %v), the 3 s before the stop: count, p50 / p99 / max ms, errors", probeEvery),
		func(r *stormResult) string { return probeCell(r.base) })
	line("the same from node 0 accepting AMQP again until the end", func(r *stormResult) string { return probeCell(r.probe) })
	line("the slowest of those began, ms after node 0 accepted AMQP (the probe's first handshake)", func(r *stormResult) string {
		return fmt.Sprintf("%.0f (%.0f)", r.probe.slowest+ms(r.probe.upAt.Sub(r.t0)), ms(r.probe.upAt.Sub(r.t0)))
	})
	line("publishes: returned 1 / 2 (spooled) / -1 / no SIP answer", func(r *stormResult) string {
		return fmt.Sprintf("%d / %d / %d / %d", sum(r, func(s instanceStorm) int { return s.ok }),
			sum(r, func(s instanceStorm) int { return s.spooled }), sum(r, func(s instanceStorm) int { return s.failed }),
			sum(r, func(s instanceStorm) int { return s.noReply }))
	})
	line("**missing** from the durable queue (returned 1 or 2)", func(r *stormResult) string {
		return strconv.Itoa(sum(r, func(s instanceStorm) int { return s.missing }))
	})
	line("arrived twice; arrived though not returned 1 or 2", func(r *stormResult) string {
		return fmt.Sprintf("%d; %d", r.duplicates, r.extra)
	})
	line("ERROR or CRITICAL lines in Kamailio's logs, all instances", func(r *stormResult) string {
		return strconv.Itoa(sum(r, func(s instanceStorm) int { return s.errLines }))
	})
}

// maxSpread prints "max (min..max)" of the finite values, "n/a" when there is none.
func maxSpread(v []float64) string {
	s := finite(v)
	if len(s) == 0 {
		return "n/a"
	}
	sort.Float64s(s)
	m := fmt.Sprintf("%.0f", s[len(s)-1])
	if len(s) != len(v) {
		m += fmt.Sprintf(" (%d not back)", len(v)-len(s))
	}
	return fmt.Sprintf("%s (%.0f..%.0f)", m, s[0], s[len(s)-1])
}

// renderStormInstances: one line per instance of one module.
func renderStormInstances(b *strings.Builder, mod string, r *stormResult) {
	if r == nil {
		return
	}
	fmt.Fprintf(b, "\n%s, per instance (ms after node 0 accepted AMQP):\n\n", mod)
	b.WriteString("| instance | node 0 conns before (UDP workers / consumers / other) | after | first back | all back | last back | jitter | published 1 / 2 / -1 / no answer | missing | ERROR lines |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	num := func(x float64) string {
		if x != x {
			return "n/a"
		}
		return fmt.Sprintf("%.0f", x)
	}
	for i, s := range r.inst {
		fmt.Fprintf(b, "| %d storm%d | %d (%d / %d / %d) | %d | %s | %s | %s | %s | %d / %d / %d / %d | %d | %d |\n", i, i, s.before,
			kindCount(s, 1), kindCount(s, 2), kindCount(s, 0),
			s.after, num(s.first), num(s.back), num(s.last), num(s.last-s.first), s.ok, s.spooled, s.failed, s.noReply,
			s.missing, s.errLines)
	}
}

func kindCount(s instanceStorm, kind int) int { return s.beforeKinds[kind] }
