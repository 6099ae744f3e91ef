package module

import (
	"errors"
	"sync"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// spool keeps this process's publishes while no broker is connected (amqp_spool_max > 0)
// and sends them in order once one is. While it holds anything, new publishes queue behind
// it, so the order of a process's publishes is kept across an outage. What the broker
// refuses when the spool is flushed (an exchange deleted meanwhile) is logged and dropped:
// the script that published it got 2 long ago.
type spool struct {
	m   *Module
	max int

	mu       sync.Mutex
	items    []broker.Message
	flushing bool
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
	s.items = append(s.items, msg)
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
		msg := s.items[0]
		s.mu.Unlock()
		err := s.m.Pool.Publish(msg, time.Now().Add(s.m.Cfg.PublishTimeout))
		var se *status.Error
		if err != nil && errors.As(err, &se) && (se.Code == status.NoBroker || se.Code == status.Timeout) {
			time.Sleep(100 * time.Millisecond) // not sent: keep it first in line
			continue
		}
		if err != nil {
			s.m.Log.Errorf("spooled publish to exchange '%s' with routing key '%s' dropped: %v", msg.Exchange, msg.RoutingKey, err)
		}
		s.mu.Lock()
		s.items[0] = broker.Message{}
		s.items = s.items[1:]
		s.mu.Unlock()
	}
}
