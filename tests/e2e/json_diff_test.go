package e2e

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// jsonCfg evaluates the JSON surface on the MESSAGE body with the path in X-Path (base64)
// and returns every result base64-encoded: {kz.json}, {kz.json.count}, kazoo_json and
// {kz.encode} of X-Encode. The same cfg runs with the C module (tm is loaded for it).
var jsonCfg = harness.CfgHead{Children: 1,
	Modules: "tm sl pv xlog textops avpops"}.String() + `modparam("kazoo", "node_hostname", "json.kazoo.test")
modparam("kazoo", "pua_mode", 0)
modparam("kazoo", "amqp_connection", "{{.Extra.URL}}")
request_route {
	if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
	$var(path) = $(hdr(X-Path){s.decode.base64});
	$var(doc) = $rb;
	$var(r) = $(var(doc){kz.json,$var(path)});
	$var(c) = $(var(doc){kz.json.count,$var(path)});
	$var(kj) = "unset";
	kazoo_json("$var(doc)", "$var(path)", "$var(kj)");
	if ($var(kj) == $null) { $var(kjn) = "null"; } else { $var(kjn) = $(var(kj){s.encode.base64}); }
	$var(in) = $(hdr(X-Encode){s.decode.base64});
	$var(e) = $(var(in){kz.encode});
	$var(fe) = "unset";
	$var(frc) = kazoo_encode("$var(in)", "$var(fe)");
	# variables inside a path
	$var(i) = 1;
	$var(key) = "l2";
	$var(v1) = $(var(doc){kz.json,Media-Servers[$var(i)].url});
	$var(v2) = $(var(doc){kz.json, Listeners.$var(key).advertise});
	# kazoo_json_keys, only on objects (the C module crashes on anything else)
	$var(keys) = "";
	if (is_present_hf("X-Keys")) {
		kazoo_json_keys("$var(doc)", "$var(path)", "$avp(keys)");
		$var(j) = 0;
		while ($(avp(keys)[$var(j)]) != $null) {
			$var(keys) = $var(keys) + $(avp(keys)[$var(j)]) + "|";
			$var(j) = $var(j) + 1;
		}
		avp_delete("$avp(keys)/g");
	}
	append_to_reply("X-R: $(var(r){s.encode.base64})\r\nX-C: $var(c)\r\nX-KJ: $var(kjn)\r\nX-E: $(var(e){s.encode.base64})\r\n");
	append_to_reply("X-V: $(var(v1){s.encode.base64}) $(var(v2){s.encode.base64})\r\nX-Keys: $(var(keys){s.encode.base64})\r\n");
	append_to_reply("X-FE: $var(frc) $(var(fe){s.encode.base64})\r\n");
	sl_send_reply("200", "OK");
	exit;
}
`

// jsonDocs and jsonPaths: a corpus over the rules of kz.json (nesting, arrays, escapes,
// unicode, numbers, null and booleans, the lenient dialect, keys with dots, dashes and
// spaces, variables are expanded before the path is used).
var jsonDocs = []string{
	`{"Event-Category":"directory","Event-Name":"authn_resp","Auth-Password":"s3cr\"et\\x","Expires":3600,"Rate":1.50,"Big":12345678901234,"Neg":-7,"Exp":1e3,"Ok":true,"No":false,"Nil":null}`,
	`{"Custom-Channel-Vars":{"Account-ID":"abc","Owner-ID":"def","Nested":{"Deep":[1,2,{"x":"y/z"}]}},"Media-Servers":[{"Node":"fs1","url":"sip:1"},{"Node":"fs2","url":"sip:2"}],"Codecs":["PCMU","PCMA"]}`,
	`{"a.b":{"c":"dotted key"},"with space":"v s","dash-key":"d","UPPER":"u","u":"\u00e9t\u00e9 \u2019 caf\u00e9","e":"é","empty":"","obj":{},"arr":[]}`,
	`{'single':'quoted','list':[1,2,],/* comment */ 'n':{'k':'v'},}`,
	`{"result":{"NRSETS":2,"SETS":[{"ID":1},{"ID":2}]}} trailing garbage`,
	`{"dup":"first","dup":"second","arr":[[1,2],[3,[4,5]]],"ctrl":"tab\there"}`,
	`[1,2,3]`,
	`not json at all`,
	`{"Listeners":{"l1":{"advertise":"a1"},"l2":{"advertise":"a2"}},"s":"str","num":"42"}`,
}

var jsonPaths = []string{
	"Event-Name", "Auth-Password", "Expires", "Rate", "Big", "Neg", "Exp", "Ok", "No", "Nil", "missing",
	"Custom-Channel-Vars", "Custom-Channel-Vars.Account-ID", "Custom-Channel-Vars.Nested.Deep", "Custom-Channel-Vars.Nested.Deep[2].x",
	"Media-Servers", "Media-Servers[1]", "Media-Servers[1].url", "Media-Servers[5]", "Media-Servers[-1]", "Codecs[0]", "Codecs",
	"a%b.c", "a%b", "with space", "dash-key", "upper", "UPPER", "u", "e", "empty", "obj", "arr",
	"single", "list", "n", "n.k", "result.NRSETS", "result.SETS", " result.NRSETS", "result.SETS[1].ID",
	"dup", "arr[1]", "arr[1][1]", "ctrl", "s[0]", "Listeners.l2.advertise", "Listeners", "num",
}

