package harness

import (
	"fmt"
	"strings"
)

// CfgHead is the start every cfg of the e2e tests and benchmarks shares, with the few things
// that differ between them: the core settings of a test instance (log on stderr unless it
// runs as a daemon, loopback only, no SCTP, no DNS aliases), the ctl module that Kamcmd
// talks to, the modules the test needs and, last, the module under test. A test's cfg
// template is CfgHead{...}.String() followed by its own modparams and routes.
type CfgHead struct {
	Debug       int      // Kamailio's debug level; 0: 2 (info)
	Children    int      // children; 0: none written (Kamailio's default, or one given in Core)
	TCPChildren int      // tcp_children; 0: Kamailio's default
	TCP         bool     // TCP listens on the SIP port too; without it and Listen, disable_tcp=yes
	Listen      []string // more listen= addresses
	Core        []string // more core settings, e.g. "pv_buffer_size=1024"
	Modules     string   // space-separated names, without ".so", loaded before the module under test
	More        string   // raw lines after those modules, e.g. a loadmodule inside {{if}}
}

func (h CfgHead) String() string {
	var b strings.Builder
	debug := h.Debug
	if debug == 0 {
		debug = 2
	}
	fmt.Fprintf(&b, "#!KAMAILIO\ndebug=%d\nlog_stderror={{if .Daemon}}no{{else}}yes{{end}}\n", debug)
	if h.Children > 0 {
		fmt.Fprintf(&b, "children=%d\n", h.Children)
	}
	if h.TCPChildren > 0 {
		fmt.Fprintf(&b, "tcp_children=%d\n", h.TCPChildren)
	}
	if !h.TCP && len(h.Listen) == 0 {
		b.WriteString("disable_tcp=yes\n")
	}
	b.WriteString("disable_sctp=yes\nauto_aliases=no\n")
	for _, c := range h.Core {
		b.WriteString(c + "\n")
	}
	b.WriteString("listen=udp:127.0.0.1:{{.SipPort}}\n")
	if h.TCP {
		b.WriteString("listen=tcp:127.0.0.1:{{.SipPort}}\n")
	}
	for _, l := range h.Listen {
		b.WriteString("listen=" + l + "\n")
	}
	b.WriteString("mpath=\"{{.MPath}}\"\nloadmodule \"ctl.so\"\n")
	for _, m := range strings.Fields(h.Modules) {
		b.WriteString("loadmodule \"" + m + ".so\"\n")
	}
	b.WriteString(h.More)
	b.WriteString("loadmodule \"{{.Module}}\"\nmodparam(\"ctl\", \"binrpc\", \"unix:{{.CtlSocket}}\")\n")
	return b.String()
}
