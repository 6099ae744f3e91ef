package kzjson

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

// When KAZOO_JSONC_FUZZ=1, FuzzGet and FuzzPath also compare every input
// with the json-c reference (testdata/jsonc/kzjson.c), kept running in the
// background for the whole fuzzing run.
var fuzzRef struct {
	once sync.Once
	in   io.WriteCloser
	out  *bufio.Reader
}

func jsoncFuzzRef(t *testing.T) bool {
	if os.Getenv("KAZOO_JSONC_FUZZ") != "1" {
		return false
	}
	fuzzRef.once.Do(func() {
		bin := jsoncHarness(t)
		dir, err := os.MkdirTemp("", "kzjson-fuzz")
		if err != nil {
			t.Fatal(err)
		}
		keep := dir + "/kzjson-ref"
		if err := os.Rename(bin, keep); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(keep)
		fuzzRef.in, _ = cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		fuzzRef.out = bufio.NewReader(out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(dir) // the running process keeps its executable
	})
	return fuzzRef.in != nil
}

// askJSONC sends one query to the background reference and reads its answer
// in the format ours produces.
func askJSONC(t *testing.T, q query) string {
	var b bytes.Buffer
	var l [4]byte
	b.WriteByte(q.mode)
	b.WriteByte(q.escape)
	binary.LittleEndian.PutUint32(l[:], uint32(len(q.doc)))
	b.Write(l[:])
	b.Write(q.doc)
	binary.LittleEndian.PutUint32(l[:], uint32(len(q.path)))
	b.Write(l[:])
	b.Write(q.path)
	if _, err := fuzzRef.in.Write(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	line, err := fuzzRef.out.ReadString('\n')
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	line = line[:len(line)-1]
	if rest, ok := bytes.CutPrefix([]byte(line), []byte("VAL ")); ok {
		n, _ := strconv.Atoi(string(rest))
		v := make([]byte, n+1)
		if _, err := io.ReadFull(fuzzRef.out, v); err != nil {
			t.Fatal(err)
		}
		return "VAL " + string(v[:n])
	}
	if rest, ok := bytes.CutPrefix([]byte(line), []byte("KEYS ")); ok {
		n, _ := strconv.Atoi(string(rest))
		for i := 0; i < n; i++ {
			l, _ := fuzzRef.out.ReadString('\n')
			k, _ := strconv.Atoi(l[:len(l)-1])
			v := make([]byte, k+1)
			io.ReadFull(fuzzRef.out, v)
			line += "|" + string(v[:k])
		}
	}
	return line
}

func addGetSeeds(f *testing.F) {
	for _, c := range getCases {
		f.Add([]byte(c.doc), []byte(c.path))
	}
	f.Add([]byte(routeReq), []byte("Media-Servers[1].Interfaces"))
}

// FuzzGet: no panic; an object or array result re-parses to itself (json-c
// output is a fixed point), and is valid JSON when the document is; with
// KAZOO_JSONC_FUZZ=1, Get, Count, Keys and the root serialisation equal
// json-c's.
func FuzzGet(f *testing.F) {
	addGetSeeds(f)
	var e, e2 Evaluator
	f.Fuzz(func(t *testing.T, doc, path []byte) {
		out, kind, err := e.Get(nil, doc, path, '%')
		if (err != nil) != (kind == Invalid) {
			t.Fatalf("kind %v, error %v", kind, err)
		}
		if kind == Object || kind == Array {
			if !e2.load(out) || string(e2.appendJSON(nil, int(e2.sc.root))) != string(out) {
				t.Fatalf("output %q does not re-parse to itself", out)
			}
			if json.Valid(doc) && !json.Valid(out) {
				t.Fatalf("valid document, invalid output %q", out)
			}
		}
		if jsoncFuzzRef(t) {
			for _, m := range []byte{'G', 'C', 'K', 'D'} {
				q := query{m, '%', doc, path}
				if want, got := askJSONC(t, q), ours(&e, q); got != want {
					t.Fatalf("mode %c: json-c %q, ours %q", m, want, got)
				}
			}
		}
	})
}

// FuzzPath: any path and escape character on a fixed document: no panic,
// Invalid exactly for the paths C aborts on; with KAZOO_JSONC_FUZZ=1 the
// results equal json-c's.
func FuzzPath(f *testing.F) {
	for _, p := range benchPaths {
		f.Add([]byte(p), byte('%'))
	}
	for _, c := range getCases {
		f.Add([]byte(c.path), byte('%'))
	}
	f.Add([]byte("Flags.media#bypass"), byte('#'))
	f.Add([]byte("Media-Servers[1%0]"), byte('['))
	doc := []byte(routeReq)
	var e Evaluator
	f.Fuzz(func(t *testing.T, path []byte, escape byte) {
		_, kind, err := e.Get(nil, doc, path, escape)
		p := path
		if i := bytes.IndexByte(p, 0); i >= 0 {
			p = p[:i]
		}
		if (kind == Invalid) != !checkPath(p) || (err != nil) != (kind == Invalid) {
			t.Fatalf("kind %v, error %v", kind, err)
		}
		if escape != 0 && jsoncFuzzRef(t) {
			for _, m := range []byte{'G', 'C', 'K'} {
				q := query{m, escape, doc, path}
				if want, got := askJSONC(t, q), ours(&e, q); got != want {
					t.Fatalf("mode %c: json-c %q, ours %q", m, want, got)
				}
			}
		}
	})
}

// FuzzEncode: no panic; only routing-key-safe bytes, '%XX' and '+' in the
// output (or the input itself when it is "#" or "*"); at most 257 bytes;
// decoding the output gives back a prefix of the input.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"a.b c#d*e/f+g_h-i~j:k@l", "#", "*", "", "é", "\x00\xff", "##"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		out := Encode(nil, s)
		if len(s) == 1 && (s[0] == '#' || s[0] == '*') {
			if string(out) != string(s) {
				t.Fatalf("%q -> %q", s, out)
			}
			return
		}
		if len(out) > MaxRoutingKeySize+2 {
			t.Fatalf("output of %d bytes", len(out))
		}
		var dec []byte
		for i := 0; i < len(out); i++ {
			c := out[i]
			switch {
			case keySafe[c]:
				dec = append(dec, c)
			case c == '+':
				dec = append(dec, ' ')
			case c == '%' && i+2 < len(out) && bytes.IndexByte([]byte(upperHex), out[i+1]) >= 0 &&
				bytes.IndexByte([]byte(upperHex), out[i+2]) >= 0:
				v, _ := strconv.ParseUint(string(out[i+1:i+3]), 16, 8)
				dec = append(dec, byte(v))
				i += 2
			default:
				t.Fatalf("%q -> %q: byte %q at %d", s, out, c, i)
			}
		}
		if !bytes.HasPrefix(s, dec) || len(dec) < len(s) && len(out) < MaxRoutingKeySize {
			t.Fatalf("%q -> %q decodes to %q", s, out, dec)
		}
	})
}
