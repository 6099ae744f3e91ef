package config

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maskCases: an amqp_connection value and its masked form, on both sides (Go and
// cshim/kz_url.c): well-formed and malformed values alike.
var maskCases = map[string]string{
	"amqp://guest:secret@h:5672/":            "amqp://guest:***@h:5672/",
	"amqps://u:p@ss:w@h/":                    "amqps://u:***@h/",
	"amqp://h/":                              "amqp://h/",
	"amqp://user@h/":                         "amqp://user@h/",
	"zone=z;amqp://a:b@h/":                   "zone=z;amqp://a:***@h/",
	"garbage":                                "garbage",
	"amqp://guest:50%off@h/":                 "amqp://guest:***@h/",
	"amqp://guest:guest@h/50%off":            "amqp://guest:***@h/50%off",
	"amqp:/guest:pw@h/":                      "amqp:***@h/", // no "://": from the start
	"guest:pw@h":                             "guest:***@h",
	"amqp://u:pw@h/v?x=a@b":                  "amqp://u:***@b", // over-masks, never under
	"kazoo://u:p/w?#@h:5672":                 "kazoo://u:***@h:5672",
	"amqp://:onlypass@h/":                    "amqp://:***@h/",
	"amqp://guest:S3cr3t-9@[::1]:5672/vh":    "amqp://guest:***@[::1]:5672/vh",
	"amqp://guest:S3cr3t-9@h:notaport/vh":    "amqp://guest:***@h:notaport/vh",
	"amqp://guest:a:b:c@h:5672/?heartbeat=1": "amqp://guest:***@h:5672/?heartbeat=1",
	"amqp://guest:S3cr3t":                    "amqp://guest:***", // no host: not a port
	"amqp://guest:S3cr3t/vh?x=1":             "amqp://guest:***/vh?x=1",
	"amqp://h:5672/vh":                       "amqp://h:5672/vh",
	"amqp://h:/":                             "amqp://h:/",
	"amqp://[::1]:5672/":                     "amqp://[::1]:5672/",
	"amqp://[::1]:x/":                        "amqp://[::1]:***/",
	"amqp://[::1/":                           "amqp://[::1/",
	"host:5672":                              "host:5672",
}

func TestMaskURL(t *testing.T) {
	for in, want := range maskCases {
		if got := MaskURL(in); got != want {
			t.Errorf("MaskURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// The C shim masks what it prints (kamailio -c, kazoo.status before Go runs) with
// kz_url_masked: it must hide exactly what Go hides.
func TestMaskURLAgreesWithShim(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler")
	}
	dir := t.TempDir()
	main := filepath.Join(dir, "main.c")
	src := `#include <stdio.h>
#include "kz_url.h"
int main(int argc, char **argv) { for(int i = 1; i < argc; i++) printf("%s\n", kz_url_masked(argv[i])); return 0; }
`
	if err := os.WriteFile(main, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	shim, _ := filepath.Abs("../../../cshim")
	bin := filepath.Join(dir, "mask")
	if out, err := exec.Command(cc, "-Wall", "-I"+shim, "-o", bin, main, filepath.Join(shim, "kz_url.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	var in []string
	for k := range maskCases {
		in = append(in, k)
	}
	out, err := exec.Command(bin, in...).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(in) {
		t.Fatalf("%d lines for %d URLs: %q", len(lines), len(in), out)
	}
	for i, u := range in {
		if lines[i] != MaskURL(u) {
			t.Errorf("%q: C %q, Go %q", u, lines[i], MaskURL(u))
		}
	}
}

// Every value ParseBroker or Parse refuses, with a distinctive password: the error names
// the problem and never the password, whole or in part.
func TestParseErrorsHidePassword(t *testing.T) {
	urls := []string{
		"amqp://guest:%s@h:5672/",              // '%' not an escape in the password
		"amqp://guest:%s@h:5672/50%%off",       // ... in the vhost (the URL is printed whole)
		"amqp://guest:%s@h:port/",              // bad port
		"amqp://guest:%s@h:99999/",             // port out of range
		"amqp://guest:%s@/",                    // no host
		"amqp://guest:%s",                      // no '@': the password taken for a port
		"amqp://guest:%s@h:5672/?heartbeat=x1", // bad query option
		"amqp://guest:%s@h:5672/ vh",           // whitespace
		"ftp://guest:%s@h/",                    // scheme
		"zone=;amqp://guest:%s@h/",             // empty zone
		"amqp://guest:%s@[::1/",                // unterminated IPv6 literal
		"amqp://guest:%s@h\x7f:5672/",          // control character
	}
	for n, format := range urls {
		secret := fmt.Sprintf("S3cr3t-%d%%zz", n) // "%zz": no valid escape
		value := fmt.Sprintf(format, secret)
		_, err := ParseBroker(value, 1)
		if err == nil {
			t.Errorf("%q: accepted", value)
			continue
		}
		cfgErr := func() error {
			_, err := Parse([]byte(fmt.Sprintf("node_hostname\x00n\x00amqp_connection\x00%s\x00", value)))
			return err
		}()
		for _, e := range []error{err, cfgErr} {
			if e == nil {
				t.Errorf("%q: Parse accepted it", value)
				continue
			}
			if strings.Contains(e.Error(), "S3cr3t") || strings.Contains(e.Error(), "%zz") {
				t.Errorf("%q: the error shows the password: %v", value, e)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	u := "amqp://guest:S3cr3t%2Fx@h:5672/"
	for in, want := range map[string]string{
		"dial " + u + ": refused":    "dial amqp://guest:***@h:5672/: refused",
		`parse "S3cr3t%2Fx": no`:     `parse "***": no`,
		"password S3cr3t/x is wrong": "password *** is wrong",
		"nothing secret here":        "nothing secret here",
	} {
		if got := Redact(in, u); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Redact("a b c", "amqp://u:b@h/"); got != "a b c" {
		t.Errorf("a short password replaced in free text: %q", got)
	}
	if RedactError(nil, u) != nil {
		t.Error("RedactError(nil) is not nil")
	}
}