type jsonResult struct{ r, c, kj, e, v, keys, fe string }

func jsonEval(t *testing.T, k *harness.Kamailio, doc, path, enc string, keys ...bool) jsonResult {
	t.Helper()
	h := map[string]string{"X-Path": base64.StdEncoding.EncodeToString([]byte(path)), "X-Encode": base64.StdEncoding.EncodeToString([]byte(enc))}
	if len(keys) > 0 && keys[0] {
		h["X-Keys"] = "1"
	}
	rep := sipRequest(t, k.SipPort(), "MESSAGE", "json", h, doc)
	if rep.Code != 200 {
		t.Fatalf("SIP %d", rep.Code)
	}
	dec := func(h string) string {
		v := rep.Headers[h]
		if v == "null" || v == "" {
			return v
		}
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return "bad base64: " + v
		}
		return string(b)
	}
	return jsonResult{r: dec("x-r"), c: rep.Headers["x-c"], kj: dec("x-kj"), e: dec("x-e"), v: rep.Headers["x-v"], keys: dec("x-keys"), fe: rep.Headers["x-fe"]}
}

// The same cfg and inputs through the C module and through ours, compared byte for byte.
// Intended deviations (kz.encode of non-ASCII, paths that abort the C module) are checked
// separately for their correct value.
func TestJSONDifferential(t *testing.T) {
	r := harness.SharedRabbit(t)
	extra := map[string]any{"URL": strings.TrimSuffix(r.URL(), "/")}
	ours := harness.StartKamailio(t, jsonCfg, harness.KamailioOpts{Module: modulePath, Extra: extra})
	cmod := harness.StartKamailio(t, jsonCfg, harness.KamailioOpts{Module: cModulePath, Extra: extra})
	encodes := []string{"a.b c#d*e/f+g_h-i~j:k@l", "#", "*", "realm.example.com", "plain", "", "100%", "user'q\"uote",
		strings.Repeat("a.", 130)} // over 255 bytes: kazoo_encode returns -1
	n, diff := 0, 0
	for i, doc := range jsonDocs {
		for j, path := range jsonPaths {
			enc := encodes[(i+j)%len(encodes)]
			got, want := jsonEval(t, ours, doc, path, enc), jsonEval(t, cmod, doc, path, enc)
			n++
			if got != want {
				diff++
				t.Errorf("doc %d %q path %q encode %q:\n ours %+v\n C    %+v", i, short(doc), path, enc, got, want)
			}
		}
	}
	// kazoo_json_keys on objects, compared (AVP order: the last key comes first)
	for _, kc := range []struct{ doc, path string }{
		{jsonDocs[8], "Listeners"}, {jsonDocs[1], "Custom-Channel-Vars"}, {jsonDocs[2], "a%b"}, {jsonDocs[0], "missing"},
		{`{"k":{"b":1,"a":2,"c":{"x":1}}}`, "k"},
	} {
		got, want := jsonEval(t, ours, kc.doc, kc.path, "", true), jsonEval(t, cmod, kc.doc, kc.path, "", true)
		n++
		if kc.path == "Listeners" && got.keys != "l2|l1|" {
			t.Errorf("kazoo_json_keys Listeners = %q, want the C module's order l2|l1|", got.keys)
		}
		if got.keys != want.keys {
			diff++
			t.Errorf("kazoo_json_keys %q: ours %q, C %q", kc.path, got.keys, want.keys)
		}
	}
	t.Logf("%d evaluations compared, %d differences", n, diff)

	// kazoo_encode returns 1 with the encoded value, -1 over 255 bytes
	if res := jsonEval(t, ours, `{}`, "a", "a b.c"); res.fe != "1 "+base64.StdEncoding.EncodeToString([]byte("a+b%2Ec")) {
		t.Errorf("kazoo_encode(a b.c): %q", res.fe)
	}
	if res := jsonEval(t, ours, `{}`, "a", strings.Repeat("x", 256)); !strings.HasPrefix(res.fe, "-1 ") {
		t.Errorf("kazoo_encode of 256 bytes: %q", res.fe)
	}

	// intended deviations, checked for the correct value
	if res := jsonEval(t, ours, `{"a":1}`, "a", "é"); res.e != "%C3%A9" {
		t.Errorf("kz.encode(é) = %q, want %%C3%%A9 (the C module prints garbage here)", res.e)
	}
	// the C module aborts (SIGABRT) on these paths; ours gives "" and a log line ($var(kj)
	// is set to $null, which a $var reads back as 0)
	for _, path := range []string{"", ".a", "a..b"} {
		if res := jsonEval(t, ours, `{"a":{"b":1}}`, path, "x"); res.r != "" || res.c != "0" || res.kj != "0" {
			t.Errorf("path %q: %+v, want empty results", path, res)
		}
	}
	if !ours.Alive() {
		t.Fatal("our Kamailio died")
	}
}

func short(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}
