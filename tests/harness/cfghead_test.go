package harness

import "testing"

func TestCfgHead(t *testing.T) {
	got := CfgHead{Children: 2, Modules: "tm sl"}.String()
	want := `#!KAMAILIO
debug=2
log_stderror={{if .Daemon}}no{{else}}yes{{end}}
children=2
disable_tcp=yes
disable_sctp=yes
auto_aliases=no
listen=udp:127.0.0.1:{{.SipPort}}
mpath="{{.MPath}}"
loadmodule "ctl.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "{{.Module}}"
modparam("ctl", "binrpc", "unix:{{.CtlSocket}}")
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	got = CfgHead{Debug: 1, TCPChildren: 1, Listen: []string{"tcp:127.0.0.1:{{.Extra.HTTPPort}}"},
		Core: []string{"children={{.Extra.Workers}}"}, More: "{{if .Extra.X}}loadmodule \"x.so\"\n{{end}}"}.String()
	want = `#!KAMAILIO
debug=1
log_stderror={{if .Daemon}}no{{else}}yes{{end}}
tcp_children=1
disable_sctp=yes
auto_aliases=no
children={{.Extra.Workers}}
listen=udp:127.0.0.1:{{.SipPort}}
listen=tcp:127.0.0.1:{{.Extra.HTTPPort}}
mpath="{{.MPath}}"
loadmodule "ctl.so"
{{if .Extra.X}}loadmodule "x.so"
{{end}}loadmodule "{{.Module}}"
modparam("ctl", "binrpc", "unix:{{.CtlSocket}}")
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
