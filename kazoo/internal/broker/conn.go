// Package broker owns the AMQP side of one Kamailio process: one connection per broker,
// a publishing channel with publisher confirms, reconnects, the hand-off that lets a
// SIP worker wait for a confirm with a bound on its time, and for consumer workers the
// declarations, consumers, acknowledgements and returned messages of subscriptions. It is
// the only package that talks to a broker through amqp091-go (config uses its URI parser).
//
// Only goroutines of this package touch amqp091-go objects. A caller (the SIP worker's own
// thread, inside a cgo call) hands a request to the connection's publisher goroutine and
// waits on channels with a deadline, so a broker that stops reading (TCP back-pressure,
// connection.blocked) costs the caller at most its timeout, never a stuck worker.
package broker

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
)

// State of a broker connection.
type State int32

const (
	Connecting State = iota // first attempt under way
	Open                    // a publishing channel is usable
	Down                    // lost or never reached; retrying with backoff
	Stopped
	Idle // never started: this process has not needed the broker yet (Pool connects on demand)
)

func (s State) String() string {
	return [...]string{"connecting", "open", "down", "stopped", "idle"}[s]
}

// Options shared by every connection of a process.
type Options struct {
	Heartbeat      time.Duration
	ConnectTimeout time.Duration
	WriteTimeout   time.Duration // bound on every socket write (the publish timeout)
	ConnectionName string        // shown by rabbitmqctl list_connections
	Node           string        // kamailio@<node_hostname>, for reply queue names and Server-IDs
	Reconnect      Retry         // the waits between connect attempts (zero: reconnectRetry)
	// OnChange, when set, is called from the connection's own goroutine after it opened
	// (open=true, s is the new session, for consumers) and after it was lost or a connect
	// attempt failed (open=false, s nil, reason says why). It must not block: consumers
	// start their own goroutines from it.
	OnChange func(c *Conn, open bool, s *Session, reason string)
	// OnRetry, when set, is called from the connection's own goroutine before it waits to
	// connect again (wait: how long), after a failed attempt or a lost connection. It must
	// not block.
	OnRetry    func(c *Conn, wait time.Duration)
	TLS        *tls.Config // amqps:// connections
	Persistent bool        // publish with delivery mode 2
	Mandatory  bool        // publish with the mandatory flag (amqp_publish_mandatory)
	// OnReturn, when set, gets the messages other than queries that the broker returned
	// as unroutable (mandatory publishes), on the channel's goroutine.
	OnReturn func(c *Conn, r Returned)
	// MaxBody (amqp_max_payload) is the largest message body a connection takes in: a
	// larger one arrives with an empty body, its bytes dropped unread (see frameLimitConn);
	// TakeOversized tells it from an empty message. 0: no limit.
	MaxBody uint64
	// ConsumeRetry is how a consumer retries a subscription channel that failed (see
	// consumeRetry, the default).
	ConsumeRetry Retry
	// ReplyRetry is how the reply queue is set up again on an open connection after a
	// failure or the broker's basic.cancel (see replyRetry, the default).
	ReplyRetry Retry
	// Dial, when set, opens the byte stream to a broker instead of a TCP connect (tests
	// use an in-process fake, amqpfake): TLS, the write deadlines and the frame limiter
	// still run above it. nil: net.DialTimeout.
	Dial func(network, addr string) (net.Conn, error)
}

// Conn is one broker: its connection, its publishing channel and their goroutines.
type Conn struct {
	Broker config.Broker
	opt    Options
	log    *klog.Logger

	errors    atomic.Int64           // failed connects and losses since start
	blocked   atomic.Pointer[string] // the broker's reason while it blocks the connection
	state     atomic.Int32
	since     atomic.Int64  // unix nanos of the last state change
	firstDone chan struct{} // closed when the first connect attempt ended, either way
	firstOnce sync.Once
	startOnce sync.Once

	mu        sync.Mutex
	conn      *amqp.Connection // nil unless Open
	session   *Session         // conn's, for consumers; nil unless Open
	oversized *oversizedLog    // what conn's frame limiter dropped

	pubMu sync.Mutex  // serialises publishes; guards pub and qpub
	pub   *pubChannel // the confirm-mode channel publishes go to
	qpub  *pubChannel // the channel query requests go to: no confirms, the reply is the proof
	// confirmNotify, while a publish of this process waits in C for its confirm, wakes it
	confirmNotify atomic.Pointer[func()]

	replyQueue   string
	replies      *replyRouter
	repliesReady atomic.Bool // the reply queue is consumed: queries may start
	// repliesMu orders keepReplies' changes of repliesReady with the end of its connection
	repliesMu sync.Mutex

	// the Server-ID of publishes and its queue (serverid.go)
	serverID, serverIDQueue string

	stop chan struct{}
}

