package amqpfake

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Conn is the server side of one client connection.
//
// One goroutine reads and handles the client's frames and never waits for the client;
// what the server sends goes through a queue to a writer goroutine. So a client that
// writes while the server writes to it (both ends of a net.Pipe are unbuffered) cannot
// deadlock with the server.
type Conn struct {
	s    *Server
	nc   net.Conn
	done chan struct{} // closed when the connection is gone

	dropped    chan struct{} // closed by Drop
	dropOnce   sync.Once
	stopping   chan struct{} // closed by the reader when it ends: the writer flushes and ends
	writerDone chan struct{}

	outMu    sync.Mutex
	out      [][]byte // frames waiting for the writer
	outReady chan struct{}
	silent   bool // drop everything the server would send (Silence)
	closing  bool // connection.close sent: answer nothing but close-ok

	// set by the reader goroutine during the handshake, read-only after opened is closed
	clientProps amqp.Table
	heartbeat   time.Duration
	frameMax    uint32
	opened      chan struct{}

	mu       sync.Mutex
	stalled  chan struct{} // set while the server does not read (Stall); closed by Resume
	channels map[uint16]*channel
	closeErr error
}

func newConn(s *Server, nc net.Conn) *Conn {
	return &Conn{s: s, nc: nc, done: make(chan struct{}), outReady: make(chan struct{}, 1),
		stopping: make(chan struct{}), dropped: make(chan struct{}), writerDone: make(chan struct{}),
		opened: make(chan struct{}), channels: map[uint16]*channel{}, frameMax: maxFrame}
}

// ClientProperties are the client-properties of connection.start-ok
// (connection_name, product, capabilities).
func (c *Conn) ClientProperties() amqp.Table {
	<-c.opened
	return c.clientProps
}

// Done is closed once the connection is gone.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Drop closes the connection without a word, as a crashed broker or a cut cable does.
func (c *Conn) Drop() {
	c.dropOnce.Do(func() { close(c.dropped) })
	_ = c.nc.Close()
}

// Close sends connection.close with code and text (320 CONNECTION_FORCED: a broker shut
// down by its operator) and closes the connection once the client answered.
func (c *Conn) Close(code uint16, text string) {
	c.send(encodeFrame(frameMethod, 0, method(10, 50).short(code).shortstr(text).short(0).short(0).b))
	c.outMu.Lock()
	c.closing = true
	c.outMu.Unlock()
}

// Silence makes the server stop sending anything, heartbeats included, while it goes on
// reading: a broker that hangs, or a network that loses everything one way.
func (c *Conn) Silence() {
	c.outMu.Lock()
	c.silent = true
	c.out = nil
	c.outMu.Unlock()
}

// Stall makes the server stop reading, as a broker whose TCP window is full: the client's
// next write blocks (a net.Pipe has no buffer) until its write deadline. Resume undoes it.
// Bytes read before Stall are still handled; while stalled, the server notices nothing but
// Drop.
func (c *Conn) Stall() {
	c.mu.Lock()
	if c.stalled == nil {
		c.stalled = make(chan struct{})
	}
	c.mu.Unlock()
	_ = c.nc.SetReadDeadline(time.Now()) // ends a read under way: stallReader waits
}

// Resume lets a stalled server read again.
func (c *Conn) Resume() {
	_ = c.nc.SetReadDeadline(time.Time{})
	c.mu.Lock()
	if c.stalled != nil {
		close(c.stalled)
		c.stalled = nil
	}
	c.mu.Unlock()
}

// stallReader is the connection's reads, held while the server is stalled. Its reads only
// have a deadline to end one under way when Stall begins; such a read returned no bytes,
// so it is simply repeated once the stall ends.
type stallReader struct{ c *Conn }

