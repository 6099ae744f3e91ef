package module

import (
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
)

func TestReceivedAtAndElapsedMicro(t *testing.T) {
	now := time.Unix(1_700_000_000, 250_000_000)
	if got := (&Module{Cfg: &config.Config{}}).receivedAt(now); got != "1700000000" {
		t.Errorf("seconds: %s", got)
	}
	if got := (&Module{Cfg: &config.Config{ReceivedMicro: true}}).receivedAt(now); got != "1700000000250000" {
		t.Errorf("microseconds: %s", got)
	}
	for _, c := range []struct {
		ts   int64
		want int64
		ok   bool
	}{
		{0, 0, false},
		{1_699_999_999, 1_250_000, true},       // seconds (AMQP spec)
		{1_700_000_000_000_000, 250_000, true}, // microseconds (the fork)
		{1_700_000_001_000_000, 0, true},       // clocks out of sync
	} {
		if us, ok := elapsedMicro(now, c.ts); us != c.want || ok != c.ok {
			t.Errorf("elapsedMicro(%d) = %d, %v; want %d, %v", c.ts, us, ok, c.want, c.ok)
		}
	}
}