// pubChannel is a publishing channel plus what closed it.
type pubChannel struct {
	ch       *amqp.Channel
	closed   chan struct{} // closed once closeErr is set
	closeErr *amqp.Error   // nil when closed by us
	// connLost: closed because its connection was (closeErr is then the connection's),
	// not by a channel exception of the broker
	connLost bool
}

// NewConn starts the goroutines of one broker connection; it returns at once.
func NewConn(b config.Broker, opt Options, log *klog.Logger, replies *replyRouter) *Conn {
	c := newIdleConn(b, opt, log, replies)
	c.Start()
	return c
}

// newIdleConn is a connection that connects once Start is called.
func newIdleConn(b config.Broker, opt Options, log *klog.Logger, replies *replyRouter) *Conn {
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 5 * time.Second
	}
	opt.Reconnect = opt.Reconnect.orDefault(reconnectRetry)
	opt.ConsumeRetry = opt.ConsumeRetry.orDefault(consumeRetry)
	opt.ReplyRetry = opt.ReplyRetry.orDefault(replyRetry)
	c := &Conn{Broker: b, opt: opt, log: log, firstDone: make(chan struct{}),
		stop: make(chan struct{}), replies: replies,
		replyQueue: fmt.Sprintf("%s-%d-%d", opt.Node, os.Getpid(), b.ID)}
	c.serverID, c.serverIDQueue = serverIDNames(opt.Node, b.ID)
	c.setState(Idle)
	return c
}

// Start begins connecting (in the background) unless it already has or the connection
// was closed; it returns at once.
func (c *Conn) Start() {
	c.startOnce.Do(func() {
		select {
		case <-c.stop:
			return
		default:
		}
		c.setState(Connecting)
		go c.maintain()
	})
}

// WaitFirstAttempt starts the connection if it is idle and waits until its first connect
// attempt ended or the deadline passed.
func (c *Conn) WaitFirstAttempt(deadline time.Time) {
	c.Start()
	if st, _ := c.State(); st == Connecting {
		waitFirstAttempts([]*Conn{c}, deadline)
	}
}

// State reports the connection state and since when.
func (c *Conn) State() (State, time.Time) {
	return State(c.state.Load()), time.Unix(0, c.since.Load())
}

func (c *Conn) setState(s State) {
	c.state.Store(int32(s))
	c.since.Store(time.Now().UnixNano())
}

// Close stops the goroutines and closes the connection.
func (c *Conn) Close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.startOnce.Do(func() { c.setState(Stopped) }) // never started: it never will be
}

// Errors counts failed connects and lost connections since the process started.
func (c *Conn) Errors() int64 { return c.errors.Load() }

// Current is the open AMQP connection, or nil.
func (c *Conn) Current() *amqp.Connection { return c.current() }

func (c *Conn) current() *amqp.Connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

// Session is the open connection's session (what consumers run on), or nil.
func (c *Conn) Session() *Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

func (c *Conn) setCurrent(s *Session, oversized *oversizedLog) {
	c.mu.Lock()
	c.session, c.oversized = s, oversized
	c.conn = nil
	if s != nil {
		c.conn = s.conn
	}
	c.mu.Unlock()
}

