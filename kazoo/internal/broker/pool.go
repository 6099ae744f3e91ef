package broker

import (
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Pool is every broker of a process. Publishes go to the first open broker of the primary
// zone in declaration order (the C module's failover rule).
type Pool struct {
	conns   []*Conn
	replies *replyRouter
}

// NewPool connects to every broker in the background.
func NewPool(brokers []config.Broker, opt Options, log *klog.Logger) *Pool {
	p := &Pool{replies: newReplyRouter()}
	for _, b := range brokers {
		p.conns = append(p.conns, NewConn(b, opt, log, p.replies))
	}
	return p
}

// Conns lists the connections in declaration order.
func (p *Pool) Conns() []*Conn { return p.conns }

// Close stops every connection.
func (p *Pool) Close() {
	for _, c := range p.conns {
		c.Close()
	}
}

// pick returns the first open primary-zone connection that the broker does not block; when
// none is open but one is still in its very first attempt (the process just started), it
// waits for that attempt, so the first requests after a start are not failed for nothing.
// blocked is the first open but blocked connection, for the error message.
func (p *Pool) pick(deadline time.Time) (c, blocked *Conn) {
	for {
		var pending *Conn
		for _, c := range p.conns {
			if c.Broker.Zone != "" {
				continue
			}
			switch st, _ := c.State(); st {
			case Open:
				if _, isBlocked := c.Blocked(); isBlocked {
					if blocked == nil {
						blocked = c
					}
					continue
				}
				return c, nil
			case Connecting:
				if pending == nil {
					pending = c
				}
			}
		}
		if pending == nil {
			return nil, blocked
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-pending.firstDone:
			t.Stop()
		case <-t.C:
			return nil, blocked
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

// ByID returns the broker with that id (1, 2, ... in declaration order), open or not.
func (p *Pool) ByID(id int) *Conn {
	if id < 1 || id > len(p.conns) {
		return nil
	}
	return p.conns[id-1]
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
