package broker

import (
	"net"
	"time"
)

// deadlineConn bounds every write: a broker that stops reading (TCP back-pressure, a
// connection.blocked memory alarm, a half-open connection) makes the write fail after
// timeout instead of holding the publishing Kamailio process. amqp091-go then closes the
// connection and maintain() reconnects.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c deadlineConn) Write(b []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
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
		return deadlineConn{Conn: conn, timeout: writeTimeout}, nil
	}
}
