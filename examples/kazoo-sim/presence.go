package main

// Kazoo's omnipresence, as far as a presence server needs it: every subscription Kamailio
// publishes (exchange omnipresence, binding subscribe.#: Event-Category presence, Event-Name
// subscription, User sip:user@realm, Event-Package, Expires) is answered, as omnipresence
// does, by publishing the user's current state to exchange presence; there is no reply to
// the subscription itself. The state is fixed by the user's name:
//
//	user name starting with "idle":  no call, no message
//	any other user:                  on a call, 2 new and 1 saved voicemail
//
// and is published per Event-Package (routing keys {kz.encode}d as Kazoo's):
//
//	dialog           dialog.<realm>.<user>       Event-Name dialog_update: From and To
//	                                             sip:user@realm, State confirmed
//	                                             (idle: terminated), Call-ID, Direction
//	                                             initiator, From-Tag, To-Tag
//	message-summary  mwi_updates.<realm>.<user>  Event-Name mwi_update: Messages-Waiting yes,
//	                                             Messages-New 2, Messages-Saved 1,
//	                                             Messages-Urgent 0, Messages-Urgent-Saved 0
//	                                             (idle: no, 0, 0, 0, 0), Message-Account
//	presence         update.<realm>.<user>       Event-Name update: State confirmed
//	                                             (idle: terminated)
//
// with Event-Category presence, From sip:user@realm, From-User, From-Realm, Call-ID,
// Expires 3600 and a new Msg-ID. A subscription with Expires 0 (an unsubscribe), without a
// sip:user@realm User, or for another package gets nothing.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log"
	"strings"
	"time"
)

func init() {
	exchanges = append(exchanges,
		struct{ name, kind string }{"omnipresence", "topic"},
		struct{ name, kind string }{"presence", "topic"})
	apis = append(apis, api{"presence_subscription", "omnipresence", "subscribe.#", (*sim).presenceSubscription})
}

// presenceSubscription publishes the state of the subscribed user and replies nothing.
func (s *sim) presenceSubscription(req map[string]any) map[string]any {
	uri, _ := req["User"].(string)
	user, realm := sipUserRealm(uri)
	pkg, _ := req["Event-Package"].(string)
	if user == "" || realm == "" {
		log.Printf("presence_subscription: no sip:user@realm in User %q, ignored", uri)
		return nil
	}
	if expires, ok := req["Expires"].(float64); ok && expires == 0 {
		return nil
	}
	idle := strings.HasPrefix(user, "idle")
	aor := "sip:" + user + "@" + realm
	msg := map[string]any{
		"Event-Category": "presence",
		"From":           aor,
		"From-User":      user,
		"From-Realm":     realm,
		"Call-ID":        "sim-" + md5hex(pkg+":"+aor),
		"Expires":        3600,
		"Msg-ID":         presMsgID(),
	}
	var kind string
	switch pkg {
	case "dialog":
		kind = "dialog"
		state := "confirmed"
		if idle {
			state = "terminated"
		}
		msg["Event-Name"] = "dialog_update"
		msg["To"], msg["To-User"], msg["To-Realm"] = aor, user, realm
		msg["State"], msg["Direction"] = state, "initiator"
		msg["From-Tag"], msg["To-Tag"] = "sim-from", "sim-to"
	case "message-summary":
		kind = "mwi_updates"
		waiting, newMsgs, saved := "yes", 2, 1
		if idle {
			waiting, newMsgs, saved = "no", 0, 0
		}
		msg["Event-Name"] = "mwi_update"
		msg["Messages-Waiting"], msg["Messages-New"], msg["Messages-Saved"] = waiting, newMsgs, saved
		msg["Messages-Urgent"], msg["Messages-Urgent-Saved"] = 0, 0
		msg["Message-Account"] = aor
	case "presence":
		kind = "update"
		state := "confirmed"
		if idle {
			state = "terminated"
		}
		msg["Event-Name"] = "update"
		msg["To"], msg["To-User"], msg["To-Realm"] = aor, user, realm
		msg["State"] = state
	default:
		log.Printf("presence_subscription: package %q of %s not simulated, ignored", pkg, aor)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key := kind + "." + presEncode(realm) + "." + presEncode(user)
	if err := s.publish(ctx, "presence", key, msg); err != nil {
		log.Printf("presence_subscription: publishing %s: %v", key, err)
	}
	return nil
}

// presEncode escapes a routing key word as Kazoo (and {kz.encode}) do: [A-Za-z0-9-~_] kept,
// a space becomes +, every other byte %XX (so . is %2E).
func presEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '~', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func presMsgID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
