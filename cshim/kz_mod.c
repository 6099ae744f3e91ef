/*
 * kz_mod.c - module registration: what Kamailio sees of kazoo.so. Thin by design: the
 * functions, parameters and processes are declared here and forwarded to the other files;
 * the logic is in Go (kazoo/).
 */
#include "kz_build.h"
#include "core/sr_module.h"
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/kemi.h"
#include "kz_params.h"
#include "kz_go.h"
#include "kz_publish.h"
#include "kz_query.h"
#include "kz_async.h"
#include "kz_json.h"
#include "kz_consumer.h"
#include "kz_subscribe.h"
#include "kz_status.h"
#include "kz_pua.h"
#include "kz_stats.h"
#include "kz_rpc.h"
#include "kz_fork_pv.h"

MODULE_VERSION

static int mod_init(void);
static int mod_child_init(int rank);

/* clang-format off */
static cmd_export_t cmds[] = {
	{"kazoo_publish", (cmd_function)w_kazoo_publish, 3, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kazoo_publish", (cmd_function)w_kazoo_publish_hdrs, 4, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kazoo_publish", (cmd_function)w_kazoo_publish5, 5, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kazoo_query", (cmd_function)w_kazoo_query3, 3, kz_query_fixup,
		kz_query_fixup_free, ANY_ROUTE},
	{"kazoo_query", (cmd_function)w_kazoo_query4, 4, kz_query_fixup,
		kz_query_fixup_free, ANY_ROUTE},
	{"kazoo_query", (cmd_function)w_kazoo_query5, 5, kz_query_fixup,
		kz_query_fixup_free, ANY_ROUTE},
	{"kazoo_async_query", (cmd_function)w_kazoo_async_query, 5, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kazoo_async_query", (cmd_function)w_kazoo_async_query6, 6, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kazoo_query_async", (cmd_function)w_kazoo_async_query, 5, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kazoo_query_async", (cmd_function)w_kazoo_async_query6, 6, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kazoo_json", (cmd_function)w_kazoo_json, 3, kz_json_fixup, kz_json_fixup_free,
		ANY_ROUTE},
	{"kazoo_json_keys", (cmd_function)w_kazoo_json_keys, 3, kz_json_keys_fixup,
		kz_json_fixup_free, ANY_ROUTE},
	{"kazoo_encode", (cmd_function)w_kazoo_encode, 2, kz_encode_fixup, kz_encode_fixup_free,
		ANY_ROUTE},
	{"kazoo_subscribe", (cmd_function)w_kazoo_subscribe, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kazoo_subscribe", (cmd_function)w_kazoo_subscribe4, 4, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kazoo_unsubscribe", (cmd_function)w_kazoo_unsubscribe, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kazoo_declare_exchange", (cmd_function)w_kazoo_declare_exchange, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	/* a bare variable ($kzE), as the stock configs pass it, or a string with variables */
	{"kazoo_pua_publish", (cmd_function)w_kazoo_pua_publish, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kazoo_pua_publish_mwi", (cmd_function)w_kazoo_pua_publish_mwi, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kazoo_pua_publish_presence", (cmd_function)w_kazoo_pua_publish_presence, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"kazoo_pua_publish_dialoginfo", (cmd_function)w_kazoo_pua_publish_dialoginfo, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	/* 2600hz's fork's other names for the same functions (its kazoo.c): same arguments */
	{"kz_amqp_publish", (cmd_function)w_kazoo_publish, 3, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kz_amqp_publish", (cmd_function)w_kazoo_publish_hdrs, 4, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kz_amqp_publish", (cmd_function)w_kazoo_publish5, 5, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kz_amqp_query", (cmd_function)w_kazoo_query3, 3, kz_query_fixup,
		kz_query_fixup_free, ANY_ROUTE},
	{"kz_amqp_query", (cmd_function)w_kazoo_query4, 4, kz_query_fixup,
		kz_query_fixup_free, ANY_ROUTE},
	{"kz_amqp_query", (cmd_function)w_kazoo_query5, 5, kz_query_fixup,
		kz_query_fixup_free, ANY_ROUTE},
	{"kz_amqp_async_query", (cmd_function)w_kazoo_async_query, 5, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kz_amqp_async_query", (cmd_function)w_kazoo_async_query6, 6, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kz_amqp_query_async", (cmd_function)w_kazoo_async_query, 5, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kz_amqp_query_async", (cmd_function)w_kazoo_async_query6, 6, kz_async_fixup,
		kz_async_fixup_free, REQUEST_ROUTE | FAILURE_ROUTE},
	{"kz_amqp_subscribe", (cmd_function)w_kazoo_subscribe, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kz_amqp_subscribe", (cmd_function)w_kazoo_subscribe4, 4, fixup_spve_all,
		fixup_free_spve_all, ANY_ROUTE},
	{"kz_amqp_declare_exchange", (cmd_function)w_kazoo_declare_exchange, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kz_json", (cmd_function)w_kazoo_json, 3, kz_json_fixup, kz_json_fixup_free,
		ANY_ROUTE},
	{"kz_json_keys", (cmd_function)w_kazoo_json_keys, 3, kz_json_keys_fixup,
		kz_json_fixup_free, ANY_ROUTE},
	{"kz_amqp_encode", (cmd_function)w_kazoo_encode, 2, kz_encode_fixup,
		kz_encode_fixup_free, ANY_ROUTE},
	{"kz_pua_publish", (cmd_function)w_kazoo_pua_publish, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kz_pua_publish_mwi", (cmd_function)w_kazoo_pua_publish_mwi, 1, fixup_spve_null,
		fixup_free_spve_null, ANY_ROUTE},
	{"kz_pua_publish_presence", (cmd_function)w_kazoo_pua_publish_presence, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{"kz_pua_publish_dialoginfo", (cmd_function)w_kazoo_pua_publish_dialoginfo, 1,
		fixup_spve_null, fixup_free_spve_null, ANY_ROUTE},
	{0, 0, 0, 0, 0, 0}
};

static pv_export_t pvs[] = {
	{{"kzR", sizeof("kzR") - 1}, PVT_OTHER, pv_get_kzR, 0, 0, 0, 0, 0},
	{{"kzE", sizeof("kzE") - 1}, PVT_OTHER, pv_get_kzE, 0, 0, 0, 0, 0},
	{{"kzRK", sizeof("kzRK") - 1}, PVT_OTHER, pv_get_kzRK, 0, 0, 0, 0, 0},
	{{"kzProps", sizeof("kzProps") - 1}, PVT_OTHER, pv_get_kzProps, 0, 0, 0, 0, 0},
	/* 2600hz's fork (their master and 5.x configs use them) */
	{{"knode", sizeof("knode") - 1}, PVT_OTHER, pv_get_knode, 0, 0, 0, 0, 0},
	{{"ki", sizeof("ki") - 1}, PVT_OTHER, pv_get_ki, pv_set_ki, 0, 0, 0, 0},
	{{"kzTS", sizeof("kzTS") - 1}, PVT_OTHER, pv_get_kzTS, 0, 0, 0, 0, 0},
	{{0, 0}, 0, 0, 0, 0, 0, 0, 0}
};

static sr_kemi_t kemi_exports[] = {
	{ str_init("kazoo"), str_init("kazoo_publish"),
		SR_KEMIP_INT, ki_kazoo_publish,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("publish"),
		SR_KEMIP_INT, ki_kazoo_publish,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("publish_hdrs"),
		SR_KEMIP_INT, ki_kazoo_publish_hdrs,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("query"),
		SR_KEMIP_INT, ki_kazoo_query,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("json"),
		SR_KEMIP_INT, ki_kazoo_json,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("encode"),
		SR_KEMIP_INT, ki_kazoo_encode,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("kazoo_subscribe"),
		SR_KEMIP_INT, ki_kazoo_subscribe,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("subscribe"),
		SR_KEMIP_INT, ki_kazoo_subscribe,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("subscribe_simple"),
		SR_KEMIP_INT, ki_kazoo_subscribe_simple,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("unsubscribe"),
		SR_KEMIP_INT, ki_kazoo_unsubscribe,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("pua_publish"),
		SR_KEMIP_INT, ki_kazoo_pua_publish,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("pua_publish_mwi"),
		SR_KEMIP_INT, ki_kazoo_pua_publish_mwi,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("pua_publish_presence"),
		SR_KEMIP_INT, ki_kazoo_pua_publish_presence,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("pua_publish_dialoginfo"),
		SR_KEMIP_INT, ki_kazoo_pua_publish_dialoginfo,
		{ SR_KEMIP_STR, SR_KEMIP_NONE, SR_KEMIP_NONE,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("async_query"),
		SR_KEMIP_INT, ki_kazoo_async_query,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("query_async"),
		SR_KEMIP_INT, ki_kazoo_async_query,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_NONE }
	},
	{ str_init("kazoo"), str_init("json_keys"),
		SR_KEMIP_INT, ki_kazoo_json_keys,
		{ SR_KEMIP_STR, SR_KEMIP_STR, SR_KEMIP_STR,
			SR_KEMIP_NONE, SR_KEMIP_NONE, SR_KEMIP_NONE }
	},
	{ {0, 0}, {0, 0}, 0, NULL, { 0, 0, 0, 0, 0, 0 } }
};

struct module_exports exports = {
	"kazoo",         /* module name */
	DEFAULT_DLFLAGS, /* dlopen flags */
	cmds,            /* script functions */
	kz_params,       /* modparams */
	kz_subscribe_rpc, /* RPC methods */
	pvs,             /* pseudo-variables */
	0,               /* response handling */
	mod_init,        /* module init, main process */
	mod_child_init,  /* per-process init */
	0                /* destroy */
};
/* clang-format on */

int mod_register(char *path, int *dlflags, void *p1, void *p2)
{
	sr_kemi_modules_add(kemi_exports);
	return kz_json_register_trans(path);
}

static int mod_init(void)
{
	if(kz_params_check() < 0 || kz_stats_mod_init() < 0 || kz_rpc_mod_init() < 0 || kz_query_mod_init() < 0 || kz_async_mod_init() < 0
			|| kz_go_mod_init() < 0 || kz_consumer_mod_init() < 0)
		return -1;
	return kz_status_mod_init() < 0 || kz_pua_mod_init() < 0 ? -1 : 0;
}

static int mod_child_init(int rank)
{
	if(rank == PROC_MAIN)
		return kz_go_fork_relay() < 0 || kz_consumer_fork() < 0 ? -1 : 0;
	return kz_go_child_init(rank);
}
