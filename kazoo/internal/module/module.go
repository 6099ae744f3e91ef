// Package module is the Go side of kazoo.so in one Kamailio process: what the script
// functions do, independent of cgo so that it runs under `go test`. kazoo/exports.go is the
// only caller, on the thread of the Kamailio process that called the script function.
package module

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Module is one process's state.
type Module struct {
	Cfg  *config.Config
	Log  *klog.Logger
	Pool *broker.Pool

	worker atomic.Pointer[Worker] // set in consumer worker processes
	// statusChanged tells the shim that AppendStatus's counters changed
	statusChanged atomic.Pointer[func()]
	spool         *spool      // amqp_spool_max > 0
	status        *statusArea // this process's slot of the RPC status table
	keys          statusKeys  // $xavp(amqpc) names

	// mu: Kamailio processes call from one thread, but the goroutine that learns a call's
	// outcome completes it (callState.deliver) with the scratch buffers below
	mu   sync.Mutex
	norm payload.Normalizer
	// the query StartQuery began and FinishQuery collects, and the same for the publish
	// (a process runs one of each at a time); qcall and pcall are their broker sides
	syncQuery, syncPublish callState
	qcall                  queryCall
	pcall                  publishCall
	// scratch buffers reused by every publish of this process
	strict, body, msgID, reply []byte
	fields                     []payload.Field
}

// New prepares the broker connections of this process: they connect when first needed,
// or at once (in the background) with amqp_connect_at_start.
func New(cfg *config.Config, log *klog.Logger) *Module { return newModule(cfg, log, nil) }

// newModule is New with dial, when not nil, opening the byte streams to the brokers
// (tests: amqpfake).
func newModule(cfg *config.Config, log *klog.Logger, dial func(network, addr string) (net.Conn, error)) *Module {
	opt := broker.Options{
		Dial:           dial,
		Heartbeat:      cfg.HeartbeatFor(),
		ConnectTimeout: cfg.ConnectTimeout,
		WriteTimeout:   cfg.PublishTimeout,
		ConnectionName: broker.DefaultConnectionName(cfg.Node(), cfg.Process),
		Node:           cfg.Node(),
	}
	m := &Module{Cfg: cfg, Log: log, status: &statusArea{}}
	m.syncQuery, m.qcall = newCallState(&m.mu, "query", log), queryCall{m: m}
	m.syncPublish, m.pcall = newCallState(&m.mu, "publish", log), publishCall{m: m}
	opt.OnChange = m.connChanged
	opt.OnRetry = m.connRetrying
	opt.Persistent = cfg.PublishPersistent
	opt.Mandatory = cfg.PublishMandatory
	opt.OnReturn = m.returned
	opt.MaxBody = uint64(max(cfg.MaxPayload, 0))
	tc, err := broker.TLSConfig(cfg.TLS)
	if err != nil && cfg.UsesTLS() {
		log.Errorf("amqps connections: %v", err)
	}
	opt.TLS = tc
	m.Pool = broker.NewPool(cfg.Brokers, opt, log)
	if cfg.ConnectAtStart {
		m.Pool.ConnectAll()
	}
	if cfg.SpoolMax > 0 {
		m.spool = &spool{m: m, max: cfg.SpoolMax}
	}
	return m
}

// Close stops the broker connections.
func (m *Module) Close() { m.Pool.Close() }

// Publish is kazoo_publish, waiting in Go for the confirm (StartPublish and FinishPublish
// are the same for a caller that waits in C). The slices are views of the caller's memory,
// valid only during the call.
func (m *Module) Publish(exchange, routingKey, body, headers []byte) error {
	waiting, err := m.StartPublish(exchange, routingKey, body, headers, nil, -1, nil)
	if !waiting {
		return err
	}
	timer := time.NewTimer(m.Cfg.PublishTimeout)
	defer timer.Stop()
	timedOut := false
	select {
	case <-m.pcall.p.Confirmed():
	case <-timer.C:
		timedOut = true
	}
	_, err = m.FinishPublish(timedOut)
	return err
}

