//go:build bench

// Package bench compares kazoo.so with the C kazoo module (Debian's kamailio-kazoo-modules)
// in the same run, on the same broker, cfg, responder and load generator, and reports
// ratios. Not part of the test command. The whole comparison, one table:
//
//	bench/run.sh                  # ROUNDS=3 by default; QUICK=1 for a short smoke run
//
// Single measurements: go test -tags bench -run 'TestPublishBench|TestQueryBench|…' -v ./bench/
// The soak (long, not in the table): go test -tags bench -run '^TestSoakBench$' -timeout 3h -v ./bench/
// The reconnection storm (needs a 3-node cluster, not in the table):
// go test -tags bench -run '^TestStormBench$' -timeout 30m -v ./bench/
package bench

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// cModule is Debian's C module (package kamailio-kazoo-modules), the reference.
var cModule = harness.KamailioModules + "kazoo.so"

// The URL has no trailing '/': the C module (librabbitmq) reads "amqp://h:p/" as the empty
// vhost, which RabbitMQ refuses; ours, like amqp091-go, takes it as the default vhost "/".

func TestMain(m *testing.M) {
	code := m.Run()
	harness.StopShared()
	os.Exit(code)
}

// ourModule is $KAZOO_SO or build/kazoo.so.
func ourModule() string {
	if p := os.Getenv("KAZOO_SO"); p != "" {
		return p
	}
	p, _ := filepath.Abs("../build/kazoo.so")
	return p
}

// goParams are extra modparam lines for our module only ($BENCH_GO_PARAMS, e.g.
// modparam("kazoo", "go_maxprocs", 2)).
func goParams(module string) string {
	if module == cModule {
		return ""
	}
	return os.Getenv("BENCH_GO_PARAMS")
}

// envInt reads an integer knob, def when unset or not a number.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}
