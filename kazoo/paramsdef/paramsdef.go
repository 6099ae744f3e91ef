// Package paramsdef reads cshim/kz_params.def, the one table of the module's parameters
// and of the configuration keys the shim hands to Go. The config package's key list is
// generated from it (GoSource) and tests/docs checks the documentation against it.
package paramsdef

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Path is the table's place in the repository.
const Path = "cshim/kz_params.def"

// Kind is the X-macro an entry uses.
type Kind string

const (
	Int      Kind = "KZ_INT"
	IntAlias Kind = "KZ_INT_ALIAS"
	Str      Kind = "KZ_STR"
	StrFn    Kind = "KZ_STR_FN"
	URLs     Kind = "KZ_URLS"
	Go       Kind = "KZ_GO" // a key the shim derives, not a modparam
)

// Entry is one line of the table.
type Entry struct {
	Kind       Kind
	Name       string // the modparam; for KZ_GO, the key's C name
	Var        string // the C variable (int and str entries)
	Default    string // what the shim sends when the modparam is not set: decimal, or the text
	Unset      bool   // a str without default (KZ_UNSET): sent as ""
	Min, Max   int64  // int entries
	NoEffect   bool   // KZ_NO_EFFECT
	PkgQuarter bool   // KZ_PKG_QUARTER
	GoKey      string // the record key Go receives; "" when not sent
	Repeats    bool   // the key may come several times (amqp_connection, KZ_GO with repeats 1)
}

// Modparam tells whether the entry is registered with Kamailio.
func (e Entry) Modparam() bool { return e.Kind != Go }

// Type is the modparam's type as the documentation gives it: "int" or "str".
func (e Entry) Type() string {
	if e.Kind == Int || e.Kind == IntAlias {
		return "int"
	}
	return "str"
}

// AnyInt tells whether an int entry accepts every int (INT_MIN to INT_MAX).
func (e Entry) AnyInt() bool { return e.Min == -1<<31 && e.Max == 1<<31-1 }

var (
	reEntry  = regexp.MustCompile(`^(KZ_[A-Z_]+)\((.*)\)\s*(?:/\*.*)?$`)
	reDefine = regexp.MustCompile(`^#define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$`)
	reShift  = regexp.MustCompile(`^(-?\d+)\s*<<\s*(\d+)$`)
)

// Read reads the table of the repository at root.
func Read(root string) ([]Entry, error) {
	src, err := os.ReadFile(filepath.Join(root, Path))
	if err != nil {
		return nil, err
	}
	return Parse(string(src))
}

// Parse reads the table: one entry per line; a line that starts with KZ_ and does not
// parse is an error, never skipped.
func Parse(src string) ([]Entry, error) {
	consts := map[string]int64{"INT_MIN": -1 << 31, "INT_MAX": 1<<31 - 1}
	var out []Entry
	seen := map[string]bool{}
	inComment := false
	for n, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if inComment {
			if strings.Contains(line, "*/") {
				inComment = false
			}
			continue
		}
		if strings.HasPrefix(line, "/*") {
			inComment = !strings.Contains(line, "*/")
			continue
		}
		if m := reDefine.FindStringSubmatch(line); m != nil {
			v, err := eval(m[2], consts)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %v", n+1, m[1], err)
			}
			consts[m[1]] = v
			continue
		}
		if !strings.HasPrefix(line, "KZ_") {
			continue
		}
		m := reEntry.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: not an entry: %s", n+1, line)
		}
		e, err := entry(Kind(m[1]), splitArgs(m[2]), consts)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n+1, err)
		}
		for _, id := range []string{"name " + e.Name, "key " + e.GoKey} {
			if id != "key " && seen[id] {
				return nil, fmt.Errorf("line %d: %s twice", n+1, id)
			}
			seen[id] = true
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no entries")
	}
	return out, nil
}

