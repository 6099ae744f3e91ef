package broker

import (
	"fmt"
	"net"
	"sync/atomic"
	"time"
)

// deadlineConn bounds every write: a broker that stops reading (TCP back-pressure, a
// connection.blocked memory alarm, a half-open connection) makes the write fail after
// timeout instead of holding the publishing Kamailio process. A failed write closes the
// connection underneath at once: the stream may end inside a frame, and amqp091-go shuts a
// connection down when a frame write fails but not when the flush of a buffered publish
// does, which would leave the dead connection open (and picked) until its next write. Its
// reader then fails, amqp091 closes the connection and maintain() reconnects; the reads
// and writes that follow give the failed write as their error, so that it is the reason
// reported.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
	failed  atomic.Pointer[error] // the write error that closed the connection
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	if err := c.closedBy(); err != nil {
		return 0, err
	}
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(b)
	if err != nil {
		c.failed.CompareAndSwap(nil, &err)
		_ = c.Conn.Close()
	}
	return n, err
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil {
		if failed := c.closedBy(); failed != nil {
			return n, failed
		}
	}
	return n, err
}

// closedBy is the error of the reads and writes after a failed write closed the connection.
func (c *deadlineConn) closedBy() error {
	if p := c.failed.Load(); p != nil {
		return fmt.Errorf("connection closed after a failed write: %w", *p)
	}
	return nil
}

// dialer is amqp.DefaultDial with writes bounded by writeTimeout; connect (nil:
// net.DialTimeout) opens the connection underneath (Options.Dial).
func dialer(connectTimeout, writeTimeout time.Duration, connect func(network, addr string) (net.Conn, error)) func(network, addr string) (net.Conn, error) {
	if connect == nil {
		connect = func(network, addr string) (net.Conn, error) { return net.DialTimeout(network, addr, connectTimeout) }
	}
	return func(network, addr string) (net.Conn, error) {
		conn, err := connect(network, addr)
		if err != nil {
			return nil, err
		}
		// the AMQP handshake must not stall on a dead server either (amqp091 clears the
		// deadline once the connection is open)
		if err := conn.SetDeadline(time.Now().Add(connectTimeout)); err != nil {
			return nil, err
		}
		return &deadlineConn{Conn: conn, timeout: writeTimeout}, nil
	}
}
