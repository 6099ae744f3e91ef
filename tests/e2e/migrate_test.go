package e2e

import (
	"fmt"
	"testing"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// migrateCfg has the two forms of README's "Migrating from the C module": a route written
// for the C module (whose kazoo_publish returned 0 with the broker down, ending the route
// before the 200) and the same route with the one-line change.
var migrateCfg = harness.CfgHead{Children: 1,
	Modules: "sl pv textops"}.String() + `modparam("kazoo", "node_hostname", "e2e.migrate")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	if ($rU == "asbefore") {
		kazoo_publish("kz_e2e_migrate", "m.x", '{"Event-Category": "test", "Event-Name": "m"}');
		sl_send_reply("200", "OK");
		exit;
	}
	if (!kazoo_publish("kz_e2e_migrate", "m.x", '{"Event-Category": "test", "Event-Name": "m"}')) {
		sl_send_reply("503", "Service Unavailable");
		exit;
	}
	sl_send_reply("200", "OK");
	exit;
}
`

// With no broker, the C module's form answers 200 for a message never published (ours
// returns -1, and the route goes on); the migrated form answers 503.
func TestMigrationPublishCheck(t *testing.T) {
	down := fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", harness.FreePort(t))
	k := harness.StartKamailio(t, migrateCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": down}})
	if rep := sipRequest(t, k.SipPort(), "MESSAGE", "asbefore", nil, "x"); rep.Code != 200 {
		t.Errorf("the C module's form answered %d, want 200 (the hazard the README describes)", rep.Code)
	}
	if rep := sipRequest(t, k.SipPort(), "MESSAGE", "migrated", nil, "x"); rep.Code != 503 {
		t.Errorf("the migrated form answered %d, want 503\n%s", rep.Code, k.Log())
	}
}
