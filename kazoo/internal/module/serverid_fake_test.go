package module

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/broker/amqpfake"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/config"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/klog"
	"github.com/kazoo-so/kazoo-go/kazoo/internal/status"
)

const fakeWait = 5 * time.Second

// fakeModule is a Module whose brokers are fake ones: broker i+1 is servers[i], reached at
// broker<i+1>:5672.
func fakeModule(t *testing.T, spoolMax int, servers ...*amqpfake.Server) (*Module, *lockedBuffer) {
	t.Helper()
	cfg := &config.Config{NodeHostname: "test", AppName: "kamailio", AppVersion: "5.6.3",
		ConnectTimeout: fakeWait, PublishTimeout: fakeWait, MaxPayload: 1 << 16, SpoolMax: spoolMax,
		EventKey: "Event-Category", EventSubkey: "Event-Name", ConsumerWorkers: 1, ConsumerPrefetch: 8,
		EventRoutes: map[string]int{"kazoo:consumer-event-e2e-reply": 7}}
	byAddr := map[string]*amqpfake.Server{}
	for i, s := range servers {
		addr := "broker" + string(rune('1'+i)) + ":5672"
		b, err := config.ParseBroker("amqp://guest:guest@"+addr+"/", i+1)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Brokers = append(cfg.Brokers, b)
		byAddr[addr] = s
		t.Cleanup(s.Close)
	}
	log := &lockedBuffer{}
	m := newModule(cfg, klog.NewWriter(log, klog.Debug), amqpfake.Dialer(byAddr))
	t.Cleanup(m.Close)
	return m, log
}

// published is the body of the next basic.publish to exchange on s after the n-th one.
func published(t *testing.T, s *amqpfake.Server, exchange string, n int) map[string]any {
	t.Helper()
	seen := 0
	e, ok := s.WaitEvent(fakeWait, func(e amqpfake.Event) bool {
		if e.Method != "basic.publish" || e.Exchange != exchange {
			return false
		}
		seen++
		return seen > n
	})
	if !ok {
		t.Fatalf("no publish to %s", exchange)
	}
	var m map[string]any
	if err := json.Unmarshal(e.Publish.Body, &m); err != nil {
		t.Fatalf("published body: %v: %s", err, e.Publish.Body)
	}
	return m
}

// kazoo_publish adds Server-ID last, after the other default keys, naming the broker the
// message goes through; a Server-ID the script set is kept as it is.
func TestPublishServerID(t *testing.T) {
	srv := amqpfake.NewServer()
	m, _ := fakeModule(t, 0, srv)
	if err := m.Publish([]byte("amq.topic"), []byte("a.b"), []byte(`{'Event-Category':'directory','Event-Name':'reg_success'}`), nil); err != nil {
		t.Fatal(err)
	}
	e, _ := srv.WaitMethod(fakeWait, "basic.publish")
	body := string(e.Publish.Body)
	if !strings.HasPrefix(body, `{"Event-Category":"directory","Event-Name":"reg_success","App-Name":"kamailio","App-Version":"5.6.3","Node":"kamailio@test","Msg-ID":"`) ||
		!strings.HasSuffix(body, `","Server-ID":"kamailio@test-<1>-targeted-0"}`) {
		t.Errorf("published %s", body)
	}

	if err := m.Publish([]byte("amq.topic"), []byte("a.b"), []byte(`{"Server-ID":"consumer://1/somebody","Msg-ID":"x"}`), nil); err != nil {
		t.Fatal(err)
	}
	if got := published(t, srv, "amq.topic", 1); got["Server-ID"] != "consumer://1/somebody" {
		t.Errorf("script Server-ID replaced: %v", got)
	}
}

// A reply to a consumed message (routing key consumer://<id>/...) goes through broker id,
// and its Server-ID names that broker.
func TestPublishServerIDOfConsumerRoute(t *testing.T) {
	first, second := amqpfake.NewServer(), amqpfake.NewServer()
	m, _ := fakeModule(t, 0, first, second)
	if err := m.Publish([]byte("targeted"), []byte("consumer://2/somebody"), []byte(`{"Event-Name":"pong"}`), nil); err != nil {
		t.Fatal(err)
	}
	e, _ := second.WaitMethod(fakeWait, "basic.publish")
	if e.Publish.RoutingKey != "somebody" {
		t.Errorf("routing key %q", e.Publish.RoutingKey)
	}
	if got := published(t, second, "targeted", 0); got["Server-ID"] != "kamailio@test-<2>-targeted-0" {
		t.Errorf("Server-ID %v, want broker 2's", got["Server-ID"])
	}
}

// A publish spooled while no broker is connected gets the Server-ID of the broker that
// finally sends it, also when another broker's was added before that broker was lost; a
// script's own Server-ID is kept.
func TestSpooledPublishServerID(t *testing.T) {
	first, second := amqpfake.NewServer(), amqpfake.NewServer()
	first.Refuse(nil)
	second.Refuse(nil)
	m, _ := fakeModule(t, 10, first, second)
	for _, body := range []string{`{"N":1}`, `{"N":2,"Server-ID":"mine"}`} {
		if err := m.Publish([]byte("amq.topic"), []byte("spooled"), []byte(body), nil); status.CodeOf(err) != status.Spooled {
			t.Fatalf("publish %s with no broker: %v, want spooled", body, err)
		}
	}
	lost := broker.Message{Exchange: "amq.topic", RoutingKey: "spooled", Body: []byte(`{"N":3,"Server-ID":"kamailio@test-<1>-targeted-0"}`)}
	if err := m.spool.offer(lost); status.CodeOf(err) != status.Spooled {
		t.Fatalf("spooling a publish whose broker was lost: %v", err)
	}
	second.Accept()
	if got := published(t, second, "amq.topic", 0); got["N"] != 1.0 || got["Server-ID"] != "kamailio@test-<2>-targeted-0" {
		t.Errorf("first spooled publish %v: want broker 2's Server-ID", got)
	}
	if got := published(t, second, "amq.topic", 1); got["N"] != 2.0 || got["Server-ID"] != "mine" {
		t.Errorf("second spooled publish %v: want the script's Server-ID", got)
	}
	if got := published(t, second, "amq.topic", 2); got["N"] != 3.0 || got["Server-ID"] != "kamailio@test-<2>-targeted-0" {
		t.Errorf("third spooled publish %v: want broker 2's Server-ID instead of broker 1's", got)
	}
}
