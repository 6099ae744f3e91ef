package module

import (
	"errors"
	"sync"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/payload"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// spool keeps this process's publishes while no broker is connected (amqp_spool_max > 0)
// and sends them in order once one is. While it holds anything, new publishes queue behind
// it, so the order of a process's publishes is kept across an outage. What the broker
// refuses when the spool is flushed (an exchange deleted meanwhile) is logged and dropped:
// the script that published it got 2 long ago.
//
// A spooled message's Server-ID, unless the script set its own, is set when it is sent,
// to the one of the broker that sends it (Conn.ServerID): a reply comes back there.
type spool struct {
	m   *Module
	max int

	mu        sync.Mutex
	items     []spooled
	flushing  bool
	offerNorm payload.Normalizer // guarded by mu
	flushNorm payload.Normalizer // the flushing goroutine's
}

type spooled struct {
	msg         broker.Message
	ownServerID bool // the Server-ID is the module's to set (the script set none)
}

// offer spools msg (its body is copied): a Spooled status, or a SpoolFull error when the
// spool is full.
func (s *spool) offer(msg broker.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) >= s.max {
		return status.Errorf(status.SpoolFull, "no AMQP broker connected and the publish spool is full (amqp_spool_max %d)", s.max)
	}
	msg.Body = append([]byte(nil), msg.Body...)
	s.items = append(s.items, spooled{msg: msg, ownServerID: s.ownServerID(msg.Body)})
	if !s.flushing {
		s.flushing = true
		go s.flush()
	}
	return status.Errorf(status.Spooled, "spooled")
}

// pending reports whether publishes are waiting (new ones must queue behind them).
func (s *spool) pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items) > 0
}

func (s *spool) flush() {
	for {
		s.mu.Lock()
		if len(s.items) == 0 {
			s.flushing = false
			s.mu.Unlock()
			return
		}
		item := s.items[0]
		s.mu.Unlock()
		err := s.send(item)
		var se *status.Error
		if err != nil && errors.As(err, &se) && (se.Code == status.NoBroker || se.Code == status.Timeout) {
			time.Sleep(100 * time.Millisecond) // not sent: keep it first in line
			continue
		}
		if err != nil {
			s.m.Log.Errorf("spooled publish to exchange '%s' with routing key '%s' dropped: %v", item.msg.Exchange, item.msg.RoutingKey, err)
		}
		s.mu.Lock()
		s.items[0] = spooled{}
		s.items = s.items[1:]
		s.mu.Unlock()
	}
}

// ownServerID tells whether body's Server-ID is the module's: none (the spool sets it when
// it sends the message), or the one a broker's publish added before that broker was lost.
func (s *spool) ownServerID(body []byte) bool {
	sid, ok := s.offerNorm.TopLevelText(body, "Server-ID")
	if !ok {
		return true
	}
	for _, c := range s.m.Pool.Conns() {
		if sid == c.ServerID() {
			return true
		}
	}
	return false
}

// send publishes item through the first open broker, with that broker's Server-ID unless
// the script set its own, and waits for the confirm.
func (s *spool) send(item spooled) error {
	deadline := time.Now().Add(s.m.Cfg.PublishTimeout)
	c, err := s.m.Pool.Pick(deadline)
	if err != nil {
		return err
	}
	msg := item.msg
	if item.ownServerID {
		// a spooled body is the module's completed payload: Set cannot fail on it
		body, err := s.flushNorm.Set(nil, msg.Body, []payload.Member{{Key: "Server-ID", Value: c.ServerID()}})
		if err != nil {
			return status.Errorf(status.Internal, "BUG: spooled payload: %v", err)
		}
		msg.Body = body
	}
	return c.Publish(msg, deadline)
}
