// Call processing (examples/kazoo-callproc.cfg): the simulator answers route_req as a Kazoo
// call-processing application (callflow, trunkstore) does, and takes the route_win that
// tells it that it won the call.
//
//	route_req   exchange callmgr,  binding route.req.#   -> route_resp (or nothing)
//	route_win   exchange targeted, binding <Server-ID>   -> nothing (logged)
//
// The answer to a route_req depends on the user part of its "Request" ("user@realm", as
// Kazoo sends it; the user of "To" when Request has none):
//
//	err-<code>     Method "error", Route-Error-Code <code>, Route-Error-Message
//	               "kazoo-sim: error <code>" (as Kazoo's route_resp names them)
//	noroute-...    no answer at all (nor without a user): no application claims the call,
//	               the query times out
//	anything else  Method "bridge", Routes [{"Route": "sip:<user>@<host>", "Invite-Format":
//	               "route"}], where <host> is $KAZOO_SIM_BRIDGE (host[:port]) when set, else
//	               the realm of the Request
//
// Every route_resp carries the Server-ID of this simulator, kazoo-sim-callproc-<pid>: the
// queue it consumes route_win from, bound to the targeted exchange under that name. With -v
// a route_win is logged as every request is: "req route_win rk=<Server-ID> <body>".

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// callprocServerID is where a route_win for this simulator's route_resp is sent.
var callprocServerID = fmt.Sprintf("kazoo-sim-callproc-%d", os.Getpid())

func init() {
	apis = append(apis,
		api{"route_req", "callmgr", "route.req.#", (*sim).routeReq},
		api{"route_win", "targeted", callprocServerID, (*sim).routeWin},
	)
}

// routeReq answers a route_req: an error for err-<code>, nothing for noroute-*, else a
// bridge to the user (see the rules above).
func (s *sim) routeReq(req map[string]any) map[string]any {
	request, _ := req["Request"].(string)
	user, realm := sipUserRealm(request)
	if user == "" {
		to, _ := req["To"].(string)
		user, realm = sipUserRealm(to)
	}
	resp := map[string]any{
		"Event-Category": "dialplan",
		"Event-Name":     "route_resp",
		"Call-ID":        req["Call-ID"],
		"Server-ID":      callprocServerID,
	}
	if code, ok := strings.CutPrefix(user, "err-"); ok {
		if n, err := strconv.Atoi(code); err != nil || n < 300 || n > 699 {
			code = "503"
		}
		resp["Method"] = "error"
		resp["Route-Error-Code"] = code
		resp["Route-Error-Message"] = "kazoo-sim: error " + code
		resp["Routes"] = []any{}
		return resp
	}
	if strings.HasPrefix(user, "noroute-") || user == "" {
		return nil
	}
	host := os.Getenv("KAZOO_SIM_BRIDGE")
	if host == "" {
		host = realm
	}
	resp["Method"] = "bridge"
	resp["Routes"] = []any{map[string]any{"Route": "sip:" + user + "@" + host, "Invite-Format": "route"}}
	return resp
}

// routeWin takes note of a route_win (handle logs it with -v) and answers nothing.
func (s *sim) routeWin(req map[string]any) map[string]any {
	return nil
}
