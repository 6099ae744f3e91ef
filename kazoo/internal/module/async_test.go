package module

import (
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
