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