// StartPublish begins kazoo_publish: payload in the lenient JSON dialect, completed with
// App-Name, App-Version, Node, Msg-ID and Server-ID where absent, is sent to be confirmed. waiting is
// true when it was sent: at each confirm, the outcome, once known, is written to out (may be
// nil) and notifyFD (an eventfd of the calling process; -1: none) is written to;
// FinishPublish collects the outcome when out did not get it. Otherwise err is the outcome
// (also the Spooled status). headers are AMQP headers, or the fork's publish flags when
// they are digits only (kazoo_publish/4); forkFlags are kazoo_publish/5's flags (digits or
// empty). Of the flags only 2048, mandatory, is read. The slices are views of the caller's
// memory, valid only during the call.
func (m *Module) StartPublish(exchange, routingKey, body, headers, forkFlags []byte, notifyFD int, out Outcome) (waiting bool, err error) {
	flags, isFlags := forkPublishFlags(headers) // kazoo_publish/4's fork form
	if isFlags {
		headers = nil
	}
	if len(bytes.TrimSpace(forkFlags)) > 0 { // kazoo_publish/5
		n, ok := forkPublishFlags(forkFlags)
		if !ok {
			return false, status.Errorf(status.Argument, "publish flags %q are not a number (2048: mandatory)", forkFlags)
		}
		flags |= n
	}
	hdrs, err := m.checkRequest(exchange, routingKey, body, headers)
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncPublish.begin()
	if err := m.normalize(body); err != nil {
		return false, err
	}
	var notify func()
	if notifyFD >= 0 {
		notify = m.syncPublish.notifier(notifyFD)
	}
	deadline := time.Now().Add(m.Cfg.PublishTimeout)
	msg := broker.Message{Exchange: string(exchange), RoutingKey: string(routingKey), Headers: hdrs,
		Mandatory: flags&forkMandatory != 0}
	var conn *broker.Conn
	spoolable := true
	if id, rk, ok := consumerRoute(routingKey); ok {
		// a reply to a consumed message goes back through the broker it came from
		if conn = m.Pool.ByID(id, deadline); conn == nil {
			return false, status.Errorf(status.Argument, "routing key %q names broker %d, but %d are configured", routingKey, id, len(m.Pool.Conns()))
		}
		msg.RoutingKey = rk
		spoolable = false // it must go through that broker, now
	} else if m.spool != nil && m.spool.pending() {
		return false, m.spoolCompleted(msg) // behind what waits in the spool
	} else if conn, err = m.Pool.Pick(deadline); err != nil {
		if m.spool == nil || status.CodeOf(err) != status.NoBroker {
			return false, err
		}
		return false, m.spoolCompleted(msg)
	}
	// the Server-ID names the broker the message goes through: a reply comes back there
	if err := m.complete(conn.ServerID()); err != nil {
		return false, err
	}
	msg.Body = m.body
	p, err := conn.StartPublish(msg, notify)
	if err != nil {
		if !spoolable {
			return false, err
		}
		return false, m.spoolIfNoBroker(msg, err)
	}
	m.pcall.p, m.pcall.msg, m.pcall.spoolable = p, msg, spoolable
	m.syncPublish.started(&m.pcall, out)
	return true, nil
}

// spoolCompleted spools msg with the payload normalize checked, completed without a
// Server-ID: the spool adds the one of the broker that finally sends it.
func (m *Module) spoolCompleted(msg broker.Message) error {
	if err := m.complete(""); err != nil {
		return err
	}
	msg.Body = m.body
	return m.spool.offer(msg)
}

// FinishPublish collects the outcome of the publish StartPublish sent: done false while
// its confirm has not come and timedOut is false.
func (m *Module) FinishPublish(timedOut bool) (done bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncPublish.finish(timedOut)
}

// publishCall is the broker side of the publish StartPublish sent.
type publishCall struct {
	m         *Module
	p         broker.PublishPending
	msg       broker.Message
	spoolable bool // msg goes to the spool if the broker is lost
}

func (c *publishCall) finish(timedOut bool) (done bool, err error) {
	p := &c.p
	done, err = p.Result()
	if !done {
		if !timedOut {
			return false, nil
		}
		err = p.TimedOut()
	}
	p.Done()
	*p = broker.PublishPending{}
	if err != nil && c.spoolable {
		err = c.m.spoolIfNoBroker(c.msg, err)
	}
	return true, err
}

func (c *publishCall) abandon() {
	c.p.Done()
	c.p = broker.PublishPending{}
}

