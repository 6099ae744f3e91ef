// Package memrelease gives the Go heap's freed memory back to the OS once a process is quiet.
//
// Every Kamailio process that runs routes has a Go runtime of its own, so what one runtime
// keeps resident is paid once per process. Its live heap is small (tens of KB), but the AMQP
// client allocates per message, and between collections the garbage fills pages that the
// runtime keeps after the collection and returns only slowly (its background scavenger
// aims at the heap goal, not at the live heap). Measured on the benchmark's SIP workers, at
// 300 queries/s: 4.7 MB PSS per worker with Go's own pace, 3.8 MB when the freed heap went
// back every second, at about 10 % more CPU per query; so it goes back when the load is
// over, not during it.
package memrelease

import (
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

const (
	// threshold: below this much allocation since the last release, and this much free
	// heap held, a release is not worth a collection
	threshold = 256 << 10
	// busy: a process that allocated this much since the last look is under load (a SIP
	// worker at 300 queries/s over 4 workers allocates ~180 KB a second, a consumer
	// draining a queue megabytes): releasing then makes it fault the same pages back in,
	// with TLB shootdowns across its threads (measured: +9 µs of CPU per consumed event,
	// about +10 % per query), while its collections bound its heap anyway. The release
	// comes once the load is over.
	busy = 64 << 10
)

// An idle process stops looking: after a look that found nothing allocated and nothing to
// release, Run parks until Activity says the process is working again. Waking a Go runtime
// costs thread switches even when it does nothing (measured: 13 processes looking once a
// second raised Kamailio's idle CPU from 3.5-4.6 to 6.9 ms per second on this VM), and a
// Kamailio node has dozens of idle ones.
var (
	parked atomic.Bool
	wake   = make(chan struct{}, 1)
)

// Activity tells a parked Run that the process is working again. Cheap enough for every
// call into the module: an atomic load unless Run is parked.
func Activity() {
	if parked.Load() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// Run looks every interval and releases when the heap allocated at least threshold bytes
// since the last release or holds that much free, unless the process is busy: one forced
// collection, then the free pages go back. A process that allocates nothing parks until
// Activity. afterLook (may be nil) runs after each look. Never returns.
func Run(interval time.Duration, afterLook func()) {
	var r releaser
	for {
		time.Sleep(interval)
		o := r.tick()
		if afterLook != nil {
			afterLook()
		}
		if o != idle {
			continue
		}
		parked.Store(true)
		// an Activity between the look and parked.Store found Run awake: look again
		if r.tick() == idle {
			<-wake
		}
		parked.Store(false)
	}
}

// what a look found
type outcome int

const (
	idle     outcome = iota // nothing allocated since the last look
	busyLook                // allocating, but no release (a burst, or too little yet)
	released
)

// releaser keeps what the last look and release saw; its samples are reused (no
// allocation per tick).
type releaser struct {
	samples              [2]metrics.Sample
	lastLook, lastAllocs uint64
}

// tick releases if it is worth it, and says what it found.
func (r *releaser) tick() outcome {
	if r.samples[0].Name == "" {
		r.samples[0].Name, r.samples[1].Name = "/gc/heap/allocs:bytes", "/memory/classes/heap/free:bytes"
	}
	metrics.Read(r.samples[:])
	allocs, free := value(r.samples[0]), value(r.samples[1])
	quiet := allocs == r.lastLook
	burst := r.lastLook != 0 && allocs-r.lastLook >= busy
	r.lastLook = allocs
	switch {
	case burst:
		return busyLook
	case allocs-r.lastAllocs < threshold && free < threshold:
		if quiet {
			return idle
		}
		return busyLook
	}
	debug.FreeOSMemory()
	metrics.Read(r.samples[:1])
	r.lastAllocs, r.lastLook = value(r.samples[0]), value(r.samples[0])
	return released
}

func value(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}
