package module

import (
	"reflect"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestParseHeaders(t *testing.T) {
	for in, want := range map[string]amqp.Table{
		"":                    nil,
		"  ":                  nil,
		"a=1":                 {"a": "1"},
		"a=1;b=two words;c":   {"a": "1", "b": "two words"},
		"x-hash=abc;;empty=;": {"x-hash": "abc"},
	} {
		got, err := ParseHeaders([]byte(in))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseHeaders(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

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
