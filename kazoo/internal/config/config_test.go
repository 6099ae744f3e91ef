package config

import (
	"strings"
	"testing"
	"time"
)

func blob(kv ...string) []byte {
	var b []byte
	for _, s := range kv {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

func TestParse(t *testing.T) {
	c, err := Parse(blob("node_hostname", "kz1.example.com", "amqp_connection", "amqp://guest:secret@127.0.0.1:5672",
		"amqp_connection", "zone=remote;kazoo://u:p@10.0.0.1/vh%2F1", "amqp_heartbeats", "5", "publish_timeout_ms", "250"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Node() != "kamailio@kz1.example.com" || len(c.Brokers) != 2 {
		t.Fatalf("%+v", c)
	}
	if b := c.Brokers[1]; b.Zone != "remote" || b.ID != 2 || b.URI.Vhost != "vh/1" || !strings.HasPrefix(b.URL, "amqp://") {
		t.Fatalf("%+v", b)
	}
	if c.Heartbeat != 5*time.Second || c.PublishTimeout != 250*time.Millisecond {
		t.Fatalf("%+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	for _, b := range [][]byte{
		blob("amqp_connection", "amqp://h/"),                                // no node_hostname
		blob("node_hostname", "n", "amqp_connection", "http://h/"),          // bad scheme
		blob("node_hostname", "n", "amqp_connection", "zone=x amqp://h/"),   // zone without ;
		blob("node_hostname", "n", "amqp_connection", "amqp://h:99999999/"), // bad port
		blob("node_hostname", "n", "amqp_heartbeats", "x"),
		[]byte("node_hostname\x00n"),
		blob("node_hostname", "n", "amqp_hearbeats", "5"), // unknown key: shim and Go disagree
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%q: no error", b)
		}
	}
}

// The defaults are kz_params.c's, for a key the shim would not send.
func TestParseDefaults(t *testing.T) {
	c, err := Parse(blob("node_hostname", "n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ConsumerWorkers != 8 || c.ConsumerPrefetch != 64 || c.GoMaxProcs != 1 || c.GoGCPercent != 25 ||
		c.GoMemRelease != time.Second || c.MaxPayload != 1<<20 || c.Heartbeat != 10*time.Second {
		t.Fatalf("%+v", c)
	}
}
