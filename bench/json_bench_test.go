//go:build bench

package bench

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// One SIP request makes a SIP worker evaluate {kz.json,...} X-N times over a 1.5 KB Kazoo
// payload, cycling through paths of every kind; the reply carries the elapsed time.
var jsonBenchCfg = harness.CfgHead{Debug: 1, Children: 1, TCPChildren: 1, TCP: true, Core: []string{"max_while_loops=10000000"},
	Modules: "tm sl pv textops"}.String() + `modparam("kazoo", "node_hostname", "bench.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	$var(doc) = $rb;
	$var(n) = $(hdr(X-N){s.int});
	$var(i) = 0;
	$var(s0) = $TV(sn);
	$var(u0) = $TV(un);
	while ($var(i) < $var(n)) {
		$var(a) = $(var(doc){kz.json,Call-ID});
		$var(b) = $(var(doc){kz.json,Custom-Channel-Vars.Account-ID});
		$var(c) = $(var(doc){kz.json,Media-Servers[1].Node});
		$var(d) = $(var(doc){kz.json,Custom-Channel-Vars});
		$var(e) = $(var(doc){kz.json,No-Such-Key});
		$var(i) = $var(i) + 1;
	}
	$var(us) = ($TV(sn) - $var(s0)) * 1000000 + ($TV(un) - $var(u0));
	append_to_reply("X-Us: $var(us)\r\nX-A: $var(a)\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

// payload1500 is a route_req-like Kazoo message of about 1.5 KB.
const payload1500 = `{"Event-Category":"dialplan","Event-Name":"route_req","App-Name":"kamailio","App-Version":"5.6.3","Node":"kamailio@sbc1.example.com","Msg-ID":"0d4c0c4e-6a3c-4b1e-9f3e-2c7d9b1a5e42","Call-ID":"a84b4c76e66710@pc33.example.com","Caller-ID-Name":"Alice \"Al\" Smith","Caller-ID-Number":"+14155550123","From":"sip:alice@example.com","To":"sip:bob@example.com","Request":"sip:+14155550199@example.com","Call-Direction":"inbound","Resource-Type":"audio","Switch-Hostname":"fs1.example.com","Switch-URL":"sip:mod_sofia@10.0.0.11:11000","Custom-Channel-Vars":{"Account-ID":"3a6f6b2c1d9e4f5a8b7c6d5e4f3a2b1c","Owner-ID":"9f8e7d6c5b4a39281706f5e4d3c2b1a0","Authorizing-ID":"1234567890abcdef1234567890abcdef","Authorizing-Type":"device","Username":"alice","Realm":"example.com","Inception":"on-net","Channel-Authorized":"true","Register-Overwrite-Notify":"false","Media-Names":["fs1","fs2"],"Note":"caf\u00e9 \u2019quoted\u2019"},"Media-Servers":[{"Node":"freeswitch@fs1.example.com","Interfaces":{"sofia":{"info":{"url":"sip:10.0.0.11:11000"}}},"Startup":1700000000},{"Node":"freeswitch@fs2.example.com","Interfaces":{"sofia":{"info":{"url":"sip:10.0.0.12:11000"}}},"Startup":1700000100},{"Node":"freeswitch@fs3.example.com","Interfaces":{"sofia":{"info":{"url":"sip:10.0.0.13:11000"}}},"Startup":1700000200}],"Codecs":["PCMU","PCMA","G722","OPUS"],"Timestamp":63871234567,"Expires":3600,"Rate":0.0125,"Enabled":true,"Disabled":false,"Nothing":null}`

// runJSON: µs per {kz.json} evaluation in one SIP worker, n loop iterations of 5 lookups.
func runJSON(t *testing.T, r *harness.Rabbit, module string, n int) (us float64, crash bool) {
	k := harness.StartKamailio(t, jsonBenchCfg, harness.KamailioOpts{Module: module, AllowCrash: true,
		Extra: map[string]any{"URL": strings.TrimSuffix(r.URL(), "/")}})
	defer func() { k.Stop(t); crash = crash || k.Crashed() }()
	us = nan
	for i, iters := range []int{max(n/20, 100), n} { // warm-up, then the measurement
		h, err := harness.TrySipRequest(k.SipPort(), "MESSAGE", "j", map[string]string{"X-N": strconv.Itoa(iters)}, payload1500, 2*time.Minute)
		if err != nil {
			t.Logf("kz.json %s: %v", modName(module), err)
			return nan, !k.Alive()
		}
		if i == 1 {
			v, _ := strconv.Atoi(h["x-us"])
			us = float64(v) / float64(5*iters)
		}
	}
	return us, false
}

// TestJSONBench: the kz.json row of the table only.
func TestJSONBench(t *testing.T) { runTable(t, map[string]bool{"json": true}) }
