// Package amqpfake is an in-process AMQP 0-9-1 server for unit tests: just enough of
// RabbitMQ for what package broker (and the module above it) does, with hooks that let a
// test decide each outcome (refuse a connection, nack or hold a confirm, return a message,
// cancel a consumer, drop or close a connection, fall silent) and see what the client sent.
//
// A test hands Server.Dial to broker.Options.Dial; every dial gets one end of a net.Pipe,
// the server serves the other end. Nothing listens on a port.
package amqpfake

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// The frame types and end octet of AMQP 0-9-1 (section 4.2.3).
const (
	frameMethod    = 1
	frameHeader    = 2
	frameBody      = 3
	frameHeartbeat = 8
	frameEnd       = 0xCE
)

// frame is one frame as read: its type, channel and payload.
type frame struct {
	typ     byte
	channel uint16
	payload []byte
}

// maxFrame is the frame-max the fake proposes (RabbitMQ's default).
const maxFrame = 131072

func readFrame(r io.Reader) (frame, error) {
	var h [7]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	size := binary.BigEndian.Uint32(h[3:7])
	if size > maxFrame {
		return frame{}, fmt.Errorf("frame of %d bytes exceeds frame-max", size)
	}
	buf := make([]byte, size+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return frame{}, err
	}
	if buf[size] != frameEnd {
		return frame{}, errors.New("bad frame-end octet")
	}
	return frame{typ: h[0], channel: binary.BigEndian.Uint16(h[1:3]), payload: buf[:size]}, nil
}

func encodeFrame(typ byte, channel uint16, payload []byte) []byte {
	b := make([]byte, 7, 8+len(payload))
	b[0] = typ
	binary.BigEndian.PutUint16(b[1:3], channel)
	binary.BigEndian.PutUint32(b[3:7], uint32(len(payload)))
	b = append(b, payload...)
	return append(b, frameEnd)
}

// args builds the arguments of a method (or a content header's properties).
type args struct{ b []byte }

func method(class, id uint16) *args {
	a := &args{}
	return a.short(class).short(id)
}

func (a *args) octet(v byte) *args   { a.b = append(a.b, v); return a }
func (a *args) short(v uint16) *args { a.b = binary.BigEndian.AppendUint16(a.b, v); return a }
func (a *args) long(v uint32) *args  { a.b = binary.BigEndian.AppendUint32(a.b, v); return a }
func (a *args) longlong(v uint64) *args {
	a.b = binary.BigEndian.AppendUint64(a.b, v)
	return a
}

func (a *args) shortstr(s string) *args {
	if len(s) > 255 {
		s = s[:255]
	}
	a.b = append(append(a.b, byte(len(s))), s...)
	return a
}

func (a *args) longstr(s string) *args {
	a.long(uint32(len(s)))
	a.b = append(a.b, s...)
	return a
}

// bits packs consecutive bit arguments into one octet, the first in the lowest bit.
func (a *args) bits(v ...bool) *args {
	var o byte
	for i, set := range v {
		if set {
			o |= 1 << i
		}
	}
	return a.octet(o)
}

func (a *args) table(t amqp.Table) *args {
	var inner args
	for k, v := range t {
		inner.shortstr(k)
		inner.field(v)
	}
	a.long(uint32(len(inner.b)))
	a.b = append(a.b, inner.b...)
	return a
}

func (a *args) field(v any) {
	switch v := v.(type) {
	case nil:
		a.octet('V')
	case bool:
		a.octet('t').bits(v)
	case int8:
		a.octet('b').octet(byte(v))
	case uint8:
		a.octet('B').octet(v)
	case int16:
		a.octet('s').short(uint16(v))
	case uint16:
		a.octet('u').short(v)
	case int32:
		a.octet('I').long(uint32(v))
	case uint32:
		a.octet('i').long(v)
	case int:
		a.octet('l').longlong(uint64(v))
	case int64:
		a.octet('l').longlong(uint64(v))
	case float32:
		a.octet('f').long(math.Float32bits(v))
	case float64:
		a.octet('d').longlong(math.Float64bits(v))
	case string:
		a.octet('S').longstr(v)
	case []byte:
		a.octet('x').longstr(string(v))
	case time.Time:
		a.octet('T').longlong(uint64(v.Unix()))
	case amqp.Table:
		a.octet('F').table(v)
	case []any:
		var inner args
		for _, e := range v {
			inner.field(e)
		}
		a.octet('A').long(uint32(len(inner.b)))
		a.b = append(a.b, inner.b...)
	default:
		panic(fmt.Sprintf("amqpfake: no field encoding for %T", v))
	}
}

// decoder reads the arguments of a method the client sent. A short payload sets err and
// yields zero values, so a method decodes in straight-line code and is checked once.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("method arguments cut short")

