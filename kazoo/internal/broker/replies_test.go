package broker

import "testing"

func TestReplyRouter(t *testing.T) {
	r := newReplyRouter()
	ch, ok := r.register("m1", nil)
	if !ok {
		t.Fatal("register failed")
	}
	if _, dup := r.register("m1", nil); dup {
		t.Fatal("a second query with the same Msg-ID was accepted")
	}
	if r.InFlight() != 1 {
		t.Fatalf("in flight %d", r.InFlight())
	}
	if !r.deliver("m1", replyEvent{body: []byte("reply")}) {
		t.Fatal("reply not delivered")
	}
	if ev := <-ch; string(ev.body) != "reply" {
		t.Fatalf("got %q", ev.body)
	}
	// a second (late, duplicate) reply finds nobody and never blocks
	if r.deliver("m1", replyEvent{body: []byte("late")}) {
		t.Fatal("a late reply was delivered")
	}
	r.unregister("m1")
	if r.InFlight() != 0 {
		t.Fatalf("in flight %d", r.InFlight())
	}
	// after a timeout (unregister) the Msg-ID can be used again, and an old reply is gone
	ch2, _ := r.register("m1", nil)
	select {
	case ev := <-ch2:
		t.Fatalf("stale reply %q", ev.body)
	default:
	}
}

// A query's wait ends when the channel its request went out on closes, and notify runs
// after the outcome is on the channel.
func TestReplyRouterChannelClosed(t *testing.T) {
	r := newReplyRouter()
	pc, other := &pubChannel{}, &pubChannel{}
	notified := 0
	ch, _ := r.register("a", func() { notified++ })
	r.register("b", nil)
	r.sentOn("a", pc)
	r.sentOn("b", other)
	r.failChannel(pc)
	if ev := <-ch; ev.closed != pc || notified != 1 {
		t.Fatalf("event %+v, notified %d", ev, notified)
	}
	if r.InFlight() != 1 {
		t.Fatalf("in flight %d, want 1 (b's channel is open)", r.InFlight())
	}
}
