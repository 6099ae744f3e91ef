package broker

import (
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// DeclareExchange is kazoo_declare_exchange on this broker: x is declared, then bound
// (exchange.bind, destination x) to each binding's source, which is only checked to exist
// (passive). It runs on a connection of its own, opened for the call and closed after: the
// broker answers some bad declarations with a connection error (an exchange type that no
// plugin provides: 503), which must not end the connection this process publishes and
// queries on. Every outcome but success is an error: no connection, the broker's refusal,
// no answer within timeout (after the connect timeout).
func (c *Conn) DeclareExchange(x subscription.Exchange, bindings []subscription.ExchangeBinding, timeout time.Duration) error {
	done := make(chan error, 1)
	opened := make(chan *amqp.Connection, 1) // the connection, or nil: for a timed-out call to close it
	go func() {
		conn, _, err := c.dial()
		if err != nil {
			opened <- nil
			done <- status.Errorf(status.NoBroker, "cannot connect to broker %s: %v", c.Broker.Masked(), err)
			return
		}
		opened <- conn
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			done <- status.Errorf(status.NoBroker, "broker %s: no channel: %v", c.Broker.Masked(), c.Broker.RedactError(err))
			return
		}
		sub := subscription.Subscription{Exchange: x, ExchangeBindings: bindings}
		if err := declareExchanges(ch, sub); err != nil {
			done <- status.Errorf(status.Rejected, "broker %s refused exchange %q: %v", c.Broker.Masked(), x.Name, c.Broker.RedactError(err))
			return
		}
		done <- nil
	}()
	t := time.NewTimer(c.opt.ConnectTimeout + timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		go func() {
			if conn := <-opened; conn != nil {
				conn.Close() // ends the declaration still waiting for its answer
			}
		}()
		return status.Errorf(status.Timeout, "broker %s did not answer within %v", c.Broker.Masked(), c.opt.ConnectTimeout+timeout)
	}
}
