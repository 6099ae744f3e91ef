//go:build bench

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// floor is the physical floor of a query: a Go client doing kazoo_query's request/reply
// through the same broker and the same responder, with no Kamailio. Its reply queue is
// exclusive, bound to "targeted" under its own name, consumed with no-ack; the request is
// a channel_status_req published (mandatory) to callevt with that name as Server-ID; the
// reply is matched on Msg-ID, as kazoo_query does.
type floor struct {
	conn  *amqp.Connection
	pub   *amqp.Channel
	queue string

	mu      sync.Mutex
	waiting map[string]chan struct{}
	seq     int
}

func newFloor(url string) (*floor, error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return nil, err
	}
	f := &floor{conn: conn, waiting: map[string]chan struct{}{},
		queue: fmt.Sprintf("bench-floor@bench.kazoo.test-%d", os.Getpid())}
	fail := func(err error) (*floor, error) { conn.Close(); return nil, err }
	sub, err := conn.Channel()
	if err != nil {
		return fail(err)
	}
	if _, err := sub.QueueDeclare(f.queue, false, true, true, false, nil); err != nil {
		return fail(err)
	}
	if err := sub.QueueBind(f.queue, f.queue, "targeted", false, nil); err != nil {
		return fail(err)
	}
	deliveries, err := sub.Consume(f.queue, "", true, true, false, false, nil)
	if err != nil {
		return fail(err)
	}
	if f.pub, err = conn.Channel(); err != nil {
		return fail(err)
	}
	go f.dispatch(deliveries)
	return f, nil
}

func (f *floor) Close() { f.conn.Close() }

var msgIDKey = []byte(`"Msg-ID":"`)

func (f *floor) dispatch(ds <-chan amqp.Delivery) {
	for d := range ds {
		var id string
		if i := bytes.Index(d.Body, msgIDKey); i >= 0 { // kazoo-sim's json.Marshal: no spaces
			rest := d.Body[i+len(msgIDKey):]
			if j := bytes.IndexByte(rest, '"'); j >= 0 {
				id = string(rest[:j])
			}
		} else {
			var m struct {
				MsgID string `json:"Msg-ID"`
			}
			_ = json.Unmarshal(d.Body, &m)
			id = m.MsgID
		}
		f.mu.Lock()
		ch := f.waiting[id]
		delete(f.waiting, id)
		f.mu.Unlock()
		if ch != nil {
			close(ch)
		}
	}
}

// query sends one request and waits for its reply; returns the round trip.
func (f *floor) query(timeout time.Duration) (time.Duration, error) {
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("floor-%d-%d", os.Getpid(), f.seq)
	done := make(chan struct{})
	f.waiting[id] = done
	f.mu.Unlock()
	body := fmt.Sprintf(`{"Event-Category":"call_event","Event-Name":"channel_status_req","Call-ID":"%s@bench","Msg-ID":"%s","Server-ID":"%s","App-Name":"bench-floor","App-Version":"1.0","Node":"bench-floor@bench.kazoo.test"}`,
		id, id, f.queue)
	start := time.Now()
	err := f.pub.PublishWithContext(context.Background(), "callevt", "call.status_req.bench", true, false,
		amqp.Publishing{ContentType: "application/json", MessageId: id, Body: []byte(body)})
	if err == nil {
		select {
		case <-done:
			return time.Since(start), nil
		case <-time.After(timeout):
			err = fmt.Errorf("no reply within %v", timeout)
		}
	}
	f.mu.Lock()
	delete(f.waiting, id)
	f.mu.Unlock()
	return 0, err
}

// fixedRate: one request at each tick of rate per second, each waiting for its reply
// before the next (sequential); latencies in ms, sorted.
func (f *floor) fixedRate(rate int, d time.Duration) loadResult {
	interval := time.Second / time.Duration(rate)
	var res loadResult
	start := time.Now()
	for i := 0; time.Since(start) < d; i++ { // a slow reply delays the next request
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		if rtt, err := f.query(3 * time.Second); err == nil {
			res.ok++
			res.lat = append(res.lat, float64(rtt.Microseconds())/1000)
		} else {
			res.failed++
		}
	}
	res.took = time.Since(start)
	sort.Float64s(res.lat)
	return res
}

// closedLoop: k clients, each sending its next request when its reply came, for d.
func (f *floor) closedLoop(k int, d time.Duration) loadResult {
	var mu sync.Mutex
	var res loadResult
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < k; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				rtt, err := f.query(3 * time.Second)
				mu.Lock()
				if err == nil && time.Since(start) <= d {
					res.ok++
					res.lat = append(res.lat, float64(rtt.Microseconds())/1000)
				} else if err != nil {
					res.failed++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.took = d
	sort.Float64s(res.lat)
	return res
}

// TestFloor runs the floor alone: FLOOR_RATE (300) per second sequentially, then
// FLOOR_INFLIGHT (4) in flight.
func TestFloor(t *testing.T) {
	r := harness.SharedRabbit(t)
	startSim(t, r)
	f, err := newFloor(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.fixedRate(100, time.Second) // warm-up
	a := f.fixedRate(envInt("FLOOR_RATE", 300), 5*time.Second)
	b := f.closedLoop(envInt("FLOOR_INFLIGHT", 4), 5*time.Second)
	fmt.Printf("floor: p50 %.3f p95 %.3f p99 %.3f ms (%d ok, %d failed); max %.0f/s with %d in flight\n",
		pct(a.lat, .5), pct(a.lat, .95), pct(a.lat, .99), a.ok, a.failed, b.perSec(), envInt("FLOOR_INFLIGHT", 4))
}
