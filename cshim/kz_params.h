/*
 * kz_params.h - the module parameters (declared in kz_params.def): every name the C kazoo
 * module accepts, with its type and default, so that existing kamailio.cfg files load
 * unchanged, plus our own.
 */
#ifndef KAZOO_PARAMS_H
#define KAZOO_PARAMS_H

#include "core/str.h"
#include "core/sr_module.h"

/* one amqp_connection modparam, in declaration order */
typedef struct kz_broker_url {
	char *url; /* as written, zone prefix included */
	struct kz_broker_url *next;
} kz_broker_url_t;

extern param_export_t kz_params[];

extern kz_broker_url_t *kz_broker_urls; /* amqp_connection */
extern int kz_broker_count;

/* every parameter's variable, and the name of each derived key (kz_params.def) */
#define KZ_INT(name, var, dflt, min, max, flags, go_key) extern int var;
#define KZ_STR(name, var, dflt, flags, go_key) extern str var;
#define KZ_STR_FN(name, var, dflt, setter, flags, go_key) extern str var;
#define KZ_GO(id, go_key, repeats) extern const char id[];
#include "kz_params.def"

/* checks that need all parameters; called by mod_init. 0 or -1 (logged) */
int kz_params_check(void);

/* connect timeout in ms, from the _sec/_micro pair or our default */
int kz_connect_timeout_ms(void);

#endif
