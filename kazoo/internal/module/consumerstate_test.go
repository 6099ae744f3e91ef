package module

import "testing"

// Worker 1's view: one entry per subscription, worker and broker, listed by worker then
// broker; a Gone record removes it.
func TestConsumerStates(t *testing.T) {
	var c consumerStates
	c.set(consumerRecord{Sub: "a", Status: consumerStatus{Worker: 2, Broker: 1, State: "consuming"}})
	c.set(consumerRecord{Sub: "a", Status: consumerStatus{Worker: 1, Broker: 2, State: "cancelled"}})
	c.set(consumerRecord{Sub: "a", Status: consumerStatus{Worker: 1, Broker: 1, State: "consuming"}})
	c.set(consumerRecord{Sub: "b", Status: consumerStatus{Worker: 1, Broker: 1, State: "retrying"}})
	c.set(consumerRecord{Sub: "a", Status: consumerStatus{Worker: 1, Broker: 2, State: "consuming"}})
	got := c.of("a")
	if len(got) != 3 || got[0].Worker != 1 || got[0].Broker != 1 || got[1].Broker != 2 || got[1].State != "consuming" || got[2].Worker != 2 {
		t.Fatalf("%+v", got)
	}
	c.set(consumerRecord{Sub: "a", Gone: true, Status: consumerStatus{Worker: 2, Broker: 1}})
	if got := c.of("a"); len(got) != 2 {
		t.Fatalf("after gone: %+v", got)
	}
	if got := c.of("none"); got == nil || len(got) != 0 {
		t.Fatalf("unknown subscription: %#v", got)
	}
}
