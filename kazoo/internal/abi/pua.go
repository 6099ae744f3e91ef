package abi

import (
	"encoding/binary"
	"strconv"

	"github.com/kazoo-so/kazoo-go/kazoo/internal/pua"
)

// The script function a presentity row is built for (kz_pua_kind).
const (
	PuaAny      = 0 // kazoo_pua_publish
	PuaMWI      = 1 // kazoo_pua_publish_mwi
	PuaPresence = 2 // kazoo_pua_publish_presence
	PuaDialog   = 3 // kazoo_pua_publish_dialoginfo
)

// The fields of a presentity row, in the order kzgo_pua_row writes them (kz_pua_field).
const (
	PuaFieldEvent = iota
	PuaFieldDomain
	PuaFieldUsername
	PuaFieldEtag
	PuaFieldSender
	PuaFieldBody
	PuaFieldExpires
	PuaFieldReceivedTime
	PuaFieldReset
	PuaFieldCount
)

// AppendPuaRow appends row as kzgo_pua_row's record: PuaFieldCount fields in that order,
// each a little-endian uint32 length and its bytes (numbers as decimal text).
func AppendPuaRow(dst []byte, row pua.Row) []byte {
	var num [PuaFieldCount][20]byte
	var f [PuaFieldCount][]byte
	f[PuaFieldEvent] = []byte(row.Event)
	f[PuaFieldDomain] = []byte(row.Domain)
	f[PuaFieldUsername] = []byte(row.Username)
	f[PuaFieldEtag] = []byte(row.Etag)
	f[PuaFieldSender] = []byte(row.Sender)
	f[PuaFieldBody] = row.Body
	f[PuaFieldExpires] = strconv.AppendInt(num[PuaFieldExpires][:0], row.Expires, 10)
	f[PuaFieldReceivedTime] = strconv.AppendInt(num[PuaFieldReceivedTime][:0], row.ReceivedTime, 10)
	f[PuaFieldReset] = strconv.AppendInt(num[PuaFieldReset][:0], int64(row.Reset), 10)
	for _, b := range f {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(b)))
		dst = append(dst, b...)
	}
	return dst
}

// DecodePuaRow splits a record into its fields (tests; the shim reads rows in C, kz_pua.c).
func DecodePuaRow(b []byte) (f [PuaFieldCount][]byte, ok bool) {
	for i := range f {
		if len(b) < 4 {
			return f, false
		}
		n := binary.LittleEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return f, false
		}
		f[i], b = b[:n:n], b[n:]
	}
	return f, len(b) == 0
}
