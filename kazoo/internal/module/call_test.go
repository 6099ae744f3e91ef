package module

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// fakeCall is the broker side of a call: resolve gives it its outcome, then calls the
// notifier the start call registered, from the caller's goroutine, as the reply router or
// a confirm does.
type fakeCall struct {
	mu        sync.Mutex
	done      bool
	err       error
	body      []byte
	notify    func()
	finished  int // how many times finish ended the call
	abandoned int
}

var errFakeTimeout = status.Errorf(status.Timeout, "no reply within the timeout (fake)")

func (f *fakeCall) resolve(body []byte, err error) {
	f.mu.Lock()
	f.done, f.body, f.err = true, body, err
	notify := f.notify
	f.mu.Unlock()
	if notify != nil {
		notify()
	}
}

func (f *fakeCall) finish(timedOut bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.done:
		f.finished++
		f.notify = nil // as Pending.Cancel / PublishPending.Done: no more notifications
		return true, f.err
	case timedOut:
		f.finished++
		f.notify = nil
		return true, errFakeTimeout
	}
	return false, nil
}

func (f *fakeCall) abandon() {
	f.mu.Lock()
	f.abandoned++
	f.notify = nil
	f.mu.Unlock()
}

func (f *fakeCall) reply() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.body
}

func (f *fakeCall) counts() (finished, abandoned int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.finished, f.abandoned
}

// recordOutcome is the start call's Outcome.
type recordOutcome struct {
	mu    sync.Mutex
	n     int
	reply []byte
	err   error
}

func (o *recordOutcome) Deliver(reply []byte, err error) {
	o.mu.Lock()
	o.n++
	o.reply, o.err = append([]byte(nil), reply...), err
	o.mu.Unlock()
}

func (o *recordOutcome) get() (n int, reply []byte, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n, o.reply, o.err
}

// callHarness is one process: its module mutex, one call state and its eventfd (a pipe).
type callHarness struct {
	t      testing.TB
	mu     sync.Mutex
	cs     callState
	r, w   *os.File
	logBuf *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newCallHarness(t testing.TB) *callHarness {
	h := &callHarness{t: t, logBuf: &lockedBuffer{}}
	h.cs = newCallState(&h.mu, "query", klog.NewWriter(h.logBuf, klog.Err))
	var err error
	if h.r, h.w, err = os.Pipe(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.r.Close(); h.w.Close() })
	return h
}

// start is the start call: a new fakeCall whose outcome goes to out.
func (h *callHarness) start(out Outcome) *fakeCall { return h.startSent(out, nil) }

// startSent is start calling sent once the request is "sent", before it returns (an
// outcome may come while the start call still runs).
func (h *callHarness) startSent(out Outcome, sent func(*fakeCall)) *fakeCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cs.begin()
	f := &fakeCall{notify: h.cs.notifier(int(h.w.Fd()))}
	if sent != nil {
		sent(f)
	}
	h.cs.started(f, out)
	return f
}

func (h *callHarness) finish(timedOut bool) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cs.finish(timedOut)
}

// waitWake reads one wake-up from the eventfd: 8 bytes, the value 1.
func (h *callHarness) waitWake() {
	var b [8]byte
	if _, err := io.ReadFull(h.r, b[:]); err != nil {
		h.t.Fatal(err)
	}
	if b != [8]byte{1} {
		h.t.Fatalf("wake-up wrote %v, want a counter of 1", b)
	}
}

func TestCallOutcomeBeforeFinish(t *testing.T) {
	h := newCallHarness(t)
	out := &recordOutcome{}
	f := h.start(out)
	f.resolve([]byte(`{"ok":1}`), nil)
	h.waitWake()
	if n, reply, err := out.get(); n != 1 || string(reply) != `{"ok":1}` || err != nil {
		t.Fatalf("outcome: %d deliveries, %q, %v", n, reply, err)
	}
	// the process does not need the finish call, but one after the hand-over answers the same
	if done, err := h.finish(false); !done || err != nil {
		t.Fatalf("finish after delivery: %v %v", done, err)
	}
	if finished, _ := f.counts(); finished != 1 {
		t.Fatalf("broker side finished %d times", finished)
	}
	if n, _, _ := out.get(); n != 1 {
		t.Fatalf("%d deliveries", n)
	}
}