func (d *decoder) take(n int) []byte {
	if d.err != nil || len(d.b) < n {
		d.err = errShort
		return make([]byte, n)
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) octet() byte            { return d.take(1)[0] }
func (d *decoder) short() uint16          { return binary.BigEndian.Uint16(d.take(2)) }
func (d *decoder) long() uint32           { return binary.BigEndian.Uint32(d.take(4)) }
func (d *decoder) longlong() uint64       { return binary.BigEndian.Uint64(d.take(8)) }
func (d *decoder) shortstr() string       { return string(d.take(int(d.octet()))) }
func (d *decoder) longstr() string        { return string(d.take(int(d.long()))) }
func (d *decoder) bit(o byte, i int) bool { return o&(1<<i) != 0 }

func (d *decoder) table() amqp.Table {
	inner := &decoder{b: d.take(int(d.long()))}
	t := amqp.Table{}
	for inner.err == nil && len(inner.b) > 0 {
		k := inner.shortstr()
		t[k] = inner.field()
	}
	if inner.err != nil && d.err == nil {
		d.err = inner.err
	}
	return t
}

func (d *decoder) field() any {
	switch typ := d.octet(); typ {
	case 't':
		return d.octet() != 0
	case 'b':
		return int8(d.octet())
	case 'B':
		return d.octet()
	case 's':
		return int16(d.short())
	case 'u':
		return d.short()
	case 'I':
		return int32(d.long())
	case 'i':
		return d.long()
	case 'l':
		return int64(d.longlong())
	case 'f':
		return math.Float32frombits(d.long())
	case 'd':
		return math.Float64frombits(d.longlong())
	case 'D':
		return amqp.Decimal{Scale: d.octet(), Value: int32(d.long())}
	case 'S':
		return d.longstr()
	case 'x':
		return []byte(d.longstr())
	case 'T':
		return time.Unix(int64(d.longlong()), 0)
	case 'F':
		return d.table()
	case 'A':
		inner := &decoder{b: d.take(int(d.long()))}
		var list []any
		for inner.err == nil && len(inner.b) > 0 {
			list = append(list, inner.field())
		}
		return list
	case 'V':
		return nil
	default:
		if d.err == nil {
			d.err = fmt.Errorf("unknown field type %q", typ)
		}
		return nil
	}
}

// The basic class's property flags (section 4.2.6.1: the first property is the highest bit).
const (
	flagContentType     = 0x8000
	flagContentEncoding = 0x4000
	flagHeaders         = 0x2000
	flagDeliveryMode    = 0x1000
	flagPriority        = 0x0800
	flagCorrelationID   = 0x0400
	flagReplyTo         = 0x0200
	flagExpiration      = 0x0100
	flagMessageID       = 0x0080
	flagTimestamp       = 0x0040
	flagType            = 0x0020
	flagUserID          = 0x0010
	flagAppID           = 0x0008
)

// Properties are a message's basic properties (the fields of amqp.Publishing that are not
// its body).
type Properties struct {
	ContentType     string
	ContentEncoding string
	Headers         amqp.Table
	DeliveryMode    uint8
	Priority        uint8
	CorrelationID   string
	ReplyTo         string
	Expiration      string
	MessageID       string
	Timestamp       time.Time
	Type            string
	UserID          string
	AppID           string
}

func (d *decoder) properties() Properties {
	var p Properties
	flags := d.short()
	str := func(flag uint16, dst *string) {
		if flags&flag != 0 {
			*dst = d.shortstr()
		}
	}
	str(flagContentType, &p.ContentType)
	str(flagContentEncoding, &p.ContentEncoding)
	if flags&flagHeaders != 0 {
		p.Headers = d.table()
	}
	if flags&flagDeliveryMode != 0 {
		p.DeliveryMode = d.octet()
	}
	if flags&flagPriority != 0 {
		p.Priority = d.octet()
	}
	str(flagCorrelationID, &p.CorrelationID)
	str(flagReplyTo, &p.ReplyTo)
	str(flagExpiration, &p.Expiration)
	str(flagMessageID, &p.MessageID)
	if flags&flagTimestamp != 0 {
		p.Timestamp = time.Unix(int64(d.longlong()), 0)
	}
	str(flagType, &p.Type)
	str(flagUserID, &p.UserID)
	str(flagAppID, &p.AppID)
	return p
}

func (a *args) properties(p Properties) *args {
	var flags uint16
	var v args
	str := func(flag uint16, s string) {
		if s != "" {
			flags |= flag
			v.shortstr(s)
		}
	}
	str(flagContentType, p.ContentType)
	str(flagContentEncoding, p.ContentEncoding)
	if len(p.Headers) > 0 {
		flags |= flagHeaders
		v.table(p.Headers)
	}
	if p.DeliveryMode != 0 {
		flags |= flagDeliveryMode
		v.octet(p.DeliveryMode)
	}
	if p.Priority != 0 {
		flags |= flagPriority
		v.octet(p.Priority)
	}
	str(flagCorrelationID, p.CorrelationID)
	str(flagReplyTo, p.ReplyTo)
	str(flagExpiration, p.Expiration)
	str(flagMessageID, p.MessageID)
	if !p.Timestamp.IsZero() {
		flags |= flagTimestamp
		v.longlong(uint64(p.Timestamp.Unix()))
	}
	str(flagType, p.Type)
	str(flagUserID, p.UserID)
	str(flagAppID, p.AppID)
	a.short(flags)
	a.b = append(a.b, v.b...)
	return a
}
