package module

import (
	"reflect"
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

func TestParseForkExchange(t *testing.T) {
	x, b, err := parseForkExchange([]byte(`{"name": "kz_hash", "type": "x-consistent-hash",
		"options": ["durable", "auto-delete"], "arguments": {"hash-header": "relay-id"},
		"bindings": {"relay": {"routing-keys": ["a", "b"]}, "amq.topic": {"routing-keys": ["#"], "arguments": {}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	wantX := subscription.Exchange{Name: "kz_hash", Type: "x-consistent-hash", Durable: true, AutoDelete: true,
		Arguments: map[string]any{"hash-header": "relay-id"}}
	if !reflect.DeepEqual(x, wantX) {
		t.Errorf("exchange %+v, want %+v", x, wantX)
	}
	wantB := []subscription.ExchangeBinding{
		{Source: subscription.Exchange{Name: "amq.topic", Passive: true}, RoutingKeys: []string{"#"}},
		{Source: subscription.Exchange{Name: "relay", Passive: true}, RoutingKeys: []string{"a", "b"}},
	}
	if !reflect.DeepEqual(b, wantB) {
		t.Errorf("bindings %+v, want %+v", b, wantB)
	}
	if x, _, err := parseForkExchange([]byte(`{"name": "plain", "type": "topic"}`)); err != nil || x.Durable || x.Arguments != nil {
		t.Errorf("plain: %+v, %v", x, err)
	}
	for _, bad := range []string{
		``, `[]`, `{"name": "x"}`, `{"name": "", "type": "topic"}`,
		`{"name": "x", "type": "topix"}`, `{"name": "x", "type": "topic", "options": ["no-wait"]}`,
		`{"name": "x", "type": "topic", "options": "durable"}`, `{"name": "x", "type": "topic", "colour": 1}`,
		`{"name": "x", "type": "topic", "arguments": [1]}`, `{"name": "x", "type": "topic"} {}`,
		`{"name": "x", "type": "topic", "bindings": {"src": {"routing-keys": []}}}`,
		`{"name": "x", "type": "topic", "bindings": {"src": {"routing-keys": ["k"], "arguments": {"a": 1}}}}`,
		`{"name": "x", "type": "topic", "bindings": {"": {"routing-keys": ["k"]}}}`,
	} {
		if _, _, err := parseForkExchange([]byte(bad)); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}
