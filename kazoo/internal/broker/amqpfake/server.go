package amqpfake

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Server is one fake broker: its exchanges, queues and bindings, shared by its connections.
// Its zero value is not usable; see NewServer.
type Server struct {
	mu        sync.Mutex
	refuse    error
	tls       *tls.Config // amqps: the server side of TLS on each connection
	heartbeat uint16      // seconds, proposed in connection.tune
	onPublish func(*Publish)
	conns     []*Conn
	accepted  chan *Conn

	exchanges map[string]string // name -> type
	queues    map[string]*queue
	bindings  []binding
	genQueue  int

	events eventLog
}

// ErrRefused is what Dial returns while the server refuses connections (Refuse).
var ErrRefused = errors.New("amqpfake: connection refused")

// NewServer starts a fake broker with RabbitMQ's predeclared exchanges.
func NewServer() *Server {
	return &Server{
		accepted: make(chan *Conn, 1024),
		exchanges: map[string]string{"": "direct", "amq.direct": "direct", "amq.topic": "topic",
			"amq.fanout": "fanout", "amq.headers": "headers"},
		queues: map[string]*queue{},
	}
}

// Refuse makes later dials fail with err (ErrRefused when err is nil); Accept undoes it.
// Open connections are not affected.
func (s *Server) Refuse(err error) {
	if err == nil {
		err = ErrRefused
	}
	s.mu.Lock()
	s.refuse = err
	s.mu.Unlock()
}

// Accept lets later dials through again.
func (s *Server) Accept() {
	s.mu.Lock()
	s.refuse = nil
	s.mu.Unlock()
}

// SetHeartbeat sets the heartbeat the server proposes in connection.tune (whole seconds;
// 0: none, the client's choice). The fake sends heartbeats at half the negotiated interval.
func (s *Server) SetHeartbeat(d time.Duration) {
	s.mu.Lock()
	s.heartbeat = uint16(d / time.Second)
	s.mu.Unlock()
}

// OnPublish sets what happens to each message a client publishes to an existing exchange
// (nil: Publish.Default). It runs on the connection's reader goroutine and must not block;
// it may keep p and settle it later from any goroutine.
func (s *Server) OnPublish(f func(p *Publish)) {
	s.mu.Lock()
	s.onPublish = f
	s.mu.Unlock()
}

// SetTLS makes the server speak TLS with cfg (amqps://), for connections dialled after.
func (s *Server) SetTLS(cfg *tls.Config) {
	s.mu.Lock()
	s.tls = cfg
	s.mu.Unlock()
}

// Dial is the broker.Options.Dial of a client of this server: each call is a new
// connection, served until either side closes it.
func (s *Server) Dial(network, addr string) (net.Conn, error) {
	s.mu.Lock()
	refuse, tlsConfig := s.refuse, s.tls
	s.mu.Unlock()
	if refuse != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: refuse}
	}
	client, server := net.Pipe()
	if tlsConfig != nil {
		// TLS writes on the reader goroutine during the handshake: they must not wait for
		// a client that is busy writing its alert (a net.Pipe holds no bytes)
		server = tls.Server(newQueuedWriter(server), tlsConfig)
	}
	c := newConn(s, server)
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	go c.serve()
	return client, nil
}

// Accepted yields each connection once the client opened it (connection.open-ok sent).
func (s *Server) Accepted() <-chan *Conn { return s.accepted }

// WaitAccepted returns the next opened connection, or nil after timeout.
func (s *Server) WaitAccepted(timeout time.Duration) *Conn {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case c := <-s.accepted:
		return c
	case <-t.C:
		return nil
	}
}

// Conns lists every connection dialled so far, open or not.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.conns...)
}

// Close drops every connection abruptly and refuses new ones.
func (s *Server) Close() {
	s.Refuse(nil)
	for _, c := range s.Conns() {
		c.Drop()
	}
}

// Dialer routes each dial to the server of its address ("host:port" of the broker URL);
// other addresses are refused. For a broker.Pool of several fake brokers.
func Dialer(servers map[string]*Server) func(network, addr string) (net.Conn, error) {
	return func(network, addr string) (net.Conn, error) {
		if s, ok := servers[addr]; ok {
			return s.Dial(network, addr)
		}
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("amqpfake: no server at %s", addr)}
	}
}

func (s *Server) hookPublish() func(*Publish) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.onPublish
}