func (r stallReader) Read(p []byte) (int, error) {
	for {
		r.c.mu.Lock()
		stalled := r.c.stalled
		r.c.mu.Unlock()
		if stalled != nil {
			select {
			case <-stalled:
			case <-r.c.dropped:
				return 0, net.ErrClosed
			}
		}
		n, err := r.c.nc.Read(p)
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			continue
		}
		return n, err
	}
}

// Block sends connection.blocked (a memory or disk alarm); Unblock ends it.
func (c *Conn) Block(reason string) {
	c.send(encodeFrame(frameMethod, 0, method(10, 60).shortstr(reason).b))
}

// Unblock sends connection.unblocked.
func (c *Conn) Unblock() { c.send(encodeFrame(frameMethod, 0, method(10, 61).b)) }

// CloseChannel closes one channel from the server side, as a channel error does
// (404 NOT_FOUND, 406 PRECONDITION_FAILED).
func (c *Conn) CloseChannel(id uint16, code uint16, text string) {
	c.closeChannel(id, code, text, 0, 0)
}

// send queues frames to go out together.
func (c *Conn) send(frames ...[]byte) {
	c.outMu.Lock()
	if !c.silent && !c.closing {
		c.out = append(c.out, frames...)
	}
	c.outMu.Unlock()
	select {
	case c.outReady <- struct{}{}:
	default:
	}
}

// sendClose queues a frame even while closing (close-ok).
func (c *Conn) sendClose(frame []byte) {
	c.outMu.Lock()
	if !c.silent {
		c.out = append(c.out, frame)
	}
	c.outMu.Unlock()
	select {
	case c.outReady <- struct{}{}:
	default:
	}
}

func (c *Conn) writer() {
	defer close(c.writerDone)
	for {
		stop := false
		select {
		case <-c.stopping:
			stop = true
		case <-c.outReady:
		}
		c.outMu.Lock()
		out := c.out
		c.out = nil
		c.outMu.Unlock()
		for _, f := range out {
			if _, err := c.nc.Write(f); err != nil {
				c.Drop()
				return
			}
		}
		if stop {
			return
		}
	}
}

func (c *Conn) heartbeater() {
	if c.heartbeat <= 0 {
		return
	}
	t := time.NewTicker(c.heartbeat / 2)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.send(encodeFrame(frameHeartbeat, 0, nil))
		}
	}
}

func (c *Conn) serve() {
	defer c.gone()
	go c.writer()
	r := bufio.NewReader(stallReader{c})
	var proto [8]byte
	if _, err := io.ReadFull(r, proto[:]); err != nil || !bytes.Equal(proto[:], []byte("AMQP\x00\x00\x09\x01")) {
		return
	}
	caps := amqp.Table{"publisher_confirms": true, "basic.nack": true, "consumer_cancel_notify": true,
		"connection.blocked": true, "exchange_exchange_bindings": true, "authentication_failure_close": true}
	c.send(encodeFrame(frameMethod, 0, method(10, 10).octet(0).octet(9).
		table(amqp.Table{"product": "amqpfake", "capabilities": caps}).longstr("PLAIN AMQPLAIN").longstr("en_US").b))
	for {
		f, err := readFrame(r)
		if err != nil {
			c.setErr(err)
			return
		}
		if !c.handle(f) {
			return
		}
	}
}

func (c *Conn) setErr(err error) {
	c.mu.Lock()
	if c.closeErr == nil {
		c.closeErr = err
	}
	c.mu.Unlock()
}

// gone ends the connection once what is queued went out (a close-ok): its exclusive
// queues go, its unacked deliveries are requeued.
func (c *Conn) gone() {
	close(c.stopping)
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second)) // a client that reads no more
	<-c.writerDone
	_ = c.nc.Close()
	c.mu.Lock()
	chans := c.channels
	c.channels = map[uint16]*channel{}
	c.mu.Unlock()
	for _, ch := range chans {
		ch.close()
	}
	c.s.dropExclusive(c)
	close(c.done)
}

