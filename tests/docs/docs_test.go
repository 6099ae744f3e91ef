// Package docs checks that docs/kazoo-module.md documents everything the module registers
// with Kamailio: the names are read from the C shim's registration tables (cshim/*.c, and
// cshim/kz_params.def for the parameters, through kazoo/paramsdef), so a parameter, function, pseudo-variable, KEMI export, RPC command, statistic or
// transformation added to the code without documentation fails `go test ./tests/docs/`.
// Plain Go: no Kamailio, broker or build needed.
package docs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/paramsdef"
)

const (
	modulePath = "github.com/kazoo-so/kazoo-go"
	docPath    = "docs/kazoo-module.md"
)

// ---- what the C shim registers ----

// Param is one modparam of cshim/kz_params.def.
type Param struct {
	Name string
	Type string // "int" or "str"
	Def  paramsdef.Entry
}

// Cmd is one entry of cmds[] (a name may be registered several times, with different
// numbers of arguments).
type Cmd struct {
	Name   string
	Func   string
	NArgs  int
	Routes []string // e.g. ANY_ROUTE, or REQUEST_ROUTE and FAILURE_ROUTE
}

// Kemi is one entry of kemi_exports[]: KSR.<Module>.<Name>.
type Kemi struct{ Module, Name string }

// Exports is everything the documentation must mention.
type Exports struct {
	Params     []Param
	Cmds       []Cmd
	PVs        []string // without '$'
	Kemi       []Kemi
	RPC        []string
	StatsGroup string
	Stats      []string
	Trans      []string // "kz.json", "kz.json.count", "kz.encode"
}

