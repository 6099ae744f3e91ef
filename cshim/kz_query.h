/* kz_query.h - kazoo_query and $kzR */
#ifndef KAZOO_QUERY_H
#define KAZOO_QUERY_H

#include "core/parser/msg_parser.h"
#include "core/pvar.h"
#include <stdint.h>

int kz_query_mod_init(void);
int kz_query_fixup(void **param, int param_no);
int kz_query_fixup_free(void **param, int param_no);
int w_kazoo_query3(sip_msg_t *msg, char *exchange, char *routing_key, char *payload);
int w_kazoo_query4(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *target);
int w_kazoo_query5(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *target, char *headers);
int ki_kazoo_query(sip_msg_t *msg, str *exchange, str *routing_key, str *payload);
/* the query timeout of this call: amqp_query_timeout_avp (ms) or the modparams */
int64_t kz_query_timeout_ms(sip_msg_t *msg);
/* sets $kzR of this process (len -1: $null) */
void kz_query_set_reply(const uint8_t *buf, int len);
int pv_get_kzR(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