func entry(kind Kind, a []string, consts map[string]int64) (Entry, error) {
	arity := map[Kind]int{Int: 7, IntAlias: 5, Str: 5, StrFn: 6, URLs: 3, Go: 3}
	want, ok := arity[kind]
	if !ok {
		return Entry{}, fmt.Errorf("unknown entry kind %s", kind)
	}
	if len(a) != want {
		return Entry{}, fmt.Errorf("%s(%s): %d arguments, want %d", kind, strings.Join(a, ", "), len(a), want)
	}
	e := Entry{Kind: kind, Name: a[0]}
	var err error
	switch kind {
	case Int, IntAlias:
		e.Var = a[1]
		lo, hi, flags := a[2], a[3], a[4]
		if kind == Int {
			var d int64
			if d, err = eval(a[2], consts); err != nil {
				return e, fmt.Errorf("%s: default: %v", e.Name, err)
			}
			e.Default = strconv.FormatInt(d, 10)
			lo, hi, flags = a[3], a[4], a[5]
			e.GoKey, err = goKey(a[6])
		}
		if e.Min, err = eval(lo, consts); err == nil {
			e.Max, err = eval(hi, consts)
		}
		if err == nil {
			err = e.setFlags(flags)
		}
	case Str, StrFn:
		e.Var = a[1]
		if a[2] == "KZ_UNSET" {
			e.Unset = true
		} else if s, ok := strings.CutPrefix(a[2], "KZ_S("); ok && strings.HasSuffix(s, ")") {
			e.Default, err = strconv.Unquote(strings.TrimSuffix(s, ")"))
		} else {
			err = fmt.Errorf("default %q: want KZ_S(\"text\") or KZ_UNSET", a[2])
		}
		if err == nil {
			err = e.setFlags(a[len(a)-2])
		}
		if err == nil {
			e.GoKey, err = goKey(a[len(a)-1])
		}
	case URLs:
		e.GoKey, err = goKey(a[2])
		e.Repeats = true
	case Go:
		e.GoKey, err = goKey(a[1])
		e.Repeats = a[2] == "1"
		if err == nil && e.GoKey == "" {
			err = fmt.Errorf("a KZ_GO entry needs a key")
		}
	}
	if err != nil {
		return e, fmt.Errorf("%s: %v", e.Name, err)
	}
	return e, nil
}

func (e *Entry) setFlags(s string) error {
	for _, f := range strings.Split(s, "|") {
		switch strings.TrimSpace(f) {
		case "0":
		case "KZ_NO_EFFECT":
			e.NoEffect = true
		case "KZ_PKG_QUARTER":
			e.PkgQuarter = true
		default:
			return fmt.Errorf("unknown flag %q", f)
		}
	}
	return nil
}

func goKey(s string) (string, error) {
	if s == "KZ_NOT_SENT" {
		return "", nil
	}
	k, err := strconv.Unquote(s)
	if err != nil || k == "" {
		return "", fmt.Errorf("go key %s: want \"key\" or KZ_NOT_SENT", s)
	}
	return k, nil
}

// eval computes the integer expressions the table uses: a number, a constant, `a << b`,
// in parentheses or not.
func eval(s string, consts map[string]int64) (int64, error) {
	s = strings.TrimSpace(s)
	for strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if v, ok := consts[s]; ok {
		return v, nil
	}
	if m := reShift.FindStringSubmatch(s); m != nil {
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseUint(m[2], 10, 6)
		return a << b, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// splitArgs splits a macro's arguments at the commas outside quotes and parentheses.
func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// GoSource is kazoo/internal/config/params_gen.go for the table.
func GoSource(entries []Entry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by \"go generate ./kazoo/internal/config\" from " + Path + "; DO NOT EDIT.\n\n")
	b.WriteString("package config\n\n")
	b.WriteString("// keys is every record key the shim sends; true for one that may repeat (or not come).\n")
	b.WriteString("var keys = map[string]bool{\n")
	for _, e := range entries {
		if e.GoKey != "" {
			fmt.Fprintf(&b, "\t%q: %v,\n", e.GoKey, e.Repeats)
		}
	}
	b.WriteString("}\n\n")
	b.WriteString("// modparamDefaults is what the shim sends for each modparam left unset.\n")
	b.WriteString("var modparamDefaults = [][2]string{\n")
	for _, e := range entries {
		if e.GoKey != "" && e.Modparam() && !e.Repeats {
			fmt.Fprintf(&b, "\t{%q, %q},\n", e.GoKey, e.Default)
		}
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
