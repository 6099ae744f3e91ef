// Package abi is the Go side of cshim/kazoo_abi.h: every constant and record layout that
// the C shim and Go share, and the encoders and decoders of those records. It is plain Go
// (no cgo), so its codecs are unit-tested without Kamailio; the package abicheck compares
// every value here with the header's, in a unit test and at start-up (kzgo_init).
//
// The status codes live in internal/status (every package returns them); abicheck checks
// them too.
package abi

// Version is KZ_ABI_VERSION: bumped with every change of a signature or a layout of the
// header (the shim refuses a Go side built with another one).
const Version = 10
