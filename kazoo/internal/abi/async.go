package abi

import (
	"encoding/binary"
	"fmt"
	"time"
)

// An async query record (kazoo_async_query), one datagram from a SIP worker to the consumer
// processes: AsyncFieldCount little-endian uint32 fields in this order (kz_async_field),
// then the bytes of the exchange, routing key, payload and headers back to back.
const (
	AsyncMagic = 0x4b5a4131 // "KZA1"

	AsyncFieldMagic = iota - 1
	AsyncFieldTIndex
	AsyncFieldTLabel
	AsyncFieldReplyRoute
	AsyncFieldFailRoute
	AsyncFieldTimeoutMs
	AsyncFieldExchangeLen
	AsyncFieldRoutingKeyLen
	AsyncFieldPayloadLen
	AsyncFieldHeadersLen
	AsyncFieldCount
)

// AsyncRequest is one kazoo_async_query, sent by a SIP worker that suspended its
// transaction (tindex, tlabel).
type AsyncRequest struct {
	TIndex, TLabel        uint32
	ReplyRoute, FailRoute uint32
	Timeout               time.Duration
	Exchange, RoutingKey  []byte
	Payload, Headers      []byte
}

// DecodeAsync parses a record; the request's byte fields are slices of b.
func DecodeAsync(b []byte) (AsyncRequest, error) {
	var r AsyncRequest
	if len(b) < 4*AsyncFieldCount {
		return r, fmt.Errorf("async record of %d bytes is too short", len(b))
	}
	var f [AsyncFieldCount]uint32
	for i := range f {
		f[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	if f[AsyncFieldMagic] != AsyncMagic {
		return r, fmt.Errorf("async record with bad magic %#x", f[AsyncFieldMagic])
	}
	rest := b[4*AsyncFieldCount:]
	lens := f[AsyncFieldExchangeLen : AsyncFieldHeadersLen+1]
	total := 0
	for _, l := range lens {
		total += int(l)
	}
	if total != len(rest) {
		return r, fmt.Errorf("async record lengths %v do not add up to %d bytes", lens, len(rest))
	}
	take := func(n uint32) []byte { v := rest[:n:n]; rest = rest[n:]; return v }
	r = AsyncRequest{TIndex: f[AsyncFieldTIndex], TLabel: f[AsyncFieldTLabel],
		ReplyRoute: f[AsyncFieldReplyRoute], FailRoute: f[AsyncFieldFailRoute],
		Timeout: time.Duration(f[AsyncFieldTimeoutMs]) * time.Millisecond}
	r.Exchange, r.RoutingKey, r.Payload, r.Headers = take(lens[0]), take(lens[1]), take(lens[2]), take(lens[3])
	return r, nil
}

// EncodeAsync is DecodeAsync's inverse (tests; the shim writes records in C, kz_async.c).
func EncodeAsync(r AsyncRequest) []byte {
	var f [AsyncFieldCount]uint32
	f[AsyncFieldMagic] = AsyncMagic
	f[AsyncFieldTIndex], f[AsyncFieldTLabel] = r.TIndex, r.TLabel
	f[AsyncFieldReplyRoute], f[AsyncFieldFailRoute] = r.ReplyRoute, r.FailRoute
	f[AsyncFieldTimeoutMs] = uint32(r.Timeout / time.Millisecond)
	f[AsyncFieldExchangeLen], f[AsyncFieldRoutingKeyLen] = uint32(len(r.Exchange)), uint32(len(r.RoutingKey))
	f[AsyncFieldPayloadLen], f[AsyncFieldHeadersLen] = uint32(len(r.Payload)), uint32(len(r.Headers))
	b := make([]byte, 0, 4*AsyncFieldCount+len(r.Exchange)+len(r.RoutingKey)+len(r.Payload)+len(r.Headers))
	for _, v := range f {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = append(b, r.Exchange...)
	b = append(b, r.RoutingKey...)
	b = append(b, r.Payload...)
	return append(b, r.Headers...)
}
