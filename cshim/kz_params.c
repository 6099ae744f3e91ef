/*
 * kz_params.c - modparam table. Names, types and defaults are those of Kamailio 5.6's C
 * kazoo module (kazoo.c), including the parameters it parses but never reads: an unknown
 * modparam makes Kamailio refuse the whole config, so a drop-in must accept them all.
 * Where our default differs, the comment says why (and the docs list it).
 */
#include "kz_build.h"
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <unistd.h>
#include <limits.h>
#include "core/dprint.h"
#include "core/globals.h"
#include "core/mem/mem.h"
#include "kz_params.h"
#include "kz_url.h"

str kz_node_hostname = STR_NULL; /* mandatory, as in the C module */
str kz_app_name = str_init(NAME);
str kz_primary_zone = str_init("local");
str kz_db_url = STR_NULL;
kz_broker_url_t *kz_broker_urls = NULL;
int kz_broker_count = 0;
/* -1 = not set: 10 s. The C module's default 0 meant "off", which let half-open TCP
 * connections hang consumers forever; 0 here takes the broker's proposal. */
int kz_heartbeats = -1;
/* -1 = not set: 2 s. The C module's 0.2 s default fails on any remote broker. */
int kz_connect_timeout_sec = -1;
int kz_connect_timeout_micro = -1;
int kz_publish_timeout_ms = 2000; /* ours: bound on waiting for a publish confirm */
int kz_max_payload = 1 << 20;     /* ours: larger payloads are refused with -1 */
int kz_go_maxprocs = 1; /* ours: Go's GOMAXPROCS in each process (see the docs) */
int kz_go_gc_percent = 25; /* ours: Go's GOGC in each process (0: Go's default, 100) */
int kz_go_mem_release_ms = 1000; /* ours: freed Go heap back to the OS this often (0: Go's pace) */
int kz_pua_mode = 1;

/* accepted for compatibility; the docs say which have no effect and why */
static int kz_max_channels = 50;
static int kz_timer_process_interval = 200;
static int kz_consumer_ack_timeout_micro = 100000;
static int kz_consumer_ack_timeout_sec = 0;
static int kz_interprocess_timeout_micro = 100000;
static int kz_interprocess_timeout_sec = 0;
static int kz_waitframe_timeout_micro = 100000;
static int kz_waitframe_timeout_sec = 0;
static int kz_consumer_processes = 1;
int kz_consumer_workers = 8;
int kz_consumer_prefetch = 64; /* ours: unacknowledged deliveries per subscription, broker and worker */
str kz_consumer_event_key = str_init("Event-Category");
str kz_consumer_event_subkey = str_init("Event-Name");
int kz_query_timeout_micro = 0;
int kz_query_timeout_sec = 2;
static int kz_internal_loop_count = 5;
static int kz_consumer_loop_count = 10;
static int kz_consumer_ack_loop_count = 20;
int kz_pua_include_entity = 1;
static int kz_presence_use_full_entity = 0;
str kz_presentity_table = str_init("presentity");
static int kz_single_consumer_on_reconnect = 1;
static int kz_consume_messages_on_reconnect = 1;
str kz_query_timeout_avp = STR_NULL;
str kz_json_escape_char = str_init("%");
static int kz_use_federated_exchange = 0;
static str kz_federated_exchange = str_init("federation");
static int kz_command_hashtable_size = 2048;
static str kz_result_avp = str_init("$avp(amqp_result)");
str kz_amqps_ca_cert = STR_NULL;
str kz_amqps_cert = STR_NULL;
str kz_amqps_key = STR_NULL;
int kz_amqps_verify_peer = 1;
int kz_amqps_verify_hostname = 1;
int kz_publish_persistent = 0; /* ours: delivery mode 2 (the C module: transient) */
int kz_publish_mandatory = 0;  /* ours: unroutable publishes come back (event) */
int kz_spool_max = 0; /* ours: publishes kept per process while no broker; 0: fail at once */
int kz_pua_lock_type = 1;
str kz_event_callback = STR_NULL;

