/* kz_wait.h - a worker waiting in C for an outcome the Go side signals */
#ifndef KAZOO_WAIT_H
#define KAZOO_WAIT_H

#include <stdint.h>
#include "kazoo_abi.h"

/* this process's eventfd, written by Go when a query's or a publish's outcome is known;
 * created on first use; -1 (logged) if it cannot be */
int kz_wait_fd(void);
int64_t kz_monotonic_ms(void);
/* waits until Go signals (1) or deadline (kz_monotonic_ms) passes (0), then empties the
 * eventfd: a signal after that belongs to a later wait */
int kz_wait_outcome(int64_t deadline);
/* after a wait: 1 when Go wrote the outcome into o (reset before the start call), with
 * *rc, *reply_len (may be NULL) and kz_err.len set from it; 0 when it did not, and the
 * finish call collects the outcome */
int kz_outcome_take(kz_outcome_t *o, int32_t *rc, int64_t *reply_len);

#endif