// stripComments removes C comments, keeping string and character literals intact (the
// sources hold URLs such as "amqp://", which a naive "//" strip would cut) and line breaks
// (so that error positions stay meaningful).
func stripComments(src string) string {
	var b strings.Builder
	b.Grow(len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c && src[j] != '\n' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(src) {
				j = len(src) - 1
			}
			b.WriteString(src[i : j+1])
			i = j
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				end = len(src) - i - 2
			}
			b.WriteByte(' ')
			b.WriteString(strings.Repeat("\n", strings.Count(src[i:i+2+end], "\n")))
			i += 2 + end + 1
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			if i < len(src) {
				b.WriteByte('\n')
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// tables returns the initializer bodies (between the outer braces) of every array whose
// declaration matches decl, e.g. `rpc_export_t\s+\w+\s*\[\s*\]\s*=`. src must be stripped
// of comments.
func tables(src string, decl *regexp.Regexp) ([]string, error) {
	var out []string
	for _, loc := range decl.FindAllStringIndex(src, -1) {
		open := strings.IndexByte(src[loc[1]:], '{')
		if open < 0 {
			return nil, fmt.Errorf("no '{' after %q", src[loc[0]:loc[1]])
		}
		start := loc[1] + open
		depth, end := 0, -1
	scan:
		for i := start; i < len(src); i++ {
			switch src[i] {
			case '"', '\'':
				q := src[i]
				for i++; i < len(src) && src[i] != q; i++ {
					if src[i] == '\\' {
						i++
					}
				}
			case '{':
				depth++
			case '}':
				depth--
				if depth == 0 {
					end = i
					break scan
				}
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("unterminated initializer after %q", src[loc[0]:loc[1]])
		}
		out = append(out, src[start+1:end])
	}
	return out, nil
}

func oneTable(src, what string, decl *regexp.Regexp) (string, error) {
	t, err := tables(src, decl)
	if err != nil {
		return "", fmt.Errorf("%s: %v", what, err)
	}
	if len(t) != 1 {
		return "", fmt.Errorf("%s: %d tables match %s, want 1", what, len(t), decl)
	}
	return t[0], nil
}

var (
	reCmdsDecl   = regexp.MustCompile(`cmd_export_t\s+cmds\s*\[\s*\]\s*=`)
	reCmd        = regexp.MustCompile(`\{\s*"([^"]+)"\s*,\s*\(\s*cmd_function\s*\)\s*(\w+)\s*,\s*(\d+)\s*,\s*\w+\s*,\s*\w+\s*,\s*(\w+(?:\s*\|\s*\w+)*)\s*\}`)
	reCmdName    = regexp.MustCompile(`\{\s*"([^"]+)"\s*,\s*\(\s*cmd_function\s*\)`)
	rePVsDecl    = regexp.MustCompile(`pv_export_t\s+\w+\s*\[\s*\]\s*=`)
	rePV         = regexp.MustCompile(`\{\s*\{\s*"([^"]+)"\s*,`)
	reKemiDecl   = regexp.MustCompile(`sr_kemi_t\s+\w+\s*\[\s*\]\s*=`)
	reKemi       = regexp.MustCompile(`\{\s*str_init\(\s*"([^"]*)"\s*\)\s*,\s*str_init\(\s*"([^"]*)"\s*\)`)
	reRPCDecl    = regexp.MustCompile(`rpc_export_t\s+\w+\s*\[\s*\]\s*=`)
	reEntryName  = regexp.MustCompile(`\{\s*"([^"]+)"\s*,`)
	reArrayDecl  = regexp.MustCompile(`\w+\s*\[[^\]\n]*\]\s*=`)
	reStatsGroup = regexp.MustCompile(`register_(?:module_)?stats?\s*\(\s*"([^"]+)"`)
	reStatCall   = regexp.MustCompile(`register_stat\s*\(\s*"[^"]*"\s*,\s*"([^"]+)"`)
	reTransDecl  = regexp.MustCompile(`tr_export_t\s+\w+\s*\[\s*\]\s*=`)
	reTransName  = regexp.MustCompile(`str(?:n?case)?n?cmp\s*\(\s*name\.s\s*,\s*"([^"]+)"`)
)

// readParams reads the modparams of cshim/kz_params.def.
func readParams(root string) ([]Param, error) {
	entries, err := paramsdef.Read(root)
	if err != nil {
		return nil, err
	}
	var out []Param
	for _, e := range entries {
		if e.Modparam() {
			out = append(out, Param{Name: e.Name, Type: e.Type(), Def: e})
		}
	}
	return out, nil
}

func parseMod(src string) (cmds []Cmd, pvs []string, kemi []Kemi, err error) {
	src = stripComments(src)
	body, err := oneTable(src, "cmds[]", reCmdsDecl)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, m := range reCmd.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[3])
		var routes []string
		for _, r := range strings.Split(m[4], "|") {
			routes = append(routes, strings.TrimSpace(r))
		}
		cmds = append(cmds, Cmd{Name: m[1], Func: m[2], NArgs: n, Routes: routes})
	}
	if n := len(reCmdName.FindAllString(body, -1)); n != len(cmds) {
		return nil, nil, nil, fmt.Errorf("cmds[]: %d entries, %d understood", n, len(cmds))
	}
	if body, err = oneTable(src, "pvs[]", rePVsDecl); err != nil {
		return nil, nil, nil, err
	}
	for _, m := range rePV.FindAllStringSubmatch(body, -1) {
		pvs = append(pvs, m[1])
	}
	if body, err = oneTable(src, "kemi_exports[]", reKemiDecl); err != nil {
		return nil, nil, nil, err
	}
	for _, m := range reKemi.FindAllStringSubmatch(body, -1) {
		kemi = append(kemi, Kemi{Module: m[1], Name: m[2]})
	}
	return cmds, pvs, kemi, nil
}

// parseRPC reads every rpc_export_t table of the given sources.
func parseRPC(srcs map[string]string) ([]string, error) {
	var out []string
	for _, name := range sortedKeys(srcs) {
		ts, err := tables(stripComments(srcs[name]), reRPCDecl)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		for _, body := range ts {
			for _, m := range reEntryName.FindAllStringSubmatch(body, -1) {
				out = append(out, m[1])
			}
		}
	}
	return out, nil
}

// parseStats reads the statistics file: every name-keyed entry of its array initializers
// (the stat_export_t table for register_module_stats, and any table of names it hands to
// register_stat, such as {"name", stat_function}) and every register_stat(group, "name")
// call with a literal name. The group is the first literal of a registration call.
func parseStats(src string) (group string, names []string, err error) {
	src = stripComments(src)
	ts, err := tables(src, reArrayDecl)
	if err != nil {
		return "", nil, err
	}
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, body := range ts {
		for _, m := range reEntryName.FindAllStringSubmatch(body, -1) {
			add(m[1])
		}
	}
	for _, m := range reStatCall.FindAllStringSubmatch(src, -1) {
		add(m[1])
	}
	m := reStatsGroup.FindStringSubmatch(src)
	if m == nil {
		return "", nil, fmt.Errorf("no register_module_stats(\"<group>\", ...) nor register_stat(\"<group>\", ...)")
	}
	if len(names) == 0 {
		return "", nil, fmt.Errorf("no statistic names")
	}
	return m[1], names, nil
}

// parseTrans returns "<class>.<name>" for the transformation class registered in
// tr_export_t and every name its parser compares against (name.s).
func parseTrans(src string) ([]string, error) {
	src = stripComments(src)
	body, err := oneTable(src, "tr_export_t", reTransDecl)
	if err != nil {
		return nil, err
	}
	classes := rePV.FindAllStringSubmatch(body, -1) // {{"kz", ...}, kz_tr_parse}
	if len(classes) != 1 {
		return nil, fmt.Errorf("tr_export_t: %d classes, want 1", len(classes))
	}
	var out []string
	for _, m := range reTransName.FindAllStringSubmatch(src, -1) {
		out = append(out, classes[0][1]+"."+m[1])
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// repoRoot walks up from the test's directory to the module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.Contains(b, []byte("module "+modulePath)) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of %s above the test directory", modulePath)
		}
		dir = parent
	}
}

