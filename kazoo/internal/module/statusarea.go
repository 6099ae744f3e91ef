package module

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
)

// Status areas (kazoo_abi.h, laid out and written by package abi): shared memory the shim
// allocated, which the RPC process reads.

// Process counters (abi.Counter*), summed over the processes into the kazoo: statistics
// when they are read.
const (
	counterReturned    = abi.CounterReturned
	counterAcked       = abi.CounterAcked
	counterRedelivered = abi.CounterRedelivered
	counterRejected    = abi.CounterRejected
	counterReconnects  = abi.CounterReconnects
	counterQuery10ms   = abi.CounterQuery10ms
	counterQuery50ms   = abi.CounterQuery50ms
	counterQuery100ms  = abi.CounterQuery100ms
	counterQuery500ms  = abi.CounterQuery500ms
	counterQuery1s     = abi.CounterQuery1s
	counterQuerySlower = abi.CounterQuerySlower
	counterCancelled   = abi.CounterConsumersCancelled
)

// count adds 1 to a process counter, straight in the shared slot (only this process
// writes it).
func (m *Module) count(idx int) { m.countN(idx, 1) }

func (m *Module) countN(idx, n int) {
	if m == nil || m.status == nil {
		return
	}
	s := m.status.counters.Load()
	if s == nil {
		return
	}
	s.AddCounter(idx, n)
}

// countQueryLatency puts an answered query into its latency bucket.
func (m *Module) countQueryLatency(d time.Duration) {
	switch {
	case d <= 10*time.Millisecond:
		m.count(counterQuery10ms)
	case d <= 50*time.Millisecond:
		m.count(counterQuery50ms)
	case d <= 100*time.Millisecond:
		m.count(counterQuery100ms)
	case d <= 500*time.Millisecond:
		m.count(counterQuery500ms)
	case d <= time.Second:
		m.count(counterQuery1s)
	default:
		m.count(counterQuerySlower)
	}
}

type statusArea struct {
	mu       sync.Mutex // serialises writeStatus
	slot     abi.Slot
	heapLive [1]metrics.Sample        // reused: no allocation per write
	counters atomic.Pointer[abi.Slot] // the same slot, read without the lock by count
}

// SetStatusArea gives this process's slot; it is written now and at every change.
func (m *Module) SetStatusArea(slot []byte) {
	if len(slot) < abi.SlotSize {
		return
	}
	s := abi.Slot(slot)
	m.status.mu.Lock()
	m.status.slot = s
	s.SetPID(uint32(os.Getpid())) // once: it marks the slot as this process's
	m.status.mu.Unlock()
	m.status.counters.Store(&s)
	m.writeStatus()
	m.RefreshRuntimeStatus()
}

// writeStatus stores the state of every broker and the queries in flight.
func (m *Module) writeStatus() {
	m.status.mu.Lock()
	defer m.status.mu.Unlock()
	s := m.status.slot
	if s == nil {
		return
	}
	conns := m.Pool.Conns()
	n := min(len(conns), abi.StatusMaxBrokers)
	s.SetHeader(uint32(n), uint32(m.Pool.InFlight()))
	for i, c := range conns[:n] {
		st, since := c.State()
		_, blocked := c.Blocked()
		s.SetBroker(i, uint32(st), blocked, since.UnixMilli(), int64(c.Errors()))
	}
}

// RefreshRuntimeStatus stores the goroutine count and live heap in this process's slot. It
// runs at each broker change and each look of the memory releaser, not per query:
// writeStatus runs twice per query in a SIP worker, and reading runtime metrics there would
// add their cost to every call.
func (m *Module) RefreshRuntimeStatus() {
	m.status.mu.Lock()
	defer m.status.mu.Unlock()
	m.status.writeRuntime()
}

// writeRuntime stores the runtime figures; the caller holds mu.
func (a *statusArea) writeRuntime() {
	if a.slot == nil {
		return
	}
	if a.heapLive[0].Name == "" {
		a.heapLive[0].Name = "/gc/heap/live:bytes"
	}
	metrics.Read(a.heapLive[:])
	var live uint64
	if a.heapLive[0].Value.Kind() == metrics.KindUint64 {
		live = a.heapLive[0].Value.Uint64()
	}
	a.slot.SetRuntime(uint32(runtime.NumGoroutine()), live)
}

// subscriptionsArea is where consumer 1 publishes its subscriptions for kazoo.subscriptions.
type subscriptionsArea struct {
	mu   sync.Mutex
	area abi.SubsArea
	seq  uint32 // the writer's sequence count (abi.SubsArea.Write)
}

// SetSubscriptionsArea makes this worker (consumer 1) publish its subscriptions there.
func (w *Worker) SetSubscriptionsArea(area []byte) {
	w.subsArea.mu.Lock()
	w.subsArea.area = area
	w.subsArea.mu.Unlock()
	w.publishSubscriptions()
}

// publishSubscriptions writes the subscription list as JSON in the area's sequence lock
// (kz_rpc.c's copy_subscriptions is the reader).
func (w *Worker) publishSubscriptions() {
	w.subs.mu.Lock()
	subs := make([]subscriptionStatus, 0, len(w.subs.list)) // "[]", not "null", for kazoo.subscriptions
	for _, sub := range w.subs.list {
		subs = append(subs, subscriptionStatus{Subscription: sub, Consumers: w.consumers.of(sub.ID())})
	}
	list, err := json.Marshal(subs)
	w.subs.mu.Unlock()
	if err != nil {
		return
	}
	a := &w.subsArea
	a.mu.Lock()
	defer a.mu.Unlock()
	a.area.Write(&a.seq, list)
}