// handle serves one frame of the client; false ends the connection.
func (c *Conn) handle(f frame) bool {
	switch f.typ {
	case frameHeartbeat:
		return true
	case frameMethod:
	case frameHeader, frameBody:
		if ch := c.channel(f.channel); ch != nil {
			ch.content(f)
		}
		return true
	default:
		return false
	}
	d := &decoder{b: f.payload}
	class, id := d.short(), d.short()
	if d.err != nil {
		return false
	}
	if f.channel == 0 {
		return c.handleConnection(id, d)
	}
	if class == 20 {
		return c.handleChannelMethod(f.channel, id, d)
	}
	ch := c.channel(f.channel)
	if ch == nil {
		return true // a method on a channel closed by the server, in flight: ignored
	}
	if err := ch.handle(class, id, d); err != nil {
		c.setErr(err)
		return false
	}
	return true
}

func (c *Conn) handleConnection(id uint16, d *decoder) bool {
	switch id {
	case 11: // start-ok
		c.clientProps = d.table()
		c.s.mu.Lock()
		hb := c.s.heartbeat
		c.s.mu.Unlock()
		c.send(encodeFrame(frameMethod, 0, method(10, 30).short(2047).long(maxFrame).short(hb).b))
	case 31: // tune-ok
		d.short()
		c.frameMax = d.long()
		if c.frameMax == 0 || c.frameMax > maxFrame {
			c.frameMax = maxFrame
		}
		c.heartbeat = time.Duration(d.short()) * time.Second
	case 40: // open
		c.send(encodeFrame(frameMethod, 0, method(10, 41).shortstr("").b))
		close(c.opened)
		go c.heartbeater()
		select {
		case c.s.accepted <- c:
		default: // nobody looks at Accepted
		}
	case 50: // close
		code, text := d.short(), d.shortstr()
		c.s.events.add(Event{Conn: c, Method: "connection.close", Code: code, Text: text})
		c.sendClose(encodeFrame(frameMethod, 0, method(10, 51).b))
		return false
	case 51: // close-ok, after our close
		c.s.events.add(Event{Conn: c, Method: "connection.close-ok"})
		return false
	default:
		c.setErr(fmt.Errorf("connection method %d not handled", id))
		return false
	}
	return d.err == nil
}

func (c *Conn) channel(id uint16) *channel {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.channels[id]
}

func (c *Conn) handleChannelMethod(id uint16, m uint16, d *decoder) bool {
	switch m {
	case 10: // open
		c.mu.Lock()
		c.channels[id] = newChannel(c, id)
		c.mu.Unlock()
		c.s.events.add(Event{Conn: c, Channel: id, Method: "channel.open"})
		c.send(encodeFrame(frameMethod, id, method(20, 11).longstr("").b))
	case 20: // flow
		active := d.octet()
		c.send(encodeFrame(frameMethod, id, method(20, 21).octet(active).b))
	case 40: // close
		code, text := d.short(), d.shortstr()
		c.s.events.add(Event{Conn: c, Channel: id, Method: "channel.close", Code: code, Text: text})
		c.dropChannel(id)
		c.send(encodeFrame(frameMethod, id, method(20, 41).b))
	case 41: // close-ok, after ours
		c.s.events.add(Event{Conn: c, Channel: id, Method: "channel.close-ok"})
	default:
		c.setErr(fmt.Errorf("channel method %d not handled", m))
		return false
	}
	return d.err == nil
}

func (c *Conn) dropChannel(id uint16) {
	c.mu.Lock()
	ch := c.channels[id]
	delete(c.channels, id)
	c.mu.Unlock()
	if ch != nil {
		ch.close()
	}
}

// closeChannel is a channel error: the channel is closed by the server with code and text.
func (c *Conn) closeChannel(id uint16, code uint16, text string, class, m uint16) {
	c.dropChannel(id)
	c.send(encodeFrame(frameMethod, id, method(20, 40).short(code).shortstr(text).short(class).short(m).b))
}