func readFile(t *testing.T, root, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func loadExports(t *testing.T, root string) Exports {
	t.Helper()
	var e Exports
	var err error
	if e.Params, err = readParams(root); err != nil {
		t.Fatal(err)
	}
	if e.Cmds, e.PVs, e.Kemi, err = parseMod(readFile(t, root, "cshim/kz_mod.c")); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "cshim", "*.c"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cshim/*.c (%v)", err)
	}
	srcs := map[string]string{}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		srcs[rel] = readFile(t, root, rel)
	}
	if e.RPC, err = parseRPC(srcs); err != nil {
		t.Fatal(err)
	}
	if e.StatsGroup, e.Stats, err = parseStats(readFile(t, root, "cshim/kz_stats.c")); err != nil {
		t.Fatal(err)
	}
	if e.Trans, err = parseTrans(readFile(t, root, "cshim/kz_json.c")); err != nil {
		t.Fatal(err)
	}
	return e
}

// ---- what the documentation says ----

// Doc is the parsed Markdown: level-3 headings with the text of their sections, and the
// contents of every code span and fenced code block.
type Doc struct {
	Headings []Heading
	Code     []string // inline code spans and fenced blocks
	Inline   []string // inline code spans only
}

// Heading is a "### title" line and the text up to the next heading of level 1 to 3.
type Heading struct {
	Title string
	Body  string
}

var reInlineCode = regexp.MustCompile("`+([^`\n]+?)`+")

func parseDoc(text string) Doc {
	var d Doc
	var prose strings.Builder
	var fence strings.Builder
	inFence := false
	cur := -1
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			if inFence {
				d.Code = append(d.Code, fence.String())
				fence.Reset()
			}
			inFence = !inFence
			if cur >= 0 {
				d.Headings[cur].Body += line + "\n"
			}
			continue
		}
		if inFence {
			fence.WriteString(line + "\n")
			if cur >= 0 {
				d.Headings[cur].Body += line + "\n"
			}
			continue
		}
		prose.WriteString(line + "\n")
		if level, title := headingOf(line); level > 0 && level <= 3 {
			cur = -1
			if level == 3 {
				d.Headings = append(d.Headings, Heading{Title: title})
				cur = len(d.Headings) - 1
			}
			continue
		}
		if cur >= 0 {
			d.Headings[cur].Body += line + "\n"
		}
	}
	if inFence {
		d.Code = append(d.Code, fence.String())
	}
	for _, m := range reInlineCode.FindAllStringSubmatch(prose.String(), -1) {
		d.Code = append(d.Code, m[1])
		d.Inline = append(d.Inline, m[1])
	}
	return d
}

func headingOf(line string) (int, string) {
	n := 0
	for n < len(line) && line[n] == '#' {
		n++
	}
	if n == 0 || n > 6 || (n < len(line) && line[n] != ' ' && line[n] != '\t') {
		return 0, ""
	}
	return n, strings.TrimSpace(line[n:])
}

// headingsFor returns the level-3 headings that document name: "name", "name (type)",
// "name(args)".
func (d Doc) headingsFor(name string) []Heading {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(?:\s|\(|$)`)
	var out []Heading
	for _, h := range d.Headings {
		if re.MatchString(h.Title) {
			out = append(out, h)
		}
	}
	return out
}

// mentions reports whether some code span or block holds token, not as part of a longer
// name: where token begins (ends) with a name character, the byte before (after) it is not
// a letter, digit, '_' or '.' (so "kazoo.subscribe" is not found in "KSR.kazoo.subscribe",
// nor "$kzR" in "$kzRK"; "{kz.json," is found in "{kz.json,path}").
func (d Doc) mentions(token string) bool { return mentionedIn(d.Code, token) }

// mentionsInline is mentions restricted to inline code spans: a bare word such as a
// statistic's name ("events") must not be found in an example or a picture.
func (d Doc) mentionsInline(token string) bool { return mentionedIn(d.Inline, token) }

func mentionedIn(spans []string, token string) bool {
	for _, c := range spans {
		for from := 0; ; {
			i := strings.Index(c[from:], token)
			if i < 0 {
				break
			}
			i += from
			j := i + len(token)
			before := i == 0 || !nameByte(token[0]) || !nameByte(c[i-1])
			after := j == len(c) || !nameByte(token[len(token)-1]) || !nameByte(c[j])
			if before && after {
				return true
			}
			from = i + 1
		}
	}
	return false
}

func nameByte(c byte) bool {
	return c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// arity returns how many arguments a heading such as "f(a, b [, c [, d]])" takes.
func arity(title string) (min, max int, ok bool) {
	open, close := strings.IndexByte(title, '('), strings.LastIndexByte(title, ')')
	if open < 0 || close < open {
		return 0, 0, false
	}
	args := title[open+1 : close]
	count := func(s string) int {
		n := 0
		for _, a := range strings.Split(strings.NewReplacer("[", "", "]", "").Replace(s), ",") {
			if strings.TrimSpace(a) != "" {
				n++
			}
		}
		return n
	}
	required := args
	if i := strings.IndexByte(args, '['); i >= 0 {
		required = args[:i]
	}
	return count(required), count(args), true
}

func loadDoc(t *testing.T, root string) Doc {
	t.Helper()
	return parseDoc(readFile(t, root, docPath))
}

// ---- the checks ----

func TestDocumentsEveryExport(t *testing.T) {
	root := repoRoot(t)
	e := loadExports(t, root)
	d := loadDoc(t, root)
	var missing []string
	miss := func(format string, args ...any) { missing = append(missing, fmt.Sprintf(format, args...)) }

	for _, p := range e.Params {
		hs := d.headingsFor(p.Name)
		if len(hs) == 0 {
			miss("parameter %s: no heading `### %s (%s)`", p.Name, p.Name, p.Type)
			continue
		}
		typed := false
		for _, h := range hs {
			if strings.Contains(h.Title, "("+p.Type+")") {
				typed = true
			}
		}
		if !typed {
			miss("parameter %s: heading %q does not give its type (%s)", p.Name, hs[0].Title, p.Type)
		}
	}

	for _, c := range e.Cmds {
		hs := d.headingsFor(c.Name)
		if len(hs) == 0 {
			miss("function %s: no heading `### %s(...)`", c.Name, c.Name)
			continue
		}
		fits := false
		var bodies strings.Builder
		for _, h := range hs {
			if lo, hi, ok := arity(h.Title); ok && lo <= c.NArgs && c.NArgs <= hi {
				fits = true
			}
			bodies.WriteString(h.Body)
		}
		if !fits {
			miss("function %s: no heading documents its %d-argument form", c.Name, c.NArgs)
		}
		for _, r := range c.Routes {
			if !strings.Contains(bodies.String(), r) {
				miss("function %s: its section does not name the route type %s it is registered for", c.Name, r)
			}
		}
	}

	for _, pv := range e.PVs {
		if !d.mentions("$" + pv) {
			miss("pseudo-variable `$%s`", pv)
		}
	}
	for _, k := range e.Kemi {
		if !d.mentions("KSR." + k.Module + "." + k.Name) {
			miss("KEMI export `KSR.%s.%s`", k.Module, k.Name)
		}
	}
	for _, r := range e.RPC {
		if !d.mentions(r) {
			miss("RPC command `%s`", r)
		}
	}
	for _, s := range e.Stats {
		if !d.mentions(e.StatsGroup+":"+s) && !d.mentionsInline(s) {
			miss("statistic `%s:%s`", e.StatsGroup, s)
		}
	}
	for _, tr := range e.Trans {
		if !d.mentions("{"+tr+",") && !d.mentions("{"+tr+"}") {
			miss("transformation `{%s...}`", tr)
		}
	}

	seen := map[string]bool{}
	unique := missing[:0]
	for _, m := range missing { // a function registered in several forms is reported once
		if !seen[m] {
			seen[m] = true
			unique = append(unique, m)
		}
	}
	missing = unique
	if len(missing) > 0 {
		t.Errorf("%s does not document %d item(s) registered in cshim/:\n  %s", docPath,
			len(missing), strings.Join(missing, "\n  "))
	}
}

// ---- the parsers themselves ----

func TestParsersOnTheShim(t *testing.T) {
	e := loadExports(t, repoRoot(t))

	if len(e.Params) < 40 {
		t.Errorf("found %d parameters, want at least 40", len(e.Params))
	}
	params := map[string]string{}
	for _, p := range e.Params {
		if _, dup := params[p.Name]; dup {
			t.Errorf("parameter %s registered twice", p.Name)
		}
		params[p.Name] = p.Type
	}
	for name, typ := range map[string]string{"node_hostname": "str", "amqp_connection": "str",
		"amqp_consumer_workers": "int", "amqp_timmer_process_interval": "int", "go_maxprocs": "int"} {
		if params[name] != typ {
			t.Errorf("parameter %s: type %q, want %q", name, params[name], typ)
		}
	}

	forms := map[string][]Cmd{}
	for _, c := range e.Cmds {
		forms[c.Name] = append(forms[c.Name], c)
	}
	for _, name := range []string{"kazoo_publish", "kazoo_query", "kazoo_async_query",
		"kazoo_subscribe", "kazoo_json", "kazoo_encode", "kazoo_pua_publish_mwi"} {
		if len(forms[name]) == 0 {
			t.Errorf("function %s not found", name)
		}
	}
	if got := len(forms["kazoo_publish"]); got != 3 {
		t.Errorf("kazoo_publish: %d forms, want 3 (3, 4 and 5 arguments)", got)
	}
	for _, c := range forms["kazoo_publish"] {
		if strings.Join(c.Routes, "|") != "ANY_ROUTE" || c.NArgs < 3 || c.NArgs > 5 {
			t.Errorf("kazoo_publish parsed as %+v", c)
		}
	}
	for _, c := range forms["kazoo_async_query"] {
		if strings.Join(c.Routes, "|") != "REQUEST_ROUTE|FAILURE_ROUTE" {
			t.Errorf("kazoo_async_query routes %v", c.Routes)
		}
	}

	if strings.Join(e.PVs, ",") != "kzR,kzE,kzRK,kzProps,knode,ki,kzTS" {
		t.Errorf("pseudo-variables %v", e.PVs)
	}
	kemi := map[string]bool{}
	for _, k := range e.Kemi {
		if k.Module != "kazoo" {
			t.Errorf("KEMI export %+v outside module kazoo", k)
		}
		kemi[k.Name] = true
	}
	for _, name := range []string{"kazoo_publish", "publish", "query", "json", "subscribe", "pua_publish_mwi"} {
		if !kemi[name] {
			t.Errorf("KEMI export %s not found in %v", name, e.Kemi)
		}
	}
	rpc := strings.Join(e.RPC, ",")
	if !strings.Contains(rpc, "kazoo.subscribe") || !strings.Contains(rpc, "kazoo.unsubscribe") {
		t.Errorf("RPC commands %v", e.RPC)
	}
	if e.StatsGroup != "kazoo" || len(e.Stats) < 5 || e.Stats[0] != "published" {
		t.Errorf("statistics %s: %v", e.StatsGroup, e.Stats)
	}
	sort.Strings(e.Trans)
	if strings.Join(e.Trans, ",") != "kz.encode,kz.filename,kz.json,kz.json.count" {
		t.Errorf("transformations %v", e.Trans)
	}
}

func TestParsersOnSnippets(t *testing.T) {
	src := `
static char *url = "amqp://x/"; /* a string with // and /* inside must survive */
static cmd_export_t cmds[] = {
	{"f", (cmd_function)w_f, 2, fixup_spve_all,
		fixup_free_spve_all, REQUEST_ROUTE | FAILURE_ROUTE},
	{0, 0, 0, 0, 0, 0}
};
static pv_export_t pvs[] = {{{"x", 1}, PVT_OTHER, 0, 0, 0, 0, 0, 0}, {{0, 0}, 0, 0, 0, 0, 0, 0, 0}};
static sr_kemi_t kemi_exports[] = {
	{ str_init("m"), str_init("k"), SR_KEMIP_INT, ki_k, { SR_KEMIP_STR } },
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};
`
	cmds, pvs, kemi, err := parseMod(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 1 || cmds[0].Name != "f" || cmds[0].NArgs != 2 ||
		strings.Join(cmds[0].Routes, ",") != "REQUEST_ROUTE,FAILURE_ROUTE" {
		t.Errorf("cmds %+v", cmds)
	}
	if fmt.Sprint(pvs) != "[x]" || fmt.Sprint(kemi) != "[{m k}]" {
		t.Errorf("pvs %v, kemi %v", pvs, kemi)
	}
	group, stats, err := parseStats(`
static stat_export_t st[] = {
	{"a", 0, &v[0]}, /* {"commented", 0, 0}, */
	{0, 0, 0}
};
static struct { char *name; stat_function fn; } sums[] = {
	{"b", fb},
	{0, 0}
};
int init(void) {
	register_module_stats("grp", st);
	register_stat("grp", "c", (stat_var **)fc, STAT_IS_FUNC);
	for(i = 0; sums[i].name; i++) register_stat("grp", sums[i].name, (stat_var **)sums[i].fn, 0);
}`)
	if err != nil || group != "grp" || strings.Join(stats, ",") != "a,b,c" {
		t.Errorf("stats %s %v (%v)", group, stats, err)
	}
	rpc, err := parseRPC(map[string]string{"a.c": `rpc_export_t r1[] = {{"m.a", f, d, 0}, {0, 0, 0, 0}};`,
		"b.c": `static rpc_export_t r2[] = {
			{"m.b", f, d, 0}, /* {"m.c", f, d, 0}, */ {0, 0, 0, 0}};`})
	if err != nil || strings.Join(rpc, ",") != "m.a,m.b" {
		t.Errorf("rpc %v (%v)", rpc, err)
	}
}

func TestDocHelpers(t *testing.T) {
	d := parseDoc("## 4. Parameters\n\n### node_hostname (str)\n\nText `$kzRK`, `{kz.json,path}` and `KSR.kazoo.subscribe`.\n\n" +
		"### kazoo_query(exchange, routing_key, payload [, target [, amqp_headers]])\n\nRoutes: ANY_ROUTE.\n" +
		"```\nkamcmd stats.get_statistics kazoo:published\n```\n## 5. Next\n\nafter\n")
	if len(d.headingsFor("node_hostname")) != 1 || len(d.headingsFor("node")) != 0 {
		t.Errorf("headings %+v", d.Headings)
	}
	q := d.headingsFor("kazoo_query")
	if len(q) != 1 || !strings.Contains(q[0].Body, "ANY_ROUTE") || strings.Contains(q[0].Body, "after") {
		t.Errorf("kazoo_query section %+v", q)
	}
	if lo, hi, ok := arity(q[0].Title); !ok || lo != 3 || hi != 5 {
		t.Errorf("arity %d..%d %v", lo, hi, ok)
	}
	for token, want := range map[string]bool{"$kzRK": true, "$kzR": false, "KSR.kazoo.subscribe": true,
		"kazoo.subscribe": false, "kazoo:published": true, "published": true, "kazoo:publish": false,
		"{kz.json,": true, "{kz.json}": false, "{kz.json.count,": false} {
		if d.mentions(token) != want {
			t.Errorf("mentions(%q) = %v, want %v", token, !want, want)
		}
	}
	if !d.mentions("stats.get_statistics") || d.mentionsInline("stats.get_statistics") {
		t.Error("fenced blocks: counted by mentions only")
	}
}

// ---- ranges ----

var (
	reDocRange   = regexp.MustCompile(`(?m)^Range: (?:(-?\d+) to (-?\d+)|(any integer))\b`)
	reDocDefault = regexp.MustCompile("(?m)\\bDefault: (?:`([^`]*)`|(-?\\d+)\\b)")
)

// Every int parameter's documentation gives its range as kz_params.def does, a documented
// default is the table's, and "No effect" is said exactly of the parameters the table marks
// KZ_NO_EFFECT.
func TestDocumentsEveryRange(t *testing.T) {
	root := repoRoot(t)
	e := loadExports(t, root)
	d := loadDoc(t, root)
	defaults := 0
	for _, p := range e.Params {
		hs := d.headingsFor(p.Name)
		if len(hs) == 0 {
			continue // TestDocumentsEveryExport says so
		}
		if says := strings.HasPrefix(strings.TrimSpace(hs[0].Body), "No effect"); says != p.Def.NoEffect {
			t.Errorf("%s: documentation starts with \"No effect\": %v, kz_params.def KZ_NO_EFFECT: %v",
				p.Name, says, p.Def.NoEffect)
		}
		// the default the documentation gives, where it gives one; -1 stands for "not set"
		// (amqp_heartbeats, amqp_connect_timeout_*), documented as what it then means
		notSet := p.Def.Default == "-1" && p.Def.Min == -1
		if m := reDocDefault.FindStringSubmatch(hs[0].Body); m != nil && !p.Def.Unset && !notSet &&
			p.Def.Kind != paramsdef.IntAlias && p.Def.Kind != paramsdef.URLs {
			defaults++
			if doc := m[1] + m[2]; doc != p.Def.Default {
				t.Errorf("%s: documented default %q, kz_params.def says %q", p.Name, doc, p.Def.Default)
			}
		}
		if p.Type != "int" {
			continue
		}
		r := p.Def
		m := reDocRange.FindStringSubmatch(hs[0].Body)
		switch {
		case m == nil:
			t.Errorf("%s: no \"Range: <min> to <max>\" line in its documentation", p.Name)
		case r.AnyInt() != (m[3] != ""):
			t.Errorf("%s: documented as %q, kz_params.def says %d to %d", p.Name, m[0], r.Min, r.Max)
		case !r.AnyInt() && (m[1] != strconv.FormatInt(r.Min, 10) || m[2] != strconv.FormatInt(r.Max, 10)):
			t.Errorf("%s: documented as %q, kz_params.def says %d to %d", p.Name, m[0], r.Min, r.Max)
		}
	}
	if defaults < 30 {
		t.Errorf("only %d parameters' documented defaults found", defaults)
	}
}
