package broker

import (
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Pool is every broker of a process. Publishes go to the first open broker of the primary
// zone in declaration order (the C module's failover rule).
//
// A pool connects on demand: a broker is connected the first time a request needs it
// (Pick tries the primary zone's brokers in order and starts the next one only when those
// before it failed; ByID starts the one named), so a process that never calls the module
// holds no connection, and a process holds no connection to a failover broker while the
// first one serves. ConnectAll connects every broker at once (consumer processes, and
// amqp_connect_at_start).
type Pool struct {
	conns   []*Conn
	replies *replyRouter
}

// NewPool prepares a connection per broker; none connects before it is needed or
// ConnectAll is called.
func NewPool(brokers []config.Broker, opt Options, log *klog.Logger) *Pool {
	p := &Pool{replies: newReplyRouter()}
	for _, b := range brokers {
		p.conns = append(p.conns, newIdleConn(b, opt, log, p.replies))
	}
	return p
}

// Started tells whether any connection has started.
func (p *Pool) Started() bool {
	for _, c := range p.conns {
		if st, _ := c.State(); st != Idle {
			return true
		}
	}
	return false
}

// ConnectAll starts every connection that has not started yet.
func (p *Pool) ConnectAll() {
	for _, c := range p.conns {
		c.Start()
	}
}

// Conns lists the connections in declaration order.
func (p *Pool) Conns() []*Conn { return p.conns }

// Close stops every connection.
func (p *Pool) Close() {
	for _, c := range p.conns {
		c.Close()
	}
}

// hedgeAfter: a broker whose first attempt has not ended after this long (a node that
// accepts TCP but never answers, a slow remote one) no longer holds back the next one.
const hedgeAfter = 500 * time.Millisecond

// pick returns the first open primary-zone connection that the broker does not block; when
// none is open but one is still in its very first attempt (it was just started), it waits
// for that attempt, so the first requests after a start are not failed for nothing. An
// idle broker is started when every broker before it is down or blocked, or has been in its
// first attempt for hedgeAfter: failover connects on demand. blocked is the first open but
// blocked connection, for the error message.
func (p *Pool) pick(deadline time.Time) (c, blocked *Conn) {
	for {
		var connecting []*Conn // in their first attempt, in declaration order
		idleLeft := false      // an idle broker waits for the first attempts before it
		for _, c := range p.conns {
			if c.Broker.Zone != "" {
				continue
			}
			st, _ := c.State()
			if st == Idle {
				if len(connecting) > 0 && !hedged(connecting[0]) {
					idleLeft = true
					continue
				}
				c.Start()
				st, _ = c.State()
			}
			switch st {
			case Open:
				if _, isBlocked := c.Blocked(); isBlocked {
					if blocked == nil {
						blocked = c
					}
					continue
				}
				return c, nil
			case Connecting:
				connecting = append(connecting, c)
			}
		}
		if len(connecting) == 0 {
			return nil, blocked
		}
		wake := deadline
		if _, since := connecting[0].State(); idleLeft && since.Add(hedgeAfter).Before(wake) {
			wake = since.Add(hedgeAfter)
		}
		if !waitFirstAttempts(connecting, wake) && !time.Now().Before(deadline) {
			return nil, blocked
		}
	}
}

// hedged tells whether c has been in its first attempt for hedgeAfter.
func hedged(c *Conn) bool {
	_, since := c.State()
	return time.Since(since) >= hedgeAfter
}

// waitFirstAttempts waits until one of cs ends its first attempt (true) or until (false).
// With more than one (the rare hedged case) it looks every 10 ms.
func waitFirstAttempts(cs []*Conn, until time.Time) bool {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	if len(cs) == 1 {
		select {
		case <-cs[0].firstDone:
			return true
		case <-t.C:
			return false
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, c := range cs {
			select {
			case <-c.firstDone:
				return true
			default:
			}
		}
		select {
		case <-tick.C:
		case <-t.C:
			return false
		}
	}
}

// Pick returns the broker a request goes to (the first open one of the primary zone), or
// a NoBroker error.
func (p *Pool) Pick(deadline time.Time) (*Conn, error) {
	if len(p.conns) == 0 {
		return nil, status.Errorf(status.NoBroker, "no amqp_connection configured")
	}
	c, blocked := p.pick(deadline)
	if c == nil && blocked != nil {
		reason, _ := blocked.Blocked()
		return nil, status.Errorf(status.NoBroker, "AMQP broker %s blocks publishing (%s)", blocked.Broker.Masked(), reason)
	}
	if c == nil {
		return nil, status.Errorf(status.NoBroker, "no AMQP broker connected (%d configured)", len(p.conns))
	}
	return c, nil
}

// ByID returns the broker with that id (1, 2, ... in declaration order), open or not; an
// idle one is started and its first attempt waited for until deadline.
func (p *Pool) ByID(id int, deadline time.Time) *Conn {
	if id < 1 || id > len(p.conns) {
		return nil
	}
	c := p.conns[id-1]
	c.WaitFirstAttempt(deadline)
	return c
}

// InFlight counts the queries waiting for a reply in this process.
func (p *Pool) InFlight() int { return p.replies.InFlight() }

// Publish sends m to the first open broker and waits for its confirm until deadline.
func (p *Pool) Publish(m Message, deadline time.Time) error {
	c, err := p.Pick(deadline)
	if err != nil {
		return err
	}
	return c.Publish(m, deadline)
}
