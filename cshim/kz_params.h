/*
 * kz_params.h - the module parameters: every name the C kazoo module accepts, with its
 * type and default, so that existing kamailio.cfg files load unchanged, plus our own.
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

extern str kz_node_hostname;
extern str kz_app_name;
extern str kz_primary_zone;
extern str kz_db_url;
extern kz_broker_url_t *kz_broker_urls;
extern int kz_broker_count;
extern int kz_heartbeats;
extern int kz_connect_timeout_sec;
extern int kz_connect_timeout_micro;
extern int kz_publish_timeout_ms;
extern int kz_max_payload;
extern int kz_go_maxprocs;
extern int kz_go_gc_percent;
extern int kz_go_mem_release_ms;
extern int kz_pua_mode;
extern int kz_query_timeout_sec;
extern int kz_query_timeout_micro;
extern str kz_query_timeout_avp;
extern str kz_json_escape_char;
extern int kz_consumer_workers;
extern int kz_consumer_prefetch;
extern str kz_consumer_event_key;
extern str kz_consumer_event_subkey;
extern str kz_event_callback;
extern str kz_amqps_ca_cert;
extern str kz_amqps_cert;
extern str kz_amqps_key;
extern int kz_amqps_verify_peer;
extern int kz_amqps_verify_hostname;
extern int kz_publish_persistent;
extern int kz_spool_max;
extern int kz_publish_mandatory;
extern int kz_pua_include_entity;
extern str kz_presentity_table;
extern int kz_pua_lock_type;

/* checks that need all parameters; called by mod_init. 0 or -1 (logged) */
int kz_params_check(void);

/* connect timeout in ms, from the _sec/_micro pair or our default */
int kz_connect_timeout_ms(void);

#endif
