/* kz_consumer.h - the consumer workers ("kazoo consumer N"), $kzE and $kzRK */
#ifndef KAZOO_CONSUMER_H
#define KAZOO_CONSUMER_H

#include "core/parser/msg_parser.h"
#include "core/pvar.h"

/* mod_init, after kz_go_mod_init: channels of each worker, configuration records */
int kz_consumer_mod_init(void);
/* child_init(PROC_MAIN): fork the workers */
int kz_consumer_fork(void);

int pv_get_kzE(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);
int pv_get_kzRK(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);
int pv_get_kzProps(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
