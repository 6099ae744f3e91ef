/*
 * kz_params.c - the modparams of kz_params.def: their variables, setters, ranges and
 * param_export_t kz_params[], and the checks that need several of them.
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

kz_broker_url_t *kz_broker_urls = NULL;
int kz_broker_count = 0;

#define KZ_S(text) str_init(text)
#define KZ_UNSET STR_NULL
#define KZ_NOT_SENT NULL
#define KZ_PKG_QUARTER 1
#define KZ_NO_EFFECT 2 /* for the docs: no code looks at it */

/* the variables, with their defaults, and the names of the derived keys */
#define KZ_INT(name, var, dflt, min, max, flags, go_key) int var = dflt;
#define KZ_STR(name, var, dflt, flags, go_key) str var = dflt;
#define KZ_STR_FN(name, var, dflt, setter, flags, go_key) str var = dflt;
#define KZ_GO(id, go_key, repeats) const char id[] = go_key;
#include "kz_params.def"

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

/* The values each int parameter accepts (kz_params.def). The setters below check a value as
 * the cfg sets it (`kamailio -c` parses the cfg but runs no mod_init), and kz_params_check
 * checks the defaults again. docs/kazoo-module.md gives each range (tests/docs compares them
 * with kz_params.def). The cfg parser itself stores numbers with atoi(): digits beyond an int
 * wrap before any module sees them. */
typedef struct kz_int_param {
	const char *name;
	int *var;
	int min, max;
	int pkg_quarter; /* also at most a quarter of the process's pkg memory (-M) */
} kz_int_param_t;

/* each int parameter's index in kz_int_params[] */
#define KZ_INT(name, var, dflt, min, max, flags, go_key) KZ_INT_##name,
#define KZ_INT_ALIAS(name, var, min, max, flags) KZ_INT_##name,
enum kz_int_param_index {
#include "kz_params.def"
	KZ_INT_PARAMS
};

#define KZ_INT(name, var, dflt, min, max, flags, go_key) \
	{#name, &var, min, max, ((flags) & KZ_PKG_QUARTER) != 0},
#define KZ_INT_ALIAS(name, var, min, max, flags) \
	{#name, &var, min, max, ((flags) & KZ_PKG_QUARTER) != 0},
static const kz_int_param_t kz_int_params[KZ_INT_PARAMS] = {
#include "kz_params.def"
};

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

static int kz_int_param_set(const kz_int_param_t *p, void *val)
{
	int v = (int)(long)val;

	if(kz_int_param_check(p, v) < 0)
		return -1;
	*p->var = v;
	return 0;
}

/* a setter per int parameter: Kamailio does not tell a setter the parameter's name */
#define KZ_INT(name, var, dflt, min, max, flags, go_key)  \
	static int kz_set_##name(modparam_t type, void *val) \
	{                                                    \
		return kz_int_param_set(&kz_int_params[KZ_INT_##name], val); \
	}
#define KZ_INT_ALIAS(name, var, min, max, flags) \
	KZ_INT(name, var, 0, min, max, flags, KZ_NOT_SENT)
#include "kz_params.def"

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

#define KZ_INT(name, var, dflt, min, max, flags, go_key) \
	{#name, PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_##name},
#define KZ_INT_ALIAS(name, var, min, max, flags) \
	{#name, PARAM_INT | PARAM_USE_FUNC, (void *)kz_set_##name},
#define KZ_STR(name, var, dflt, flags, go_key) {#name, PARAM_STR, &var},
#define KZ_STR_FN(name, var, dflt, setter, flags, go_key) \
	{#name, PARAM_STR | PARAM_USE_FUNC, (void *)setter},
#define KZ_URLS(name, setter, go_key) {#name, PARAM_STRING | PARAM_USE_FUNC, (void *)setter},
param_export_t kz_params[] = {
#include "kz_params.def"
	{0, 0, 0}
};

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

	for(p = kz_int_params; p < kz_int_params + KZ_INT_PARAMS; p++) /* the defaults: no setter saw them */
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
