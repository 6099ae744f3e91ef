// Package config reads the module configuration that the C shim hands to Go at start
// (modparams, as "key\0value\0" records; keys and defaults in cshim/kz_params.def).
package config

//go:generate go run ./gen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Config is what the Go side needs of kamailio.cfg's modparam("kazoo", ...) lines.
type Config struct {
	NodeHostname    string        // node_hostname: Node is "kamailio@<it>"
	AppName         string        // app_name: App-Name of every message
	AppVersion      string        // Kamailio's version: App-Version of every message
	Brokers         []Broker      // amqp_connection, in declaration order
	Heartbeat       time.Duration // amqp_heartbeats; 0: the process role's default (HeartbeatFor)
	ConnectTimeout  time.Duration
	PublishTimeout  time.Duration
	MaxPayload      int
	GoMaxProcs      int           // runtime.GOMAXPROCS of the process; 0 leaves Go's default
	GoGCPercent     int           // debug.SetGCPercent of the process; 0 leaves Go's default
	GoMemRelease    time.Duration // how often freed Go heap goes back to the OS; 0: Go's own pace
	PrimaryZone     string        // amqp_primary_zone
	LogLevel        int           // Kamailio's debug level when the process started
	Process         string        // the Kamailio process description, for logs
	ConsumerProcess bool          // a kazoo consumer process (it consumes and runs event routes)

	// consumption
	EventKey, EventSubkey string         // amqp_consumer_event_key / _subkey
	EventRoutes           map[string]int // event_route[kazoo:...] defined in the cfg: name -> index
	EventCallback         bool           // event_callback: a KEMI function takes every event
	ConsumerWorkers       int            // amqp_consumer_workers: processes that consume and run event routes
	ConsumerPrefetch      int            // amqp_consumer_prefetch: unacknowledged deliveries per subscription and broker
	ControlFDs            []int          // write end of each consumer worker's control socket, worker 1 first

	TLS               TLS  // amqps_*
	PublishPersistent bool // amqp_publish_persistent: delivery mode 2
	SpoolMax          int  // amqp_spool_max: publishes kept per process while no broker is connected
	PublishMandatory  bool // amqp_publish_mandatory: unroutable publishes come back as events
	ReceivedMicro     bool // amqp_received_micro: the fork's µs AMQP-Received, AMQP-Elapsed-Micro
	ConnectAtStart    bool // amqp_connect_at_start: every broker at start, not on demand
}

// TLS is what amqps:// connections use (the C module's amqps_* parameters).
type TLS struct {
	CAFile, CertFile, KeyFile  string // empty: the system's CAs, no client certificate
	VerifyPeer, VerifyHostname bool
}

// UsesTLS tells whether a broker is reached over amqps://.
func (c *Config) UsesTLS() bool {
	for _, b := range c.Brokers {
		if b.URI.Scheme == "amqps" {
			return true
		}
	}
	return false
}

// Node is the Kazoo "Node" value for this Kamailio.
func (c *Config) Node() string { return "kamailio@" + c.NodeHostname }

// The heartbeat when amqp_heartbeats is not set (-1 or 0). The C module's default, none, let
// half-open TCP connections hang consumers forever; ours differs by role:
//   - a consumer process keeps a short one: it is how RabbitMQ notices a consumer whose host
//     is gone, and until then it goes on sending that consumer up to its prefetch of
//     messages, which wait (unacked) or are lost (auto-ack);
//   - every other process (SIP workers, timers, RPC) only publishes and waits for replies.
//     Each heartbeat wakes its Go runtime, and a node has dozens of these processes, so
//     theirs is RabbitMQ's own default; TCP keepalive (see dialer) notices a dead peer host
//     or a pulled cable sooner without waking the process, and a frozen broker costs a
//     request its timeout until the heartbeat notices it.
const (
	consumerHeartbeat  = 10 * time.Second
	publisherHeartbeat = 60 * time.Second
)

// HeartbeatFor is the heartbeat of this process's connections: amqp_heartbeats when set,
// else its role's default.
func (c *Config) HeartbeatFor() time.Duration {
	switch {
	case c.Heartbeat > 0:
		return c.Heartbeat
	case c.ConsumerProcess:
		return consumerHeartbeat
	}
	return publisherHeartbeat
}

