package bootstrap

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// target is what make prepared for the Kamailio under test: kamdefs.h, the tree's src/ and
// the binary (KAZOO_CACHE and KAMAILIO_BIN, as scripts/matrix.sh sets them per target).
func target(t *testing.T) (defs []byte, src, bin string) {
	t.Helper()
	cache := os.Getenv("KAZOO_CACHE")
	if cache == "" {
		cache = "../../.cache/kamailio"
	}
	defs, err := os.ReadFile(filepath.Join(cache, "kamdefs.h"))
	if err != nil {
		t.Skipf("no %s (run make first)", cache)
	}
	src, _ = filepath.Abs(filepath.Join(cache, "src"))
	if bin = os.Getenv("KAMAILIO_BIN"); bin == "" {
		bin = "/usr/sbin/kamailio"
	}
	return defs, src, bin
}

// fakeKamailio writes an executable that answers -v as a kamailio of that version would.
func fakeKamailio(t *testing.T, version string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kamailio")
	script := "#!/bin/sh\necho 'version: kamailio " + version + " (x86_64/linux) '\necho 'flags: USE_TCP'\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// fakeTree is a Kamailio source tree that nobody configured (with CMakeLists.txt: a 6.x one).
func fakeTree(t *testing.T, cmake bool) string {
	t.Helper()
	tree := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tree, "src/core"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := []string{"src/core/sr_module.h"}
	if cmake {
		files = append(files, "CMakeLists.txt")
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(tree, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tree
}

// Each input that cannot give a loadable module stops kamailio-headers/prepare.sh with one
// line that says what to do, before anything is built.
func TestBuildInputsRefused(t *testing.T) {
	prepare, _ := filepath.Abs("../../kamailio-headers/prepare.sh")
	emptyDir := t.TempDir()
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"untested version", []string{"KAMAILIO_BIN=" + fakeKamailio(t, "6.2.0")},
			"kamailio 6.2.0 is not a version kazoo.so is tested with (5.6 5.7 5.8 6.0 6.1); KAZOO_ALLOW_UNTESTED=1"},
		{"no kamailio", []string{"KAMAILIO_BIN=/nonexistent/kamailio"}, "no kamailio binary at '/nonexistent/kamailio'"},
		{"not a tree", []string{"KAMAILIO_BIN=" + fakeKamailio(t, "5.8.8"), "KAMAILIO_SRC=" + emptyDir},
			"is not a Kamailio source tree (no src/core/sr_module.h)"},
		{"unconfigured make tree", []string{"KAMAILIO_BIN=" + fakeKamailio(t, "5.8.8"), "KAMAILIO_SRC=" + fakeTree(t, false)},
			"is not configured: configure it as your kamailio was built (make -C"},
		{"CMake tree without a build directory", []string{"KAMAILIO_BIN=" + fakeKamailio(t, "6.1.4"), "KAMAILIO_SRC=" + fakeTree(t, true)},
			"is not configured: configure it as your kamailio was built, with CMake (cmake -S"},
		{"CMake build directory not configured", []string{"KAMAILIO_BIN=" + fakeKamailio(t, "6.1.4"), "KAMAILIO_SRC=" + fakeTree(t, true),
			"KAMAILIO_BUILD_DIR=" + emptyDir}, "has no CMakeCache.txt: run cmake -S"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// what the caller's environment says of its own target (scripts/matrix.sh) is not this case's
			env := append([]string{"KAMAILIO_SRC=", "KAMAILIO_BUILD_DIR=", "KAMAILIO_LIBDIR=", "KAZOO_ALLOW_UNTESTED="}, c.env...)
			out, err := run(t, ".", env, prepare, t.TempDir())
			if err == nil || !strings.Contains(out, c.want) {
				t.Fatalf("want a failure saying %q, got (err %v):\n%s", c.want, err, out)
			}
			if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines != 1 {
				t.Errorf("want one line, got %d:\n%s", lines, out)
			}
		})
	}
}

// Headers of one version and a binary of another: the version string the binary compares is
// not the one the tree would give, and the build says so before compiling anything.
func TestHeadersOfAnotherVersionRefused(t *testing.T) {
	defs, src, bin := target(t)
	script, _ := filepath.Abs("../../kamailio-headers/check-version.sh")
	other := filepath.Join(t.TempDir(), "kamdefs.h")
	s := regexp.MustCompile(`#define VERSION "[^"]*"`).ReplaceAllString(string(defs), `#define VERSION "5.9.9"`)
	if s == string(defs) {
		t.Fatal("no VERSION in kamdefs.h")
	}
	if err := os.WriteFile(other, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, ".", nil, script, other, src, bin)
	if err == nil || !strings.Contains(out, "it has no module_version string equal to this tree's") ||
		!strings.Contains(out, "kazoo.so: kamailio 5.9.9 (") {
		t.Fatalf("a version mismatch was not caught (err %v):\n%s", err, out)
	}
}
