package module

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
)

// $xavp(amqpc) is built before every request route of every SIP worker: its pairs are the
// fork's keys, and producing them allocates nothing.
func TestAppendStatus(t *testing.T) {
	b1, _ := config.ParseBroker("amqp://u:secret@127.0.0.1:1/", 1)
	b2, _ := config.ParseBroker("zone=remote;amqp://u:p@127.0.0.1:2/", 2)
	cfg := &config.Config{PrimaryZone: "local", Brokers: []config.Broker{b1, b2}}
	log := klog.NewWriter(io.Discard, klog.Err)
	m := &Module{Cfg: cfg, Log: log, status: &statusArea{},
		Pool: broker.NewPool(cfg.Brokers, broker.Options{ConnectTimeout: 50 * time.Millisecond}, log)}
	defer m.Close()
	out := m.AppendStatus(nil)
	for _, want := range []string{"local\x000\x00", "default::local\x000\x00", "local::default\x000\x00",
		"remote\x000\x00", "default\x000\x00", "amqp://u:***@127.0.0.1:1/\x000\x00", "local::error\x00"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("no %q in %q", want, out)
		}
	}
	if bytes.Contains(out, []byte("secret")) {
		t.Errorf("password in %q", out)
	}
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { m.AppendStatus(buf[:0]) }); n > 0 {
		t.Errorf("%v allocations per call", n)
	}
}
