package module

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// forkExchange is kazoo_declare_exchange's argument: the 2600hz fork's JSON form of an
// exchange, {"name", "type", "options": [...], "arguments": {...}, "bindings": {source:
// {"routing-keys": [...]}}}.
type forkExchange struct {
	Name      string                         `json:"name"`
	Type      string                         `json:"type"`
	Options   []string                       `json:"options"`
	Arguments json.RawMessage                `json:"arguments"`
	Bindings  map[string]forkExchangeBinding `json:"bindings"`
}

type forkExchangeBinding struct {
	RoutingKeys []string        `json:"routing-keys"`
	Arguments   json.RawMessage `json:"arguments"`
}

// parseForkExchange reads and checks kazoo_declare_exchange's description. What the fork
// accepted silently is an error here: an unknown key or option, an unknown exchange type
// (the fork declared it as topic), binding arguments (not supported).
func parseForkExchange(desc []byte) (subscription.Exchange, []subscription.ExchangeBinding, error) {
	var fx forkExchange
	dec := json.NewDecoder(bytes.NewReader(desc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fx); err != nil {
		return subscription.Exchange{}, nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return subscription.Exchange{}, nil, errors.New("text after the JSON object")
	}
	x := subscription.Exchange{Name: fx.Name, Type: fx.Type}
	for _, o := range fx.Options {
		switch o { // the fork's option names that apply to exchange.declare
		case "durable":
			x.Durable = true
		case "auto-delete":
			x.AutoDelete = true
		case "passive":
			x.Passive = true
		case "internal":
			x.Internal = true
		default:
			return x, nil, errors.New("unknown exchange option " + jsonQuote(o) + " (want durable, auto-delete, passive or internal)")
		}
	}
	if err := subscription.CheckExchange("exchange", x); err != nil {
		return x, nil, err
	}
	if a := bytes.TrimSpace(fx.Arguments); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		if a[0] != '{' {
			return x, nil, errors.New("arguments must be a JSON object")
		}
		args, err := broker.ParseHeaders(a)
		if err != nil {
			return x, nil, err
		}
		x.Arguments = args
	}
	// sorted: the bindings are made in the same order at every call
	sources := make([]string, 0, len(fx.Bindings))
	for s := range fx.Bindings {
		sources = append(sources, s)
	}
	sort.Strings(sources)
	var bindings []subscription.ExchangeBinding
	for _, s := range sources {
		b := fx.Bindings[s]
		if t := bytes.TrimSpace(b.Arguments); len(t) > 0 && !bytes.Equal(t, []byte("null")) && !bytes.Equal(t, []byte("{}")) {
			return x, nil, errors.New("bindings." + s + ": binding arguments are not supported")
		}
		src := subscription.Exchange{Name: s, Passive: true} // must exist: its type is not given
		if err := subscription.CheckExchange("bindings source", src); err != nil {
			return x, nil, err
		}
		if len(b.RoutingKeys) == 0 {
			return x, nil, errors.New("bindings." + s + ": no routing-keys to bind with")
		}
		for _, rk := range b.RoutingKeys {
			if len(rk) > broker.MaxShortString {
				return x, nil, errors.New("bindings." + s + ": a routing key is longer than 255 bytes")
			}
		}
		bindings = append(bindings, subscription.ExchangeBinding{Source: src, RoutingKeys: b.RoutingKeys})
	}
	return x, bindings, nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// DeclareExchange is kazoo_declare_exchange(json): the exchange is declared (and bound)
// now, from the calling process, on a broker of the primary zone, waiting up to
// amqp_publish_timeout. The fork instead declared it again on each connection it made;
// here a script that needs a non-durable exchange back after a broker restart declares it
// again (README, "2600hz configs").
func (m *Module) DeclareExchange(desc []byte) error {
	x, bindings, err := parseForkExchange(desc)
	if err != nil {
		return status.Errorf(status.Argument, "kazoo_declare_exchange: %v", err)
	}
	c, err := m.Pool.Pick(time.Now().Add(m.Cfg.PublishTimeout))
	if err != nil {
		return err
	}
	if err := c.DeclareExchange(x, bindings, m.Cfg.PublishTimeout); err != nil {
		return status.Errorf(status.CodeOf(err), "kazoo_declare_exchange: %v", err)
	}
	return nil
}
