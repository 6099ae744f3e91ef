package memrelease

import (
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var sink [][]byte

func releasedBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A release happens after allocation, gives pages back, and an idle tick does nothing.
func TestTickReleasesAfterAllocationOnly(t *testing.T) {
	var r releaser
	r.tick() // whatever the test binary allocated so far
	for i := 0; i < 64; i++ {
		sink = append(sink, make([]byte, 8<<10))
	}
	sink = nil // 512 KB of garbage: a burst, then quiet
	if r.tick() != busyLook {
		t.Fatal("released right after 512 KB of allocation")
	}
	before := releasedBytes()
	if r.tick() != released {
		t.Fatal("no release once quiet after 512 KB of allocation")
	}
	if after := releasedBytes(); after <= before {
		t.Errorf("released bytes did not grow: %d -> %d", before, after)
	}
	if got := r.tick(); got == released {
		t.Error("released again with nothing allocated since")
	}
}

// In a burst (more than busy allocated since the last look) nothing is released; the
// release comes at the first quiet look.
func TestTickWaitsForTheEndOfABurst(t *testing.T) {
	var r releaser
	r.tick()
	for i := 0; i < 256; i++ {
		sink = append(sink, make([]byte, 8<<10))
	}
	sink = nil
	if r.tick() != busyLook {
		t.Fatal("released in the middle of a 2 MB burst")
	}
	if r.tick() != released {
		t.Fatal("no release once the burst was over")
	}
}

// A look that finds nothing allocated says idle, so that Run looks less often.
func TestTickIdle(t *testing.T) {
	var r releaser
	r.tick()
	r.tick()
	if got := r.tick(); got != idle {
		t.Errorf("third look in a row with nothing allocated: %v, want idle", got)
	}
}

// Run never returns and parks on package state: one per test binary (-count runs the test
// again).
var (
	runOnce  sync.Once
	runLooks atomic.Int64
)

// An idle process parks its releaser; Activity wakes it for another look.
func TestRunParksUntilActivity(t *testing.T) {
	looks := &runLooks
	runOnce.Do(func() { go Run(2*time.Millisecond, func() { looks.Add(1) }) })
	parkedWithin := func(d time.Duration) bool {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if parked.Load() {
				return true
			}
		}
		return false
	}
	if !parkedWithin(2 * time.Second) {
		t.Fatalf("not parked after %d looks", looks.Load())
	}
	n := looks.Load()
	time.Sleep(50 * time.Millisecond)
	if got := looks.Load(); got != n {
		t.Fatalf("parked, yet looked %d more times", got-n)
	}
	Activity()
	for end := time.Now().Add(2 * time.Second); looks.Load() == n; time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("Activity did not wake the parked releaser")
		}
	}
}
