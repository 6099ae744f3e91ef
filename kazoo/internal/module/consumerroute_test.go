package module

import "testing"

func TestConsumerRoute(t *testing.T) {
	for in, want := range map[string]struct {
		id int
		rk string
		ok bool
	}{
		"consumer://2/kamailio@host-<1>-targeted-0": {2, "kamailio@host-<1>-targeted-0", true},
		"consumer://1/":            {1, "", true},
		"consumer:///x":            {0, "", false},
		"consumer://a/x":           {0, "", false},
		"consumer://1":             {0, "", false},
		"plain.key":                {0, "", false},
		"consumer://99999999999/x": {0, "", false},
	} {
		id, rk, ok := consumerRoute([]byte(in))
		if id != want.id && want.ok || rk != want.rk || ok != want.ok {
			t.Errorf("consumerRoute(%q) = %d %q %v, want %+v", in, id, rk, ok, want)
		}
	}
}
