package broker

import (
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// DeclareExchange is kazoo_declare_exchange on this connection: x is declared, then bound
// (exchange.bind, destination x) to each binding's source, which is only checked to exist
// (passive). Unlike DeclareExchanges, which consumers back up, every outcome but success is
// an error: not connected, no channel, the broker's refusal, no answer within timeout.
func (c *Conn) DeclareExchange(x subscription.Exchange, bindings []subscription.ExchangeBinding, timeout time.Duration) error {
	conn := c.current()
	if conn == nil {
		return status.Errorf(status.NoBroker, "broker %s is not connected", c.Broker.Masked())
	}
	ch, err := conn.Channel()
	if err != nil {
		return status.Errorf(status.NoBroker, "broker %s: no channel: %v", c.Broker.Masked(), err)
	}
	defer ch.Close()
	done := make(chan error, 1)
	go func() {
		done <- declareExchanges(ch, subscription.Subscription{Exchange: x, ExchangeBindings: bindings})
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err = <-done:
		if err != nil {
			return status.Errorf(status.Rejected, "broker %s refused exchange %q: %v", c.Broker.Masked(), x.Name, err)
		}
		return nil
	case <-t.C:
		return status.Errorf(status.Timeout, "broker %s did not answer within %v", c.Broker.Masked(), timeout)
	}
}
