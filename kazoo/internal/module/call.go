package module

import (
	"sync"
	"syscall"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

// pendingCall is the broker side of a synchronous call in flight, as callState sees it: a
// query's broker.Pending (queryCall), a publish's broker.PublishPending (publishCall).
type pendingCall interface {
	// finish ends the call once its outcome is known (done), or at once with a timeout
	// when timedOut, and releases its broker side. Never blocks for long.
	finish(timedOut bool) (done bool, err error)
	// abandon forgets a call its caller never finished.
	abandon()
	// reply is what Outcome.Deliver gets with a nil error (nil for a publish); valid until
	// the next call.
	reply() []byte
}

// callState is a Kamailio process's synchronous query or publish between its start and
// finish calls, and the hand-over of its outcome: the goroutine that learns the outcome
// (the reply router, a confirm) writes it to the start call's Outcome and wakes the
// process (notifier), which then needs no finish call into Go (see Outcome); when the
// process is busy in Go at that moment (still in the start call, or in the finish call
// after its timeout), the goroutine leaves the outcome to the finish call instead. Either
// way the outcome is known before the wake-up, and a finish call after the hand-over
// returns it again.
//
// mu is the module's: it also guards the scratch buffers the call's finish uses. Callers
// hold it for every method but deliver and the notifier's function.
type callState struct {
	mu   *sync.Mutex
	what string // "query" or "publish", for errors
	log  *klog.Logger

	call pendingCall // nil: none in flight
	out  Outcome     // where deliver writes call's outcome (may be nil)
	// the outcome of the last call, once finished, for a finish call that comes after
	known bool
	err   error
	// the notifier of the last eventfd, built once per eventfd (no allocation per call)
	notifyFD int
	notify   func()
}

func newCallState(mu *sync.Mutex, what string, log *klog.Logger) callState {
	return callState{mu: mu, what: what, log: log}
}

// begin starts a new call: a call its caller never finished is forgotten, and so is the
// last outcome.
func (c *callState) begin() {
	if c.call != nil {
		c.call.abandon()
		c.call = nil
	}
	c.known, c.err, c.out = false, nil, nil
}

// started records the call that begin's caller sent; its outcome goes to out.
func (c *callState) started(call pendingCall, out Outcome) { c.call, c.out = call, out }

// finish collects the call's outcome: done false while it has none and timedOut is false.
// After the outcome went to out, it is that outcome again.
func (c *callState) finish(timedOut bool) (done bool, err error) {
	if c.call == nil && c.known {
		return true, c.err
	}
	return c.finishLocked(timedOut)
}

func (c *callState) finishLocked(timedOut bool) (done bool, err error) {
	if c.call == nil {
		return true, status.Errorf(status.Internal, "no %s in progress in this process", c.what)
	}
	if done, err = c.call.finish(timedOut); !done {
		return false, nil
	}
	c.call, c.out = nil, nil
	c.known, c.err = true, err
	return true, err
}

// deliver runs in the goroutine that learned something about the call, before the
// process is woken: once the call has its outcome, the outcome goes to out. When the
// module is busy (TryLock fails: the caller is in the start or finish call) it leaves the
// outcome to finish.
func (c *callState) deliver() {
	if !c.mu.TryLock() {
		return
	}
	defer c.mu.Unlock()
	defer func() {
		if r := recover(); r != nil { // the finish call still answers; the process must not die
			c.log.Errorf("BUG: Go panic delivering an outcome (query %v): %v", c.what == "query", r)
		}
	}()
	if c.out == nil || c.call == nil {
		return
	}
	call, out := c.call, c.out
	if done, err := c.finishLocked(false); done {
		out.Deliver(call.reply(), err)
	}
}

// notifier is what the broker side calls when it learned something about the call
// (deliver), then wakes the process waiting on notifyFD.
func (c *callState) notifier(notifyFD int) func() {
	if c.notify == nil || c.notifyFD != notifyFD {
		c.notifyFD = notifyFD
		c.notify = func() {
			c.deliver()
			wakeFD(notifyFD)
		}
	}
	return c.notify
}

// wakeFD wakes the process waiting for a call's outcome (an eventfd counts up).
func wakeFD(fd int) {
	one := [8]byte{1}
	_, _ = syscall.Write(fd, one[:])
}
