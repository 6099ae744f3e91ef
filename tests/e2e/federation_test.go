package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// federate makes exchange on down receive what is published to exchange on up, with
// RabbitMQ's federation plugin (an upstream and a policy on down), as Kazoo links zones.
func federate(t *testing.T, down, up *harness.Rabbit, exchange string) {
	t.Helper()
	name := "up-" + exchange
	down.Ctl(t, "set_parameter", "federation-upstream", name,
		`{"uri": "`+strings.TrimSuffix(up.URL(), "/")+`", "reconnect-delay": 1}`)
	down.Ctl(t, "set_policy", "--apply-to", "exchanges", "fed-"+exchange, "^"+exchange+"$",
		`{"federation-upstream": "`+name+`"}`)
}

// queryUntil repeats a query until it is answered (federation links and their bindings
// come up asynchronously), at most timeout; returns the last result and how long it took.
func queryUntil(t *testing.T, k *harness.Kamailio, timeout time.Duration) (queryResult, time.Duration) {
	t.Helper()
	start := time.Now()
	for {
		res := query(t, k, "3", "kz_fed", "fed.ping", `{"Event-Category": "test", "Event-Name": "ping"}`, nil)
		if res.rc == "1" || time.Since(start) > timeout {
			return res, time.Since(start)
		}
	}
}

// Two zones joined by RabbitMQ's federation plugin, as Kazoo runs them: Kamailio publishes
// to its own zone's broker, a Kazoo app that only the remote zone has answers, the
// request and the reply crossing the federation links (kz_fed from local to remote,
// targeted from remote to local). With the remote zone down, a query fails (-1) after its
// timeout and Kamailio keeps serving; once the zone is back, queries are answered again.
func TestFederatedZones(t *testing.T) {
	local, remote := harness.StartRabbit(t), harness.StartRabbit(t)
	for _, r := range []*harness.Rabbit{local, remote} {
		r.EnablePlugins(t, "rabbitmq_federation")
	}
	local.Bind(t, "kz_fed", "topic", "no.binding.here") // the exchange Kamailio publishes to
	startResponder(t, remote, "kz_fed", "fed.#", echo(0))
	federate(t, remote, local, "kz_fed")
	federate(t, local, remote, "targeted")
	k := startPublisher(t, local, map[string]any{"Params": `modparam("kazoo", "amqp_connection", "zone=remote;` + remote.URL() + `")`})

	res, took := queryUntil(t, k, 30*time.Second)
	if res.rc != "1" || res.kzR["Event-Name"] != "pong" {
		t.Fatalf("no query answered across the federation within 30 s: rc %s, $kzR %s\n%s\n%s", res.rc, res.kzRRaw, local.Ctl(t, "eval", "rabbit_federation_status:status()."), k.Log())
	}
	t.Logf("first query answered across the federation %v after Kamailio started", took.Round(time.Millisecond))
	// each UDP worker's first query (its reply queue's binding must reach the remote zone)
	for i := 0; i < 6; i++ {
		res, took := queryUntil(t, k, 10*time.Second)
		if res.rc != "1" {
			t.Fatalf("query %d not answered within 10 s (%v)\n%s", i, took, k.Log())
		}
		t.Logf("query %d answered in %v by worker %s", i, took.Round(time.Millisecond), res.pid)
	}

	remote.Stop(t)
	res = query(t, k, "3", "kz_fed", "fed.ping", `{"Event-Category": "test", "Event-Name": "ping"}`, nil)
	if res.rc != "-1" || res.took > 3*time.Second {
		t.Errorf("with the remote zone down: rc %s after %v, want -1 within the 2 s timeout", res.rc, res.took)
	}
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS got %d", rep.Code)
	}
	if !k.WaitLog(t, "no reply within the timeout", 5*time.Second) {
		t.Errorf("no log line for the unanswered query\n%s", k.Log())
	}

	remote.Start(t)
	// the zone's Kazoo app reconnects too (the test's responder died with the node)
	startResponder(t, remote, "kz_fed", "fed.#", echo(0))
	res, took = queryUntil(t, k, 30*time.Second)
	if res.rc != "1" {
		t.Fatalf("no query answered 30 s after the remote zone came back\n%s", k.Log())
	}
	t.Logf("queries answered again %v after the remote zone accepted connections", took.Round(time.Millisecond))
}
