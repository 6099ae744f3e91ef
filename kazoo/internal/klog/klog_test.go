package klog

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestRecordFormat(t *testing.T) {
	var b bytes.Buffer
	l := NewWriter(&b, Info)
	l.Infof("connected to %s\nsecond line", "broker")
	l.Debugf("not printed at Info")
	want := "4" + strconv.Itoa(os.Getpid()) + "|connected to broker\\nsecond line\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	l.Errorf("%s", strings.Repeat("x", 10000))
	if b.Len() != recordMax || !strings.HasSuffix(b.String(), "...\n") {
		t.Fatalf("a long line became %d bytes", b.Len())
	}
}

func TestFromKamailioDebug(t *testing.T) {
	for debug, want := range map[int]Level{-5: Err, -1: Err, 0: Warn, 1: Notice, 2: Info, 3: Debug, 9: Debug} {
		if got := FromKamailioDebug(debug); got != want {
			t.Errorf("debug %d: %d, want %d", debug, got, want)
		}
	}
}

// A full relay pipe drops lines instead of blocking the caller.
func TestFullPipeDrops(t *testing.T) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	l := NewPipe(p[1], Info)
	for i := 0; i < 100; i++ { // 100 x 4 KB > the 64 KB of a pipe
		l.Infof("%s", strings.Repeat("y", 4000))
	}
	if l.Dropped() == 0 {
		t.Fatal("nothing was dropped")
	}
}