// TakeOversized tells whether the delivery with that consumer tag and delivery tag, which
// arrived with an empty body on the current connection, had its body dropped because it
// was larger than Options.MaxBody; the record is forgotten (each delivery is looked up
// once). A consumer calls it only for empty bodies.
func (c *Conn) TakeOversized(consumerTag string, deliveryTag uint64) (*Oversized, bool) {
	c.mu.Lock()
	seen := c.oversized
	c.mu.Unlock()
	return seen.take(consumerTag, deliveryTag)
}

func (c *Conn) endFirstAttempt() { c.firstOnce.Do(func() { close(c.firstDone) }) }

// maintain keeps a connection and a publishing channel open, reconnecting with jittered
// exponential backoff (Options.Reconnect).
func (c *Conn) maintain() {
	failures := 0
	for {
		conn, oversized, err := c.dial()
		if err != nil {
			failures++
			c.errors.Add(1)
			c.setState(Down)
			c.endFirstAttempt()
			// the first failure and then every 10th: a dead broker must not flood the log
			if failures == 1 || failures%10 == 0 {
				c.log.Errorf("cannot connect to AMQP broker %s (attempt %d, retrying): %v", c.Broker.Masked(), failures, err)
			}
			c.changed(false, nil, err.Error())
			if !c.sleep(c.retryAfter(c.opt.Reconnect.Delay(failures - 1))) {
				return
			}
			continue
		}
		if failures > 0 {
			c.log.Infof("connected to AMQP broker %s after %d failed attempts", c.Broker.Masked(), failures)
		} else {
			c.log.Infof("connected to AMQP broker %s", c.Broker.Masked())
		}
		failures = 0
		// subscribed before anything can close conn: subscribed after its end, amqp091 gives
		// no reason (serve reported "connection closed" for a 320 that came early)
		closed := conn.NotifyClose(make(chan *amqp.Error, 1))
		blocked := conn.NotifyBlocked(make(chan amqp.Blocking, 4))
		// the reply queue is set up before the connection counts as open, and kept up
		// (set up again after a failure or a basic.cancel) until it ends: done
		done := make(chan struct{})
		ended, err := c.setupReplies(conn, oversized)
		if err == nil {
			c.repliesReady.Store(true)
		}
		go c.keepReplies(conn, oversized, done, ended, err)
		session := &Session{c: c, conn: conn}
		c.setCurrent(session, oversized)
		c.setState(Open)
		c.endFirstAttempt()
		c.changed(true, session, "")
		reason := c.Broker.Redact(c.serve(closed, blocked))
		c.repliesMu.Lock()
		close(done)
		c.repliesReady.Store(false)
		c.repliesMu.Unlock()
		c.setCurrent(nil, nil)
		_ = conn.Close()
		select {
		case <-c.stop:
			c.setState(Stopped)
			c.changed(false, nil, reason)
			return
		default:
		}
		// state first: the "closed" event's routes read the counters ($xavp(amqpc))
		c.setState(Down)
		c.errors.Add(1)
		c.changed(false, nil, reason)
		c.log.Errorf("lost AMQP broker %s: %s; reconnecting", c.Broker.Masked(), reason)
		if !c.sleep(c.retryAfter(c.opt.Reconnect.Delay(0))) {
			return
		}
	}
}

// retryAfter tells Options.OnRetry of the wait before the next attempt, and returns it.
func (c *Conn) retryAfter(wait time.Duration) time.Duration {
	if c.opt.OnRetry != nil {
		c.opt.OnRetry(c, wait)
	}
	return wait
}

func (c *Conn) changed(open bool, s *Session, reason string) {
	if c.opt.OnChange != nil {
		c.opt.OnChange(c, open, s, reason)
	}
}

