package module

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// Status areas (kazoo_abi.h): shared memory the shim allocated, which the RPC process
// reads. Go writes each field with one atomic store and C reads it with one atomic load
// (kz_rpc.c), so no field is seen half-written; fields may change between two loads, which
// is fine for a status display. The subscriptions area, a text, is a sequence lock.
const (
	statusMaxBrokers     = 16
	statusCountersOffset = 16 + 24*statusMaxBrokers
	statusSlotSize       = statusCountersOffset + 8*counterCount
)

// Process counters (kazoo_abi.h kz_status_counter), summed over the processes into the
// kazoo: statistics when they are read.
const (
	counterReturned = iota
	counterAcked
	counterRedelivered
	counterRejected
	counterReconnects
	counterQuery10ms
	counterQuery50ms
	counterQuery100ms
	counterQuery500ms
	counterQuery1s
	counterQuerySlower
	counterCount
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
	atomic.AddUint64((*uint64)(unsafe.Pointer(&(*s)[statusCountersOffset+8*idx])), uint64(n))
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
	slot     []byte
	counters atomic.Pointer[[]byte] // the same slot, read without the lock by count
}

// SetStatusArea gives this process's slot; it is written now and at every change.
func (m *Module) SetStatusArea(slot []byte) {
	if len(slot) < statusSlotSize {
		return
	}
	m.status.mu.Lock()
	m.status.slot = slot
	store32(slot[0:], uint32(os.Getpid())) // once: it marks the slot as this process's
	m.status.mu.Unlock()
	m.status.counters.Store(&slot)
	m.writeStatus()
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
	n := min(len(conns), statusMaxBrokers)
	store32(s[4:], uint32(n))
	store32(s[8:], uint32(m.Pool.InFlight()))
	for i, c := range conns[:n] {
		b := s[16+24*i:]
		st, since := c.State()
		blocked := uint32(0)
		if _, ok := c.Blocked(); ok {
			blocked = 1
		}
		store32(b[0:], uint32(st))
		store32(b[4:], blocked)
		store64(b[8:], uint64(since.UnixMilli()))
		store64(b[16:], uint64(c.Errors()))
	}
}

// store32/store64 write little-endian values with single aligned stores (the slot is
// 8-byte aligned and every field is at an offset of its size), so a reader never sees a
// half-written field.
func store32(b []byte, v uint32) {
	var le [4]byte
	binary.LittleEndian.PutUint32(le[:], v)
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[0])), *(*uint32)(unsafe.Pointer(&le[0])))
}

func store64(b []byte, v uint64) {
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], v)
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&b[0])), *(*uint64)(unsafe.Pointer(&le[0])))
}

// subscriptionsArea is where consumer 1 publishes its subscriptions for kazoo.subscriptions.
type subscriptionsArea struct {
	mu   sync.Mutex
	area []byte
	seq  uint32
}

// SetSubscriptionsArea makes this worker (consumer 1) publish its subscriptions there.
func (w *Worker) SetSubscriptionsArea(area []byte) {
	w.subsArea.mu.Lock()
	w.subsArea.area = area
	w.subsArea.mu.Unlock()
	w.publishSubscriptions()
}

// publishSubscriptions writes the subscription list as JSON in a sequence lock: the
// sequence odd while writing, every store atomic (Go's atomics are sequentially
// consistent, so no store of the text is seen before the odd sequence, nor the even one
// before the text); kz_rpc.c's copy_subscriptions is the reader.
func (w *Worker) publishSubscriptions() {
	w.subs.mu.Lock()
	subs := w.subs.list
	if subs == nil {
		subs = []subscription.Subscription{} // "[]", not "null", for kazoo.subscriptions
	}
	list, err := json.Marshal(subs)
	w.subs.mu.Unlock()
	if err != nil {
		return
	}
	a := &w.subsArea
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.area) < 8 {
		return
	}
	text := a.area[8:]
	text = text[:len(text)&^7] // whole words
	if len(list) > len(text) {
		list = list[:len(text)]
	}
	a.seq++
	store32(a.area[0:], a.seq)
	storeWords(text, list)
	store32(a.area[4:], uint32(len(list)))
	a.seq++
	store32(a.area[0:], a.seq)
}

// storeWords copies src to the start of dst (8-byte aligned, a whole number of words,
// at least as long as src rounded up) with one atomic store per 8-byte word, the last
// padded with zeros.
func storeWords(dst, src []byte) {
	for i := 0; i < len(src); i += 8 {
		var w [8]byte
		copy(w[:], src[i:])
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&dst[i])), *(*uint64)(unsafe.Pointer(&w[0])))
	}
}
