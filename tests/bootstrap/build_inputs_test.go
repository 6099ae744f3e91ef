package bootstrap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
			out, err := run(t, ".", c.env, prepare, t.TempDir())
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
	defs, err := os.ReadFile("../../.cache/kamailio/kamdefs.h")
	if err != nil {
		t.Skip("no .cache/kamailio (run make first)")
	}
	script, _ := filepath.Abs("../../kamailio-headers/check-version.sh")
	src, _ := filepath.Abs("../../.cache/kamailio/src")
	other := filepath.Join(t.TempDir(), "kamdefs.h")
	s := strings.Replace(string(defs), `#define VERSION "5.6.3"`, `#define VERSION "5.8.8"`, 1)
	if s == string(defs) {
		t.Skip("the cached tree is not 5.6.3")
	}
	if err := os.WriteFile(other, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, ".", nil, script, other, src, "/usr/sbin/kamailio")
	if err == nil || !strings.Contains(out, "it has no module_version string equal to this tree's") ||
		!strings.Contains(out, "kazoo.so: kamailio 5.8.8 (x86_64/linux)") {
		t.Fatalf("a version mismatch was not caught (err %v):\n%s", err, out)
	}
}
