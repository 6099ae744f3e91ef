/*
 * kz_wait.c - how a worker waits for kazoo_query's reply and kazoo_publish's confirm: in
 * poll() on an eventfd the Go side writes when the outcome is known, not inside a Go call.
 * A thread blocked in Go would hand the runtime over to the goroutine that reads the
 * broker's answer and back, with thread switches both ways, at every call.
 */
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "core/dprint.h"
#include "kz_go.h"
#include "kz_wait.h"

static int wait_fd = -1;

int kz_wait_fd(void)
{
	if(wait_fd < 0) {
		wait_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if(wait_fd < 0)
			LM_ERR("kazoo: cannot create an eventfd: %s\n", strerror(errno));
	}
	return wait_fd;
}

int64_t kz_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kz_wait_outcome(int64_t deadline)
{
	struct pollfd pfd;
	uint64_t count;
	int64_t left;
	int r;

	for(;;) {
		/* poll() takes an int and waits forever when it is negative: a far deadline is
		 * waited for in slices, never cast */
		left = deadline - kz_monotonic_ms();
		pfd.fd = wait_fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left);
		if(r < 0 && errno == EINTR)
			continue;
		if(r != 0 || left <= INT_MAX)
			break;
	}
	if(r < 0)
		LM_ERR("kazoo: waiting for the broker's answer: %s\n", strerror(errno));
	if(read(wait_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		LM_ERR("kazoo: reading the notification: %s\n", strerror(errno));
	return r > 0;
}

int kz_outcome_take(kz_outcome_t *o, int32_t *rc, int64_t *reply_len)
{
	/* acquire: ready is written last, with release, after the fields below */
	if(!__atomic_load_n(&o->ready, __ATOMIC_ACQUIRE))
		return 0;
	*rc = o->rc;
	if(reply_len)
		*reply_len = o->reply_len;
	kz_err.len = o->err_len;
	return 1;
}
