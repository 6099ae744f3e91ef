/* kz_le.h - the little-endian fields of kazoo_abi.h's records (async queries, presentity
 * rows, status slots), read and written the same way everywhere in the shim. */
#ifndef KAZOO_LE_H
#define KAZOO_LE_H

#include <stdint.h>

static inline uint32_t kz_le32(const uint8_t *p)
{
	return p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline int64_t kz_le64(const uint8_t *p)
{
	return (int64_t)((uint64_t)kz_le32(p) | ((uint64_t)kz_le32(p + 4) << 32));
}

/* writes v at `at`; returns the 4 bytes written */
static inline int kz_put_le32(uint8_t *at, uint32_t v)
{
	at[0] = v & 0xff;
	at[1] = (v >> 8) & 0xff;
	at[2] = (v >> 16) & 0xff;
	at[3] = (v >> 24) & 0xff;
	return 4;
}

#endif
