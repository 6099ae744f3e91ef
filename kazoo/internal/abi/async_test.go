package abi

import (
	"encoding/binary"
	"reflect"
	"testing"
	"time"
)

func TestAsyncRecordRoundTrip(t *testing.T) {
	in := AsyncRequest{TIndex: 7, TLabel: 99, ReplyRoute: 2, FailRoute: 3, Timeout: 1500 * time.Millisecond,
		Exchange: []byte("callmgr"), RoutingKey: []byte("authn.req.x"), Payload: []byte(`{"a":1}`), Headers: []byte{}}
	out, err := DecodeAsync(EncodeAsync(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("%+v != %+v", out, in)
	}
	b := EncodeAsync(in)
	for _, bad := range [][]byte{b[:10], append(append([]byte{}, b...), 'x'), append([]byte{0, 0, 0, 0}, b[4:]...)} {
		if _, err := DecodeAsync(bad); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// The record as kz_async.c writes it: the fields by index, then the bytes.
func TestAsyncRecordLayout(t *testing.T) {
	b := EncodeAsync(AsyncRequest{TIndex: 1, TLabel: 2, ReplyRoute: 3, FailRoute: 4, Timeout: 5 * time.Millisecond,
		Exchange: []byte("ex"), RoutingKey: []byte("rk"), Payload: []byte("{}"), Headers: []byte("h=1")})
	want := map[int]uint32{AsyncFieldMagic: 0x4b5a4131, AsyncFieldTIndex: 1, AsyncFieldTLabel: 2,
		AsyncFieldReplyRoute: 3, AsyncFieldFailRoute: 4, AsyncFieldTimeoutMs: 5, AsyncFieldExchangeLen: 2,
		AsyncFieldRoutingKeyLen: 2, AsyncFieldPayloadLen: 2, AsyncFieldHeadersLen: 3}
	if len(want) != AsyncFieldCount {
		t.Fatalf("%d fields checked, %d in a record", len(want), AsyncFieldCount)
	}
	for i, v := range want {
		if got := binary.LittleEndian.Uint32(b[4*i:]); got != v {
			t.Errorf("field %d: %d, want %d", i, got, v)
		}
	}
	if rest := string(b[4*AsyncFieldCount:]); rest != "exrk{}h=1" {
		t.Errorf("bytes %q", rest)
	}
}