func (c *publishCall) reply() []byte { return nil }

// spoolIfNoBroker spools msg when err says no broker takes publishes and a spool is set.
func (m *Module) spoolIfNoBroker(msg broker.Message, err error) error {
	if m.spool != nil && status.CodeOf(err) == status.NoBroker {
		return m.spool.offer(msg)
	}
	return err
}

// forkMandatory is AMQP-CPP's mandatory flag, which 2600hz's fork reads from kazoo_publish's
// 4th argument (their registrar-role passes 2048).
const forkMandatory = 0x800

// forkPublishFlags tells the fork's publish flags (a number) from upstream's AMQP headers
// ("k=v;..."), both passed as kazoo_publish's 4th argument: digits only are flags.
func forkPublishFlags(arg []byte) (int, bool) {
	arg = bytes.TrimSpace(arg)
	if len(arg) == 0 || len(arg) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range arg {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// consumerRoute parses "consumer://<broker id>/<routing key>", the form the C module gives
// to the Server-ID of consumed messages so that a reply goes back through the same broker.
func consumerRoute(rk []byte) (id int, rest string, ok bool) {
	const prefix = "consumer://"
	if !bytes.HasPrefix(rk, []byte(prefix)) {
		return 0, "", false
	}
	num, tail, found := bytes.Cut(rk[len(prefix):], []byte{'/'})
	if !found || len(num) == 0 {
		return 0, "", false
	}
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, "", false
		}
		id = id*10 + int(c-'0')
		if id > 1<<16 {
			return 0, "", false
		}
	}
	return id, string(tail), true
}

// normalize checks body, a JSON object in the lenient dialect, and normalises it into
// m.strict for complete.
func (m *Module) normalize(body []byte) error {
	var err error
	if m.strict, err = m.norm.Normalize(m.strict[:0], body); err != nil {
		return status.Errorf(status.Argument, "payload is not valid JSON: %v", err)
	}
	if m.strict[0] != '{' { // Normalize drops what precedes the value
		return status.Errorf(status.Argument, "payload must be a JSON object: %v", payload.ErrNotObject)
	}
	return nil
}

// complete builds m.body: m.strict with the Kazoo default fields and, unless serverID is
// "", Server-ID added where absent.
func (m *Module) complete(serverID string) error {
	m.msgID = payload.NewMsgID(m.msgID[:0])
	m.fields = m.defaultFields(string(m.msgID))
	if serverID != "" {
		m.fields = append(m.fields, payload.Field{Key: "Server-ID", Value: serverID})
	}
	var err error
	if m.body, err = m.norm.AddMissing(m.body[:0], m.strict, m.fields); err != nil {
		return status.Errorf(status.Argument, "payload must be a JSON object: %v", err)
	}
	return nil
}

// checkRequest checks what publishes and queries share, before any work is done: AMQP's
// name limits, amqp_max_payload, and the header syntax (which it parses).
func (m *Module) checkRequest(exchange, routingKey, body, headers []byte) (broker.Headers, error) {
	if err := checkName("exchange", exchange); err != nil {
		return nil, err
	}
	if err := checkName("routing key", routingKey); err != nil {
		return nil, err
	}
	if len(body) > m.Cfg.MaxPayload {
		return nil, status.Errorf(status.Argument, "payload of %d bytes is larger than amqp_max_payload (%d)", len(body), m.Cfg.MaxPayload)
	}
	return broker.ParseHeaders(headers)
}

// defaultFields are the keys Kazoo expects in every message (kz_api's default headers),
// added when the script's payload lacks them.
func (m *Module) defaultFields(msgID string) []payload.Field {
	return append(m.fields[:0],
		payload.Field{Key: "App-Name", Value: m.Cfg.AppName},
		payload.Field{Key: "App-Version", Value: m.Cfg.AppVersion},
		payload.Field{Key: "Node", Value: m.Cfg.Node()},
		payload.Field{Key: "Msg-ID", Value: msgID},
	)
}

func checkName(what string, b []byte) error {
	if len(b) > broker.MaxShortString {
		return status.Errorf(status.Argument, "%s is %d bytes long, the limit is %d", what, len(b), broker.MaxShortString)
	}
	return nil
}
