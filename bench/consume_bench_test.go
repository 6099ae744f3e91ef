//go:build bench

package bench

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Consumption: a queue is filled with N events before Kamailio starts; Kamailio subscribes
// to it in kazoo:mod-init and runs an event route per event (an htable counter), with the
// same subscription for both modules: "no_ack": false (ours acknowledges after the route,
// the C module on receipt). Measured from the first event to the last.
var consumeBenchCfg = harness.CfgHead{Debug: 1, Children: 2,
	Modules: "tm sl pv htable"}.String() + `modparam("htable", "htable", "c=>size=4;")
modparam("kazoo", "node_hostname", "bench.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_consumer_workers", {{.Extra.Workers}})
event_route[kazoo:mod-init] {
	$sht(c=>n) = 0;
	kazoo_subscribe('{"exchange": "kz_bench_in", "type": "topic", "queue": "kz-bench-consume", "routing": "bench.#", "auto_delete": false, "no_ack": false}');
}
event_route[kazoo:consumer-event-bench-event] {
	$var(n) = $shtinc(c=>n);
}
event_route[kazoo:consumer-event] {
	return;
}
request_route {
	sl_send_reply("200", "OK");
	exit;
}
`

// consResult: N queued events drained through an event route.
type consResult struct {
	perSec, kamUs, brokerUs float64
	consumerPssKB           float64 // largest kazoo consumer process
	consumerPssSettledKB    float64 // the same, settleTime after the drain
	crash                   bool
}

func fill(t *testing.T, r *harness.Rabbit, n int) {
	conn := r.Dial(t)
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	if err := ch.ExchangeDeclare("kz_bench_in", "topic", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare("kz-bench-consume", false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind("kz-bench-consume", "bench.#", "kz_bench_in", false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueuePurge("kz-bench-consume", false); err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	var last *amqp.DeferredConfirmation
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(`{"Event-Category": "bench", "Event-Name": "event", "Seq": %d, "Msg-ID": "m-%d", "Server-ID": "kazoo@bench-targeted", "App-Name": "bench", "App-Version": "1.0", "Node": "bench@localhost", "Call-ID": "c%08d@bench", "From": "sip:user%d@bench.test", "To": "sip:dest@bench.test"}`, i, i, i, i)
		if last, err = ch.PublishWithDeferredConfirmWithContext(context.Background(), "kz_bench_in", "bench.event", false, false,
			amqp.Publishing{ContentType: "application/json", Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
	}
	if !last.Wait() {
		t.Fatal("fill: nack")
	}
}

// runConsume fills the queue, starts Kamailio, and times the drain from the first event
// counted to the last. CPU is counted over the drain (the broker's too).
func runConsume(t *testing.T, r *harness.Rabbit, module string, n, workers int) *consResult {
	res := &consResult{perSec: nan, kamUs: nan, brokerUs: nan, consumerPssKB: nan, consumerPssSettledKB: nan}
	fill(t, r, n)
	k := harness.StartKamailio(t, consumeBenchCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Workers": workers}})
	defer func() {
		k.Stop(t)
		res.crash = res.crash || k.Crashed()
		r.Ctl(t, "delete_queue", "kz-bench-consume")
	}()
	count := func() int {
		out, err := k.KamcmdErr("htable.get", "c", "n")
		if err != nil {
			return 0
		}
		i := strings.Index(out, "value:")
		if i < 0 {
			return 0
		}
		v, _ := strconv.Atoi(strings.Fields(out[i+len("value:"):])[0])
		return v
	}
	deadline := time.Now().Add(2 * time.Minute)
	for count() == 0 && time.Now().Before(deadline) && k.Alive() {
		time.Sleep(5 * time.Millisecond)
	}
	ps := procs(k)
	start, c0, b0, got0 := time.Now(), kamCPU(ps), cpuNs(r.PID()), count()
	got := got0
	for got < n && time.Now().Before(deadline) && k.Alive() {
		time.Sleep(20 * time.Millisecond)
		got = count()
	}
	took := time.Since(start)
	if !k.Alive() {
		res.crash = true
		return res
	}
	if got < n {
		t.Errorf("consume %s: %d of %d events", modName(module), got, n)
	}
	done := got - got0
	res.perSec = float64(done) / took.Seconds()
	res.kamUs, res.brokerUs = usPer(kamCPU(ps)-c0, done), usPer(cpuNs(r.PID())-b0, done)
	res.consumerPssKB = largestConsumerPss(procs(k))
	time.Sleep(settleTime)
	settled := procs(k)
	res.consumerPssSettledKB = largestConsumerPss(settled)
	dumpSmaps(settled)
	t.Logf("consume %s: %.0f events/s", modName(module), res.perSec)
	return res
}

// settleTime: how long after a drain the memory is measured again (what the processes hold
// once the burst is over).
const settleTime = 3 * time.Second

// largestConsumerPss is the PSS of the largest consumer process (ours: kazoo consumer; C:
// AMQP Consumer (Worker)), NaN when there is none.
func largestConsumerPss(ps []kproc) float64 {
	v := nan
	for _, p := range ps {
		if strings.Contains(strings.ToLower(p.kind), "consumer") {
			if math.IsNaN(v) || float64(p.pssKB) > v {
				v = float64(p.pssKB)
			}
		}
	}
	return v
}

// TestConsumeBench: the consume rows of the table only.
func TestConsumeBench(t *testing.T) { runTable(t, map[string]bool{"consume": true}) }
