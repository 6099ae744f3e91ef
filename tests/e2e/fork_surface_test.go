package e2e

import (
	"testing"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// forkCfg uses what 2600hz's master and 5.x configs need from their fork: $knode, $ki
// (set, read back, cleared; the configs set it in event_route[evrexec:init] and put it in
// their log prefix) and {kz.filename}.
var forkCfg = harness.CfgHead{Children: 1,
	Modules: "sl pv textops xlog"}.String() + `modparam("kazoo", "node_hostname", "e2e.fork.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	append_to_reply("X-Knode: $knode\r\n");
	append_to_reply("X-Ki-Before: $ki\r\n");
	$ki = $ci + "|tag";
	xlog("L_INFO", "[$ki] $(hdr(X-File){kz.filename})\n");
	append_to_reply("X-Ki: $ki\r\n");
	append_to_reply("X-File: $(hdr(X-File){kz.filename})\r\n");
	$ki = $null;
	append_to_reply("X-Ki-After: $ki\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

func TestForkSurface(t *testing.T) {
	r := harness.SharedRabbit(t)
	k := harness.StartKamailio(t, forkCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": r.URL()}})
	for file, want := range map[string]string{"/usr/local/kamailio/registrar-role.cfg": "registrar-role.cfg", "plain.cfg": "plain.cfg", "dir/": ""} {
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "fork", map[string]string{"X-File": file}, "")
		h := rep.Headers
		if rep.Code != 200 || h["x-knode"] != "kamailio@e2e.fork.test" || h["x-ki-before"] != "<null>" ||
			h["x-ki"] == "" || h["x-ki"] == "<null>" || h["x-ki-after"] != "<null>" || h["x-file"] != want {
			t.Errorf("file %q: %d %v\n%s", file, rep.Code, h, k.Log())
		}
	}
}
