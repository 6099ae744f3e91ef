package e2e

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// docParam is a parameter of docs/kazoo-module.md section 4, with its documented range
// (tests/docs checks that the ranges are those of cshim/kz_params.def).
type docParam struct {
	name, typ string
	min, max  int64
	any       bool // "Range: any integer"
}

var (
	reDocParam = regexp.MustCompile(`^### ([a-z_]+) \((int|str)\)$`)
	reDocRange = regexp.MustCompile(`^Range: (?:(-?\d+) to (-?\d+)|(any integer))\b`)
)

func docParams(t *testing.T) []docParam {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "kazoo-module.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docParam
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = strings.HasPrefix(line, "## 4. Parameters")
		case !in:
		case reDocParam.MatchString(line):
			m := reDocParam.FindStringSubmatch(line)
			out = append(out, docParam{name: m[1], typ: m[2]})
		case len(out) > 0 && reDocRange.MatchString(line):
			m := reDocRange.FindStringSubmatch(line)
			p := &out[len(out)-1]
			if m[3] != "" {
				p.any, p.min, p.max = true, math.MinInt32, math.MaxInt32
			} else {
				p.min, _ = strconv.ParseInt(m[1], 10, 64)
				p.max, _ = strconv.ParseInt(m[2], 10, 64)
			}
		}
	}
	for _, p := range out {
		if p.typ == "int" && p.min == 0 && p.max == 0 && !p.any {
			t.Fatalf("docs: %s has no Range line", p.name)
		}
	}
	if len(out) < 40 {
		t.Fatalf("docs: found %d parameters", len(out))
	}
	return out
}

// cfgInt is the value a module receives for a number in kamailio.cfg: the parser stores it
// with atoi() (strtol saturating at 64 bits, then cut to an int) and negates "-N" as an int.
func cfgInt(lit string) int64 {
	digits, neg := strings.CutPrefix(lit, "-")
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		n = math.MaxInt64
	}
	v := int32(n)
	if neg {
		v = -v
	}
	return int64(v)
}

// maxPayloadCap is amqp_max_payload's further bound: a quarter of the default pkg memory
// (kamailio without -M).
const maxPayloadCap = 8 << 20 / 4

// accepts tells whether p accepts the number a cfg gives as lit.
func (p docParam) accepts(lit string) bool {
	v, max := cfgInt(lit), p.max
	if p.name == "amqp_max_payload" && max > maxPayloadCap {
		max = maxPayloadCap
	}
	return v >= p.min && v <= max
}

// the cfg `kamailio -c` checks: minimal, no broker needed
const checkCfg = `#!KAMAILIO
debug=2
log_stderror=yes
children=1
disable_sctp=yes
auto_aliases=no
listen=udp:127.0.0.1:%d
mpath="%s"
loadmodule "sl.so"
loadmodule "%s"
modparam("kazoo", "node_hostname", "fuzz.kazoo.test")
modparam("kazoo", "pua_mode", 0)
%s
request_route {
	sl_send_reply("200", "OK");
}
`

// kamailioCheck runs `kamailio -c` on a cfg with the given modparam lines: its output, and
// whether it accepted the cfg; bad is set when it crashed, hung or could not run.
func kamailioCheck(dir string, port int, params string) (out string, ok bool, bad error) {
	cfg := filepath.Join(dir, "kamailio.cfg")
	body := fmt.Sprintf(checkCfg, port, harness.KamailioModules, modulePath, params)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		return "", false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, harness.KamailioBin, "-c", "-f", cfg, "-Y", dir, "-w", dir)
	cmd.WaitDelay = time.Second
	b, err := cmd.CombinedOutput()
	out = string(b)
	if ctx.Err() != nil {
		return out, false, fmt.Errorf("kamailio -c still ran after 10 s")
	}
	if ee, isExit := err.(*exec.ExitError); isExit && !ee.Exited() {
		return out, false, fmt.Errorf("kamailio -c died: %v", err)
	} else if err != nil && !isExit {
		return out, false, err
	}
	for _, m := range []string{"core was generated", "exited by a signal", "Segmentation"} {
		if strings.Contains(out, m) {
			return out, false, fmt.Errorf("kamailio -c crashed (%q)", m)
		}
	}
	return out, err == nil, nil
}

func mustCheck(t *testing.T, port int, params string) (string, bool) {
	t.Helper()
	out, ok, bad := kamailioCheck(t.TempDir(), port, params)
	if bad != nil {
		t.Fatalf("%s: %v\n%s", params, bad, out)
	}
	return out, ok
}