/* amqp_connection: checked here so that `kamailio -c` already rejects a bad URL */
static int kz_add_broker_url(modparam_t type, void *val)
{
	char *url = (char *)val;
	char why[256];
	kz_broker_url_t *b, **tail;

	if(kz_url_check(url, why, sizeof(why)) < 0) {
		LM_ERR("invalid amqp_connection '%s': %s\n", kz_url_masked(url), why);
		return -1;
	}
	b = pkg_malloc(sizeof(*b) + strlen(url) + 1);
	if(b == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	b->url = (char *)(b + 1);
	strcpy(b->url, url);
	b->next = NULL;
	for(tail = &kz_broker_urls; *tail; tail = &(*tail)->next)
		;
	*tail = b;
	kz_broker_count++;
	return 0;
}

/* The values each int parameter accepts. This is the one place that says so: the setters
 * below check a value as the cfg sets it (`kamailio -c` parses the cfg but runs no mod_init),
 * and kz_params_check checks the defaults again. docs/kazoo-module.md gives each range
 * (tests/docs compares them with this table). The cfg parser itself stores numbers with
 * atoi(): digits beyond an int wrap before any module sees them. */
typedef struct kz_int_param {
	const char *name;
	int *var;
	int min, max;
	int pkg_quarter; /* also at most a quarter of the process's pkg memory (-M) */
} kz_int_param_t;

#define KZ_RABBITMQ_MAX_MESSAGE (128 << 20) /* RabbitMQ's max_message_size default */

/* clang-format off */
static const kz_int_param_t kz_int_params[] = {
	/* no effect (the C module's internal machinery): any value, as before */
	{"amqp_max_channels", &kz_max_channels, INT_MIN, INT_MAX},
	{"amqp_timmer_process_interval", &kz_timer_process_interval, INT_MIN, INT_MAX},
	{"amqp_timer_process_interval", &kz_timer_process_interval, INT_MIN, INT_MAX},
	{"amqp_consumer_ack_timeout_micro", &kz_consumer_ack_timeout_micro, INT_MIN, INT_MAX},
	{"amqp_consumer_ack_timeout_sec", &kz_consumer_ack_timeout_sec, INT_MIN, INT_MAX},
	{"amqp_interprocess_timeout_micro", &kz_interprocess_timeout_micro, INT_MIN, INT_MAX},
	{"amqp_interprocess_timeout_sec", &kz_interprocess_timeout_sec, INT_MIN, INT_MAX},
	{"amqp_waitframe_timeout_micro", &kz_waitframe_timeout_micro, INT_MIN, INT_MAX},
	{"amqp_waitframe_timeout_sec", &kz_waitframe_timeout_sec, INT_MIN, INT_MAX},
	{"amqp_consumer_processes", &kz_consumer_processes, INT_MIN, INT_MAX},
	{"amqp_internal_loop_count", &kz_internal_loop_count, INT_MIN, INT_MAX},
	{"amqp_consumer_loop_count", &kz_consumer_loop_count, INT_MIN, INT_MAX},
	{"amqp_consumer_ack_loop_count", &kz_consumer_ack_loop_count, INT_MIN, INT_MAX},
	{"presence_use_full_entity", &kz_presence_use_full_entity, INT_MIN, INT_MAX},
	{"single_consumer_on_reconnect", &kz_single_consumer_on_reconnect, INT_MIN, INT_MAX},
	{"consume_messages_on_reconnect", &kz_consume_messages_on_reconnect, INT_MIN, INT_MAX},
	{"use_federated_exchange", &kz_use_federated_exchange, INT_MIN, INT_MAX},
	{"amqp_command_hashtable_size", &kz_command_hashtable_size, INT_MIN, INT_MAX},
	/* flags */
	{"pua_include_entity", &kz_pua_include_entity, 0, 1},
	{"amqps_verify_peer", &kz_amqps_verify_peer, 0, 1},
	{"amqps_verify_hostname", &kz_amqps_verify_hostname, 0, 1},
	{"amqp_publish_persistent", &kz_publish_persistent, 0, 1},
	{"amqp_publish_mandatory", &kz_publish_mandatory, 0, 1},
	{"pua_mode", &kz_pua_mode, 0, 1}, /* the C module knows 0 and 1 only */
	{"pua_lock_type", &kz_pua_lock_type, 0, 2}, /* db_locking_t: none, write, full */
	/* a process per worker, each with its own Go runtime and connection per broker */
	{"amqp_consumer_workers", &kz_consumer_workers, 1, 128},
	/* basic.qos prefetch-count is 16 bits on the wire: 65536 would wrap to 0 (no limit) */
	{"amqp_consumer_prefetch", &kz_consumer_prefetch, 1, 65535},
	/* AMQP's heartbeat is 16 bits of seconds; -1: not set (10 s) */
	{"amqp_heartbeats", &kz_heartbeats, -1, 65535},
	/* -1: not set. An hour is far beyond any useful connect; _micro is a timeval's part */
	{"amqp_connect_timeout_sec", &kz_connect_timeout_sec, -1, 3600},
	{"amqp_connect_timeout_micro", &kz_connect_timeout_micro, -1, 999999},
	/* a day: the total in ms stays far from any overflow; 0 s needs _micro (total > 0) */
	{"amqp_query_timeout_sec", &kz_query_timeout_sec, 0, 86400},
	{"amqp_query_timeout_micro", &kz_query_timeout_micro, 0, 999999},
	/* a SIP worker waits this long for a confirm; every socket write too */
	{"amqp_publish_timeout", &kz_publish_timeout_ms, 1, 3600000},
	/* a message is held whole in pkg memory at least once, and a buffer that grows needs
	 * old and new at once: a quarter leaves the process the rest of its pool. RabbitMQ
	 * refuses larger messages anyway */
	{"amqp_max_payload", &kz_max_payload, 1, KZ_RABBITMQ_MAX_MESSAGE, 1},
	/* each kept publish holds its payload in the process's Go heap */
	{"amqp_spool_max", &kz_spool_max, 0, 100000},
	/* 0: Go's default (one per core). Each P costs memory and spinning threads in every
	 * process (~1.4 GB per process at 100000) and one is enough (see the docs) */
	{"go_maxprocs", &kz_go_maxprocs, 0, 64},
	/* 0: Go's default (100). Negative turns the collector off: memory grows without end;
	 * above 1000 the heap may grow to 11 times what is live */
	{"go_gc_percent", &kz_go_gc_percent, 0, 1000},
	/* 0: never; an idle process looks up to 32 times less often */
	{"go_mem_release_ms", &kz_go_mem_release_ms, 0, 3600000},
	{0, 0, 0, 0}
};
/* clang-format on */

static int kz_int_param_max(const kz_int_param_t *p)
{
	if(p->pkg_quarter && pkg_mem_size / 4 < (unsigned long)p->max)
		return (int)(pkg_mem_size / 4);
	return p->max;
}

static int kz_int_param_check(const kz_int_param_t *p, int v)
{
	int max = kz_int_param_max(p);

	if(v >= p->min && v <= max)
		return 0;
	LM_ERR("modparam(\"kazoo\", \"%s\", %d): out of range, accepted: %d to %d%s\n", p->name, v,
			p->min, max,
			p->pkg_quarter && max < p->max ? " (a quarter of the pkg memory, -M)" : "");
	return -1;
}

/* the setter of a modparam: Kamailio does not tell it the parameter's name */
static int kz_int_param_set(const char *name, void *val)
{
	const kz_int_param_t *p;
	int v = (int)(long)val;

	for(p = kz_int_params; p->name; p++) {
		if(strcmp(p->name, name) != 0)
			continue;
		if(kz_int_param_check(p, v) < 0)
			return -1;
		*p->var = v;
		return 0;
	}
	LM_CRIT("kazoo: no range for modparam %s\n", name);
	return -1;
}

#define KZ_SETTER(id)                                  \
	static int kz_set_##id(modparam_t type, void *val) \
	{                                                  \
		return kz_int_param_set(#id, val);             \
	}
KZ_SETTER(amqp_max_channels)
KZ_SETTER(amqp_timmer_process_interval)
KZ_SETTER(amqp_timer_process_interval)
KZ_SETTER(amqp_consumer_ack_timeout_micro)
KZ_SETTER(amqp_consumer_ack_timeout_sec)
KZ_SETTER(amqp_interprocess_timeout_micro)
KZ_SETTER(amqp_interprocess_timeout_sec)
KZ_SETTER(amqp_waitframe_timeout_micro)
KZ_SETTER(amqp_waitframe_timeout_sec)
KZ_SETTER(amqp_consumer_processes)
KZ_SETTER(amqp_internal_loop_count)
KZ_SETTER(amqp_consumer_loop_count)
KZ_SETTER(amqp_consumer_ack_loop_count)
KZ_SETTER(presence_use_full_entity)
KZ_SETTER(single_consumer_on_reconnect)
KZ_SETTER(consume_messages_on_reconnect)
KZ_SETTER(use_federated_exchange)
KZ_SETTER(amqp_command_hashtable_size)
KZ_SETTER(pua_include_entity)
KZ_SETTER(amqps_verify_peer)
KZ_SETTER(amqps_verify_hostname)
KZ_SETTER(amqp_publish_persistent)
KZ_SETTER(amqp_publish_mandatory)
KZ_SETTER(pua_mode)
KZ_SETTER(pua_lock_type)
KZ_SETTER(amqp_consumer_workers)
KZ_SETTER(amqp_consumer_prefetch)
KZ_SETTER(amqp_heartbeats)
KZ_SETTER(amqp_connect_timeout_sec)
KZ_SETTER(amqp_connect_timeout_micro)
KZ_SETTER(amqp_query_timeout_sec)
KZ_SETTER(amqp_query_timeout_micro)
KZ_SETTER(amqp_publish_timeout)
KZ_SETTER(amqp_max_payload)
KZ_SETTER(amqp_spool_max)
KZ_SETTER(go_maxprocs)
KZ_SETTER(go_gc_percent)
KZ_SETTER(go_mem_release_ms)

/* amqp_primary_zone: an empty zone would make every publish log that no broker serves it */
static int kz_set_primary_zone(modparam_t type, void *val)
{
	str *s = (str *)val;

	if(s == NULL || s->s == NULL || s->len == 0) {
		LM_ERR("modparam(\"kazoo\", \"amqp_primary_zone\", \"\"): must not be empty\n");
		return -1;
	}
	kz_primary_zone.s = pkg_malloc(s->len + 1);
	if(kz_primary_zone.s == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	memcpy(kz_primary_zone.s, s->s, s->len);
	kz_primary_zone.s[s->len] = 0;
	kz_primary_zone.len = s->len;
	return 0;
}

/* clang-format off */
param_export_t kz_params[] = {
	{"node_hostname", PARAM_STR, &kz_node_hostname},
	{"amqp_connection", PARAM_STRING | PARAM_USE_FUNC, (void *)kz_add_broker_url},
	{"amqp_max_channels", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_max_channels},
	{"amqp_timmer_process_interval", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_timmer_process_interval},
	{"amqp_timer_process_interval", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_timer_process_interval}, /* 5.7+ spelling */
	{"amqp_consumer_ack_timeout_micro", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_ack_timeout_micro},
	{"amqp_consumer_ack_timeout_sec", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_ack_timeout_sec},
	{"amqp_interprocess_timeout_micro", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_interprocess_timeout_micro},
	{"amqp_interprocess_timeout_sec", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_interprocess_timeout_sec},
	{"amqp_waitframe_timeout_micro", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_waitframe_timeout_micro},
	{"amqp_waitframe_timeout_sec", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_waitframe_timeout_sec},
	{"amqp_consumer_processes", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_processes},
	{"amqp_consumer_workers", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_workers},
	{"amqp_consumer_event_key", PARAM_STR, &kz_consumer_event_key},
	{"amqp_consumer_event_subkey", PARAM_STR, &kz_consumer_event_subkey},
	{"amqp_query_timeout_micro", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_query_timeout_micro},
	{"amqp_query_timeout_sec", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_query_timeout_sec},
	{"amqp_internal_loop_count", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_internal_loop_count},
	{"amqp_consumer_loop_count", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_loop_count},
	{"amqp_consumer_ack_loop_count", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_ack_loop_count},
	{"pua_include_entity", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_pua_include_entity},
	{"presence_use_full_entity", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_presence_use_full_entity},
	{"presentity_table", PARAM_STR, &kz_presentity_table},
	{"db_url", PARAM_STR, &kz_db_url},
	{"pua_mode", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_pua_mode},
	{"single_consumer_on_reconnect", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_single_consumer_on_reconnect},
	{"consume_messages_on_reconnect", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_consume_messages_on_reconnect},
	{"amqp_query_timeout_avp", PARAM_STR, &kz_query_timeout_avp},
	{"json_escape_char", PARAM_STR, &kz_json_escape_char},
	{"app_name", PARAM_STR, &kz_app_name},
	{"use_federated_exchange", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_use_federated_exchange},
	{"federated_exchange", PARAM_STR, &kz_federated_exchange},
	{"amqp_heartbeats", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_heartbeats},
	{"amqp_primary_zone", PARAM_STR | PARAM_USE_FUNC, (void *)kz_set_primary_zone},
	{"amqp_command_hashtable_size", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_command_hashtable_size},
	{"amqp_result_avp", PARAM_STR, &kz_result_avp},
	{"amqps_ca_cert", PARAM_STR, &kz_amqps_ca_cert},
	{"amqps_cert", PARAM_STR, &kz_amqps_cert},
	{"amqps_key", PARAM_STR, &kz_amqps_key},
	{"amqps_verify_peer", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqps_verify_peer},
	{"amqps_verify_hostname", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqps_verify_hostname},
	{"pua_lock_type", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_pua_lock_type},
	{"amqp_connect_timeout_micro", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_connect_timeout_micro},
	{"amqp_connect_timeout_sec", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_connect_timeout_sec},
	{"event_callback", PARAM_STR, &kz_event_callback},
	/* ours */
	{"amqp_publish_timeout", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_publish_timeout},
	{"amqp_max_payload", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_max_payload},
	{"amqp_consumer_prefetch", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_consumer_prefetch},
	{"amqp_publish_persistent", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_publish_persistent},
	{"amqp_spool_max", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_spool_max},
	{"amqp_publish_mandatory", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_amqp_publish_mandatory},
	{"go_maxprocs", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_go_maxprocs},
	{"go_gc_percent", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_go_gc_percent},
	{"go_mem_release_ms", PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_go_mem_release_ms},
	{0, 0, 0}
};
/* clang-format on */

int kz_connect_timeout_ms(void)
{
	if(kz_connect_timeout_sec < 0 && kz_connect_timeout_micro < 0)
		return 2000;
	return (kz_connect_timeout_sec > 0 ? kz_connect_timeout_sec * 1000 : 0)
		   + (kz_connect_timeout_micro > 0 ? kz_connect_timeout_micro / 1000 : 0);
}

/* amqps_* files: refused at startup when unreadable, not at every connect attempt */
static int kz_tls_files_check(void)
{
	str *files[] = {&kz_amqps_ca_cert, &kz_amqps_cert, &kz_amqps_key};
	const char *names[] = {"amqps_ca_cert", "amqps_cert", "amqps_key"};
	char path[1024];
	int i;

	for(i = 0; i < 3; i++) {
		if(files[i]->s == NULL || files[i]->len == 0)
			continue;
		snprintf(path, sizeof(path), "%.*s", files[i]->len, files[i]->s);
		if(access(path, R_OK) != 0) {
			LM_ERR("%s: cannot read '%s': %s\n", names[i], path, strerror(errno));
			return -1;
		}
	}
	if((kz_amqps_cert.len > 0) != (kz_amqps_key.len > 0)) {
		LM_ERR("amqps_cert and amqps_key go together (a client certificate and its key)\n");
		return -1;
	}
	return 0;
}

int kz_params_check(void)
{
	const kz_int_param_t *p;

	for(p = kz_int_params; p->name; p++) /* the defaults: no setter saw them */
		if(kz_int_param_check(p, *p->var) < 0)
			return -1;
	if(kz_node_hostname.s == NULL || kz_node_hostname.len == 0) {
		LM_ERR("modparam(\"kazoo\", \"node_hostname\", ...) is mandatory: it names this"
			   " node to Kazoo (Node: kamailio@<node_hostname>)\n");
		return -1;
	}
	if(kz_pua_mode == 1 && (kz_db_url.s == NULL || kz_db_url.len == 0)) {
		LM_ERR("pua_mode is 1 (the default) but db_url is not set: set"
			   " modparam(\"kazoo\", \"db_url\", ...) for kazoo_pua_publish, or"
			   " modparam(\"kazoo\", \"pua_mode\", 0) when this node does no presence\n");
		return -1;
	}
	/* the pairs: each part is in range, but the two together must not give 0 ms */
	if(kz_connect_timeout_ms() <= 0) {
		LM_ERR("amqp_connect_timeout_sec/_micro give %d ms: the timeout must be at least"
			   " 1 ms\n",
				kz_connect_timeout_ms());
		return -1;
	}
	if(kz_query_timeout_sec * 1000 + kz_query_timeout_micro / 1000 <= 0) {
		LM_ERR("amqp_query_timeout_sec/_micro give 0 ms: every query would fail at once;"
			   " the timeout must be at least 1 ms\n");
		return -1;
	}
	if(kz_tls_files_check() < 0)
		return -1;
	if(kz_broker_count == 0)
		LM_WARN("no amqp_connection configured: every kazoo_publish will fail\n");
	return 0;
}
