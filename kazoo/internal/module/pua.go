package module

import (
	"encoding/binary"
	"strconv"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/pua"
)

// AppendPuaRow appends row as kazoo_abi.h's presentity record: event, domain, username,
// etag, sender, body, expires, received_time, reset, each a little-endian uint32 length
// and its bytes (numbers as decimal text).
func AppendPuaRow(dst []byte, row pua.Row) []byte {
	field := func(b []byte) {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
		dst = append(dst, b...)
	}
	for _, s := range []string{row.Event, row.Domain, row.Username, row.Etag, row.Sender} {
		field([]byte(s))
	}
	field(row.Body)
	field(strconv.AppendInt(nil, row.Expires, 10))
	field(strconv.AppendInt(nil, row.ReceivedTime, 10))
	field(strconv.AppendInt(nil, int64(row.Reset), 10))
	return dst
}
