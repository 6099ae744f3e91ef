package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// queueConsumers returns the consumers of each queue of a node (absent: no such queue).
func queueConsumers(t *testing.T, r *harness.Rabbit) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(r.Ctl(t, "list_queues", "-q", "name", "consumers"), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

// A broker in another zone (zone=remote;): it gets no publishes, it consumes only the
// federate subscriptions, and what it delivers carries its zone and a Server-ID that
// routes a reply back through it.
func TestZonesAndFederate(t *testing.T) {
	local, remote := harness.StartRabbit(t), harness.StartRabbit(t)
	outQ := local.Bind(t, "kz_e2e_out", "topic", "#")
	remoteOut := remote.Bind(t, "kz_e2e_out", "topic", "#")
	k := harness.StartKamailio(t, consumeCfg, consumeOpts(modulePath, local.URL(), map[string]any{
		"Params": fmt.Sprintf(`modparam("kazoo", "amqp_connection", "zone=remote;%s")`, remote.URL()),
		"ModInit": `
	kazoo_subscribe('{"exchange": "kz_zone", "type": "topic", "queue": "kz-zone-fed", "routing": "fed.*", "federate": true}');
	kazoo_subscribe('{"exchange": "kz_zone", "type": "topic", "queue": "kz-zone-local", "routing": "local.*"}');`}))
	deadline := time.Now().Add(15 * time.Second)
	for {
		l, r := queueConsumers(t, local), queueConsumers(t, remote)
		if l["kz-zone-fed"] != "" && l["kz-zone-fed"] != "0" && l["kz-zone-local"] != "" && l["kz-zone-local"] != "0" && r["kz-zone-fed"] != "" && r["kz-zone-fed"] != "0" {
			if _, ok := r["kz-zone-local"]; ok {
				t.Errorf("the remote zone declared the non-federate queue: %v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queues not consumed: local %v, remote %v\n%s", l, r, k.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// an event from the remote zone: its zone, and a Server-ID back through broker 2
	reply := remote.Bind(t, "targeted", "direct", "kz-zone-requester")
	publishTo(t, remote.Dial(t), "kz_zone", "fed.x", `{"Event-Category": "other", "Event-Name": "request", "Server-ID": "kz-zone-requester", "Msg-ID": "z1"}`)
	for {
		o, ok := nextOut(t, outQ, 10*time.Second)
		if !ok {
			t.Fatalf("the remote zone's event was not run:\n%s", k.Log())
		}
		if o.E["Msg-ID"] != "z1" {
			continue
		}
		if o.E["AMQP-Broker-Zone"] != "remote" || o.E["Server-ID"] != "consumer://2/kz-zone-requester" {
			t.Errorf("$kzE of the remote zone's event: %v", o.E)
		}
		break
	}
	if d, ok := reply.Next(t, 10*time.Second); !ok || !strings.Contains(string(d.Body), `"z1"`) {
		t.Errorf("the reply did not go back through the remote broker: %v %s", ok, d.Body)
	}
	// publishes (route[OUT]) go to the primary zone only
	if remoteOut.Count() != 0 {
		t.Errorf("%d publishes went to the remote zone", remoteOut.Count())
	}
}

// examples/kazoo-nodes.cfg as shipped: two nodes advertise on the nodes fanout exchange from
// a timer and each, through its private queue, learns about both.
func TestExampleNodes(t *testing.T) {
	r := harness.SharedRabbit(t)
	cfg, err := os.ReadFile("../../examples/kazoo-nodes.cfg")
	if err != nil {
		t.Fatal(err)
	}
	start := func(host string) *harness.Kamailio {
		tmpl := "#!define SIP_LISTEN udp:127.0.0.1:{{.SipPort}}\n#!define AMQP_URL \"{{.Extra.URL}}\"\n" +
			"#!define KAZOO_MODULE \"{{.Module}}\"\n#!define CTL_SOCKET \"unix:{{.CtlSocket}}\"\n" +
			"#!substdef \"!MY_HOSTNAME!" + host + "!g\"\n#!substdef \"!ADVERTISE_INTERVAL!1!g\"\n" +
			strings.Replace(string(cfg), "log_stderror=no", "log_stderror=yes", 1)
		return harness.StartKamailio(t, tmpl, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})
	}
	a, b := start("nodes-a.e2e"), start("nodes-b.e2e")
	for _, k := range []*harness.Kamailio{a, b} {
		deadline := time.Now().Add(20 * time.Second)
		for {
			dump, _ := k.KamcmdErr("htable.dump", "nodes")
			if strings.Contains(dump, "kamailio@nodes-a.e2e") && strings.Contains(dump, "kamailio@nodes-b.e2e") && strings.Contains(dump, "local ") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a node does not know both nodes after 20 s: %s\n%s", dump, k.Log())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
