package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// Queue "arguments" reach the broker with their types (an integer as a long, which
// RabbitMQ insists on); an ill-typed one is -1 with one ERROR line; and a declaration whose
// arguments differ from the existing queue (406) is logged with the queue's name, what was
// declared and the broker's reason naming the argument.
func TestConsumeQueueArguments(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	ex, queue, conflict := "kz_e2e_args_"+u, "kz-e2e-args-"+u, "kz-e2e-args-conflict-"+u
	cmDeleteAtEnd(t, r, queue)
	cmDeleteAtEnd(t, r, conflict)
	sub := fmt.Sprintf(`{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "ev.#", "event_key": "K", "event_subkey": "S",
		"queue-def": {"durable": 1, "auto_delete": 0, "arguments": {"x-queue-type": "quorum", "x-delivery-limit": 3, "x-message-ttl": 60000, "x-dead-letter-exchange": "kz_e2e_dlx"}}}`, ex, queue)
	k := harness.StartKamailio(t, cmBadCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": cmURL(r), "Sub": sub}})
	cmConsumers(t, r, queue, 1)
	var args string
	for _, line := range strings.Split(r.Ctl(t, "list_queues", "-q", "name", "type", "arguments"), "\n") {
		if strings.HasPrefix(line, queue+"\t") {
			args = line
		}
	}
	for _, want := range []string{"quorum", `{"x-delivery-limit",3}`, `{"x-message-ttl",60000}`, `{"x-dead-letter-exchange","kz_e2e_dlx"}`} {
		if !strings.Contains(args, want) {
			t.Errorf("queue %s as the broker has it: %q, want %s", queue, args, want)
		}
	}
	before := len(k.Log())
	publishTo(t, r.Dial(t), ex, "ev.1", `{"K": "good", "Msg-ID": "args-1"}`)
	if lines := cmWaitLines(k, before, 10*time.Second, "GOOD args-1"); len(lines) != 1 {
		t.Errorf("the event on the quorum queue ran %d times:\n%s", len(lines), k.Log()[before:])
	}

	bad := []struct{ desc, want string }{
		{`{"exchange": "kz_e2e_args_bad", "type": "topic", "arguments": {"x-message-ttl": "60000"}}`, `"arguments"."x-message-ttl": must be an integer, not a string`},
		{`{"exchange": "kz_e2e_args_bad", "type": "topic", "arguments": {"x-max-length": 1.5}}`, `"arguments"."x-max-length": must be an integer, not 1.5`},
		{`{"exchange": "kz_e2e_args_bad", "type": "topic", "queue": "q", "arguments": {"x-queue-type": "quorum"}}`, `a quorum queue must be durable, not exclusive and not auto-delete`},
	}
	for _, b := range bad {
		before := len(k.Log())
		rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": b.desc}, "")
		if rep.Code != 200 || rep.Headers["x-rc"] != "-1" {
			t.Errorf("kazoo_subscribe(%.60s): reply %d, X-Rc %q, want -1", b.desc, rep.Code, rep.Headers["x-rc"])
		}
		added := k.Log()[before:]
		if errs := cmLines(added, "ERROR"); len(errs) != 1 || !strings.Contains(errs[0], b.want) || !strings.Contains(errs[0], "kazoo_subscribe") {
			t.Errorf("kazoo_subscribe(%.60s): want one ERROR line containing %q, got:\n%s", b.desc, b.want, added)
		}
	}

	// a classic queue exists; the script asks for a quorum queue of the same name
	ch, err := r.Dial(t).Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(conflict, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	before = len(k.Log())
	desc := fmt.Sprintf(`{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "c", "queue-def": {"durable": 1, "auto_delete": 0, "arguments": {"x-queue-type": "quorum"}}}`, ex, conflict)
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "sub", map[string]string{"X-Subscribe": desc}, ""); rep.Headers["x-rc"] != "1" {
		t.Errorf("kazoo_subscribe of the conflicting queue: X-Rc %q, want 1 (queues are declared by the consumers)", rep.Headers["x-rc"])
	}
	lines := cmWaitLines(k, before, 10*time.Second, "ERROR", "PRECONDITION_FAILED")
	if len(lines) != 1 {
		t.Fatalf("want one ERROR line about the conflict, got:\n%s", k.Log()[before:])
	}
	for _, want := range []string{`queue "` + conflict + `" exists with other flags or arguments than declared`,
		"arguments={x-queue-type=quorum}", "inequivalent arg 'x-queue-type'", "received the value 'quorum'"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("the conflict's line lacks %q:\n%s", want, lines[0])
		}
	}
	if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
		t.Fatalf("OPTIONS after the conflict: %d", rep.Code)
	}
}
