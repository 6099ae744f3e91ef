package klog

import (
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/abi"
)

// The record limit is kazoo_abi.h's KZ_LOG_RECORD_MAX (abi, which abicheck compares with
// the header); the levels are compared there directly.
func TestRecordMaxIsTheABIs(t *testing.T) {
	if recordMax != abi.LogRecordMax {
		t.Fatalf("klog writes records of up to %d bytes, kazoo_abi.h says %d", recordMax, abi.LogRecordMax)
	}
}
