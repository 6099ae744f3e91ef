package module

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// readSubscriptions reads the area as kz_rpc.c's copy_subscriptions does.
func readSubscriptions(area []byte) (string, bool) {
	b, ok := abi.SubsArea(area).Read()
	return string(b), ok
}

// Every consistent copy a reader makes while the list changes is one of the lists
// written, whole (run with -race: the writer and reader use atomics only).
func TestSubscriptionsAreaSeqlock(t *testing.T) {
	words := make([]uint64, 64*1024/8) // 8-byte aligned, as shm_malloc's
	area := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	w := &Worker{subs: &subscriptions{}}
	lists := map[string]bool{}
	var all [][]subscription.Subscription
	for i := 0; i < 8; i++ {
		var l []subscription.Subscription
		for j := 0; j <= i*3; j++ {
			l = append(l, subscription.Subscription{Exchange: subscription.Exchange{Name: strings.Repeat("x", 1+j*i)}})
		}
		all = append(all, l)
		shown := []subscriptionStatus{} // as kazoo.subscriptions shows them: no consumer yet
		for _, sub := range l {
			shown = append(shown, subscriptionStatus{Subscription: sub, Consumers: []consumerStatus{}})
		}
		b, _ := json.Marshal(shown)
		lists[string(b)] = true
	}
	w.subs.list = all[0]
	w.SetSubscriptionsArea(area)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			w.subs.mu.Lock()
			w.subs.list = all[i%len(all)]
			w.subs.mu.Unlock()
			w.publishSubscriptions()
		}
	}()
	consistent := 0
	for i := 0; i < 2000; i++ {
		if s, ok := readSubscriptions(area); ok {
			consistent++
			if !lists[s] {
				t.Fatalf("a copy that no write wrote: %.200s", s)
			}
		}
	}
	close(stop)
	wg.Wait()
	if consistent == 0 {
		t.Fatal("no consistent copy in 2000 reads")
	}
}
