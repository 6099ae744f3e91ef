package e2e

import "github.com/kazoo-so/kazoo-go/tests/harness"

// publishCfg drives kazoo_publish from SIP requests: exchange, routing key and AMQP
// headers come from X-Exchange, X-Routing-Key and X-Amqp-Headers, the payload is the body;
// the reply carries the return code in X-Rc. OPTIONS answers 200 without the module, to
// prove that Kamailio still serves. An rtimer route publishes once a second from a timer
// process when .Extra.Timer is set, to prove that processes other than SIP workers start
// Go on first use.
var publishCfg = harness.CfgHead{Children: 2, TCPChildren: 1, TCP: true,
	Modules: "sl pv xlog textops siputils", More: "{{if .Extra.Timer}}loadmodule \"rtimer.so\"\n{{end}}"}.String() + `modparam("kazoo", "node_hostname", "e2e.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_max_payload", 4096)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
modparam("kazoo", "amqp_query_timeout_avp", "$avp(kz_timeout)")
{{.Extra.Params}}
{{if .Extra.Timer}}modparam("rtimer", "timer", "name=kzt;interval=1;mode=1;")
modparam("rtimer", "exec", "timer=kzt;route=KZ_TIMER")
route[KZ_TIMER] {
	$var(rc) = kazoo_publish("kazoo_e2e", "timer.tick", "{\"Event-Category\":\"timer\",\"Pid\":\"$pp\"}");
}
{{end}}
request_route {
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (is_present_hf("X-Query")) {
		route(QUERY);
		exit;
	}
	if (is_present_hf("X-Amqp-Headers")) {
		$var(rc) = kazoo_publish("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "$hdr(X-Amqp-Headers)");
	} else {
		$var(rc) = kazoo_publish("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb);
	}
	append_to_reply("X-Rc: $var(rc)\r\nX-Pid: $pp\r\n");
	sl_send_reply("200", "Published");
	exit;
}

# kazoo_query in its forms, chosen by X-Query; the reply ($kzR, target) goes back base64-encoded
route[QUERY] {
	$var(target) = "unset";
	if (is_present_hf("X-Timeout-Ms")) {
		$avp(kz_timeout) = $(hdr(X-Timeout-Ms){s.int});
	}
	if ($hdr(X-Query) == "3") {
		$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb);
	} else if ($hdr(X-Query) == "4") {
		$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "$var(target)");
	} else if ($hdr(X-Query) == "5") {
		$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "$var(target)", "$hdr(X-Amqp-Headers)");
	} else if ($hdr(X-Query) == "flags") {
		$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "2048");
	} else if ($hdr(X-Query) == "ro-int") {
		$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "$Ts");
	} else if ($hdr(X-Query) == "ro-str") {
		$var(rc) = kazoo_query("$hdr(X-Exchange)", "$hdr(X-Routing-Key)", $rb, "$ci");
	}
	if ($kzR == $null) {
		$var(kzr) = "null";
	} else {
		$var(kzr) = $(kzR{s.encode.base64});
	}
	append_to_reply("X-Rc: $var(rc)\r\nX-Pid: $pp\r\nX-KzR: $var(kzr)\r\nX-Target: $(var(target){s.encode.base64})\r\n");
	sl_send_reply("200", "Queried");
}
`

// sippCfg is the cfg of the sipp test: every MESSAGE is published to kazoo_e2e with
// routing key sipp.<R-URI user> and the Call-ID and CSeq as AMQP headers.
var sippCfg = harness.CfgHead{Children: 2, TCP: true,
	Modules: "sl pv xlog textops"}.String() + `modparam("kazoo", "node_hostname", "e2e.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	if (!is_method("MESSAGE")) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (kazoo_publish("kazoo_e2e", "sipp.$rU", "$rb", "X-Call-ID=$ci;X-CSeq=$cs") == 1) {
		sl_send_reply("200", "Published");
	} else {
		sl_send_reply("500", "Publish failed");
	}
	exit;
}
`
