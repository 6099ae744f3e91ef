package abi

import (
	"encoding/binary"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// aligned returns n zero bytes, 8-byte aligned as shm_malloc's.
func aligned(n int) []byte {
	words := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), n)
}

// The slot as kz_rpc.c reads it: fields at the offsets of struct kz_status_slot, little-endian.
func TestSlotLayout(t *testing.T) {
	s := Slot(aligned(SlotSize))
	s.SetPID(4242)
	s.SetHeader(2, 5)
	s.SetRuntime(17, 1<<40+3)
	s.SetBroker(1, BrokerDown, true, 1700000000123, 9)
	s.AddCounter(CounterAcked, 3)
	s.AddCounter(CounterAcked, 1)
	le32 := func(off int) uint32 { return binary.LittleEndian.Uint32(s[off:]) }
	le64 := func(off int) uint64 { return binary.LittleEndian.Uint64(s[off:]) }
	b := SlotBroker + BrokerEntrySize
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"pid", uint64(le32(0)), 4242}, {"brokers", uint64(le32(4)), 2}, {"in flight", uint64(le32(8)), 5},
		{"goroutines", uint64(le32(12)), 17}, {"heap", le64(16), 1<<40 + 3},
		{"state", uint64(le32(b)), 2}, {"blocked", uint64(le32(b + 4)), 1},
		{"since", le64(b + 8), 1700000000123}, {"errors", le64(b + 16), 9},
		{"acked", le64(SlotCounters + 8*CounterAcked), 4}, {"returned", le64(SlotCounters), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.name, c.got, c.want)
		}
	}
	if SlotSize != 24+24*16+8*12 {
		t.Errorf("slot size %d", SlotSize)
	}
}

// Every consistent copy a reader makes while the text changes is one of the texts written,
// whole (run with -race: the writer and reader use atomics only).
func TestSubsAreaSeqlock(t *testing.T) {
	area := SubsArea(aligned(SubsAreaSize))
	texts := map[string]bool{}
	var all []string
	for i := 0; i < 8; i++ {
		s := "[" + strings.Repeat(`{"q":"`+strconv.Itoa(i)+`"},`, i*8) + "]"
		all = append(all, s)
		texts[s] = true
	}
	var seq uint32
	area.Write(&seq, []byte(all[0]))
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			area.Write(&seq, []byte(all[i%len(all)]))
			time.Sleep(20 * time.Microsecond) // the module writes far less often: let readers see a whole one
		}
	}()
	consistent := 0
	for i := 0; i < 2000; i++ {
		if s, ok := area.Read(); ok {
			consistent++
			if !texts[string(s)] {
				t.Fatalf("a copy that no write wrote: %.200s", s)
			}
		}
	}
	close(stop)
	wg.Wait()
	if consistent == 0 {
		t.Fatal("no consistent copy in 2000 reads")
	}
}

func TestSubsAreaTruncates(t *testing.T) {
	area := SubsArea(aligned(64))
	var seq uint32
	area.Write(&seq, []byte(strings.Repeat("x", 100)))
	got, ok := area.Read()
	if !ok || len(got) != 56 || seq != 2 {
		t.Fatalf("%q %v seq %d", got, ok, seq)
	}
}
