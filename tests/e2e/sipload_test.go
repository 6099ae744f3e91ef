package e2e

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// sipLoad keeps Kamailio (publishCfg) busy in the background: one goroutine publishes
// (persistent "Id" p<n> to exchange kz_cluster_pub, routing key p.<n>), another queries
// (kz_cluster_q, q.ping), each one SIP request at a time with pace between them, and every
// call is recorded. It never fails the test itself (it runs outside the test's goroutine):
// an unanswered request is recorded with an rc that says so, for the test to judge.
type sipLoad struct {
	k    *harness.Kamailio
	pace time.Duration
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	mu    sync.Mutex
	calls []loadCall
	next  int
}

func startSIPLoad(k *harness.Kamailio, pace time.Duration) *sipLoad {
	l := &sipLoad{k: k, pace: pace, stop: make(chan struct{})}
	for _, query := range []bool{false, true} {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				case <-time.After(l.pace):
				}
				call := l.call(query)
				l.mu.Lock()
				l.calls = append(l.calls, call)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// call sends one request and tells how it went.
func (l *sipLoad) call(query bool) loadCall {
	var h map[string]string
	var body, id string
	if query {
		h = map[string]string{"X-Query": "3", "X-Exchange": "kz_cluster_q", "X-Routing-Key": "q.ping"}
		body = `{"Event-Category": "test", "Event-Name": "ping"}`
	} else {
		l.mu.Lock()
		l.next++
		id = fmt.Sprintf("p%05d", l.next)
		l.mu.Unlock()
		h = map[string]string{"X-Exchange": "kz_cluster_pub", "X-Routing-Key": "p." + id}
		body = `{"Event-Category": "load", "Event-Name": "pub", "Id": "` + id + `"}`
	}
	begin := time.Now()
	rep, err := harness.TrySipRequest(l.k.SipPort(), "MESSAGE", "load", h, body, 10*time.Second)
	c := loadCall{at: time.Now(), query: query, id: id}
	c.took = c.at.Sub(begin)
	switch {
	case err != nil:
		c.rc = "no SIP answer: " + err.Error()
	case rep[":code"] != "200":
		c.rc = "SIP " + rep[":code"]
	default:
		c.rc = rep["x-rc"]
	}
	return c
}

// Calls are the calls recorded so far, in the order they ended.
func (l *sipLoad) Calls() []loadCall {
	l.mu.Lock()
	calls := append([]loadCall(nil), l.calls...)
	l.mu.Unlock()
	sort.SliceStable(calls, func(i, j int) bool { return calls[i].at.Before(calls[j].at) })
	return calls
}

// Stop ends the load (after the calls in progress) and returns every call. It may be called
// again (a cleanup does).
func (l *sipLoad) Stop() []loadCall {
	l.once.Do(func() { close(l.stop) })
	l.wg.Wait()
	return l.Calls()
}
