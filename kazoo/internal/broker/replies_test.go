package broker

import "testing"

func TestReplyRouter(t *testing.T) {
	r := newReplyRouter()
	ch, ok := r.register("m1")
	if !ok {
		t.Fatal("register failed")
	}
	if _, dup := r.register("m1"); dup {
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
	ch2, _ := r.register("m1")
	select {
	case ev := <-ch2:
		t.Fatalf("stale reply %q", ev.body)
	default:
	}
}
