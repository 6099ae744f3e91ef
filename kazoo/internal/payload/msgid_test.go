package payload

import (
	"regexp"
	"testing"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewMsgID(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := string(NewMsgID(nil))
		if !uuidV4.MatchString(id) {
			t.Fatalf("%q is not a lower-case version-4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
	if got := NewMsgID([]byte("id=")); len(got) != 39 || string(got[:3]) != "id=" {
		t.Fatalf("NewMsgID did not append: %q", got)
	}
}

func TestNewMsgIDDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under -race")
	}
	buf := make([]byte, 0, 36)
	if allocs := testing.AllocsPerRun(100, func() { buf = NewMsgID(buf[:0]) }); allocs != 0 {
		t.Fatalf("NewMsgID allocated %.1f times per run, want 0", allocs)
	}
}

func BenchmarkNewMsgID(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 36)
	for b.Loop() {
		buf = NewMsgID(buf[:0])
	}
}
