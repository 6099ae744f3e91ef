//go:build bench

package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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
const consumeBenchCfg = `#!KAMAILIO
debug=1
log_stderror=yes
children=2
disable_tcp=yes
disable_sctp=yes
auto_aliases=no
listen=udp:127.0.0.1:{{.SipPort}}
mpath="{{.MPath}}"
loadmodule "ctl.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "htable.so"
loadmodule "{{.Module}}"
modparam("ctl", "binrpc", "unix:{{.CtlSocket}}")
modparam("htable", "htable", "c=>size=4;")
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

type consumeResult struct {
	perSec, kamCPUus, rabbitCPUus float64
	workerAnonKB, totalPssKB      int
}

func fill(t *testing.T, r *harness.Rabbit, n int) {
	conn := r.Dial(t)
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

func runConsume(t *testing.T, r *harness.Rabbit, module string, n, workers int) consumeResult {
	fill(t, r, n)
	r0 := ticks(r.PID())
	k := harness.StartKamailio(t, consumeBenchCfg, harness.KamailioOpts{Module: module,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/"), "Workers": workers}})
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
	for count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	start, c0 := time.Now(), cpuTicks(k, t)
	for count() < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	if got := count(); got < n {
		t.Errorf("%s: %d of %d events", module, got, n)
	}
	res := consumeResult{perSec: float64(n) / took.Seconds(),
		kamCPUus: float64(cpuTicks(k, t)-c0) * 10000 / float64(n),
		rabbitCPUus: float64(ticks(r.PID())-r0) * 10000 / float64(n)}
	for _, p := range k.Procs(t) {
		res.totalPssKB += p.PssKB
		if strings.Contains(p.Desc, "onsumer") {
			res.workerAnonKB = max(res.workerAnonKB, p.RssAnonKB)
		}
	}
	k.Stop(t)
	r.Ctl(t, "delete_queue", "kz-bench-consume")
	return res
}

func TestConsumeBench(t *testing.T) {
	ours := os.Getenv("KAZOO_SO")
	if ours == "" {
		ours, _ = filepath.Abs("../build/kazoo.so")
	}
	n, rounds, workers := 20000, 3, 8
	if s := os.Getenv("BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("BENCH_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	r := harness.SharedRabbit(t)
	var g, c []consumeResult
	for i := 0; i < rounds; i++ {
		g = append(g, runConsume(t, r, ours, n, workers))
		c = append(c, runConsume(t, r, cModule, n, workers))
	}
	rows := []struct {
		name string
		f    func(consumeResult) float64
	}{
		{"events/s through an event route", func(r consumeResult) float64 { return r.perSec }},
		{"Kamailio CPU µs per event (all processes)", func(r consumeResult) float64 { return r.kamCPUus }},
		{"RabbitMQ CPU µs per event (fill + drain)", func(r consumeResult) float64 { return r.rabbitCPUus }},
		{"largest consumer process RssAnon kB", func(r consumeResult) float64 { return float64(r.workerAnonKB) }},
		{"Kamailio PSS kB, all processes", func(r consumeResult) float64 { return float64(r.totalPssKB) }},
	}
	fmt.Printf("\nconsume, %d queued events per round, %d consumer workers, %d rounds, medians (min..max)\n", n, workers, rounds)
	fmt.Printf("%-52s %22s %22s %8s\n", "", "kazoo.so (Go)", "kazoo.so (C)", "Go/C")
	for _, row := range rows {
		vals := func(rs []consumeResult) []float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = row.f(r)
			}
			return v
		}
		gm, cm := median(vals(g)), median(vals(c))
		ratio := "-"
		if cm != 0 {
			ratio = fmt.Sprintf("%.2f", gm/cm)
		}
		fmt.Printf("%-52s %22s %22s %8s\n", row.name, spread(vals(g), gm), spread(vals(c), cm), ratio)
	}
}

// median and spread: the figures of a row over the rounds.
func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func spread(v []float64, m float64) string {
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.1f (%.1f..%.1f)", m, lo, hi)
}
