package broker

import (
	"testing"
	"time"
)

func TestRetryBase(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Retry
		want []time.Duration
	}{
		{"reconnect", reconnectRetry, []time.Duration{100e6, 200e6, 400e6, 500e6, 500e6}},
		{"consume", consumeRetry, []time.Duration{1e9, 2e9, 4e9, 8e9, 16e9, 30e9, 30e9}},
		{"constant", Retry{Initial: time.Second, Max: time.Minute}, []time.Duration{1e9, 1e9, 1e9}},
		{"capped at once", Retry{Initial: time.Minute, Max: time.Second, Factor: 2}, []time.Duration{1e9, 1e9}},
		{"factor 1.5", Retry{Initial: 100, Max: 1000, Factor: 1.5}, []time.Duration{100, 150, 225, 337, 505, 757, 1000, 1000}},
	} {
		for n, want := range tc.want {
			if got := tc.r.Base(n); got != want {
				t.Errorf("%s: Base(%d) = %v, want %v", tc.name, n, got, want)
			}
		}
	}
	// a long outage must not overflow the wait
	if got := reconnectRetry.Base(1 << 20); got != 500*time.Millisecond {
		t.Errorf("Base(huge) = %v", got)
	}
}

func TestRetryDelayJitter(t *testing.T) {
	// consumeRetry has no jitter: the wait logged is the wait slept
	for n := range 8 {
		if got, want := consumeRetry.Delay(n), consumeRetry.Base(n); got != want {
			t.Errorf("consume Delay(%d) = %v, want %v", n, got, want)
		}
	}
	// reconnectRetry: base ± 25%, and not always the same
	for n := range 5 {
		base := reconnectRetry.Base(n)
		lo, hi := base-base/4, base+base/4
		seen := map[time.Duration]bool{}
		for range 200 {
			d := reconnectRetry.Delay(n)
			if d < lo || d > hi {
				t.Fatalf("reconnect Delay(%d) = %v, outside [%v, %v]", n, d, lo, hi)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("reconnect Delay(%d): only %d distinct waits in 200", n, len(seen))
		}
	}
}

func TestRetryOrDefault(t *testing.T) {
	if got := (Retry{}).orDefault(consumeRetry); got != consumeRetry {
		t.Errorf("zero Retry: %+v", got)
	}
	own := Retry{Initial: time.Millisecond, Max: time.Millisecond}
	if got := own.orDefault(consumeRetry); got != own {
		t.Errorf("set Retry: %+v", got)
	}
}
