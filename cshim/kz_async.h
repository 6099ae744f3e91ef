/* kz_async.h - kazoo_async_query / kazoo_query_async and the consumer process */
#ifndef KAZOO_ASYNC_H
#define KAZOO_ASYNC_H

#include "core/parser/msg_parser.h"

int kz_async_mod_init(void);
int kz_async_fork(void);
int kz_async_fixup(void **param, int param_no);
int kz_async_fixup_free(void **param, int param_no);
int w_kazoo_async_query(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route);
int w_kazoo_async_query6(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route, char *flags);

#endif
