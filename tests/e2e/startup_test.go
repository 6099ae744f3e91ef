package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Every modparam name of the C module is accepted, with its type: existing configs load.
func TestAllCModuleParamsAccepted(t *testing.T) {
	r := harness.SharedRabbit(t)
	params := `
modparam("kazoo", "amqp_max_channels", 25)
modparam("kazoo", "amqp_timmer_process_interval", 200)
modparam("kazoo", "amqp_timer_process_interval", 200)
modparam("kazoo", "amqp_consumer_ack_timeout_micro", 100000)
modparam("kazoo", "amqp_consumer_ack_timeout_sec", 0)
modparam("kazoo", "amqp_interprocess_timeout_micro", 100000)
modparam("kazoo", "amqp_interprocess_timeout_sec", 0)
modparam("kazoo", "amqp_waitframe_timeout_micro", 100000)
modparam("kazoo", "amqp_waitframe_timeout_sec", 0)
modparam("kazoo", "amqp_consumer_processes", 4)
modparam("kazoo", "amqp_consumer_workers", 16)
modparam("kazoo", "amqp_consumer_event_key", "Event-Category")
modparam("kazoo", "amqp_consumer_event_subkey", "Event-Name")
modparam("kazoo", "amqp_query_timeout_micro", 0)
modparam("kazoo", "amqp_query_timeout_sec", 2)
modparam("kazoo", "amqp_internal_loop_count", 5)
modparam("kazoo", "amqp_consumer_loop_count", 10)
modparam("kazoo", "amqp_consumer_ack_loop_count", 20)
modparam("kazoo", "pua_include_entity", 1)
modparam("kazoo", "presence_use_full_entity", 0)
modparam("kazoo", "presentity_table", "presentity")
modparam("kazoo", "db_url", "text:///tmp/none")
modparam("kazoo", "single_consumer_on_reconnect", 1)
modparam("kazoo", "consume_messages_on_reconnect", 1)
modparam("kazoo", "amqp_query_timeout_avp", "$avp(kz_timeout)")
modparam("kazoo", "json_escape_char", "%")
modparam("kazoo", "app_name", "kamailio")
modparam("kazoo", "use_federated_exchange", 0)
modparam("kazoo", "federated_exchange", "federation")
modparam("kazoo", "amqp_heartbeats", 5)
modparam("kazoo", "amqp_primary_zone", "local")
modparam("kazoo", "amqp_command_hashtable_size", 2048)
modparam("kazoo", "amqp_result_avp", "$avp(amqp_result)")
modparam("kazoo", "amqps_ca_cert", "/etc/ssl/certs/ca-certificates.crt")
modparam("kazoo", "amqps_cert", "")
modparam("kazoo", "amqps_key", "")
modparam("kazoo", "amqps_verify_peer", 1)
modparam("kazoo", "amqps_verify_hostname", 1)
modparam("kazoo", "pua_lock_type", 1)
modparam("kazoo", "amqp_connect_timeout_micro", 0)
modparam("kazoo", "amqp_connect_timeout_sec", 2)
modparam("kazoo", "event_callback", "")
modparam("kazoo", "amqp_publish_timeout", 3000)
modparam("kazoo", "go_maxprocs", 2)
modparam("kazoo", "go_gc_percent", 50)
`
	k := startPublisher(t, r, map[string]any{"Params": params})
	if rc := publish(t, k, "amq.topic", "params.ok", "", `{"a":1}`); rc != "1" {
		t.Fatalf("kazoo_publish returned %q\n%s", rc, k.Log())
	}
}

// Configuration errors refuse to start with one clear line (already under kamailio -c
// for a bad URL, which is checked while the cfg is parsed).
func TestStartupRefusals(t *testing.T) {
	r := harness.SharedRabbit(t)
	for _, c := range []struct{ name, url, params, want string }{
		{"bad scheme", "http://guest:secret@127.0.0.1:5672/", "", "the scheme must be amqp://, amqps:// or kazoo://"},
		{"bad port", "amqp://guest:secret@127.0.0.1:99999/", "", "the port must be a number from 1 to 65535"},
		{"zone without ;", "zone=z amqp://127.0.0.1/", "", "the zone=<name>; prefix needs a name and a ';'"},
		{"pua_mode without db_url", r.URL(), `modparam("kazoo", "pua_mode", 1)`, "pua_mode is 1 (the default) but db_url is not set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			log := harness.StartKamailioExpectFailure(t, publishCfg, harness.KamailioOpts{Module: modulePath,
				Extra: withDefaults(r, map[string]any{"URL": c.url, "Params": c.params})})
			if !strings.Contains(log, c.want) {
				t.Fatalf("log lacks %q:\n%s", c.want, log)
			}
			if strings.Contains(log, "secret") {
				t.Errorf("the password appears in the log")
			}
		})
	}
}

// Kamailio's main process forks every other process after it: Go must never start there.
// A kazoo function called in it (htable's mod-init event route runs there) returns -1 with a
// clear line, instead of blocking forever or breaking the processes forked afterwards.
func TestNoGoInMainProcess(t *testing.T) {
	r := harness.SharedRabbit(t)
	q := r.Bind(t, "kazoo_e2e", "topic", "main.#")
	k := startPublisher(t, r, map[string]any{"Params": "loadmodule \"htable.so\"\n" +
		"event_route[htable:mod-init] {\n" +
		"	kazoo_publish(\"kazoo_e2e\", \"main.startup\", \"{}\");\n}\n"})
	for _, want := range []string{"cannot run in Kamailio's main process"} {
		if !k.WaitLog(t, want, 5*time.Second) {
			t.Fatalf("log lacks %q:\n%s", want, k.Log())
		}
	}
	for _, p := range k.Procs(t) {
		if strings.HasPrefix(p.Desc, "main process") && p.Threads != 1 {
			t.Errorf("the main process has %d threads", p.Threads)
		}
	}
	if rc := publish(t, k, "kazoo_e2e", "main.after", "", `{"a":1}`); rc != "1" {
		t.Fatalf("a SIP worker's publish returned %s", rc)
	}
	if d, ok := q.Next(t, 5*time.Second); !ok || d.RoutingKey != "main.after" {
		t.Fatalf("got %v %q", ok, d.RoutingKey)
	}
}
