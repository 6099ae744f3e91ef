package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

var suppressedRE = regexp.MustCompile(`suppressed (\d+) similar lines: rejected events`)

// A hostile sender's messages reach the log escaped (no ESC, NUL, CR or LF of theirs, so
// no forged line) and rate-limited: a flood of rejected events costs a few lines a second
// plus one line counting the rest, and the count is exact.
func TestRejectedFloodSanitisedAndLimited(t *testing.T) {
	r := harness.SharedRabbit(t)
	u := cmUniq()
	ex, queue := "kz_e2e_flood_"+u, "kz-e2e-flood-"+u
	cmDeleteAtEnd(t, r, queue)
	sub := fmt.Sprintf(`{"exchange": "%s", "type": "topic", "queue": "%s", "routing": "ev.#", "event_key": "K"}`, ex, queue)
	k := harness.StartKamailio(t, cmBadCfg, harness.KamailioOpts{Module: modulePath, Extra: map[string]any{"URL": cmURL(r), "Sub": sub}})
	cmConsumers(t, r, queue, 1)
	conn := r.Dial(t)
	const flood = 300
	for i := 0; i < flood; i++ {
		publishTo(t, conn, ex, "ev.x", "\x1b[2J\x1b]0;owned\x07not JSON\x00\r\n 0(1) ERROR: FAKE line "+strconv.Itoa(i)+"\u009b")
	}
	publishTo(t, conn, ex, "ev.good", `{"K": "good", "Msg-ID": "after-flood"}`)
	if !k.WaitLog(t, "GOOD after-flood", 15*time.Second) {
		t.Fatalf("the event after the flood was not handled\n%s", k.Log())
	}
	// every rejection is either logged or counted once its window ended
	var logged, suppressed int
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := k.Log()
		logged = len(cmLines(log, "ERROR", "is not JSON", "rejected"))
		suppressed = 0
		for _, m := range suppressedRE.FindAllStringSubmatch(log, -1) {
			n, _ := strconv.Atoi(m[1])
			suppressed += n
		}
		if logged+suppressed >= flood || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d rejections: %d logged, %d counted as suppressed", flood, logged, suppressed)
	if logged+suppressed != flood {
		t.Errorf("logged %d + suppressed %d != %d", logged, suppressed, flood)
	}
	if logged > flood/10 {
		t.Errorf("%d rejection lines for %d rejections: not rate-limited", logged, flood)
	}
	log := k.Log()
	for _, c := range []string{"\x1b", "\x00", "\x07", "\u009b"} {
		if strings.Contains(log, c) {
			t.Errorf("the log holds a raw %q of the sender's", c)
		}
	}
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "FAKE line") && !strings.Contains(l, "rejected") {
			t.Errorf("a line forged by the sender: %q", l)
		}
	}
	if l := cmLines(log, "rejected", `\x1b[2J`, `\r\n`); len(l) == 0 {
		t.Errorf("no rejection line shows the escaped content")
	}
}
