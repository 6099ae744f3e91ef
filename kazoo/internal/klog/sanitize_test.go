package klog

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSanitize(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, é and 😀":          "plain text, é and 😀",
		"a\nb\rc\td":                   `a\nb\rc\td`,
		"nul\x00esc\x1b[31mred\x7fdel": `nul\x00esc\x1b[31mred\x7fdel`,
		"csi \u009b2J, nel \u0085":     `csi \u009b2J, nel \u0085`,
		"\xc2 alone, \xc2\xa0 nbsp":    "\xc2 alone, \xc2\xa0 nbsp",
		"end\xc2":                      "end\xc2",
		"\x01\x1f":                     `\x01\x1f`,
	} {
		got, _ := sanitize([]byte("prefix|"+in), len("prefix|"), nil)
		if string(got) != "prefix|"+want {
			t.Errorf("%q: got %q, want %q", in, got, "prefix|"+want)
		}
	}
	// the prefix is not the content's: left alone
	if got, _ := sanitize([]byte("a\x01|b"), 3, nil); string(got) != "a\x01|b" {
		t.Errorf("prefix changed: %q", got)
	}
}

// A line from message content reaches the log as one line without control characters.
func TestLogLineSanitised(t *testing.T) {
	var b bytes.Buffer
	l := NewWriter(&b, Info)
	for i := 0; i < 3; i++ { // the buffers swap: each line must come out whole
		b.Reset()
		l.Errorf("rejected: %s", "{\"k\":\"\x1b]0;owned\x07\x00\r\nFAKE: line\"}")
		want := "1" + strconv.Itoa(os.Getpid()) + `|rejected: {"k":"\x1b]0;owned\x07\x00\r\nFAKE: line"}` + "\n"
		if b.String() != want {
			t.Fatalf("got %q, want %q", b.String(), want)
		}
		l.Infof("clean %d", i)
	}
}

func TestNoAllocationWhenClean(t *testing.T) {
	l := NewWriter(discard{}, Info)
	allocs := testing.AllocsPerRun(100, func() { l.Infof("clean line") })
	if allocs > 0 {
		t.Errorf("%.1f allocations per clean line", allocs)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// At most limitBurst lines per key and window; when the window ends, one line counts the
// rest; other keys are not affected; the next window logs again.
func TestRateLimit(t *testing.T) {
	var mu syncBuffer
	l := NewWriter(&mu, Debug)
	for i := 0; i < 1000; i++ {
		l.LimitedErrorf("rejected messages", "rejected %d", i)
	}
	l.LimitedErrorf("unmatched replies", "other key")
	l.LimitedDebugf("late replies", "late")
	lines := mu.lines()
	if len(lines) != limitBurst+2 {
		t.Fatalf("%d lines at once, want %d: %q", len(lines), limitBurst+2, lines)
	}
	deadline := time.Now().Add(3 * limitWindow)
	for time.Now().Before(deadline) && len(mu.lines()) == limitBurst+2 {
		time.Sleep(20 * time.Millisecond)
	}
	lines = mu.lines()
	if len(lines) != limitBurst+3 {
		t.Fatalf("%d lines after the window, want %d: %q", len(lines), limitBurst+3, lines)
	}
	report := lines[len(lines)-1]
	if !strings.HasPrefix(report, "1") || !strings.Contains(report, "suppressed 995 similar lines: rejected messages") {
		t.Errorf("report line %q", report)
	}
	l.LimitedErrorf("rejected messages", "after the window")
	if last := mu.lines(); !strings.HasSuffix(last[len(last)-1], "after the window") {
		t.Errorf("the next window logs nothing: %q", last)
	}
}

func TestRateLimitBoundsKeys(t *testing.T) {
	l := NewWriter(discard{}, Err)
	for i := 0; i < 10*limitKeys; i++ {
		l.LimitedErrorf("key "+strconv.Itoa(i), "x")
	}
	if n := len(l.limit.buckets); n > limitKeys+1 {
		t.Errorf("%d buckets", n)
	}
}

// syncBuffer collects lines written from the caller and from the report timer.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSuffix(s.buf.String(), "\n"), "\n")
}