// dial opens a connection whose reads go through a frame limiter (Options.MaxBody); for
// amqps:// the limiter reads the decrypted stream, so this does the TLS handshake itself
// and gives amqp091 the URL with the scheme amqp:// (amqp091 would otherwise put TLS
// above the limiter).
func (c *Conn) dial() (*amqp.Connection, *oversizedLog, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(c.opt.ConnectionName)
	tcp := dialer(c.opt.ConnectTimeout, c.opt.WriteTimeout, c.opt.Dial)
	url := c.Broker.URL
	var limited *frameLimitConn
	cfg := amqp.Config{
		Heartbeat:  c.opt.Heartbeat,
		Properties: props,
		Dial: func(network, addr string) (net.Conn, error) {
			var conn net.Conn
			var err error
			if c.Broker.URI.Scheme == "amqps" {
				conn, err = dialTLS(tcp, c.Broker.URI, c.opt.TLS)
			} else {
				conn, err = tcp(network, addr)
			}
			if err != nil {
				return nil, err
			}
			if c.opt.MaxBody == 0 {
				return conn, nil
			}
			limited = newFrameLimitConn(conn, c.opt.MaxBody)
			return limited, nil
		},
	}
	if c.Broker.URI.Scheme == "amqps" {
		url = plaintextScheme(url)
	}
	conn, err := amqp.DialConfig(url, cfg)
	if err != nil && limited != nil {
		if cause := limited.firstCause(); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (first: %v)", err, cause)
		}
	}
	if err != nil || limited == nil {
		return conn, nil, c.Broker.RedactError(err) // it goes to the log and to connection events
	}
	return conn, limited.seen, nil
}

// serve waits until the connection dies (connClosed, its NotifyClose) or the module stops;
// returns why.
// It also follows connection.blocked: while the broker blocks this connection (a memory or
// disk alarm), requests go to another open broker or fail at once instead of each waiting
// out its timeout.
func (c *Conn) serve(connClosed <-chan *amqp.Error, blocked <-chan amqp.Blocking) string {
	defer c.blocked.Store(nil)
	for {
		select {
		case <-c.stop:
			return "module stopping"
		case b := <-blocked:
			if b.Active {
				reason := b.Reason
				c.blocked.Store(&reason)
				c.log.Errorf("AMQP broker %s blocked this connection (%s): requests go elsewhere or fail until it unblocks", c.Broker.Masked(), b.Reason)
			} else if c.blocked.Swap(nil) != nil {
				c.log.Infof("AMQP broker %s unblocked this connection", c.Broker.Masked())
			}
		case e := <-connClosed:
			if e == nil {
				return "connection closed"
			}
			return e.Error()
		}
	}
}

// Blocked returns the broker's reason while it blocks this connection (connection.blocked).
func (c *Conn) Blocked() (string, bool) {
	if r := c.blocked.Load(); r != nil {
		return *r, true
	}
	return "", false
}

// openPubChannel opens a confirm-mode channel. Publish opens one when there is none or the
// broker closed the last one (a channel error such as 404 for an unknown
// exchange kills only the channel: the publish that caused it is reported to its caller,
// and the next publish gets a fresh channel, where the C module kept using the dead one and
// silently lost later publishes).
func (c *Conn) openPubChannel(conn *amqp.Connection, confirm bool) (*pubChannel, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if confirm {
		if err := ch.Confirm(false); err != nil {
			_ = ch.Close()
			return nil, err
		}
		// every confirm (and the channel's end, which settles the pending ones) may be
		// the one a process waits for in C
		confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 64))
		go func() {
			for range confirms {
				c.notifyConfirm()
			}
			c.notifyConfirm()
		}()
	}
	pc := &pubChannel{ch: ch, closed: make(chan struct{})}
	go c.watchReturns(ch.NotifyReturn(make(chan amqp.Return, 16)))
	notify := ch.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		pc.closeErr = <-notify
		// amqp091 marks the connection closed before it closes its channels; a channel
		// exception has a soft code (404, 406...), a connection's error a hard one
		pc.connLost = conn.IsClosed() && (pc.closeErr == nil || !pc.closeErr.Recover)
		close(pc.closed)
		c.replies.failChannel(pc) // queries sent on it wait no longer
	}()
	return pc, nil
}

func (pc *pubChannel) isClosed() bool {
	select {
	case <-pc.closed:
		return true
	default:
		return false
	}
}

func (c *Conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.stop:
		return false
	case <-t.C:
		return true
	}
}

// DefaultConnectionName names this process's connections in the broker's UI.
func DefaultConnectionName(node, process string) string {
	return fmt.Sprintf("%s pid %d %s", node, os.Getpid(), process)
}
