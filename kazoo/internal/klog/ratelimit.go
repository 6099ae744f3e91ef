package klog

import (
	"sync"
	"time"
)

// Lines that content from outside can repeat at will (a rejected message, a reply nobody
// waits for) are rate-limited per key: at most limitBurst lines per key in each
// limitWindow; the rest are counted, and when the window ends one line says how many
// were suppressed. A hostile or broken sender then costs the log a few lines a second.
const (
	limitBurst  = 5
	limitWindow = time.Second
	// limitKeys bounds the keys followed; the keys are the call sites' constants, so more
	// is a bug, and further keys share one bucket rather than grow the map
	limitKeys = 64
)

type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	start      time.Time
	logged     int
	suppressed uint64
	level      Level
	flushing   bool // a timer reports the suppressed lines at the window's end
}

// LimitedLogf is Logf, rate-limited under key (a constant naming the kind of line, which
// is also named in the suppression report).
func (l *Logger) LimitedLogf(key string, level Level, format string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	if l.allow(key, level, time.Now()) {
		l.Logf(level, format, args...)
	}
}

// LimitedErrorf is Errorf rate-limited under key (see LimitedLogf).
func (l *Logger) LimitedErrorf(key, format string, args ...any) {
	l.LimitedLogf(key, Err, format, args...)
}

// LimitedWarnf is Warnf rate-limited under key (see LimitedLogf).
func (l *Logger) LimitedWarnf(key, format string, args ...any) {
	l.LimitedLogf(key, Warn, format, args...)
}

// LimitedDebugf is Debugf rate-limited under key (see LimitedLogf).
func (l *Logger) LimitedDebugf(key, format string, args ...any) {
	l.LimitedLogf(key, Debug, format, args...)
}

// allow counts one line under key and says whether it may be written.
func (l *Logger) allow(key string, level Level, now time.Time) bool {
	lim := &l.limit
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if lim.buckets == nil {
		lim.buckets = map[string]*bucket{}
	}
	b := lim.buckets[key]
	if b == nil {
		if len(lim.buckets) >= limitKeys {
			key = "other lines"
			b = lim.buckets[key]
		}
		if b == nil {
			b = &bucket{start: now}
			lim.buckets[key] = b
		}
	}
	if !b.flushing && now.Sub(b.start) >= limitWindow {
		b.start, b.logged = now, 0
	}
	if b.logged < limitBurst {
		b.logged++
		return true
	}
	b.suppressed++
	if level < b.level || b.level == 0 {
		b.level = level // the report has the level of the most severe line it stands for
	}
	if !b.flushing {
		b.flushing = true
		time.AfterFunc(b.start.Add(limitWindow).Sub(now), func() { l.reportSuppressed(key) })
	}
	return false
}

// reportSuppressed ends key's window: one line with the count, and a new window.
func (l *Logger) reportSuppressed(key string) {
	lim := &l.limit
	lim.mu.Lock()
	b := lim.buckets[key]
	n, level := b.suppressed, b.level
	b.suppressed, b.level, b.flushing = 0, 0, false
	b.start, b.logged = time.Now(), 0
	lim.mu.Unlock()
	if n > 0 {
		l.Logf(level, "… (suppressed %d similar lines: %s; at most %d a second are logged)", n, key, limitBurst)
	}
}
