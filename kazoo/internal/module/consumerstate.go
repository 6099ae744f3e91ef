package module

import (
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// consumerStatus is one consumer of a subscription, as kazoo.subscriptions shows it: which
// worker, on which broker, consuming or not since when. Workers send theirs to worker 1
// (ctlConsumerState), which publishes the list.
type consumerStatus struct {
	Worker int
	Broker int
	State  string // consuming, cancelled, retrying
	Since  string // UTC, RFC 3339
	Reason string `json:",omitempty"`
	Next   string `json:",omitempty"` // the next attempt, when not consuming
}

// consumerRecord is what a worker sends worker 1 (ctlConsumerState): a consumer's status,
// or that it is gone (stopped by the worker: unsubscribed, or its connection lost).
type consumerRecord struct {
	Sub    string
	Gone   bool `json:",omitempty"`
	Status consumerStatus
}

// subscriptionStatus is a subscription with its consumers, for kazoo.subscriptions.
type subscriptionStatus struct {
	subscription.Subscription
	Consumers []consumerStatus
}

// consumerStates is worker 1's view of every worker's consumers.
type consumerStates struct {
	mu sync.Mutex
	by map[consumerKey]consumerStatus
}

type consumerKey struct {
	sub            string
	worker, broker int
}

func (c *consumerStates) set(r consumerRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.by == nil {
		c.by = map[consumerKey]consumerStatus{}
	}
	k := consumerKey{r.Sub, r.Status.Worker, r.Status.Broker}
	if r.Gone {
		delete(c.by, k)
		return
	}
	c.by[k] = r.Status
}

// of lists a subscription's consumers by worker, then broker.
func (c *consumerStates) of(sub string) []consumerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []consumerStatus{}
	for k, st := range c.by {
		if k.sub == sub {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Worker != out[j].Worker {
			return out[i].Worker < out[j].Worker
		}
		return out[i].Broker < out[j].Broker
	})
	return out
}

// consumerState is a consumer's broker.ConsumeSpec.OnState: a broker-side cancel is
// counted and logged (by worker 1 for a shared queue, which every worker consumes, so the
// line comes once), and every change goes to worker 1 for kazoo.subscriptions.
func (s *subscriptions) consumerState(bc *broker.Conn, sub subscription.Subscription, prev *broker.ConsumerPhase, st broker.ConsumerState) {
	w := s.w
	w.reportCancel(bc, "subscription "+sub.ID(), w.index == 1 || !sub.Shared(), prev, st)
	cs := consumerStatus{Worker: w.index, Broker: bc.Broker.ID, State: st.Phase.String(),
		Since: st.Since.UTC().Format(time.RFC3339), Reason: st.Reason}
	if !st.Next.IsZero() {
		cs.Next = st.Next.UTC().Format(time.RFC3339Nano)
	}
	w.sendConsumerRecord(consumerRecord{Sub: sub.ID(), Status: cs})
}

// reportCancel counts a broker-side cancel of the consumer named what on bc and, when logs
// (one worker speaks for a queue every worker consumes), logs it and the recovery after it.
// prev is the phase reported last, updated here.
func (w *Worker) reportCancel(bc *broker.Conn, what string, logs bool, prev *broker.ConsumerPhase, st broker.ConsumerState) {
	switch {
	case st.Phase == broker.Cancelled:
		w.m.count(counterCancelled)
		if logs {
			w.m.Log.Errorf("%s on broker %s: %s; declaring and consuming it again in %v",
				what, bc.Broker.Masked(), st.Reason, st.Next.Sub(st.Since).Round(time.Millisecond))
		}
	case st.Phase == broker.Consuming && *prev == broker.Cancelled && logs:
		w.m.Log.Infof("%s on broker %s: consuming again", what, bc.Broker.Masked())
	}
	*prev = st.Phase
}

// consumerGone tells worker 1 that a consumer stopped by this worker (unsubscribed, or its
// connection lost) is no longer listed.
func (w *Worker) consumerGone(bc *broker.Conn, subID string) {
	w.sendConsumerRecord(consumerRecord{Sub: subID, Gone: true, Status: consumerStatus{Worker: w.index, Broker: bc.Broker.ID}})
}

func (w *Worker) sendConsumerRecord(r consumerRecord) {
	rec, err := json.Marshal(r)
	if err != nil {
		return
	}
	if err := w.m.sendControl(0, append([]byte{ctlConsumerState}, rec...)); err != nil {
		w.m.Log.Debugf("consumer state for kazoo.subscriptions: %v", err)
	}
}

// consumerStateRecord applies a ctlConsumerState record (worker 1).
func (w *Worker) consumerStateRecord(rec []byte) {
	var r consumerRecord
	if err := json.Unmarshal(rec, &r); err != nil {
		w.m.Log.Errorf("BUG: consumer state record: %v", err)
		return
	}
	w.consumers.set(r)
	w.publishSubscriptions()
}
