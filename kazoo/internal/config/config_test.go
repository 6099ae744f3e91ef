package config

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/paramsdef"
)

func blob(kv ...string) []byte {
	var b []byte
	for _, s := range kv {
		b = append(b, s...)
		b = append(b, 0)
	}
	return b
}

// shimBlob is what the shim sends when no modparam but node_hostname is set (the defaults
// of kz_params.def, the derived keys), with kv replacing or adding records: a key given in kv
// that does not repeat replaces its default, "" as value drops it.
func shimBlob(kv ...string) []byte {
	over := map[string]string{}
	var extra []string
	for i := 0; i+1 < len(kv); i += 2 {
		if keys[kv[i]] { // repeats: added
			extra = append(extra, kv[i], kv[i+1])
		} else {
			over[kv[i]] = kv[i+1]
		}
	}
	var recs []string
	add := func(k, v string) {
		if o, ok := over[k]; ok {
			if v = o; o == "\x00drop" {
				return
			}
		}
		recs = append(recs, k, v)
	}
	if _, ok := over["node_hostname"]; !ok {
		over["node_hostname"] = "kz1.example.com"
	}
	for _, d := range modparamDefaults {
		add(d[0], d[1])
	}
	add("app_version", "5.6.3")
	add("connect_timeout_ms", "2000")
	add("process", "udp receiver child=0 sock=127.0.0.1:5060")
	add("log_level", "2")
	add("consumer_process", "0")
	for k, v := range over { // keys the defaults do not have: unknown ones
		if _, ok := keys[k]; !ok {
			recs = append(recs, k, v)
		}
	}
	return blob(append(recs, extra...)...)
}

func TestParse(t *testing.T) {
	c, err := Parse(shimBlob("amqp_connection", "amqp://guest:secret@127.0.0.1:5672",
		"amqp_connection", "zone=remote;kazoo://u:p@10.0.0.1/vh%2F1", "amqp_heartbeats", "5", "publish_timeout_ms", "250",
		"event_route", "3 kazoo:consumer-ok", "consumer_control_fd", "7", "consumer_control_fd", "9",
		"event_callback", "ksr_kazoo_event"))
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
	if c.EventRoutes["kazoo:consumer-ok"] != 3 || len(c.ControlFDs) != 2 || c.ControlFDs[1] != 9 || !c.EventCallback {
		t.Fatalf("%+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	for _, b := range [][]byte{
		shimBlob("node_hostname", ""),                     // node_hostname not set
		shimBlob("node_hostname", "\x00drop"),             // node_hostname not sent
		shimBlob("amqp_connection", "http://h/"),          // bad scheme
		shimBlob("amqp_connection", "zone=x amqp://h/"),   // zone without ;
		shimBlob("amqp_connection", "amqp://h:99999999/"), // bad port
		shimBlob("amqp_heartbeats", "x"),                  // not a number
		shimBlob("event_route", "3"),                      // no route name
		shimBlob("amqp_hearbeats", "5"),                   // unknown key: shim and Go disagree
		shimBlob("go_maxprocs", "\x00drop"),               // a key missing: the same
		append(shimBlob(), blob("go_maxprocs", "2")...),   // a key twice: the same
		append(shimBlob(), []byte("log_level\x00")...),    // a key without value
		append(shimBlob(), []byte("log_level\x002")...),   // a value not terminated
	} {
		if _, err := Parse(b); err == nil {
			t.Errorf("%q: no error", b)
		}
	}
}

// What the shim sends for modparams left unset gives kz_params.def's defaults.
func TestParseDefaults(t *testing.T) {
	c, err := Parse(shimBlob())
	if err != nil {
		t.Fatal(err)
	}
	if c.ConsumerWorkers != 8 || c.ConsumerPrefetch != 64 || c.GoMaxProcs != 1 || c.GoGCPercent != 25 ||
		c.GoMemRelease != time.Second || c.MaxPayload != 1<<20 || c.HeartbeatFor() != publisherHeartbeat ||
		c.AppName != "kamailio" || c.PrimaryZone != "local" || c.EventKey != "Event-Category" ||
		c.EventSubkey != "Event-Name" || c.EventCallback || !c.TLS.VerifyPeer || !c.TLS.VerifyHostname ||
		c.PublishTimeout != 2*time.Second || c.SpoolMax != 0 || c.PublishPersistent || c.PublishMandatory {
		t.Fatalf("%+v", c)
	}
}

// Every key of the table reaches a field: set knows each one.
func TestEveryKeyHasAField(t *testing.T) {
	sample := map[string]string{"amqp_connection": "amqp://h/", "event_route": "1 kazoo:x"}
	for key := range keys {
		c := &Config{EventRoutes: map[string]int{}}
		v, ok := sample[key]
		if !ok {
			v = "1"
		}
		if err := c.set(key, v); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// params_gen.go is what go generate makes of cshim/kz_params.def now.
func TestGeneratedKeys(t *testing.T) {
	entries, err := paramsdef.Read("../../..")
	if err != nil {
		t.Fatal(err)
	}
	want, err := paramsdef.GoSource(entries)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("params_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Error("params_gen.go is stale: run go generate ./kazoo/internal/config")
	}
}

// amqp_heartbeats set wins in every process; unset (-1) or 0 gives the role's default.
func TestHeartbeatByRole(t *testing.T) {
	for _, tc := range []struct {
		set, consumer string
		want          time.Duration
	}{
		{"-1", "0", publisherHeartbeat}, {"-1", "1", consumerHeartbeat},
		{"0", "0", publisherHeartbeat}, {"0", "1", consumerHeartbeat},
		{"5", "0", 5 * time.Second}, {"5", "1", 5 * time.Second},
	} {
		c, err := Parse(shimBlob("amqp_heartbeats", tc.set, "consumer_process", tc.consumer))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.HeartbeatFor(); got != tc.want {
			t.Errorf("amqp_heartbeats %s, consumer %s: %v, want %v", tc.set, tc.consumer, got, tc.want)
		}
	}
}
