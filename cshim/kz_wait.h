/* kz_wait.h - a worker waiting in C for an outcome the Go side signals */
#ifndef KAZOO_WAIT_H
#define KAZOO_WAIT_H

#include <stdint.h>

/* this process's eventfd, written by Go when a query's or a publish's outcome is known;
 * created on first use; -1 (logged) if it cannot be */
int kz_wait_fd(void);
int64_t kz_monotonic_ms(void);
/* waits until Go signals (1) or deadline (kz_monotonic_ms) passes (0), then empties the
 * eventfd: a signal after that belongs to a later wait */
int kz_wait_outcome(int64_t deadline);

#endif
