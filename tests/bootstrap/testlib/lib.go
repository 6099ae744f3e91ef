// Package main is a tiny c-shared library built the way kazoo.so is built (with
// cshim/go_runtime.c and -Wl,--wrap=pthread_create), used by bootstrap_test.go to prove,
// for the Go toolchain at hand, that the runtime bootstrap is captured at dlopen and that a
// runtime started after fork is healthy.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../../../cshim
#cgo LDFLAGS: -Wl,--wrap=pthread_create
#include "go_runtime.h"
*/
import "C"

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// SelfTest exercises what hangs in a forked child whose runtime came from the parent:
// goroutines, timers, the network poller and the garbage collector. 0 = healthy.
//
//export SelfTest
func SelfTest() C.int {
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); time.Sleep(time.Millisecond) }()
	}
	wg.Wait()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			_, _ = c.Write([]byte("ok"))
			c.Close()
		}
	}()
	c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
	if err != nil {
		return 2
	}
	buf := make([]byte, 2)
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	if n, _ := c.Read(buf); n != 2 {
		return 3
	}
	c.Close()
	runtime.GC()
	return 0
}

func main() {}
