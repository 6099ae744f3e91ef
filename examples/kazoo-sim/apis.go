package main

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// exchanges are declared at start as Kazoo (and the kazoo module) declare them:
// non-durable, not auto-delete. A file adding an API whose exchange is not here appends
// it in an init function.
var exchanges = []struct{ name, kind string }{
	{"callmgr", "topic"}, {"callevt", "topic"}, {"frontier", "topic"}, {"targeted", "direct"},
}

// api is one Kazoo API the simulator answers: where its requests are published and how
// the reply body is built (handle adds Msg-ID, App-Name, App-Version and Node). An answer
// of nil sends no reply. Files adding APIs append to apis in an init function.
type api struct {
	name, exchange, binding string
	answer                  func(s *sim, req map[string]any) map[string]any
}

var apis = []api{
	{"authn_req", "callmgr", "authn.req.#", (*sim).authn},
	{"channel_status_req", "callevt", "call.status_req.#", (*sim).channelStatus},
	{"sbc_config", "frontier", "sbc_config", (*sim).sbcConfig},
}

// authn answers a registrar's authn_req with the user's password (as Kazoo's
// registrar_authn does), or authn_err for an unknown user.
func (s *sim) authn(req map[string]any) map[string]any {
	user, _ := req["Auth-User"].(string)
	realm, _ := req["Auth-Realm"].(string)
	if user == "" || realm == "" {
		to, _ := req["To"].(string)
		toUser, toRealm := sipUserRealm(to)
		if user == "" {
			user = toUser
		}
		if realm == "" {
			realm = toRealm
		}
	}
	password, ok := s.users[user+"@"+strings.ToLower(realm)]
	if !ok {
		return map[string]any{"Event-Category": "directory", "Event-Name": "authn_err"}
	}
	return map[string]any{
		"Event-Category": "directory",
		"Event-Name":     "authn_resp",
		"Auth-Method":    "password",
		"Auth-Password":  password,
		"Auth-Username":  user,
		"Custom-Channel-Vars": map[string]any{
			"Account-ID": md5hex(realm),
			"Owner-ID":   md5hex(user + "@" + realm),
			"Username":   user,
			"Realm":      realm,
		},
	}
}

// channelStatus says that every call is active on one FreeSWITCH node.
func (s *sim) channelStatus(req map[string]any) map[string]any {
	const switchURL = "sip:mod_sofia@127.0.0.1:11000"
	return map[string]any{
		"Event-Category":  "call_event",
		"Event-Name":      "channel_status_resp",
		"Call-ID":         req["Call-ID"],
		"Status":          "active",
		"Switch-URL":      switchURL,
		"Switch-Hostname": "fs1.sim",
		"Channels":        []any{map[string]any{"switch_url": switchURL}},
	}
}

// sbcConfig trusts 127.0.0.0/8 and configures no device.
func (s *sim) sbcConfig(req map[string]any) map[string]any {
	return map[string]any{
		"Event-Category": "frontier",
		"Event-Name":     "sbc_config_resp",
		"Realm":          map[string]any{"CIDR": []any{"127.0.0.0/8"}},
		"Device":         map[string]any{},
	}
}

// sipUserRealm returns the user and host of a SIP URI such as "sip:alice@example.com",
// "<sip:alice@example.com:5060;transport=udp>" or "Alice <sip:alice@example.com>;tag=1".
func sipUserRealm(uri string) (user, realm string) {
	if i := strings.IndexByte(uri, '<'); i >= 0 {
		uri = uri[i+1:]
		if j := strings.IndexByte(uri, '>'); j >= 0 {
			uri = uri[:j]
		}
	}
	uri = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(uri), "sips:"), "sip:")
	user, host, ok := strings.Cut(uri, "@")
	if !ok {
		return "", ""
	}
	if i := strings.IndexAny(host, ":;>?"); i >= 0 {
		host = host[:i]
	}
	return user, host
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// readUsers reads "user@realm password" lines; blank lines and comments (from a word
// starting with #) are skipped.
func readUsers(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	users := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if strings.HasPrefix(f, "#") { // a comment: the line, or the rest of it
				fields = fields[:i]
				break
			}
		}
		if len(fields) == 0 {
			continue
		}
		user, realm, ok := strings.Cut(fields[0], "@")
		if len(fields) != 2 || !ok || user == "" || realm == "" {
			return nil, fmt.Errorf("%s:%d: want \"user@realm password\"", path, n)
		}
		users[user+"@"+strings.ToLower(realm)] = fields[1]
	}
	return users, sc.Err()
}
