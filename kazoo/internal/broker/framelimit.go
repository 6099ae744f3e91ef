package broker

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
)

// frameLimitConn refuses message bodies larger than a limit before anything holds them.
//
// amqp091-go accumulates a message's whole body before handing it over (and keeps the last
// body of each channel referenced until the channel's next message), so a check of the
// body's length after delivery comes too late: the memory has been taken, and a hostile or
// mistaken publisher can make every consumer hold up to prefetch × RabbitMQ's 128 MB. This
// reader sits on the plaintext AMQP stream (above TLS) and parses its frames:
//
//	type(1) channel(2) size(4) payload(size) frame-end(1) = 0xCE
//
// When a content header frame (type 2) declares a body larger than the limit, it rewrites
// the declared body size to 0 in place (amqp091 then delivers the message at once with an
// empty body) and drops the body frames (type 3) of that channel until the declared size
// has gone by. The message is remembered as oversized, by the consumer tag and delivery tag
// of the basic.deliver (or basic.get-ok) that preceded it on its channel, so that the
// consumer that gets the empty body can tell it from an empty message and reject it.
//
// Body frames of one content are contiguous on their channel, but frames of different
// channels may interleave, so drops are tracked per channel. Reads may end at any byte:
// the first bytes of a frame whose fate depends on them (a header frame up to its body
// size, a body frame header while some channel drops) are carried over to the next read.
//
// Cost on the normal path: a byte count per frame, a copy of the first bytes of each
// method frame (to know the delivery tag), no copy of payloads. Only after a dropped frame
// are the following bytes of the same read moved down.
type frameLimitConn struct {
	net.Conn
	limit uint64
	seen  *oversizedLog

	carry    [contentHeaderPrefix]byte // start of a frame cut by the end of a read
	carryLen int

	// the frame being passed through or dropped
	inFrame   bool
	frameType byte
	channel   uint16
	left      uint64 // bytes of the frame not processed yet, frame-end included
	size      uint32
	dropFrame bool
	dropping  *channelState // the channel whose body frame is being dropped

	method    [methodPrefix]byte // first bytes of the current method frame's payload
	methodLen int

	channels map[uint16]*channelState
	nDrops   int // channels with body bytes still to drop

	ready   []byte // filtered bytes not handed out yet (only when the caller's buffer is tiny)
	scratch []byte

	// the first error of the connection underneath: when the broker drops a TLS client at
	// its first read (TLS 1.3 checks the client certificate after the handshake), amqp091
	// may report only what followed ("use of closed network connection")
	causeMu sync.Mutex
	cause   error
}

func (f *frameLimitConn) noteCause(err error) {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return
	}
	f.causeMu.Lock()
	if f.cause == nil {
		f.cause = err
	}
	f.causeMu.Unlock()
}

// firstCause is the first error the connection underneath returned, if any.
func (f *frameLimitConn) firstCause() error {
	f.causeMu.Lock()
	defer f.causeMu.Unlock()
	return f.cause
}

func (f *frameLimitConn) Write(p []byte) (int, error) {
	n, err := f.Conn.Write(p)
	f.noteCause(err)
	return n, err
}

const (
	frameHeaderSize = 7
	frameEnd        = 0xCE

	frameMethod = 1
	frameHeader = 2
	frameBody   = 3

	// a content header's payload: class-id(2) weight(2) body-size(8) property-flags(2)
	contentHeaderPrefix = frameHeaderSize + 12
	contentHeaderMin    = 14

	// basic.deliver's payload up to its delivery tag: class(2) method(2) consumer-tag
	// (shortstr, up to 1+255) delivery-tag(8)
	methodPrefix = 4 + 256 + 8

	classBasic         = 60
	methodBasicDeliver = 60
	methodBasicGetOK   = 71
	methodBasicReturn  = 50

	// how much of a dropped body is kept, to find a reply's Msg-ID and show what it was
	oversizedPrefix = 512
	// records kept for consumers that did not look theirs up yet; older ones are forgotten
	// (their message is still refused: an empty body is not JSON)
	oversizedKept = 64
)

var errBadFrame = errors.New("malformed AMQP frame (frame-end octet or body size)")

// channelState is what the limiter knows of one channel: the last content method, and the
// body bytes still to drop.
type channelState struct {
	consumerTag [255]byte
	tagLen      int
	deliveryTag uint64
	kind        byte // method id of the last content method (deliver, get-ok, return)
	dropLeft    uint64
	record      *Oversized // of the content being dropped (nil for basic.return)
}

// Oversized is a message whose body the connection dropped unread.
type Oversized struct {
	ConsumerTag string
	DeliveryTag uint64
	Size        uint64 // the body size its content header declared
	Limit       uint64
	prefix      []byte        // first bytes of the body; complete once done is closed
	done        chan struct{} // closed when the body has gone by (or the connection died)
}

