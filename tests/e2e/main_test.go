// Package e2e runs kazoo.so inside real Kamailio processes against a real RabbitMQ node,
// with SIP traffic from sipp and from a small SIP client. Every component is started by
// the tests themselves and stopped by PID (tests/harness).
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/kazoo-so/kazoo-go/tests/harness"
)

// modulePath is the kazoo.so under test: $KAZOO_SO, else the Makefile's build/kazoo.so.
var modulePath string

// cModulePath is the C kazoo module of Debian's kamailio-kazoo-modules: the reference of
// the differential tests.
var cModulePath = harness.KamailioModules + "kazoo.so"

func TestMain(m *testing.M) {
	modulePath = os.Getenv("KAZOO_SO")
	if modulePath == "" {
		modulePath, _ = filepath.Abs("../../build/kazoo.so")
	}
	if _, err := os.Stat(modulePath); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: kazoo.so not found at %s (run make, or set KAZOO_SO): %v\n", modulePath, err)
		os.Exit(2)
	}
	code := m.Run()
	harness.StopShared()
	os.Exit(code)
}
