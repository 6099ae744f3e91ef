package broker

import (
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// keepAlive and userTimeout notice a broker host that is gone (powered off, a cable pulled,
// a partition) in the kernel, without waking the process as heartbeats do: an idle
// connection is probed after keepAlive.Idle and dropped after Count unanswered probes; data
// left unacknowledged for userTimeout drops it too. A broker whose host answers but which
// does not (frozen) is the heartbeat's to notice.
var keepAlive = net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}

const userTimeout = 25 * time.Second

// tcpUserTimeoutOpt is Linux's TCP_USER_TIMEOUT (linux/tcp.h), which package syscall lacks.
const tcpUserTimeoutOpt = 18

// setUserTimeout sets TCP_USER_TIMEOUT on a socket before it connects.
func setUserTimeout(network, _ string, rc syscall.RawConn) error {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil
	}
	var serr error
	err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeoutOpt, int(userTimeout/time.Millisecond))
	})
	if err != nil {
		return err
	}
	return serr
}

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
		return n, err
	}
	// a deadline left set fires its timer when it passes, waking an idle process for nothing
	_ = c.Conn.SetWriteDeadline(time.Time{})
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
		d := net.Dialer{Timeout: connectTimeout, KeepAliveConfig: keepAlive, Control: setUserTimeout}
		connect = d.Dial
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
