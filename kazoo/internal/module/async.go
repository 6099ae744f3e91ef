package module

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// Events and async query records are laid out in cshim/kazoo_abi.h; package abi holds them.
const (
	EventNone       = abi.EventNone
	EventAsyncReply = abi.EventAsyncReply
	EventAsyncFail  = abi.EventAsyncFail
	EventMessage    = abi.EventMessage
)

// AsyncRequest is one kazoo_async_query (abi.DecodeAsync).
type AsyncRequest = abi.AsyncRequest

// runAsync performs one async query and queues its outcome for the C thread.
func (w *Worker) runAsync(req AsyncRequest) {
	reply, sent, err := w.m.queryOnce(req.Exchange, req.RoutingKey, req.Payload, req.Headers, req.Timeout)
	ev := Event{Kind: EventAsyncReply, TIndex: req.TIndex, TLabel: req.TLabel, Route: req.ReplyRoute, FailRoute: req.FailRoute, Body: reply}
	if err != nil {
		ev = Event{Kind: EventAsyncFail, TIndex: req.TIndex, TLabel: req.TLabel, Route: req.FailRoute,
			Body: fmt.Appendf(nil, "kazoo_async_query to exchange '%s' with routing key '%s' failed: %v", req.Exchange, req.RoutingKey, err)}
		var se *status.Error
		if errors.As(err, &se) && se.Returned != nil {
			ev.Reply = returnedPayload(sent, w.m.Cfg.PrimaryZone, w.m.receivedAt(time.Now()), se.Returned)
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
		req, err := abi.DecodeAsync(append([]byte(nil), buf[:n]...))
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
