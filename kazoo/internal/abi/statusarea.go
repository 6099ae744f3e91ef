package abi

import (
	"encoding/binary"
	"sync/atomic"
	"unsafe"
)

// Status areas for RPC (kamcmd kazoo.status / kazoo.subscriptions): shared memory that the
// shim allocates (8-byte aligned), which Go writes and the RPC process reads. Every field is
// little-endian and at an offset of its size; Go writes each with one atomic store and C
// reads it with one atomic load (kz_rpc.c), so no field is seen half-written.

// A process's slot (struct kz_status_slot): its pid, how many broker entries are in use,
// its queries in flight, then StatusMaxBrokers broker entries (struct kz_status_broker),
// then CounterCount uint64 counters.
const (
	StatusMaxBrokers = 16

	SlotPID             = 0
	SlotBrokers         = 4
	SlotQueriesInFlight = 8
	SlotGoroutines      = 12
	SlotGoHeapLive      = 16
	SlotBroker          = 24 // the first broker entry
	BrokerEntrySize     = 24
	SlotCounters        = SlotBroker + BrokerEntrySize*StatusMaxBrokers
	SlotSize            = SlotCounters + 8*CounterCount

	// a broker entry's fields
	BrokerState   = 0  // a BrokerConnecting...
	BrokerBlocked = 4  // 1: connection.blocked
	BrokerSince   = 8  // unix ms
	BrokerErrors  = 16 // failed connects and losses
)

// The state of a broker entry (kz_broker_state).
const (
	BrokerConnecting = 0
	BrokerOpen       = 1
	BrokerDown       = 2
	BrokerStopped    = 3
	BrokerIdle       = 4 // not connected: the process has not needed it yet
)

// The counters of a process (kz_status_counter), summed over the processes into the
// kazoo: statistics when they are read.
const (
	CounterReturned    = iota // messages the broker returned as unroutable
	CounterAcked              // consumed messages acknowledged
	CounterRedelivered        // consumed messages the broker marked redelivered
	CounterRejected           // consumed messages rejected (not JSON, too large)
	CounterReconnects         // connections opened after a failure or a loss
	CounterQuery10ms          // answered queries by latency: <= 10 ms
	CounterQuery50ms
	CounterQuery100ms
	CounterQuery500ms
	CounterQuery1s
	CounterQuerySlower        // > 1 s
	CounterConsumersCancelled // consumers the broker cancelled (basic.cancel), set up again
	CounterCount
)

// The subscriptions area (written by consumer 1): a sequence (odd while writing), the
// text's length, then the text (a JSON array), truncated to fit.
const (
	SubsSeq      = 0
	SubsLen      = 4
	SubsText     = 8
	SubsAreaSize = 64 * 1024
)

// Slot is a process's status slot, at least SlotSize bytes of shared memory.
type Slot []byte

// SetPID marks the slot as this process's.
func (s Slot) SetPID(pid uint32) { store32(s[SlotPID:], pid) }

// SetHeader stores how many broker entries are in use and the queries in flight.
func (s Slot) SetHeader(brokers, queriesInFlight uint32) {
	store32(s[SlotBrokers:], brokers)
	store32(s[SlotQueriesInFlight:], queriesInFlight)
}

// SetRuntime stores the process's goroutine count and live Go heap.
func (s Slot) SetRuntime(goroutines uint32, heapLive uint64) {
	store32(s[SlotGoroutines:], goroutines)
	store64(s[SlotGoHeapLive:], heapLive)
}

// SetBroker stores broker entry i (< StatusMaxBrokers).
func (s Slot) SetBroker(i int, state uint32, blocked bool, sinceMs, errors int64) {
	b := s[SlotBroker+BrokerEntrySize*i:]
	bl := uint32(0)
	if blocked {
		bl = 1
	}
	store32(b[BrokerState:], state)
	store32(b[BrokerBlocked:], bl)
	store64(b[BrokerSince:], uint64(sinceMs))
	store64(b[BrokerErrors:], uint64(errors))
}

// AddCounter adds n to counter idx (only the slot's process writes it), with one atomic
// add of the native word: the little-endian field on a little-endian host.
func (s Slot) AddCounter(idx, n int) {
	atomic.AddUint64((*uint64)(unsafe.Pointer(&s[SlotCounters+8*idx])), uint64(n))
}

// SubsArea is the subscriptions area, KZ_SUBS_AREA_SIZE bytes of shared memory.
type SubsArea []byte

// Write stores text (truncated to fit) in a sequence lock: *seq (the writer's count, which
// only the writer keeps, under its lock) goes odd, every store is atomic (Go's atomics are
// sequentially consistent, so no store of the text is seen before the odd sequence, nor the
// even one before the text), then even again. kz_rpc.c's copy_subscriptions, and Read
// below, are the reader.
func (a SubsArea) Write(seq *uint32, text []byte) {
	if len(a) < SubsText {
		return
	}
	dst := a[SubsText:]
	dst = dst[:len(dst)&^7] // whole words
	if len(text) > len(dst) {
		text = text[:len(dst)]
	}
	*seq++
	store32(a[SubsSeq:], *seq)
	storeWords(dst, text)
	store32(a[SubsLen:], uint32(len(text)))
	*seq++
	store32(a[SubsSeq:], *seq)
}

// Read is kz_rpc.c's copy_subscriptions in Go, with the same loads (tests): a consistent
// copy of the text, or false when every try met a write.
func (a SubsArea) Read() ([]byte, bool) {
	seqAt := (*uint32)(unsafe.Pointer(&a[SubsSeq]))
	for tries := 0; tries < 100; tries++ {
		seq := atomic.LoadUint32(seqAt)
		if seq&1 != 0 {
			continue
		}
		n := int(load32(a[SubsLen:]))
		n = min(n, len(a)-SubsText)
		out := make([]byte, (n+7)&^7)
		for i := 0; i < len(out); i += 8 {
			binary.NativeEndian.PutUint64(out[i:], atomic.LoadUint64((*uint64)(unsafe.Pointer(&a[SubsText+i]))))
		}
		if atomic.LoadUint32(seqAt) == seq {
			return out[:n], true
		}
	}
	return nil, false
}

// store32/store64 write little-endian values with single aligned stores (the areas are
// 8-byte aligned and every field is at an offset of its size).
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

func load32(b []byte) uint32 {
	v := atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[0])))
	return binary.LittleEndian.Uint32(unsafe.Slice((*byte)(unsafe.Pointer(&v)), 4))
}

// storeWords copies src to the start of dst (8-byte aligned, a whole number of words, at
// least as long as src rounded up) with one atomic store per 8-byte word, the last padded
// with zeros.
func storeWords(dst, src []byte) {
	for i := 0; i < len(src); i += 8 {
		var w [8]byte
		copy(w[:], src[i:])
		atomic.StoreUint64((*uint64)(unsafe.Pointer(&dst[i])), *(*uint64)(unsafe.Pointer(&w[0])))
	}
}
