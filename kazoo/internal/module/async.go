package module

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Async query records and events, as laid out in cshim/kazoo_abi.h.
const (
	asyncMagic  = 0x4b5a4131
	asyncFields = 10

	EventNone       = 0
	EventAsyncReply = 1
	EventAsyncFail  = 2
	EventMessage    = 3
)

// AsyncRequest is one kazoo_async_query, sent by a SIP worker that suspended its
// transaction (tindex, tlabel).
type AsyncRequest struct {
	TIndex, TLabel        uint32
	ReplyRoute, FailRoute uint32
	Timeout               time.Duration
	Exchange, RoutingKey  []byte
	Payload, Headers      []byte
}

// DecodeAsync parses a record.
func DecodeAsync(b []byte) (AsyncRequest, error) {
	var r AsyncRequest
	if len(b) < 4*asyncFields {
		return r, fmt.Errorf("async record of %d bytes is too short", len(b))
	}
	f := make([]uint32, asyncFields)
	for i := range f {
		f[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if f[0] != asyncMagic {
		return r, fmt.Errorf("async record with bad magic %#x", f[0])
	}
	rest := b[4*asyncFields:]
	lens := f[6:10]
	total := 0
	for _, l := range lens {
		total += int(l)
	}
	if total != len(rest) {
		return r, fmt.Errorf("async record lengths %v do not add up to %d bytes", lens, len(rest))
	}
	take := func(n uint32) []byte { v := rest[:n:n]; rest = rest[n:]; return v }
	r = AsyncRequest{TIndex: f[1], TLabel: f[2], ReplyRoute: f[3], FailRoute: f[4],
		Timeout: time.Duration(f[5]) * time.Millisecond}
	r.Exchange, r.RoutingKey, r.Payload, r.Headers = take(lens[0]), take(lens[1]), take(lens[2]), take(lens[3])
	return r, nil
}

// EncodeAsync is DecodeAsync's inverse (used by tests; the shim writes records in C).
func EncodeAsync(r AsyncRequest) []byte {
	b := make([]byte, 4*asyncFields, 4*asyncFields+len(r.Exchange)+len(r.RoutingKey)+len(r.Payload)+len(r.Headers))
	for i, v := range []uint32{asyncMagic, r.TIndex, r.TLabel, r.ReplyRoute, r.FailRoute, uint32(r.Timeout / time.Millisecond),
		uint32(len(r.Exchange)), uint32(len(r.RoutingKey)), uint32(len(r.Payload)), uint32(len(r.Headers))} {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	b = append(b, r.Exchange...)
	b = append(b, r.RoutingKey...)
	b = append(b, r.Payload...)
	return append(b, r.Headers...)
}

// runAsync performs one async query and queues its outcome for the C thread.
func (w *Worker) runAsync(req AsyncRequest) {
	reply, sent, err := w.m.queryOnce(req.Exchange, req.RoutingKey, req.Payload, req.Headers, req.Timeout)
	ev := Event{Kind: EventAsyncReply, TIndex: req.TIndex, TLabel: req.TLabel, Route: req.ReplyRoute, FailRoute: req.FailRoute, Body: reply}
	if err != nil {
		ev = Event{Kind: EventAsyncFail, TIndex: req.TIndex, TLabel: req.TLabel, Route: req.FailRoute,
			Body: fmt.Appendf(nil, "kazoo_async_query to exchange '%s' with routing key '%s' failed: %v", req.Exchange, req.RoutingKey, err)}
		var se *status.Error
		if errors.As(err, &se) && se.Returned != nil {
			ev.Reply = returnedPayload(sent, w.m.Cfg.PrimaryZone, se.Returned)
		}
	}
	w.push(ev, nil)
}

// readAsync reads async query records from the socket all consumer workers share: the
// kernel hands each datagram to one of them.
func (w *Worker) readAsync(pc net.PacketConn) {
	buf := recvBuffer(4 << 20)
	for {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			w.m.Log.Errorf("async IPC socket: %v", err)
			time.Sleep(time.Second)
			continue
		}
		req, err := DecodeAsync(append([]byte(nil), buf[:n]...))
		if err != nil {
			w.m.Log.Errorf("BUG: %v", err)
			continue
		}
		go w.runAsync(req)
	}
}

// queryOnce is Query with buffers of its own, for concurrent async queries. It also
// returns the request as sent.
func (m *Module) queryOnce(exchange, routingKey, body, headers []byte, timeout time.Duration) (reply, sent []byte, err error) {
	q := &Module{Cfg: m.Cfg, Log: m.Log, Pool: m.Pool, status: m.status}
	if err := q.query(exchange, routingKey, body, headers, timeout); err != nil {
		return nil, q.body, err
	}
	return q.reply, q.body, nil
}