func TestCallOutcomeAfterFinish(t *testing.T) {
	h := newCallHarness(t)
	out := &recordOutcome{}
	f := h.start(out)
	if done, err := h.finish(false); done || err != nil {
		t.Fatalf("finish before the outcome: %v %v", done, err)
	}
	refused := status.Errorf(status.Rejected, "refused")
	f.resolve(nil, refused)
	h.waitWake()
	if n, _, err := out.get(); n != 1 || err != refused {
		t.Fatalf("outcome: %d deliveries, %v", n, err)
	}
	if done, err := h.finish(false); !done || err != refused {
		t.Fatalf("finish: %v %v", done, err)
	}
}

// The outcome arrives while the process is in Go (the start call not returned yet): the
// goroutine leaves it to the finish call, and still wakes the process.
func TestCallOutcomeWhileBusy(t *testing.T) {
	h := newCallHarness(t)
	out := &recordOutcome{}
	f := h.start(out)
	h.mu.Lock()
	f.resolve([]byte(`{}`), nil)
	h.mu.Unlock()
	h.waitWake()
	if n, _, _ := out.get(); n != 0 {
		t.Fatalf("delivered while the module was busy")
	}
	if done, err := h.finish(false); !done || err != nil {
		t.Fatalf("finish: %v %v", done, err)
	}
	if h.cs.call != nil {
		t.Fatal("call still in flight after finish")
	}
}

func TestCallTimeoutThenLateConfirm(t *testing.T) {
	h := newCallHarness(t)
	out := &recordOutcome{}
	f := h.start(out)
	notify := f.notify
	if done, err := h.finish(true); !done || err != errFakeTimeout {
		t.Fatalf("finish with timeout: %v %v", done, err)
	}
	// a confirm that comes late (its notification already under way)
	f.resolve(nil, nil)
	notify()
	h.waitWake()
	if n, _, _ := out.get(); n != 0 {
		t.Fatal("a late outcome was delivered after the timeout")
	}
	if done, err := h.finish(false); !done || err != errFakeTimeout {
		t.Fatalf("finish after the timeout: %v %v", done, err)
	}
	if finished, _ := f.counts(); finished != 1 {
		t.Fatalf("broker side finished %d times", finished)
	}
}

func TestCallStartForgetsUnfinished(t *testing.T) {
	h := newCallHarness(t)
	first := h.start(&recordOutcome{})
	out := &recordOutcome{}
	second := h.start(out)
	if _, abandoned := first.counts(); abandoned != 1 {
		t.Fatalf("unfinished call abandoned %d times", abandoned)
	}
	first.resolve(nil, nil) // its notifier is gone: nothing happens
	if n, _, _ := out.get(); n != 0 {
		t.Fatal("the forgotten call's outcome reached the new call")
	}
	second.resolve([]byte(`{"second":1}`), nil)
	h.waitWake()
	if n, reply, _ := out.get(); n != 1 || string(reply) != `{"second":1}` {
		t.Fatalf("outcome: %d %q", n, reply)
	}
}

func TestCallFinishWithoutStart(t *testing.T) {
	h := newCallHarness(t)
	done, err := h.finish(false)
	if !done || status.CodeOf(err) != status.Internal || !strings.Contains(err.Error(), "no query in progress") {
		t.Fatalf("finish without a call: %v %v", done, err)
	}
	// begin forgets the last outcome
	f := h.start(nil)
	f.resolve(nil, nil)
	h.waitWake()
	if done, err := h.finish(false); !done || err != nil {
		t.Fatalf("finish: %v %v", done, err)
	}
	h.mu.Lock()
	h.cs.begin()
	h.mu.Unlock()
	if _, err := h.finish(false); status.CodeOf(err) != status.Internal {
		t.Fatalf("after begin, finish returned the old outcome: %v", err)
	}
}

