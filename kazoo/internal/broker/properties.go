package broker

import (
	"encoding/base64"
	"encoding/json"
	"time"
	"unicode/utf8"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Properties are a consumed message's AMQP basic properties and headers, for scripts
// ($kzProps). A copy of what amqp091 decoded: its strings and tables are shared, not copied.
type Properties struct {
	ContentType, ContentEncoding string
	DeliveryMode, Priority       uint8
	CorrelationID, ReplyTo       string
	Expiration, MessageID        string
	Timestamp                    time.Time
	Type, UserID, AppID          string
	Headers                      amqp.Table
}

// TimestampNumber is the timestamp property as sent: a number (seconds by the AMQP spec;
// 2600hz's fork sent microseconds), 0 when absent. amqp091 reads the field as seconds, so
// its Unix() is that number.
func (p *Properties) TimestampNumber() int64 {
	if p.Timestamp.IsZero() {
		return 0
	}
	return p.Timestamp.Unix()
}

func propertiesOf(d *amqp.Delivery) Properties {
	return Properties{ContentType: d.ContentType, ContentEncoding: d.ContentEncoding,
		DeliveryMode: d.DeliveryMode, Priority: d.Priority, CorrelationID: d.CorrelationId,
		ReplyTo: d.ReplyTo, Expiration: d.Expiration, MessageID: d.MessageId, Timestamp: d.Timestamp,
		Type: d.Type, UserID: d.UserId, AppID: d.AppId, Headers: d.Headers}
}

// PropertiesJSON is a delivery's exchange, routing key, redelivered flag, the properties
// it carries (absent ones are left out) and its headers as one JSON object, appended to
// dst. Header values become JSON: numbers, booleans and strings as they are, timestamps
// as Unix seconds, byte arrays as text when they are UTF-8 and base64 otherwise, nested
// tables and arrays alike.
func (d *Delivery) PropertiesJSON(dst []byte) ([]byte, error) {
	p := &d.Properties
	obj := map[string]any{"exchange": d.Exchange, "routing_key": d.RoutingKey, "redelivered": d.Redelivered}
	for k, v := range map[string]string{"content_type": p.ContentType, "content_encoding": p.ContentEncoding,
		"correlation_id": p.CorrelationID, "reply_to": p.ReplyTo, "expiration": p.Expiration,
		"message_id": p.MessageID, "type": p.Type, "user_id": p.UserID, "app_id": p.AppID} {
		if v != "" {
			obj[k] = v
		}
	}
	if p.DeliveryMode != 0 {
		obj["delivery_mode"] = p.DeliveryMode
	}
	if p.Priority != 0 {
		obj["priority"] = p.Priority
	}
	if !p.Timestamp.IsZero() {
		obj["timestamp"] = p.Timestamp.Unix()
	}
	if len(p.Headers) > 0 {
		obj["headers"] = jsonValue(p.Headers)
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// jsonValue is an AMQP field value as encoding/json can write it.
func jsonValue(v any) any {
	switch v := v.(type) {
	case amqp.Table:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = jsonValue(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = jsonValue(x)
		}
		return a
	case time.Time:
		return v.Unix()
	case []byte:
		if utf8.Valid(v) {
			return string(v)
		}
		return base64.StdEncoding.EncodeToString(v)
	case amqp.Decimal:
		f := float64(v.Value)
		for i := uint8(0); i < v.Scale; i++ {
			f /= 10
		}
		return f
	}
	return v
}