// The config fuzzer: every parameter of the docs with boundary, negative, huge, wrong-type
// and empty values through `kamailio -c`. None may crash or hang; an int value is accepted
// exactly when what the parser hands the module is in the documented range; a refusal
// names the parameter. Then short real starts with the extremes that pass.
func TestConfigFuzz(t *testing.T) {
	params := docParams(t)
	type trial struct {
		p      docParam
		lit    string // as written in the cfg
		accept bool   // expected outcome of kamailio -c
	}
	var trials []trial
	for _, p := range params {
		switch p.typ {
		case "int":
			lits := map[string]bool{"0": true, "-1": true, "2147483647": true, "2147483648": true,
				"-2147483649": true, "99999999999": true, "4294967297": true}
			for _, v := range []int64{p.min - 1, p.min, p.min + 1, p.max - 1, p.max, p.max + 1} {
				lits[strconv.FormatInt(v, 10)] = true
			}
			if p.name == "amqp_max_payload" {
				lits[strconv.Itoa(maxPayloadCap)], lits[strconv.Itoa(maxPayloadCap+1)] = true, true
			}
			for lit := range lits {
				trials = append(trials, trial{p, lit, p.accepts(lit)})
			}
			// wrong type: a string where a number is expected, refused by Kamailio itself
			trials = append(trials, trial{p, `"5"`, false}, trial{p, `""`, false}, trial{p, `"abc"`, false})
		case "str":
			// a number where a string is expected: refused by Kamailio itself
			trials = append(trials, trial{p, "5", false})
			switch p.name {
			case "amqp_connection", "amqp_primary_zone":
				trials = append(trials, trial{p, `""`, false})
			case "amqp_query_timeout_avp":
				trials = append(trials, trial{p, `""`, true}) // a pv is parsed in mod_init
			default:
				trials = append(trials, trial{p, `""`, true}, trial{p, `"` + strings.Repeat("x", 4000) + `"`, true})
			}
		}
	}
	sort.Slice(trials, func(i, j int) bool { return trials[i].p.name < trials[j].p.name })
	port := harness.FreePort(t)
	begin := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	accepted := map[string][]string{}
	for _, tr := range trials {
		wg.Add(1)
		sem <- struct{}{}
		dir := t.TempDir()
		go func() {
			defer func() { <-sem; wg.Done() }()
			line := fmt.Sprintf(`modparam("kazoo", %q, %s)`, tr.p.name, tr.lit)
			out, ok, bad := kamailioCheck(dir, port, line)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case bad != nil:
				t.Errorf("%s: %v\n%s", line, bad, out)
			case ok && !tr.accept:
				t.Errorf("%s: accepted by kamailio -c, outside the documented range %d to %d", line, tr.p.min, tr.p.max)
			case !ok && tr.accept:
				t.Errorf("%s: refused by kamailio -c, within the documented range\n%s", line, out)
			case !ok && !strings.Contains(out, tr.p.name):
				t.Errorf("%s: refused without naming the parameter\n%s", line, out)
			case ok && tr.p.typ == "int":
				accepted[tr.p.name] = append(accepted[tr.p.name], tr.lit)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d kamailio -c runs in %v", len(trials), time.Since(begin).Round(time.Millisecond))
	if t.Failed() {
		return
	}

	// Real starts with the extremes that pass -c: lowest and highest of each int parameter
	// (the workers, each a process, at 1 and 4; pua_mode 0: no database here).
	r := harness.SharedRabbit(t)
	extremes := func(high bool) string {
		var b strings.Builder
		for _, p := range params {
			lits := accepted[p.name]
			if p.typ != "int" || len(lits) == 0 {
				continue
			}
			best := lits[0]
			for _, l := range lits[1:] {
				if (cfgInt(l) > cfgInt(best)) == high {
					best = l
				}
			}
			switch p.name {
			case "pua_mode":
				best = "0"
			case "amqp_consumer_workers":
				best = map[bool]string{false: "1", true: "4"}[high]
			case "amqp_query_timeout_micro":
				if !high {
					best = "1000" // 0 s + 0 µs is refused at startup: checked below
				}
			}
			fmt.Fprintf(&b, "modparam(\"kazoo\", %q, %s)\n", p.name, best)
		}
		return b.String()
	}
	for _, high := range []bool{false, true} {
		t.Run(map[bool]string{false: "lowest", true: "highest"}[high], func(t *testing.T) {
			t.Parallel()
			k := startPublisher(t, r, map[string]any{"Params": extremes(high)})
			if rep := sipRequest(t, k.SipPort(), "OPTIONS", "ping", nil, ""); rep.Code != 200 {
				t.Fatalf("OPTIONS got %d", rep.Code)
			}
			if high { // amqp_max_payload at its cap: a publish goes through
				if rc := publish(t, k, "amq.topic", "fuzz.high", "", `{"a":1}`); rc != "1" {
					t.Fatalf("kazoo_publish returned %s\n%s", rc, k.Log())
				}
			}
		})
	}
	t.Run("query timeout of 0 ms", func(t *testing.T) {
		t.Parallel()
		log := harness.StartKamailioExpectFailure(t, publishCfg, harness.KamailioOpts{Module: modulePath,
			Extra: withDefaults(r, map[string]any{"Params": `modparam("kazoo", "amqp_query_timeout_sec", 0)`})})
		if !strings.Contains(log, "amqp_query_timeout_sec/_micro give 0 ms") {
			t.Fatalf("log:\n%s", log)
		}
	})
}

// The reproductions of issue 16's unchecked knobs: each refused by `kamailio -c` with one
// line naming the parameter (or the URL option) and the range.
func TestConfigRefusedAtCheck(t *testing.T) {
	port := harness.FreePort(t)
	for _, c := range []struct{ params, want string }{
		{`modparam("kazoo", "amqp_query_timeout_sec", 3000000)`, `modparam("kazoo", "amqp_query_timeout_sec", 3000000): out of range, accepted: 0 to 86400`},
		{`modparam("kazoo", "go_maxprocs", 100000)`, `modparam("kazoo", "go_maxprocs", 100000): out of range, accepted: 0 to 64`},
		{`modparam("kazoo", "go_gc_percent", -1)`, `modparam("kazoo", "go_gc_percent", -1): out of range, accepted: 0 to 1000`},
		{`modparam("kazoo", "amqp_consumer_prefetch", 65536)`, `modparam("kazoo", "amqp_consumer_prefetch", 65536): out of range, accepted: 1 to 65535`},
		{`modparam("kazoo", "amqp_heartbeats", 99999999999)`, `"amqp_heartbeats", 1215752191): out of range, accepted: -1 to 65535`},
		{`modparam("kazoo", "pua_mode", 7)`, `modparam("kazoo", "pua_mode", 7): out of range, accepted: 0 to 1`},
		{`modparam("kazoo", "pua_lock_type", 99)`, `modparam("kazoo", "pua_lock_type", 99): out of range, accepted: 0 to 2`},
		{`modparam("kazoo", "amqp_primary_zone", "")`, `modparam("kazoo", "amqp_primary_zone", ""): must not be empty`},
		{`modparam("kazoo", "amqp_max_payload", 33554432)`, `modparam("kazoo", "amqp_max_payload", 33554432): out of range, accepted: 1 to 2097152 (a quarter of the pkg memory, -M)`},
		{`modparam("kazoo", "amqp_connection", "amqp://guest:s3cret@127.0.0.1:5672/?heartbeat=abc")`, `invalid amqp_connection 'amqp://guest:***@127.0.0.1:5672/?heartbeat=abc': the heartbeat option must be a number from 0 to 65535`},
		{`modparam("kazoo", "amqp_connection", "amqp://guest:s3cret@127.0.0.1/?channel_max=65536")`, `the channel_max option must be a number from 0 to 65535`},
		{`modparam("kazoo", "amqp_connection", "amqp://guest:s3cret@127.0.0.1/?auth_mechanism=kerberos")`, `the auth_mechanism option must be plain, amqplain or external`},
		{`modparam("kazoo", "amqp_connection", "amqp://guest:50%off@127.0.0.1/")`, `the user or password has a character that must be %-escaped, or a '%' that is not an escape`},
	} {
		out, ok := mustCheck(t, port, c.params)
		if ok {
			t.Errorf("%s: accepted by kamailio -c", c.params)
			continue
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: output lacks %q:\n%s", c.params, c.want, out)
		}
		if strings.Contains(out, "s3cret") || strings.Contains(out, "50%off") {
			t.Errorf("%s: the password is in the output:\n%s", c.params, out)
		}
	}
	// the edges of what Go accepts pass
	if out, ok := mustCheck(t, port, `modparam("kazoo", "amqp_heartbeats", 0)`+"\n"+
		`modparam("kazoo", "amqp_connection", "amqp://guest:guest@127.0.0.1/?heartbeat=0&channel_max=0&connection_timeout=-5&auth_mechanism=PLAIN")`); !ok {
		t.Errorf("valid values refused:\n%s", out)
	}
}
