package module

import "testing"

func TestRouteChain(t *testing.T) {
	all := map[string]int{
		"kazoo:consumer-event-call-event-channel-status-req": 1,
		"kazoo:consumer-event-presence":                      2,
		"kazoo:consumer-event-event-category-event-name":     3,
		"kazoo:consumer-event-event-category":                4,
		"kazoo:consumer-event":                               5,
	}
	without := func(names ...string) map[string]int {
		m := map[string]int{}
		for k, v := range all {
			m[k] = v
		}
		for _, n := range names {
			delete(m, n)
		}
		return m
	}
	for _, tc := range []struct {
		routes              map[string]int
		cat, name, key, sub string
		want                int
	}{
		{all, "call_event", "CHANNEL_STATUS_REQ", "Event-Category", "Event-Name", 1},
		{all, "Presence", "whatever", "Event-Category", "Event-Name", 2},
		{all, "other", "x", "Event-Category", "Event-Name", 3},
		{without("kazoo:consumer-event-event-category-event-name"), "other", "x", "Event-Category", "Event-Name", 4},
		{without("kazoo:consumer-event-event-category-event-name", "kazoo:consumer-event-event-category"), "other", "x", "Event-Category", "Event-Name", 5},
		{map[string]int{}, "other", "x", "Event-Category", "Event-Name", -1},
	} {
		r := newRouteResolver(tc.routes)
		idx, ok := r.resolve(tc.cat, tc.name, tc.key, tc.sub)
		if (ok && idx != tc.want) || ok != (tc.want >= 0) {
			t.Errorf("%s/%s: got %d %v, want %d", tc.cat, tc.name, idx, ok, tc.want)
		}
	}
	r := newRouteResolver(map[string]int{})
	if name := r.mostSpecific("A_b", "C"); name != "kazoo:consumer-event-a-b-c" {
		t.Errorf("first tried name %q", name)
	}
	r = newRouteResolver(all)
	if n := testing.AllocsPerRun(100, func() { r.resolve("call_event", "CHANNEL_STATUS_REQ", "Event-Category", "Event-Name") }); n > 0 {
		t.Errorf("%v allocs per resolve", n)
	}
}

// kazoo_publish's 4th argument: digits are the fork's flags, anything else AMQP headers.
func TestForkPublishFlags(t *testing.T) {
	for in, want := range map[string]int{"2048": 2048, " 0 ": 0, "2049": 2049} {
		if got, ok := forkPublishFlags([]byte(in)); !ok || got != want {
			t.Errorf("%q: %d %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "x-a=1", "2048;a=b", "-1", "1234567890", "20 48"} {
		if _, ok := forkPublishFlags([]byte(in)); ok {
			t.Errorf("%q read as flags", in)
		}
	}
}
