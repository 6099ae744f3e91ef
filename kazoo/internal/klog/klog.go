// Package klog sends the Go side's own log lines to Kamailio's log.
//
// Goroutines must never call Kamailio's logging (it is not thread-safe and uses the
// calling process's state), so each line is written as one record to a pipe whose read
// end belongs to the module's "kazoo log relay" process, a plain C process that prints
// it with Kamailio's LOG macros. Record format (cshim/kazoo_abi.h): "<level><pid>|<text>\n",
// one write(2) of at most 4096 bytes, which a pipe keeps whole. The pipe is non-blocking:
// when it is full the line is dropped and counted, so a stuck relay never stalls a SIP worker.
package klog

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// Level follows Kamailio's order; the numbers are kz_log_level of the ABI header.
type Level int

const (
	Err    Level = 1
	Warn   Level = 2
	Notice Level = 3
	Info   Level = 4
	Debug  Level = 5
)

// recordMax is KZ_LOG_RECORD_MAX: the largest write a pipe keeps whole (PIPE_BUF).
const recordMax = 4096

// Logger writes records; the zero value discards everything.
type Logger struct {
	mu      sync.Mutex
	w       io.Writer
	fd      int
	max     Level
	pid     int
	buf     []byte
	esc     []byte // sanitize's other buffer
	dropped atomic.Uint64
	limit   limiter
}

// NewPipe logs to the relay pipe fd, printing levels up to max.
func NewPipe(fd int, max Level) *Logger {
	return &Logger{fd: fd, max: max, pid: os.Getpid(), buf: make([]byte, 0, recordMax)}
}

// NewWriter logs to w (tests, tools), printing levels up to max.
func NewWriter(w io.Writer, max Level) *Logger {
	return &Logger{w: w, fd: -1, max: max, pid: os.Getpid(), buf: make([]byte, 0, recordMax)}
}

// FromKamailioDebug maps Kamailio's `debug` level (L_ERR=-1 ... L_DBG=3) to a Level threshold.
func FromKamailioDebug(debug int) Level {
	l := Level(debug + 2)
	if l < Err {
		return Err
	}
	if l > Debug {
		return Debug
	}
	return l
}

// Enabled tells whether a line of level l would be written (to skip costly formatting).
func (l *Logger) Enabled(level Level) bool {
	return l != nil && (l.w != nil || l.fd >= 0) && level <= l.max
}

// Dropped counts lines lost because the relay pipe was full.
func (l *Logger) Dropped() uint64 { return l.dropped.Load() }

// Logf writes one line.
func (l *Logger) Logf(level Level, format string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := append(l.buf[:0], byte('0'+level))
	b = strconv.AppendInt(b, int64(l.pid), 10)
	b = append(b, '|')
	start := len(b)
	b = fmt.Appendf(b, format, args...)
	b, l.esc = sanitize(b, start, l.esc) // one record, one line, no control characters
	if len(b) > recordMax-1 {
		b = append(b[:recordMax-4], "..."...)
	}
	b = append(b, '\n')
	l.buf = b[:0]
	if l.w != nil {
		_, _ = l.w.Write(b)
		return
	}
	for {
		_, err := syscall.Write(l.fd, b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			l.dropped.Add(1)
		}
		return
	}
}

func (l *Logger) Errorf(format string, args ...any) { l.Logf(Err, format, args...) }
func (l *Logger) Warnf(format string, args ...any)  { l.Logf(Warn, format, args...) }
func (l *Logger) Infof(format string, args ...any)  { l.Logf(Info, format, args...) }
func (l *Logger) Debugf(format string, args ...any) { l.Logf(Debug, format, args...) }
