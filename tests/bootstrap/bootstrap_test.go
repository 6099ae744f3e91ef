// Package bootstrap checks, for the Go toolchain in use, the one Go internal kazoo.so
// relies on: the first pthread_create of a c-shared library during dlopen is the runtime
// bootstrap, which cshim/go_runtime.c captures and replays after fork. A toolchain that
// changes this must fail here and in scripts/check-module.sh, loudly, never as a hang.
package bootstrap

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func build(t *testing.T, wrap bool) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "lib.so")
	src, _ := filepath.Abs("testlib")
	dir := src
	if !wrap { // the same library without the wrap: what a broken build looks like
		dir = t.TempDir()
		for _, f := range []string{"lib.go", "go_runtime.c"} {
			b, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				t.Fatal(err)
			}
			s := strings.ReplaceAll(string(b), "#cgo LDFLAGS: -Wl,--wrap=pthread_create", "")
			cshim := filepath.Join(src, "../../../cshim")
			s = strings.ReplaceAll(s, "${SRCDIR}/../../../cshim", cshim)
			s = strings.ReplaceAll(s, `"../../../cshim/`, `"`+cshim+"/")
			if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_ = os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module nowrap\n\ngo 1.26\n"), 0o644)
		// without the wrap, __real_pthread_create does not exist: point it at the real one
		b, _ := os.ReadFile(filepath.Join(dir, "go_runtime.c"))
		_ = os.WriteFile(filepath.Join(dir, "go_runtime.c"), append([]byte("#define __real_pthread_create pthread_create\n"), b...), 0o644)
	}
	// testlib includes cshim/go_runtime.c from outside its directory, which Go's build cache
	// does not notice: its hash in CGO_CFLAGS (part of the key) makes an edit rebuild it
	shim, err := os.ReadFile(filepath.Join(src, "../../../cshim/go_runtime.c"))
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("CGO_CFLAGS=-O2 -g -DKZ_SHIM_SOURCE=%x", sha256.Sum256(shim))
	if o, err := run(t, dir, []string{"CGO_ENABLED=1", key}, "go", "build", "-buildmode=c-shared", "-o", out, "."); err != nil {
		t.Fatalf("go build: %v\n%s", err, o)
	}
	return out
}

func host(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "host")
	if o, err := run(t, ".", nil, "cc", "-O1", "-o", out, "host/host.c", "-ldl"); err != nil {
		t.Fatalf("cc: %v\n%s", err, o)
	}
	return out
}

func TestCapturedAtDlopenAndHealthyAfterFork(t *testing.T) {
	out, err := run(t, ".", nil, host(t), build(t, true))
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Log(strings.TrimSpace(out))
}

func TestCheckModuleRejectsUnwrappedBuild(t *testing.T) {
	script, _ := filepath.Abs("../../scripts/check-module.sh")
	if out, err := run(t, ".", nil, script, "--bootstrap-only", build(t, true)); err != nil {
		t.Fatalf("a wrapped build was rejected: %v\n%s", err, out)
	}
	out, err := run(t, ".", nil, script, "--bootstrap-only", build(t, false))
	if err == nil || !strings.Contains(out, "does not call __wrap_pthread_create") {
		t.Fatalf("an unwrapped build was not rejected (err %v):\n%s", err, out)
	}
	// and the host sees it too, at once rather than by hanging
	if out, err := run(t, ".", nil, host(t), build(t, false)); err == nil || !strings.Contains(out, "not captured") {
		t.Fatalf("host did not report the missing capture (err %v): %s", err, out)
	}
}

// A kazoo.so built with other defines than the target kamailio's would be refused by
// Kamailio at load time ("compile flags mismatch"); the build catches it first, with a clear
// message.
func TestVersionMismatchCaughtByBuild(t *testing.T) {
	defs, src, bin := target(t)
	script, _ := filepath.Abs("../../kamailio-headers/check-version.sh")
	good := filepath.Join(t.TempDir(), "kamdefs.h")
	if err := os.WriteFile(good, defs, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ".", nil, script, good, src, bin); err != nil {
		t.Fatalf("the real defines were rejected: %v\n%s", err, out)
	}
	// a tree configured without TLS support: its module_flags lack USE_TLS
	bad := filepath.Join(t.TempDir(), "kamdefs.h")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(defs), "#define USE_TLS 1", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, ".", nil, script, bad, src, bin)
	if err == nil || !strings.Contains(out, "the module would not load into "+bin) || !strings.Contains(out, "USE_TLS") {
		t.Fatalf("a flags mismatch was not caught (err %v):\n%s", err, out)
	}
}
