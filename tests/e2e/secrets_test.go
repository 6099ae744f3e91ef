package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// secretsCfg is publishCfg at debug 3: every line the module can log, with what it logs
// about its brokers.
var secretsCfg = strings.Replace(publishCfg, "debug=2", "debug=3", 1)

// secretMarks are what must appear in no output: the distinctive passwords of this test
// ("S3cr3t-<n>") and the invalid escape that ends some of them (a piece of a password
// quoted by an error is a leak too).
var secretMarks = []string{"S3cr3t", "%zz"}

// checkNoSecret fails for every line of out (named what) that shows a password.
func checkNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		for _, s := range secretMarks {
			if strings.Contains(l, s) {
				t.Errorf("%s shows a password (%q): %s", what, s, strings.TrimSpace(l))
				break
			}
		}
	}
}

// No path prints a secret: amqp_connection values whose passwords fail every way (the URL
// does not parse, the port is closed, the broker refuses the credentials, TLS against a
// plain port, a CA file that is missing or holds no certificate) run through `kamailio -c`
// and a start at debug 3; the log, kazoo.status, kazoo.subscriptions, the statistics and
// what kazoo_publish and kazoo_query answer are searched for the passwords.
func TestNoSecretInAnyOutput(t *testing.T) {
	r := harness.SharedRabbit(t)
	host := "127.0.0.1:" + strconv.Itoa(r.Port())
	closed := "127.0.0.1:" + strconv.Itoa(harness.FreePort(t))
	noPEM := filepath.Join(t.TempDir(), "not-a-ca.pem")
	if err := os.WriteFile(noPEM, []byte("no certificate here\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "no-such-ca.pem")

	// values that fail when a process parses them: whatever Kamailio does with them (refuse
	// the cfg, refuse the start, run without that broker), it must not print the password
	t.Run("unparsable", func(t *testing.T) {
		for _, c := range []struct{ name, url string }{
			{"escape in the password", "amqp://guest:S3cr3t-1%zz@" + host + "/"},
			{"escape in the vhost", "amqp://guest:S3cr3t-2@" + host + "/50%qq"},
			{"query option", "amqp://guest:S3cr3t-3@" + host + "/?heartbeat=x"},
			{"no host", "amqp://guest:S3cr3t-4"}, // the password taken for a port
			{"port", "amqp://guest:S3cr3t-5@" + host + ":x/"},
		} {
			url := c.url
			t.Run(c.name, func(t *testing.T) { // (the name is in the temp dir's: no secret in it)
				opts := harness.KamailioOpts{Module: modulePath, Extra: withDefaults(r, map[string]any{"URL": url})}
				out, ok := harness.CheckKamailio(t, secretsCfg, opts)
				checkNoSecret(t, "kamailio -c", out)
				if !ok {
					t.Logf("kamailio -c refuses it")
					return
				}
				log, exited := harness.RunKamailioFor(t, secretsCfg, opts, 4*time.Second)
				checkNoSecret(t, "the log", log)
				t.Logf("kamailio -c accepts it; the start exited on its own: %v", exited)
			})
		}
	})

	// values that parse and fail at connect, all in one Kamailio (one zone each), plus a
	// missing CA file (the start is refused)
	t.Run("connect", func(t *testing.T) {
		params := fmt.Sprintf(`modparam("kazoo", "amqp_connection", "zone=z2;amqp://guest:S3cr3t-12@%s/")
modparam("kazoo", "amqp_connection", "zone=z3;amqps://guest:S3cr3t-13@%s/")
modparam("kazoo", "amqp_connection", "zone=z4;amqp://kzsecret:S3cr3t-14@%s/no-such-vhost")
modparam("kazoo", "amqps_ca_cert", "%s")
modparam("kazoo", "amqp_connect_timeout_sec", 2)
`, host, host, host, noPEM)
		// a user whose password is right, for a vhost that does not exist
		r.Ctl(t, "add_user", "kzsecret", "S3cr3t-14")
		t.Cleanup(func() { _, _ = r.CtlErr("delete_user", "kzsecret") })
		url := "amqp://guest:S3cr3t-11@" + closed + "/"
		opts := harness.KamailioOpts{Module: modulePath, Extra: withDefaults(r, map[string]any{"URL": url, "Params": params})}
		out, ok := harness.CheckKamailio(t, secretsCfg, opts)
		checkNoSecret(t, "kamailio -c", out)
		if !ok {
			t.Fatalf("kamailio -c refuses a cfg that is valid:\n%s", out)
		}
		k := harness.StartKamailio(t, secretsCfg, opts)
		// each broker's failure, named by its masked URL
		failures := map[string]string{
			"refused port":      "amqp://guest:***@" + closed + "/ ",
			"wrong credentials": "amqp://guest:***@" + host + "/ ",
			"TLS to plain port": "amqps://guest:***@" + host + "/ ",
			"unknown vhost":     "amqp://kzsecret:***@" + host + "/no-such-vhost ",
		}
		for what, url := range failures {
			line := "cannot connect to AMQP broker " + url
			if !k.WaitLog(t, line, 15*time.Second) {
				t.Errorf("%s: no line %q within 15 s", what, line)
				continue
			}
			for _, l := range strings.Split(k.Log(), "\n") {
				if i := strings.Index(l, line); i >= 0 {
					t.Logf("%s: %s", what, l[i:])
					break
				}
			}
		}
		var replies strings.Builder
		for i := 0; i < 3; i++ {
			rep := sipRequest(t, k.SipPort(), "MESSAGE", "pub", map[string]string{"X-Exchange": "kz_secret", "X-Routing-Key": "rk"}, `{"Event-Category":"s","Event-Name":"p"}`)
			fmt.Fprintf(&replies, "%v\n", rep.Headers)
			rep = sipRequest(t, k.SipPort(), "MESSAGE", "query", map[string]string{"X-Query": "4", "X-Exchange": "kz_secret", "X-Routing-Key": "rk", "X-Timeout-Ms": "300"}, `{"Event-Category":"s","Event-Name":"q"}`)
			fmt.Fprintf(&replies, "%v\n", rep.Headers)
		}
		checkNoSecret(t, "SIP replies ($var(rc), $kzR)", replies.String())
		for _, rpc := range [][]string{{"kazoo.status"}, {"kazoo.subscriptions"}, {"stats.get_statistics", "all"}} {
			out := k.Kamcmd(t, rpc...)
			checkNoSecret(t, rpc[0], out)
			if rpc[0] == "kazoo.status" && !strings.Contains(out, "guest:***@") {
				t.Errorf("kazoo.status shows no masked URL:\n%s", out)
			}
		}
		k.Stop(t)
		log := k.Log()
		checkNoSecret(t, "the log", log)
		for _, want := range []string{"guest:***@" + closed, "amqps://guest:***@" + host} {
			if !strings.Contains(log, want) {
				t.Errorf("the log never names %s (masked)", want)
			}
		}

		opts.Extra = withDefaults(r, map[string]any{"URL": url, "Params": strings.Replace(params, noPEM, missing, 1)})
		log = harness.StartKamailioExpectFailure(t, secretsCfg, opts)
		checkNoSecret(t, "the log of a refused start", log)
	})
}
