package module

import (
	"io"
	"os"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
)

// BenchmarkPublish measures Module.Publish against a real broker: KAZOO_BENCH_AMQP=amqp://...
// (skipped without it). It is what one kazoo_publish costs the calling process, minus cgo.
func BenchmarkPublish(b *testing.B) {
	url := os.Getenv("KAZOO_BENCH_AMQP")
	if url == "" {
		b.Skip("KAZOO_BENCH_AMQP not set")
	}
	br, err := config.ParseBroker(url, 1)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &config.Config{NodeHostname: "bench", AppName: "kamailio", AppVersion: "5.6.3", Brokers: []config.Broker{br},
		Heartbeat: 10 * time.Second, ConnectTimeout: 2 * time.Second, PublishTimeout: 2 * time.Second, MaxPayload: 1 << 20}
	m := New(cfg, klog.NewWriter(io.Discard, klog.Err))
	defer m.Close()
	body := []byte(`{"Event-Category":"bench","Event-Name":"publish","Call-ID":"abc@127.0.0.1","Seq":1}`)
	ex, rk := []byte("amq.topic"), []byte("bench.publish")
	if err := m.Publish(ex, rk, body, nil); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Publish(ex, rk, body, nil); err != nil {
			b.Fatal(err)
		}
	}
}
