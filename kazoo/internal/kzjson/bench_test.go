package kzjson

import (
	"testing"

	"github.com/valyala/fastjson"
)

// routeReq is a realistic 1.5 KB Kazoo payload as kamailio.cfg scripts see
// it in $kzR / $kzE: a route_req-like document with Custom-Channel-Vars, a
// Media-Servers array of objects and a few escapes.
const routeReq = `{"Event-Category":"dialplan","Event-Name":"route_req","App-Name":"kamailio","App-Version":"5.6.3",` +
	`"Msg-ID":"3b1c6f0e-6a0d-4b6c-9f2e-0c1d2e3f4a5b","Server-ID":"kamailio@kz1.example.com-<10>-targeted-1",` +
	`"Node":"kamailio@kz1.example.com","Call-ID":"a84b4c76e66710@pc33.atlanta.example.com",` +
	`"Caller-ID-Name":"O'Brien \"Bob\"","Caller-ID-Number":"+14158867900",` +
	`"From":"sip:+14158867900@atlanta.example.com","To":"sip:+14155551212@biloxi.example.com",` +
	`"Request":"sip:+14155551212@biloxi.example.com;user=phone","Call-Direction":"inbound",` +
	`"Resource-Type":"audio","Timestamp":63871234567,"Cost":-1.5e3,"Timeout":30,` +
	`"Custom-Channel-Vars":{"Account-ID":"4b6e4f1c3d0a4f7a9a438f2f6f1d2e11",` +
	`"Authorizing-ID":"0d4c0c4e6a3c4b1e9f3e2c7d9b1a5e42","Authorizing-Type":"device",` +
	`"Realm":"biloxi.example.com","Username":"user_\u00e9t\u00e9","Presence-ID":"alice@biloxi.example.com",` +
	`"Caller-Privacy":false,"Register-Overwrite-Notify":true,"Ignore-Display-Updates":null,` +
	`"Channel-Authorized":"true","Call-Forward":{"Enabled":false,"Number":""}},` +
	`"Custom-SIP-Headers":{"X-AUTH-IP":"203.0.113.7","X-AUTH-PORT":"5060",` +
	`"P-Asserted-Identity":"\"Bob\" <sip:+14158867900@atlanta.example.com>"},` +
	`"Media-Servers":[{"Name":"fs1.example.com","Startup":1712345678,"Node":"freeswitch@fs1.example.com",` +
	`"Zone":"us-east","Interfaces":{"sipinterface_1":{"Registrations":0,"Info":"sip:10.0.0.1:5060"}}},` +
	`{"Name":"fs2.example.com","Startup":1712345999,"Node":"freeswitch@fs2.example.com","Zone":"us-west",` +
	`"Interfaces":{"sipinterface_1":{"Registrations":3,"Info":"sip:10.0.0.2:5060"}}}],` +
	`"Media-Codecs":["PCMU","PCMA","G722","OPUS"],"Codec-Priority":[0,8,9,111],` +
	`"Description":"Caf\u00e9 \u2019route\u2019 \u2014 \u2615 \ud83d\ude00","Path":"C:\\calls\\in\/x",` +
	`"Flags":{"media.bypass":true,"record.call":false}}`

// benchPaths is a mix of what configs read: top-level strings, CCV fields,
// array elements, whole objects and misses.
var benchPaths = []string{
	"Event-Name", "Call-ID", "Caller-ID-Name", "Caller-ID-Number", "Timestamp", "Cost",
	"Custom-Channel-Vars.Account-ID", "Custom-Channel-Vars.Authorizing-Type",
	"Custom-Channel-Vars.Username", "Custom-Channel-Vars.Register-Overwrite-Notify",
	"Custom-Channel-Vars.Ignore-Display-Updates", "Custom-Channel-Vars.Call-Forward.Enabled",
	"Custom-Channel-Vars.Call-Forward", "Custom-SIP-Headers.X-AUTH-IP",
	"Custom-SIP-Headers.P-Asserted-Identity", "Media-Servers[0].Name", "Media-Servers[1].Startup",
	"Media-Servers[1].Interfaces.sipinterface_1.Registrations", "Media-Servers[2].Name",
	"Media-Servers[0]", "Media-Codecs[3]", "Media-Codecs", "Codec-Priority[1]", "Description",
	"Path", "Flags.media%bypass", "Flags", "Custom-Channel-Vars.Missing", "No-Such-Key",
	"Request",
}

func BenchmarkGet1500(b *testing.B) {
	var e Evaluator
	doc := []byte(routeReq)
	paths := make([][]byte, len(benchPaths))
	for i, p := range benchPaths {
		paths[i] = []byte(p)
	}
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst, _, _ = e.Get(dst[:0], doc, paths[i], '%')
		if i++; i == len(paths) {
			i = 0
		}
	}
}

// BenchmarkGet1500Cold parses the document on every call, as when each
// lookup is on a different document.
func BenchmarkGet1500Cold(b *testing.B) {
	var e Evaluator
	doc := []byte(routeReq)
	paths := make([][]byte, len(benchPaths))
	for i, p := range benchPaths {
		paths[i] = []byte(p)
	}
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.loaded = false
		dst, _, _ = e.Get(dst[:0], doc, paths[i], '%')
		if i++; i == len(paths) {
			i = 0
		}
	}
}

// BenchmarkParse1500 is the parse alone, for comparison with
// BenchmarkFastjsonOnly1500.
func BenchmarkParse1500(b *testing.B) {
	var e Evaluator
	doc := []byte(routeReq)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		e.loaded = false
		if !e.load(doc) {
			b.Fatal("invalid")
		}
	}
}

// BenchmarkFastjsonOnly1500 is fastjson.Parser.ParseBytes alone on the same
// payload: no lookup and none of json-c's rules.
func BenchmarkFastjsonOnly1500(b *testing.B) {
	var p fastjson.Parser
	doc := []byte(routeReq)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.ParseBytes(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	var e Evaluator
	doc := []byte(routeReq)
	paths := [][]byte{[]byte("Media-Servers"), []byte("Media-Codecs"), []byte("Custom-Channel-Vars")}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.Count(doc, paths[i%3], '%'); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkKeys(b *testing.B) {
	var e Evaluator
	doc := []byte(routeReq)
	path := []byte("Custom-Channel-Vars")
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = e.Keys(dst[:0], doc, path, '%')
	}
}

func BenchmarkEncode(b *testing.B) {
	src := []byte("alice.smith@biloxi.example.com")
	dst := make([]byte, 0, 300)
	b.ReportAllocs()
	for b.Loop() {
		dst = Encode(dst[:0], src)
	}
}