// Prefix waits until the body has gone by and returns its first bytes (up to 512).
func (o *Oversized) Prefix() []byte {
	<-o.done
	return o.prefix
}

// oversizedLog is the oversized messages of one connection not yet claimed by their
// consumer.
type oversizedLog struct {
	mu      sync.Mutex
	records []*Oversized
}

func (l *oversizedLog) add(o *Oversized) {
	l.mu.Lock()
	if len(l.records) >= oversizedKept {
		l.records[0].finish()
		copy(l.records, l.records[1:])
		l.records = l.records[:len(l.records)-1]
	}
	l.records = append(l.records, o)
	l.mu.Unlock()
}

// take returns and forgets the record of a delivery.
func (l *oversizedLog) take(consumerTag string, deliveryTag uint64) (*Oversized, bool) {
	if l == nil {
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, o := range l.records {
		if o.DeliveryTag == deliveryTag && o.ConsumerTag == consumerTag {
			l.records = append(l.records[:i], l.records[i+1:]...)
			return o, true
		}
	}
	return nil, false
}

// finishAll ends the waits of every record (the connection is gone).
func (l *oversizedLog) finishAll() {
	l.mu.Lock()
	for _, o := range l.records {
		o.finish()
	}
	l.mu.Unlock()
}

func (o *Oversized) finish() {
	select {
	case <-o.done:
	default:
		close(o.done)
	}
}

func newFrameLimitConn(c net.Conn, limit uint64) *frameLimitConn {
	return &frameLimitConn{Conn: c, limit: limit, seen: &oversizedLog{}, channels: map[uint16]*channelState{}}
}

func (f *frameLimitConn) Read(p []byte) (int, error) {
	if len(f.ready) > 0 {
		n := copy(p, f.ready)
		f.ready = f.ready[n:]
		return n, nil
	}
	if len(p) == 0 {
		return 0, nil
	}
	buf, tiny := p, len(p) < 4*contentHeaderPrefix // room for the carried bytes and progress
	if tiny {
		if f.scratch == nil {
			f.scratch = make([]byte, 4096)
		}
		buf = f.scratch
	}
	for {
		k := copy(buf, f.carry[:f.carryLen])
		f.carryLen = 0
		n, err := f.Conn.Read(buf[k:])
		f.noteCause(err)
		out, ferr := f.filter(buf[:k+n])
		if ferr != nil {
			f.seen.finishAll()
			return 0, ferr
		}
		if err != nil {
			f.seen.finishAll()
		}
		if out == 0 && err == nil {
			continue // all of it dropped or carried: read on rather than return 0, nil
		}
		if tiny {
			f.ready = buf[:out]
			m := copy(p, f.ready)
			f.ready = f.ready[m:]
			return m, err
		}
		return out, err
	}
}

// filter processes the bytes of one read in place; returns how many bytes at the start of
// buf are to be handed on. A frame start it cannot decide on yet is kept in f.carry.
func (f *frameLimitConn) filter(buf []byte) (int, error) {
	w, r, n := 0, 0, len(buf)
	for r < n {
		if !f.inFrame {
			need := f.decisionPrefix(buf[r:])
			if n-r < need {
				f.carryLen = copy(f.carry[:], buf[r:n])
				return w, nil
			}
			if err := f.startFrame(buf[r:]); err != nil {
				return w, err
			}
		}
		k := n - r
		if uint64(k) > f.left {
			k = int(f.left)
		}
		seg := buf[r : r+k]
		done := uint64(f.size) + frameHeaderSize + 1 - f.left // bytes of the frame before seg
		switch {
		case f.frameType == frameMethod:
			f.captureMethod(seg, done)
		case f.dropFrame && f.dropping.record != nil:
			f.captureBody(seg, done)
		}
		f.left -= uint64(k)
		if f.left == 0 {
			if seg[k-1] != frameEnd {
				return w, errBadFrame
			}
			if err := f.endFrame(); err != nil {
				return w, err
			}
		}
		if !f.dropFrame {
			if w != r {
				copy(buf[w:], seg)
			}
			w += k
		}
		r += k
		if f.left == 0 {
			f.inFrame, f.dropFrame, f.dropping = false, false, nil
		}
	}
	return w, nil
}

// decisionPrefix is how many bytes of a frame starting at b must be at hand before any of
// it is handed on.
func (f *frameLimitConn) decisionPrefix(b []byte) int {
	if len(b) == 0 {
		return 1
	}
	switch {
	case b[0] == frameHeader:
		if len(b) >= frameHeaderSize && binary.BigEndian.Uint32(b[3:7]) < contentHeaderMin {
			return frameHeaderSize // too short to be a content header: amqp091 refuses it
		}
		return contentHeaderPrefix
	case b[0] == frameBody && f.nDrops > 0:
		return frameHeaderSize
	}
	return frameHeaderSize
}

// startFrame reads the header of the frame at b (its decision prefix is in b), rewrites a
// content header that declares too large a body, and decides whether the frame is dropped.
func (f *frameLimitConn) startFrame(b []byte) error {
	f.inFrame = true
	f.frameType = b[0]
	f.channel = binary.BigEndian.Uint16(b[1:3])
	f.size = binary.BigEndian.Uint32(b[3:7])
	f.left = uint64(f.size) + frameHeaderSize + 1
	f.methodLen = 0
	switch f.frameType {
	case frameHeader:
		if f.size < contentHeaderMin {
			return nil
		}
		cs := f.channels[f.channel]
		if cs != nil && cs.dropLeft > 0 { // a new content interrupts the one being dropped
			f.stopDrop(cs)
		}
		bodySize := binary.BigEndian.Uint64(b[11:19])
		if bodySize <= f.limit {
			if cs != nil {
				cs.kind = 0
			}
			return nil
		}
		clear(b[11:19])
		if cs == nil {
			cs = &channelState{}
			f.channels[f.channel] = cs
		}
		cs.dropLeft = bodySize
		f.nDrops++
		if cs.kind == methodBasicDeliver || cs.kind == methodBasicGetOK {
			cs.record = &Oversized{ConsumerTag: string(cs.consumerTag[:cs.tagLen]), DeliveryTag: cs.deliveryTag,
				Size: bodySize, Limit: f.limit, done: make(chan struct{})}
			f.seen.add(cs.record)
		}
		cs.kind = 0
	case frameBody:
		if f.nDrops == 0 {
			return nil
		}
		if cs := f.channels[f.channel]; cs != nil && cs.dropLeft > 0 {
			if uint64(f.size) > cs.dropLeft {
				return errBadFrame // more body than its header declared
			}
			f.dropFrame, f.dropping = true, cs
		}
	}
	return nil
}

func (f *frameLimitConn) stopDrop(cs *channelState) {
	cs.dropLeft = 0
	f.nDrops--
	if cs.record != nil {
		cs.record.finish()
		cs.record = nil
	}
}

// captureMethod keeps the first bytes of a method frame's payload; seg starts at byte
// done of the frame.
func (f *frameLimitConn) captureMethod(seg []byte, done uint64) {
	if done < frameHeaderSize {
		skip := frameHeaderSize - done
		if uint64(len(seg)) <= skip {
			return
		}
		seg = seg[skip:]
	}
	f.methodLen += copy(f.method[f.methodLen:], seg)
}

// captureBody keeps the first bytes of a dropped body for its record; seg starts at byte
// done of the frame.
func (f *frameLimitConn) captureBody(seg []byte, done uint64) {
	rec := f.dropping.record
	if len(rec.prefix) >= oversizedPrefix {
		return
	}
	if f.left == uint64(len(seg)) { // seg ends the frame: the frame-end octet is not body
		seg = seg[:len(seg)-1]
	}
	if done < frameHeaderSize {
		seg = seg[min(uint64(len(seg)), frameHeaderSize-done):]
	}
	rec.prefix = append(rec.prefix, seg[:min(len(seg), oversizedPrefix-len(rec.prefix))]...)
}

// endFrame runs when a frame's last byte has been seen.
func (f *frameLimitConn) endFrame() error {
	switch f.frameType {
	case frameMethod:
		f.endMethod()
	case frameBody:
		if !f.dropFrame {
			return nil
		}
		cs := f.dropping
		cs.dropLeft -= uint64(f.size)
		if cs.dropLeft == 0 {
			f.stopDrop(cs)
		}
	}
	return nil
}

// endMethod notes basic.deliver, basic.get-ok and basic.return: the content header that
// follows on the channel belongs to them. Any other method ends a content being dropped
// (amqp091 abandons an unfinished content when a method arrives).
func (f *frameLimitConn) endMethod() {
	m := f.method[:f.methodLen]
	cs := f.channels[f.channel]
	if cs != nil {
		if cs.dropLeft > 0 {
			f.stopDrop(cs)
		}
		cs.kind = 0
	}
	if len(m) < 4 || binary.BigEndian.Uint16(m[0:2]) != classBasic {
		return
	}
	id := binary.BigEndian.Uint16(m[2:4])
	var tag []byte
	var deliveryTag uint64
	switch id {
	case methodBasicDeliver:
		if len(m) < 5 || len(m) < 5+int(m[4])+8 {
			return
		}
		tag = m[5 : 5+int(m[4])]
		deliveryTag = binary.BigEndian.Uint64(m[5+int(m[4]):])
	case methodBasicGetOK:
		if len(m) < 12 {
			return
		}
		deliveryTag = binary.BigEndian.Uint64(m[4:12])
	case methodBasicReturn:
	default:
		return
	}
	if cs == nil {
		cs = &channelState{}
		f.channels[f.channel] = cs
	}
	cs.kind = byte(id)
	cs.tagLen = copy(cs.consumerTag[:], tag)
	cs.deliveryTag = deliveryTag
}
