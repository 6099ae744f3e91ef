package broker

import amqp "github.com/rabbitmq/amqp091-go"

// Session is one open AMQP connection of a Conn, from its open to its loss (Options.OnChange
// reports each): the consumers started on it end with it, and the broker requeues what they
// had not acknowledged. Its identity tells one connection of a Conn from the next.
type Session struct {
	c    *Conn
	conn *amqp.Connection
}

// Conn is the broker connection the session belongs to.
func (s *Session) Conn() *Conn { return s.c }

// Closed tells whether the session's connection is gone.
func (s *Session) Closed() bool { return s.conn.IsClosed() }
