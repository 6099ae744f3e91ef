package amqpfake

import (
	"net"
	"sync"
)

// queuedWriter is a net.Conn whose writes never wait for the peer to read: they are queued
// and written by a goroutine of their own, as a socket's send buffer would take them.
type queuedWriter struct {
	net.Conn
	mu     sync.Mutex
	queue  [][]byte
	ready  chan struct{}
	closed chan struct{}
	once   sync.Once
	err    error
}

func newQueuedWriter(c net.Conn) *queuedWriter {
	w := &queuedWriter{Conn: c, ready: make(chan struct{}, 1), closed: make(chan struct{})}
	go w.drain()
	return w
}

func (w *queuedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return 0, w.err
	}
	w.queue = append(w.queue, append([]byte(nil), p...))
	select {
	case w.ready <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *queuedWriter) drain() {
	for {
		select {
		case <-w.closed:
			return
		case <-w.ready:
		}
		w.mu.Lock()
		q := w.queue
		w.queue = nil
		w.mu.Unlock()
		for _, b := range q {
			if _, err := w.Conn.Write(b); err != nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
				return
			}
		}
	}
}

func (w *queuedWriter) Close() error {
	w.once.Do(func() { close(w.closed) })
	return w.Conn.Close()
}
