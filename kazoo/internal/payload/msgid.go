package payload

import "crypto/rand"

// NewMsgID appends a random RFC 4122 version-4 UUID in lower-case text form
// (36 bytes, e.g. 0d4c0c4e-6a3c-4b1e-9f3e-2c7d9b1a5e42) to dst. Kazoo uses it
// as Msg-ID.
//
// The bytes come from crypto/rand. This is unpredictable, and since Go 1.24
// it is also cheap. crypto/rand.Read does not let its argument escape when
// the default Reader is in use, so the call does not allocate. On Linux 6.11
// and later it is served by the vDSO getrandom, with no system call and no
// lock: about 50 ns, which is small next to an AMQP publish. 122 random bits
// make Msg-ID collisions across a cluster negligible without any
// coordination.
func NewMsgID(dst []byte) []byte {
	var u [16]byte
	_, _ = rand.Read(u[:])  // never fails; a broken OS source crashes the program
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10 (RFC 4122)

	var text [36]byte
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			text[j] = '-'
			j++
		}
		text[j], text[j+1] = hexDigits[b>>4], hexDigits[b&0xf]
		j += 2
	}
	return append(dst, text[:]...)
}
