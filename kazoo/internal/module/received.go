package module

import (
	"strconv"
	"time"
)

// receivedAt is the AMQP-Received value of a message received now: unix seconds, as
// upstream's module; unix microseconds with amqp_received_micro, as 2600hz's fork (whose
// configs subtract it from $TV(Sn) for their log lines).
func (m *Module) receivedAt(now time.Time) string {
	if m.Cfg.ReceivedMicro {
		return strconv.FormatInt(now.UnixMicro(), 10)
	}
	return strconv.FormatInt(now.Unix(), 10)
}

// microTimestampMin: an AMQP timestamp at least this large is in microseconds (2600hz's
// fork sent those; as seconds it would be 30,000 years from now), a smaller one in seconds
// (the AMQP spec).
const microTimestampMin = 1_000_000_000_000

// elapsedMicro is AMQP-Elapsed-Micro (amqp_received_micro): the microseconds from a
// message's AMQP timestamp ts to now; 0 when the clocks disagree, as in the fork. ok is
// false without a timestamp (ts 0).
func elapsedMicro(now time.Time, ts int64) (us int64, ok bool) {
	if ts <= 0 {
		return 0, false
	}
	if ts < microTimestampMin {
		ts *= 1_000_000
	}
	return max(now.UnixMicro()-ts, 0), true
}
