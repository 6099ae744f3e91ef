//go:build kazoo_so

// Command kazoo is built with -buildmode=c-shared into kazoo.so, Kamailio's kazoo module:
// the C shim (cshim/, compiled in through the cshim_*.c files of this directory) registers
// everything with Kamailio and calls the exports of exports.go. See the README.
package main

func main() {}
