package kzjson

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// jsoncHarness builds testdata/jsonc/kzjson.c, the C module's lookup code
// run against the real json-c. It skips the test when there is no C
// compiler or no libjson-c.so.5, and when KAZOO_JSONC_DIFF=0.
func jsoncHarness(t testing.TB) string {
	if os.Getenv("KAZOO_JSONC_DIFF") == "0" {
		t.Skip("KAZOO_JSONC_DIFF=0")
	}
	var libs []string
	for _, pattern := range []string{"/usr/lib/*/libjson-c.so.5", "/usr/lib/libjson-c.so.5", "/usr/lib64/libjson-c.so.5"} {
		found, _ := filepath.Glob(pattern)
		libs = append(libs, found...)
	}
	if len(libs) == 0 {
		t.Skip("libjson-c.so.5 not found")
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	bin := filepath.Join(t.TempDir(), "kzjson-ref")
	if out, err := exec.Command(cc, "-O1", "-o", bin, "testdata/jsonc/kzjson.c", libs[0]).CombinedOutput(); err != nil {
		t.Skipf("cannot build the json-c reference: %v\n%s", err, out)
	}
	return bin
}

type query struct {
	mode   byte // 'G' get, 'C' count, 'K' keys, 'D' dump the root
	escape byte
	doc    []byte
	path   []byte
}

// runJSONC returns the reference's answer for every query.
func runJSONC(t testing.TB, bin string, qs []query) []string {
	cmd := exec.Command(bin)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		w := bufio.NewWriter(in)
		var l [4]byte
		for _, q := range qs {
			w.WriteByte(q.mode)
			w.WriteByte(q.escape)
			binary.LittleEndian.PutUint32(l[:], uint32(len(q.doc)))
			w.Write(l[:])
			w.Write(q.doc)
			binary.LittleEndian.PutUint32(l[:], uint32(len(q.path)))
			w.Write(l[:])
			w.Write(q.path)
		}
		w.Flush()
		in.Close()
	}()
	r := bufio.NewReader(outPipe)
	readBlob := func(n int) string {
		b := make([]byte, n+1)
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatalf("reference output: %v", err)
		}
		return string(b[:n])
	}
	res := make([]string, 0, len(qs))
	for range qs {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reference died after %d answers: %v", len(res), err)
		}
		line = line[:len(line)-1]
		var head string
		var n int
		fmt.Sscanf(line, "%s %d", &head, &n)
		switch head {
		case "VAL":
			line = "VAL " + readBlob(n)
		case "KEYS":
			var b bytes.Buffer
			b.WriteString(line)
			for i := 0; i < n; i++ {
				l, _ := r.ReadString('\n')
				k, _ := strconv.Atoi(l[:len(l)-1])
				b.WriteString("|" + readBlob(k))
			}
			line = b.String()
		}
		res = append(res, line)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return res
}

// ours answers a query in the reference's format.
func ours(e *Evaluator, q query) string {
	var err error
	switch q.mode {
	case 'D':
		if !e.load(q.doc) {
			return "INVALID"
		}
		return "VAL " + string(e.appendJSON(nil, int(e.sc.root)))
	case 'G':
		var out []byte
		var k Kind
		out, k, err = e.Get(nil, q.doc, q.path, q.escape)
		if err == nil {
			if k == Missing || k == Null {
				return "NULL"
			}
			return "VAL " + string(out)
		}
	case 'C':
		var n int
		n, err = e.Count(q.doc, q.path, q.escape)
		if err == nil {
			return "COUNT " + strconv.Itoa(n)
		}
	case 'K':
		var out []byte
		out, err = e.Keys(nil, q.doc, q.path, q.escape)
		if err == nil {
			keys := bytes.Split(out, []byte{0})
			keys = keys[:len(keys)-1]
			s := "KEYS " + strconv.Itoa(len(keys))
			for _, k := range keys {
				s += "|" + string(k)
			}
			return s
		}
	}
	switch err {
	case ErrInvalidJSON:
		return "INVALID"
	case ErrPath:
		return "ABORT"
	}
	return "ERROR " + err.Error()
}

// TestAgainstJSONC compares Get, Count, Keys and the serialiser with the C
// module's code running on the real json-c, on the table corpus, the
// benchmark payload and many random documents and paths. There are no
// expected differences: the harness prints ABORT where the C module
// aborts, and KEYS 0 where it crashes.
func TestAgainstJSONC(t *testing.T) {
	bin := jsoncHarness(t)
	var qs []query
	add := func(doc, path string, esc byte) {
		for _, m := range []byte{'G', 'C', 'K'} {
			qs = append(qs, query{m, esc, []byte(doc), []byte(path)})
		}
	}
	for _, c := range getCases {
		esc := c.esc
		if esc == 0 {
			esc = '%'
		}
		add(c.doc, c.path, esc)
		qs = append(qs, query{'D', esc, []byte(c.doc), nil})
	}
	for _, p := range benchPaths {
		add(routeReq, p, '%')
	}
	qs = append(qs, query{'D', '%', []byte(routeReq), nil})
	seed := uint64(1)
	if s := os.Getenv("KZJSON_DIFF_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	n := 4000
	if testing.Short() {
		n = 500
	}
	g := &docGen{r: rand.New(rand.NewPCG(seed, 7))}
	var e Evaluator
	for i := 0; i < n; i++ {
		doc := g.doc()
		qs = append(qs, query{'D', '%', doc, nil})
		valid := e.load(doc)
		for j := 0; j < 8; j++ {
			path := g.path()
			if valid && j < 5 {
				path = g.walkPath(&e)
			}
			esc := byte('%')
			if g.r.IntN(10) == 0 {
				esc = g.pick("#", "[", ".", "a")[0]
			}
			qs = append(qs, query{"GGGCK"[g.r.IntN(5)], esc, doc, path})
		}
	}
	for i := 0; i < 5*n; i++ {
		doc := g.soup()
		qs = append(qs, query{'D', '%', doc, nil}, query{'G', '%', doc, []byte("a")})
	}
	refs := runJSONC(t, bin, qs)
	failures := 0
	stats := map[string]int{}
	for i, q := range qs {
		got := ours(&e, q)
		want := refs[i]
		head, _, _ := bytes.Cut([]byte(want), []byte(" "))
		stats[string(q.mode)+" "+string(head)]++
		if got != want {
			failures++
			if failures <= 25 {
				t.Errorf("mode %c escape %q\n  doc:  %q\n  path: %q\n  json-c: %q\n  ours:   %q",
					q.mode, q.escape, q.doc, q.path, want, got)
			}
		}
	}
	t.Logf("%d queries, %d differences; answers: %v", len(qs), failures, stats)
}
