package abi

import (
	"testing"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/pua"
)

func TestPuaRow(t *testing.T) {
	row := pua.Row{Event: "presence", Domain: "d.example", Username: "alice", Etag: "e1", Sender: "s",
		Body: []byte("<xml/>"), Expires: 1700000000, ReceivedTime: 1690000000, Reset: 2}
	f, ok := DecodePuaRow(AppendPuaRow([]byte("x"), row)[1:])
	if !ok {
		t.Fatal("row does not decode")
	}
	want := [PuaFieldCount]string{PuaFieldEvent: "presence", PuaFieldDomain: "d.example", PuaFieldUsername: "alice",
		PuaFieldEtag: "e1", PuaFieldSender: "s", PuaFieldBody: "<xml/>", PuaFieldExpires: "1700000000",
		PuaFieldReceivedTime: "1690000000", PuaFieldReset: "2"}
	for i := range want {
		if string(f[i]) != want[i] {
			t.Errorf("field %d: %q, want %q", i, f[i], want[i])
		}
	}
	if _, ok := DecodePuaRow(AppendPuaRow(nil, row)[:20]); ok {
		t.Error("a cut row decodes")
	}
}
