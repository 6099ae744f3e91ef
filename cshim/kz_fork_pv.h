/*
 * kz_fork_pv.h - $knode, $ki and $kzTS, the 2600hz fork's pseudo-variables (kz_fork_pv.c).
 */
#ifndef KAZOO_FORK_PV_H
#define KAZOO_FORK_PV_H

#include "core/parser/msg_parser.h"
#include "core/pvar.h"

int pv_get_knode(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);
int pv_get_ki(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);
int pv_set_ki(sip_msg_t *msg, pv_param_t *param, int op, pv_value_t *val);
int pv_get_kzTS(sip_msg_t *msg, pv_param_t *param, pv_value_t *res);

#endif
