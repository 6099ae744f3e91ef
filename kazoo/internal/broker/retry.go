package broker

import (
	"math/rand/v2"
	"time"
)

// Retry is a backoff policy: the wait after the n-th failure in a row grows from Initial
// by Factor up to Max, each wait spread by ±Jitter (a fraction of it) so that many
// processes that lost the same broker do not retry in step.
type Retry struct {
	Initial time.Duration
	Max     time.Duration
	Factor  float64 // 0 or 1: every wait is Initial
	Jitter  float64 // 0: exact waits
}

// The policies of this package. They differ on purpose, so one Retry value could not
// serve all: a connection comes back quickly (a broker that returns is used again within
// ~0.6 s; a dead local one costs one refused connect per process every half second), while
// a subscription channel the broker refused (a declaration it rejects, 406 for flags that
// differ from an existing queue) fails again the same way until someone changes the broker
// or the script, so it is retried slowly, one log line per retry at most. The reply queue
// is in between: its usual failure, 405 RESOURCE_LOCKED on a new connection while the
// broker still holds the queue for the process's previous one (it has not noticed that one
// dead yet), passes by itself within the broker's heartbeat timeout, and kazoo_query is
// unavailable until then, so it is retried soon and often, one log line per outage.
var (
	// reconnectRetry: NewConn, when Options.Reconnect is not set.
	reconnectRetry = Retry{Initial: 100 * time.Millisecond, Max: 500 * time.Millisecond, Factor: 2, Jitter: 0.25}
	// consumeRetry: a subscription channel that failed, when Options.ConsumeRetry is not set.
	consumeRetry = Retry{Initial: time.Second, Max: 30 * time.Second, Factor: 2}
	// replyRetry: the reply queue on an open connection, when Options.ReplyRetry is not set.
	replyRetry = Retry{Initial: 200 * time.Millisecond, Max: 5 * time.Second, Factor: 2, Jitter: 0.25}
)

// Base is the wait after failure number n (0: the first), without jitter.
func (r Retry) Base(n int) time.Duration {
	d := r.Initial
	for i := 0; i < n && d < r.Max && r.Factor > 1; i++ {
		d = time.Duration(float64(d) * r.Factor)
	}
	return min(d, r.Max)
}

// Delay is the wait after failure number n (0: the first), jittered.
func (r Retry) Delay(n int) time.Duration {
	return r.jitter(r.Base(n))
}

func (r Retry) jitter(d time.Duration) time.Duration {
	spread := int64(float64(d) * r.Jitter)
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread) + time.Duration(rand.Int64N(2*spread+1))
}

// orDefault is r, or def where r is the zero Retry.
func (r Retry) orDefault(def Retry) Retry {
	if r == (Retry{}) {
		return def
	}
	return r
}
