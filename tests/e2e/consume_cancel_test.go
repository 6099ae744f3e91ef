package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// cancelCfg: three consumer workers on one shared queue; each event logs its Msg-ID.
var cancelCfg = harness.CfgHead{Children: 1,
	Modules: "sl pv xlog kex"}.String() + `modparam("kazoo", "node_hostname", "e2e.cancel")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_consumer_workers", 3)
event_route[kazoo:mod-init] {
	kazoo_subscribe('{"name": "cancel-sub", "exchange": "kz_e2e_cancel", "type": "topic", "queue": "kz-cancel-q", "routing": "ev.#", "exclusive": false, "auto_delete": false, "event_key": "K", "event_subkey": "S"}');
}
event_route[kazoo:consumer-event-good] {
	xlog("L_NOTICE", "GOOD $(kzE{kz.json,Msg-ID})\n");
}
event_route[kazoo:consumer-event-connection] {
	xlog("L_INFO", "connection event $(kzE{kz.json,Event-Name})\n");
}
request_route {
	sl_send_reply("200", "OK");
	exit;
}
`

// A subscribed queue deleted on the broker (rabbitmqctl delete_queue: RabbitMQ cancels its
// consumers, their channels stay open) is declared and consumed again by every worker
// within 2 s; events published afterwards all run their route; the cancel is logged once,
// counted (kazoo:consumers_cancelled) and kazoo.subscriptions shows every worker consuming
// again.
func TestConsumerCancelledByBroker(t *testing.T) {
	r := harness.StartRabbit(t)
	const queue = "kz-cancel-q"
	k := harness.StartKamailio(t, cancelCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})
	cmConsumers(t, r, queue, 3)
	conn := r.Dial(t)
	send := func(id string) { publishTo(t, conn, "kz_e2e_cancel", "ev.1", `{"K": "good", "Msg-ID": "`+id+`"}`) }
	before := len(k.Log())
	send("before-1")
	if lines := cmWaitLines(k, before, 10*time.Second, "GOOD before-1"); len(lines) != 1 {
		t.Fatalf("the event before the delete ran %d times\n%s", len(lines), k.Log())
	}

	for round := 1; round <= 2; round++ {
		mark := len(k.Log())
		start := time.Now()
		r.Ctl(t, "delete_queue", queue)
		deleted := time.Since(start)
		cmConsumers(t, r, queue, 3)
		back := time.Since(start)
		t.Logf("round %d: delete_queue took %v; the queue was consumed by 3 workers again %v after the delete began", round, deleted.Round(time.Millisecond), back.Round(time.Millisecond))
		if back-deleted > 2*time.Second {
			t.Errorf("round %d: the workers consumed again %v after the delete returned, want at most 2 s", round, (back - deleted).Round(time.Millisecond))
		}
		var ids []string
		for i := 0; i < 20; i++ {
			id := fmt.Sprintf("after-%d-%02d", round, i)
			ids = append(ids, id)
			send(id)
		}
		for _, id := range ids {
			if lines := cmWaitLines(k, mark, 10*time.Second, "GOOD "+id); len(lines) != 1 {
				t.Fatalf("event %s, published after the queue came back, ran %d times\n%s", id, len(lines), k.Log()[mark:])
			}
		}
		log := k.Log()[mark:]
		if n := len(cmLines(log, "subscription cancel-sub", "cancelled the consumer", queue)); n != 1 {
			t.Errorf("round %d: %d lines about the cancel, want 1:\n%s", round, n, log)
		}
		if n := len(cmLines(log, "subscription cancel-sub", "consuming again")); n != 1 {
			t.Errorf("round %d: %d 'consuming again' lines, want 1:\n%s", round, n, log)
		}
	}
	if s := k.Kamcmd(t, "stats.get_statistics", "kazoo:"); !strings.Contains(s, "kazoo:consumers_cancelled = 6") {
		t.Errorf("statistics: %s", s)
	}
	consuming := regexp.MustCompile(`"Worker":(\d),"Broker":1,"State":"consuming"`)
	var subs string
	waitFor(t, 5*time.Second, func() bool {
		subs = k.Kamcmd(t, "kazoo.subscriptions")
		return len(consuming.FindAllString(subs, -1)) == 3
	})
	if n := len(consuming.FindAllString(subs, -1)); n != 3 {
		t.Errorf("kazoo.subscriptions shows %d consuming workers, want 3: %s", n, subs)
	}
}
