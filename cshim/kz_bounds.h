/*
 * kz_bounds.h - lengths and offsets the Go side hands back (out-parameters, event records)
 * are checked against the buffer they describe before C uses them. Go keeps them in
 * bounds; the check costs a compare, and a Go bug then fails one call with a line in the
 * log instead of reading or writing past a buffer of a Kamailio process.
 */
#ifndef KZ_BOUNDS_H
#define KZ_BOUNDS_H

#include <stdint.h>
#include <limits.h>
#include "core/dprint.h"

/* 1 when 0 <= len <= cap; otherwise logs which length of which function was wrong, 0 */
#define kz_len_ok(len, cap, what) \
	kz_len_ok_at((int64_t)(len), (int64_t)(cap), (what), __func__)

static inline int kz_len_ok_at(int64_t len, int64_t cap, const char *what, const char *fn)
{
	if(len >= 0 && len <= cap)
		return 1;
	LM_ERR("BUG: %s: the Go side gave %s of %lld for at most %lld: refused\n", fn, what,
			(long long)len, (long long)cap);
	return 0;
}

/* 1 when a buffer of cap bytes was too small for len and len is at most max (the size
 * Go asked for with KZ_ERR_BUFFER); otherwise logs, 0: growing would not help */
#define kz_grow_ok(len, cap, max, what) \
	kz_grow_ok_at((int64_t)(len), (int64_t)(cap), (int64_t)(max), (what), __func__)

static inline int kz_grow_ok_at(
		int64_t len, int64_t cap, int64_t max, const char *what, const char *fn)
{
	if(len > cap && len <= max)
		return 1;
	LM_ERR("BUG: %s: the Go side asked for %s of %lld with a buffer of %lld (at most %lld): "
		   "refused\n",
			fn, what, (long long)len, (long long)cap, (long long)max);
	return 0;
}

/* the length of the text in kz_errbuf, bounded by it (kz_go.c) */
int kz_errlen_checked(void);

#endif
