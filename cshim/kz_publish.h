/* kz_publish.h - kazoo_publish */
#ifndef KAZOO_PUBLISH_H
#define KAZOO_PUBLISH_H

#include "core/parser/msg_parser.h"
#include "core/str.h"

int w_kazoo_publish(sip_msg_t *msg, char *exchange, char *routing_key, char *payload);
int w_kazoo_publish_hdrs(sip_msg_t *msg, char *exchange, char *routing_key,
		char *payload, char *headers);
int w_kazoo_publish5(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *flags, char *headers);
/* KEMI */
int ki_kazoo_publish(sip_msg_t *msg, str *exchange, str *routing_key, str *payload);
int ki_kazoo_publish_hdrs(sip_msg_t *msg, str *exchange, str *routing_key, str *payload,
		str *headers);

#endif
