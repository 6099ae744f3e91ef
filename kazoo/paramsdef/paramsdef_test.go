package paramsdef

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `/*
 * KZ_INT(name, ...) in a comment is no entry
 */
#define KZ_BIG (128 << 20) /* a bound */
KZ_STR(node_hostname, kz_node_hostname, KZ_UNSET, 0, "node_hostname") /* mandatory */
KZ_URLS(amqp_connection, kz_add_broker_url, "amqp_connection")
KZ_INT(a_max, kz_a, 1 << 20, 1, KZ_BIG, KZ_PKG_QUARTER, "max")
KZ_INT(old, kz_old, 50, INT_MIN, INT_MAX, KZ_NO_EFFECT, KZ_NOT_SENT)
KZ_INT_ALIAS(old2, kz_old, INT_MIN, INT_MAX, KZ_NO_EFFECT)
KZ_STR_FN(zone, kz_zone, KZ_S("lo,cal"), kz_set_zone, 0, "zone")
KZ_GO(kz_key_route, "event_route", 1)
`
	es, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 7 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	if e := es[0]; e.Type() != "str" || !e.Unset || e.GoKey != "node_hostname" || e.Repeats {
		t.Errorf("%+v", e)
	}
	if e := es[1]; e.Type() != "str" || !e.Repeats || e.GoKey != "amqp_connection" {
		t.Errorf("%+v", e)
	}
	if e := es[2]; e.Type() != "int" || e.Default != "1048576" || e.Min != 1 || e.Max != 128<<20 || !e.PkgQuarter || e.GoKey != "max" {
		t.Errorf("%+v", e)
	}
	if e := es[3]; !e.AnyInt() || !e.NoEffect || e.GoKey != "" {
		t.Errorf("%+v", e)
	}
	if e := es[4]; e.Kind != IntAlias || e.Var != "kz_old" || !e.Modparam() {
		t.Errorf("%+v", e)
	}
	if e := es[5]; e.Default != "lo,cal" || e.GoKey != "zone" {
		t.Errorf("%+v", e)
	}
	if e := es[6]; e.Modparam() || !e.Repeats || e.GoKey != "event_route" {
		t.Errorf("%+v", e)
	}
	src2, err := GoSource(es)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event_route":     true`, `{"max", "1048576"}`, `{"node_hostname", ""}`} {
		if !strings.Contains(string(src2), want) {
			t.Errorf("generated source lacks %s:\n%s", want, src2)
		}
	}
}

// A line that starts like an entry and does not parse is an error, never skipped.
func TestParseErrors(t *testing.T) {
	for _, src := range []string{
		`KZ_INT(a, kz_a, 1, 0, 1, 0)`,                                              // an argument missing
		`KZ_INT(a, kz_a, x, 0, 1, 0, KZ_NOT_SENT)`,                                 // default not a number
		`KZ_INT(a, kz_a, 1, 0, NOPE, 0, KZ_NOT_SENT)`,                              // unknown constant
		`KZ_INT(a, kz_a, 1, 0, 1, KZ_ODD, KZ_NOT_SENT)`,                            // unknown flag
		`KZ_STR(a, kz_a, "x", 0, KZ_NOT_SENT)`,                                     // default without KZ_S
		`KZ_STR(a, kz_a, KZ_UNSET, 0, key)`,                                        // key not quoted
		`KZ_FLOAT(a, kz_a, 1, KZ_NOT_SENT)`,                                        // unknown kind
		`KZ_GO(kz_key, KZ_NOT_SENT, 0)`,                                            // a derived value without key
		"KZ_STR(a, kz_a, KZ_UNSET, 0, \"k\")\nKZ_STR(a, kz_b, KZ_UNSET, 0, \"l\")", // a name twice
		"KZ_STR(a, kz_a, KZ_UNSET, 0, \"k\")\nKZ_STR(b, kz_b, KZ_UNSET, 0, \"k\")", // a key twice
		`KZ_INT(a, kz_a, 1, 0, 1, 0, KZ_NOT_SENT`,                                  // unterminated
		``, // no entries
	} {
		if _, err := Parse(src); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
}

func TestReadTheTable(t *testing.T) {
	es, err := Read("../..")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 50 {
		t.Errorf("%d entries", len(es))
	}
}
