//go:build kazoo_so

// Command kazoo is built with -buildmode=c-shared into kazoo.so, Kamailio's kazoo module:
// the C shim (cshim/, compiled by make into an archive that the link pulls in) registers
// everything with Kamailio and calls the exports of exports.go. See the README.
package main

func main() {}
