/* kz_subscribe.h - kazoo_subscribe / kazoo_unsubscribe, script, KEMI and RPC */
#ifndef KAZOO_SUBSCRIBE_H
#define KAZOO_SUBSCRIBE_H

#include "core/parser/msg_parser.h"
#include "core/rpc.h"

int w_kazoo_subscribe(sip_msg_t *msg, char *desc);
int w_kazoo_subscribe4(sip_msg_t *msg, char *exchange, char *type, char *queue, char *rk);
int w_kazoo_unsubscribe(sip_msg_t *msg, char *name);
int w_kazoo_declare_exchange(sip_msg_t *msg, char *desc);
int ki_kazoo_subscribe(sip_msg_t *msg, str *desc);
int ki_kazoo_subscribe_simple(
		sip_msg_t *msg, str *exchange, str *type, str *queue, str *routing_key);
int ki_kazoo_unsubscribe(sip_msg_t *msg, str *name);

extern rpc_export_t kz_subscribe_rpc[];

#endif
