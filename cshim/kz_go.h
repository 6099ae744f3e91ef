/*
 * kz_go.h - the Go side's lifecycle in Kamailio's processes: which process starts a Go
 * runtime and when, the configuration handed to it, and the relay of its log lines.
 */
#ifndef KAZOO_GO_H
#define KAZOO_GO_H

#include "kazoo_abi.h"
#include "core/str.h"

/* main process, mod_init: check the bootstrap capture, create the log pipe, build the
 * configuration, register the log relay process. 0 or -1 (logged). */
int kz_go_mod_init(void);

/* main process, child_init(PROC_MAIN): fork the log relay process. */
int kz_go_fork_relay(void);

/* child_init(rank): SIP workers start Go before they serve traffic. */
int kz_go_child_init(int rank);

/* 0 when Go runs in this process, starting it now if this process may start it
 * (a forked child that has not started it yet); -1 (logged once) otherwise.
 * Every shim entry into Go calls this first: a Go export called where the runtime was
 * never started would block forever. */
int kz_go_ensure(void);

/* 1 when Go runs in this process (never starts it) */
int kz_go_running(void);

/* add a "key\0value\0" record to the configuration handed to Go (mod_init only);
 * val_len < 0: val is 0-terminated */
int kz_go_cfg_add(const char *key, const char *val, int val_len);
int kz_go_cfg_add_int(const char *key, int v);

/* 1 in a kazoo consumer process (set before its kz_go_ensure): Go picks the
 * role's defaults, such as the heartbeat */
extern int kz_go_consumer_process;

/* a C-owned buffer for Go's error messages: kz_err (the err argument of the kzgo_*
 * entries) describes kz_errbuf; kz_errlen_checked() (kz_bounds.h) bounds its length */
#define KZ_ERRBUF_SIZE 1024
extern unsigned char kz_errbuf[KZ_ERRBUF_SIZE];
extern kz_buf_t kz_err;

/* grows the process's pkg buffer *buf (capacity *cap) to size bytes, for a result Go said
 * needs more room (KZ_ERR_BUFFER); 0, or -1 (logged, buffer unchanged) */
int kz_pkg_grow(uint8_t **buf, int64_t *cap, int64_t size);

/* a Kamailio str (NULL: empty) as a kz_bytes_t, without copying */
static inline kz_bytes_t kz_bytes(const str *s)
{
	if(s == NULL)
		return (kz_bytes_t){NULL, 0};
	return (kz_bytes_t){(uint8_t *)s->s, s->len};
}

#endif
