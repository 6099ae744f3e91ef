package amqpfake

import "sync"

// Publish is a message a client published. A test's OnPublish hook decides its fate with
// Route, Return, Ack and Nack (in the order a broker would send them: a return before the
// ack), or Default.
type Publish struct {
	Conn       *Conn
	Channel    uint16
	Exchange   string
	RoutingKey string
	Mandatory  bool
	Immediate  bool
	Properties
	Body []byte
	Seq  uint64 // its confirm sequence number; 0 when the channel is not in confirm mode

	ch      *channel
	settled sync.Once
}

// Default is what RabbitMQ does: route the message; when no queue takes a mandatory one,
// return it (312 NO_ROUTE); then confirm it.
func (p *Publish) Default() {
	if p.Route() == 0 && p.Mandatory {
		p.Return(312, "NO_ROUTE")
	}
	p.Ack()
}

// Route hands the message to the queues its exchange and routing key reach; returns how many.
func (p *Publish) Route() int {
	return p.Conn.s.route(p.Exchange, p.RoutingKey, p.Properties, p.Body)
}

// Return sends the message back with basic.return.
func (p *Publish) Return(code uint16, text string) {
	m := method(60, 50).short(code).shortstr(text).shortstr(p.Exchange).shortstr(p.RoutingKey)
	p.Conn.send(p.Conn.content(p.Channel, m.b, p.Properties, p.Body)...)
}

// Ack confirms the message (basic.ack); nothing when the channel is not in confirm mode or
// the message was settled already.
func (p *Publish) Ack() { p.settle(80) }

// Nack refuses the message (basic.nack): the client sees a negative confirm.
func (p *Publish) Nack() { p.settle(120) }

func (p *Publish) settle(id uint16) {
	if p.Seq == 0 {
		return
	}
	p.settled.Do(func() {
		a := method(60, id).longlong(p.Seq)
		if id == 120 {
			a.bits(false, false)
		} else {
			a.bits(false)
		}
		p.Conn.send(encodeFrame(frameMethod, p.Channel, a.b))
	})
}

// content encodes a method with content: the method frame, the content header and the body
// cut to the connection's frame-max.
func (c *Conn) content(channel uint16, methodArgs []byte, props Properties, body []byte) [][]byte {
	frames := [][]byte{
		encodeFrame(frameMethod, channel, methodArgs),
		encodeFrame(frameHeader, channel, method(60, 0).longlong(uint64(len(body))).properties(props).b),
	}
	max := int(c.frameMax) - 8
	for len(body) > 0 {
		n := min(len(body), max)
		frames = append(frames, encodeFrame(frameBody, channel, body[:n]))
		body = body[n:]
	}
	return frames
}
