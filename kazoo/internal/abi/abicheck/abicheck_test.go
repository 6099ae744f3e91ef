package abicheck

import (
	"os"
	"regexp"
	"testing"
)

func TestHeaderAgreesWithGo(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

// Every enumerator and every number #define of the header (but the configuration keys,
// strings, and the C-side-only ones) is in Pairs: a value added to the header without its Go
// side fails here.
func TestEveryHeaderValueIsChecked(t *testing.T) {
	h, err := os.ReadFile("kazoo_abi.h")
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, p := range Pairs() {
		checked[regexp.MustCompile(`^\S+`).FindString(p.Name)] = true
	}
	notShared := map[string]bool{
		"KAZOO_ABI_H":           true,
		"KZ_PENDING":            true, // returned by exports.go from the C value
		"KZ_BROKER_STATE_COUNT": true, // kz_rpc.c's table of state names
		"KZ_STATUS_SLOT_SIZE":   true, // sizeof(struct kz_status_slot), checked as such
	}
	text := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(h), "")
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^#define (KZ_\w+) [^"\n]*$`).FindAllStringSubmatch(text, -1) {
		names = append(names, m[1])
	}
	for _, m := range regexp.MustCompile(`enum \w+ \{([^}]*)\}`).FindAllStringSubmatch(text, -1) {
		names = append(names, regexp.MustCompile(`\bKZ_\w+`).FindAllString(m[1], -1)...)
	}
	if len(names) < 80 {
		t.Fatalf("only %d values found in kazoo_abi.h: %v", len(names), names)
	}
	for _, name := range names {
		if checked[name] || notShared[name] {
			continue
		}
		t.Errorf("%s is in kazoo_abi.h but not compared with Go (abicheck.Pairs)", name)
	}
}
