package broker

import (
	"errors"
	"fmt"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/subscription"
)

// declare declares what the C module declares for a binding, with the same names, flags
// and (empty) arguments, so that objects it created are accepted as they are: the exchange,
// the exchanges bound to it, the queue and its bindings. Only a description with queue
// "arguments" (which the C module did not have) declares the queue with them. Returns the
// queue's name (the broker's for an unnamed queue).
func declare(ch *amqp.Channel, sub subscription.Subscription) (string, error) {
	if err := declareExchanges(ch, sub); err != nil {
		return "", err
	}
	q := sub.Queue
	var declared amqp.Queue
	var err error
	if q.Passive {
		declared, err = ch.QueueDeclarePassive(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, nil)
	} else {
		declared, err = ch.QueueDeclare(q.Name, q.Durable, q.AutoDelete, q.Exclusive, false, q.Table())
	}
	if err != nil {
		return "", queueDeclareError(q, err)
	}
	for _, rk := range sub.RoutingKeys {
		if err := ch.QueueBind(declared.Name, rk, sub.Exchange.Name, false, nil); err != nil {
			return "", err
		}
	}
	return declared.Name, nil
}

// declareExchanges declares the subscription's exchange and the exchanges bound to it.
func declareExchanges(ch *amqp.Channel, sub subscription.Subscription) error {
	x := sub.Exchange
	if err := exchangeDeclare(ch, x); err != nil {
		return err
	}
	for _, eb := range sub.ExchangeBindings {
		if err := exchangeDeclare(ch, eb.Source); err != nil {
			return err
		}
		for _, rk := range eb.RoutingKeys {
			if err := ch.ExchangeBind(x.Name, rk, eb.Source.Name, false, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// queueDeclareError names the queue and what was asked: RabbitMQ's 406 text names only the
// one flag or argument it compared first ("inequivalent arg 'x-queue-type' for queue ...:
// received the value 'quorum' of type 'longstr' but current is none"), and a queue's flags
// and arguments cannot be changed in place, only by deleting the queue.
func queueDeclareError(q subscription.Queue, err error) error {
	var amqpErr *amqp.Error
	if errors.As(err, &amqpErr) && amqpErr.Code == amqp.PreconditionFailed {
		return fmt.Errorf("queue %q exists with other flags or arguments than declared (durable=%t auto_delete=%t exclusive=%t arguments=%s); delete it or declare it as it is: %w",
			q.Name, q.Durable, q.AutoDelete, q.Exclusive, formatArguments(q.Arguments), err)
	}
	return fmt.Errorf("declaring queue %q: %w", q.Name, err)
}

// formatArguments lists arguments as key=value, {} for none.
func formatArguments(args []subscription.Argument) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		parts = append(parts, fmt.Sprintf("%s=%v", a.Key, a.Value()))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func exchangeDeclare(ch *amqp.Channel, x subscription.Exchange) error {
	if x.Passive {
		return ch.ExchangeDeclarePassive(x.Name, x.Type, x.Durable, x.AutoDelete, x.Internal, false, amqp.Table(x.Arguments))
	}
	return ch.ExchangeDeclare(x.Name, x.Type, x.Durable, x.AutoDelete, x.Internal, false, amqp.Table(x.Arguments))
}

// DeclareExchanges declares the subscription's exchanges (not its queue) on a channel of
// its own, waiting up to timeout. It returns the broker's refusal (a declaration that
// differs from an existing exchange: 406); nil also when it could not tell (not connected,
// no channel, no answer in time): consumers declare everything again when they start.
func (c *Conn) DeclareExchanges(sub subscription.Subscription, timeout time.Duration) error {
	conn := c.current()
	if conn == nil {
		return nil
	}
	ch, err := conn.Channel()
	if err != nil {
		return nil
	}
	defer ch.Close()
	done := make(chan error, 1)
	go func() { done <- declareExchanges(ch, sub) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err = <-done:
		return err
	case <-t.C:
		return nil // slow broker: the consumers will try
	}
}
