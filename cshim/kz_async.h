/* kz_async.h - kazoo_async_query / kazoo_query_async */
#ifndef KAZOO_ASYNC_H
#define KAZOO_ASYNC_H

#include <stdint.h>
#include "core/parser/msg_parser.h"

int kz_async_mod_init(void);
/* the socket consumer workers read async query records from */
int kz_async_reader_fd(void);
/* in a consumer worker: resume the transaction of an async event (KZ_EVENT_ASYNC_*) */
void kz_async_resume(int kind, uint32_t *ints, uint8_t *buf, int64_t len);
int kz_async_fixup(void **param, int param_no);
int kz_async_fixup_free(void **param, int param_no);
int w_kazoo_async_query(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route);
int w_kazoo_async_query6(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route, char *flags);
int ki_kazoo_async_query(sip_msg_t *msg, str *exchange, str *routing_key, str *payload,
		str *reply_cb, str *fail_cb);

#endif