// Parse decodes the records. The shim and this side are built together from one table
// (cshim/kz_params.def, generated into params_gen.go), and the shim sends every key, with
// the modparam's default when it is not set: an unknown key, a missing one or one that comes
// twice is a mismatch between them, an error, never a setting silently dropped or a default
// of our own. Values that do not parse are errors too.
func Parse(blob []byte) (*Config, error) {
	c := &Config{EventRoutes: map[string]int{}}
	seen := map[string]bool{}
	for len(blob) > 0 {
		k, rest, ok := bytes.Cut(blob, []byte{0})
		if !ok {
			return nil, fmt.Errorf("configuration record without value")
		}
		v, rest2, ok := bytes.Cut(rest, []byte{0})
		if !ok {
			return nil, fmt.Errorf("configuration value of %q not terminated", k)
		}
		blob = rest2
		key := string(k)
		repeats, known := keys[key]
		switch {
		case !known:
			return nil, fmt.Errorf("unknown configuration key %q from the C shim (kazoo.so built from"+
				" mismatched sources)", key)
		case seen[key] && !repeats:
			return nil, fmt.Errorf("configuration key %q twice from the C shim", key)
		}
		seen[key] = true
		if err := c.set(key, string(v)); err != nil {
			return nil, err
		}
	}
	for key, repeats := range keys {
		if !repeats && !seen[key] {
			return nil, fmt.Errorf("configuration key %q not sent by the C shim (kazoo.so built from"+
				" mismatched sources)", key)
		}
	}
	for i := range c.Brokers { // a zone named like the primary zone is the primary zone
		if c.Brokers[i].Zone == c.PrimaryZone {
			c.Brokers[i].Zone = ""
		}
	}
	if c.NodeHostname == "" {
		return nil, fmt.Errorf("node_hostname is not set")
	}
	return c, nil
}

func (c *Config) set(key, value string) error {
	var err error
	switch key {
	case "node_hostname":
		c.NodeHostname = value
	case "app_name":
		c.AppName = value
	case "app_version":
		c.AppVersion = value
	case "amqp_connection":
		var b Broker
		if b, err = ParseBroker(value, len(c.Brokers)+1); err == nil {
			c.Brokers = append(c.Brokers, b)
		}
	case "amqp_heartbeats":
		if c.Heartbeat, err = seconds(value); c.Heartbeat < 0 {
			c.Heartbeat = 0
		}
	case "connect_timeout_ms":
		c.ConnectTimeout, err = millis(value)
	case "publish_timeout_ms":
		c.PublishTimeout, err = millis(value)
	case "max_payload":
		c.MaxPayload, err = strconv.Atoi(value)
	case "go_gc_percent":
		c.GoGCPercent, err = strconv.Atoi(value)
	case "go_mem_release_ms":
		c.GoMemRelease, err = millis(value)
	case "go_maxprocs":
		c.GoMaxProcs, err = strconv.Atoi(value)
	case "log_level":
		c.LogLevel, err = strconv.Atoi(value)
	case "amqp_primary_zone":
		c.PrimaryZone = value
	case "process":
		c.Process = value
	case "consumer_process":
		c.ConsumerProcess = value == "1"
	case "amqp_consumer_event_key":
		c.EventKey = value
	case "amqp_consumer_event_subkey":
		c.EventSubkey = value
	case "event_route":
		var idx int
		num, name, ok := strings.Cut(value, " ")
		if idx, err = strconv.Atoi(num); err == nil && !ok {
			err = fmt.Errorf("no route name in %q", value)
		}
		if err == nil {
			c.EventRoutes[name] = idx
		}
	case "event_callback": // the KEMI function's name; C calls it
		c.EventCallback = value != ""
	case "amqp_consumer_workers":
		c.ConsumerWorkers, err = strconv.Atoi(value)
	case "amqp_consumer_prefetch":
		c.ConsumerPrefetch, err = strconv.Atoi(value)
	case "amqps_ca_cert":
		c.TLS.CAFile = value
	case "amqps_cert":
		c.TLS.CertFile = value
	case "amqps_key":
		c.TLS.KeyFile = value
	case "amqps_verify_peer":
		c.TLS.VerifyPeer = value != "0"
	case "amqps_verify_hostname":
		c.TLS.VerifyHostname = value != "0"
	case "amqp_publish_persistent":
		c.PublishPersistent = value != "0"
	case "amqp_publish_mandatory":
		c.PublishMandatory = value != "0"
	case "amqp_received_micro":
		c.ReceivedMicro = value != "0"
	case "amqp_connect_at_start":
		c.ConnectAtStart = value != "0"
	case "amqp_spool_max":
		c.SpoolMax, err = strconv.Atoi(value)
	case "consumer_control_fd":
		var fd int
		if fd, err = strconv.Atoi(value); err == nil {
			c.ControlFDs = append(c.ControlFDs, fd)
		}
	default: // in keys (params_gen.go), not here: TestEveryKeyHasAField says so
		return fmt.Errorf("configuration key %q has no field", key)
	}
	if err != nil {
		return fmt.Errorf("modparam %s: %v", key, err)
	}
	return nil
}

func seconds(v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	return time.Duration(n) * time.Second, err
}

func millis(v string) (time.Duration, error) {
	n, err := strconv.Atoi(v)
	return time.Duration(n) * time.Millisecond, err
}