type panicOutcome struct{}

func (panicOutcome) Deliver([]byte, error) { panic("outcome target gone") }

func TestCallDeliverPanicKeepsOutcome(t *testing.T) {
	h := newCallHarness(t)
	f := h.start(panicOutcome{})
	f.resolve(nil, nil)
	h.waitWake()
	if !strings.Contains(h.logBuf.String(), "BUG: Go panic delivering an outcome (query true): outcome target gone") {
		t.Fatalf("log: %q", h.logBuf.String())
	}
	if done, err := h.finish(false); !done || err != nil { // the mutex was released
		t.Fatalf("finish: %v %v", done, err)
	}
}

func TestCallNotifier(t *testing.T) {
	h := newCallHarness(t)
	fd := int(h.w.Fd())
	h.cs.notifier(fd)()
	h.waitWake()
	if allocs := testing.AllocsPerRun(100, func() { h.cs.notifier(fd) }); allocs != 0 {
		t.Errorf("notifier allocates %v times per call for the same eventfd", allocs)
	}
	r2, w2, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	defer w2.Close()
	h.cs.notifier(int(w2.Fd()))()
	var b [8]byte
	if _, err := io.ReadFull(r2, b[:]); err != nil || b != [8]byte{1} {
		t.Fatalf("second eventfd: %v %v", b, err)
	}
}

// TestCallHandOverRace runs the hand-over many times (go test -race): the outcome arrives
// on another goroutine while the process starts, polls or waits. Whatever the order, the
// outcome is known before the wake-up, reaches out at most once and every finish call
// after the wake-up (the same outcome as out's), and the broker side is finished exactly
// once.
func TestCallHandOverRace(t *testing.T) {
	h := newCallHarness(t)
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	delivered := 0
	for i := range rounds {
		out := &recordOutcome{}
		var f *fakeCall
		var want error
		if i%3 == 1 {
			want = errors.New("refused")
		}
		body := []byte{'{', '}'}
		started := make(chan *fakeCall, 1)
		delay := rand.IntN(200) // yields before the outcome arrives: spreads it over start, polls and wait
		go func() {
			f := <-started
			for range delay {
				runtime.Gosched()
			}
			f.resolve(body, want)
		}()
		if i%4 == 3 { // the outcome may come before the start call returns
			f = h.startSent(out, func(f *fakeCall) { started <- f })
		} else {
			f = h.start(out)
			started <- f
		}
		if i%2 == 0 { // the process polls while the outcome arrives (TryLock contention)
			for {
				if done, err := h.finish(false); done {
					if err != want { // taken here, or delivered to out just before
						t.Fatalf("round %d: polled outcome %v, want %v", i, err, want)
					}
					break
				}
				runtime.Gosched()
			}
		}
		h.waitWake()
		n, reply, err := out.get()
		switch {
		case n > 1:
			t.Fatalf("round %d: delivered %d times", i, n)
		case n == 1 && (err != want || want == nil && string(reply) != "{}"):
			t.Fatalf("round %d: delivered %q %v, want %v", i, reply, err, want)
		}
		// after the wake-up the finish call always has the outcome
		if done, err := h.finish(false); !done || err != want {
			t.Fatalf("round %d: finish after the wake-up: %v %v (delivered %d)", i, done, err, n)
		}
		if finished, _ := f.counts(); finished != 1 {
			t.Fatalf("round %d: broker side finished %d times", i, finished)
		}
		delivered += n
	}
	t.Logf("%d of %d outcomes delivered to out, the others left to the finish call", delivered, rounds)
}
