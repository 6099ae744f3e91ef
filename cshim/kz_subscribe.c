/*
 * kz_subscribe.c - kazoo_subscribe(json), kazoo_subscribe(exchange, type, queue,
 * routing_key), kazoo_unsubscribe(name), the RPC commands kazoo.subscribe /
 * kazoo.unsubscribe, and the 2600hz fork's kazoo_declare_exchange(json).
 *
 * Unlike the C module, where kazoo_subscribe worked only in event_route[kazoo:mod-init],
 * they work in any route of any process, at any time: the description is checked in the
 * calling process (-1 and one log line when it is bad) and handed to every consumer worker,
 * which declares, binds and consumes it on each of its connections.
 */
#include "kz_build.h"
#include <stdint.h>
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/rpc.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_subscribe.h"

static int result(const char *what, int32_t rc)
{
	if(rc != KZ_OK) {
		LM_ERR("%s failed: %.*s\n", what, kz_errlen_checked(), kz_errbuf);
		return -1;
	}
	return 1;
}

int ki_kazoo_subscribe(sip_msg_t *msg, str *desc)
{
	if(kz_go_ensure() < 0)
		return -1;
	kz_err.len = 0;
	return result("kazoo_subscribe", kzgo_subscribe(kz_bytes(desc), &kz_err));
}

int ki_kazoo_subscribe_simple(
		sip_msg_t *msg, str *exchange, str *type, str *queue, str *routing_key)
{
	if(kz_go_ensure() < 0)
		return -1;
	kz_err.len = 0;
	return result("kazoo_subscribe",
			kzgo_subscribe_simple(kz_bytes(exchange), kz_bytes(type), kz_bytes(queue),
					kz_bytes(routing_key), &kz_err));
}

int ki_kazoo_unsubscribe(sip_msg_t *msg, str *name)
{
	if(kz_go_ensure() < 0)
		return -1;
	kz_err.len = 0;
	return result("kazoo_unsubscribe", kzgo_unsubscribe(kz_bytes(name), &kz_err));
}

static int get_values(sip_msg_t *msg, char **params, str *out, int n, const char *fn)
{
	int i;

	for(i = 0; i < n; i++) {
		if(fixup_get_svalue(msg, (gparam_t *)params[i], &out[i]) < 0) {
			LM_ERR("%s: cannot evaluate parameter %d\n", fn, i + 1);
			return -1;
		}
	}
	return 0;
}

int w_kazoo_declare_exchange(sip_msg_t *msg, char *desc)
{
	str v;

	if(get_values(msg, &desc, &v, 1, "kazoo_declare_exchange") < 0 || kz_go_ensure() < 0)
		return -1;
	kz_err.len = 0;
	return result("kazoo_declare_exchange", kzgo_declare_exchange(kz_bytes(&v), &kz_err));
}

int w_kazoo_subscribe(sip_msg_t *msg, char *desc)
{
	str v;

	if(get_values(msg, &desc, &v, 1, "kazoo_subscribe") < 0)
		return -1;
	return ki_kazoo_subscribe(msg, &v);
}

int w_kazoo_subscribe4(sip_msg_t *msg, char *exchange, char *type, char *queue, char *rk)
{
	char *params[] = {exchange, type, queue, rk};
	str v[4];

	if(get_values(msg, params, v, 4, "kazoo_subscribe") < 0)
		return -1;
	return ki_kazoo_subscribe_simple(msg, &v[0], &v[1], &v[2], &v[3]);
}

int w_kazoo_unsubscribe(sip_msg_t *msg, char *name)
{
	str v;

	if(get_values(msg, &name, &v, 1, "kazoo_unsubscribe") < 0)
		return -1;
	return ki_kazoo_unsubscribe(msg, &v);
}

/* ---- RPC ---- */

static void rpc_subscribe(rpc_t *rpc, void *ctx)
{
	str desc = STR_NULL;

	if(rpc->scan(ctx, "S", &desc) < 1) {
		rpc->fault(ctx, 400, "a subscription description (JSON) is required");
		return;
	}
	if(ki_kazoo_subscribe(NULL, &desc) < 0) {
		rpc->fault(ctx, 500, "%.*s", kz_errlen_checked(), kz_errbuf);
		return;
	}
	rpc->rpl_printf(ctx, "Ok. Subscribed.");
}

static void rpc_unsubscribe(rpc_t *rpc, void *ctx)
{
	str name = STR_NULL;

	if(rpc->scan(ctx, "S", &name) < 1) {
		rpc->fault(ctx, 400, "the subscription's name (or queue) is required");
		return;
	}
	if(ki_kazoo_unsubscribe(NULL, &name) < 0) {
		rpc->fault(ctx, 500, "%.*s", kz_errlen_checked(), kz_errbuf);
		return;
	}
	rpc->rpl_printf(ctx, "Ok. Unsubscribe requested.");
}

static const char *rpc_subscribe_doc[] = {
		"Subscribe at runtime: kazoo.subscribe '<kazoo_subscribe JSON>'", 0};
static const char *rpc_unsubscribe_doc[] = {
		"Cancel a subscription: kazoo.unsubscribe <name or queue>", 0};

rpc_export_t kz_subscribe_rpc[] = {
		{"kazoo.subscribe", rpc_subscribe, rpc_subscribe_doc, 0},
		{"kazoo.unsubscribe", rpc_unsubscribe, rpc_unsubscribe_doc, 0},
		{0, 0, 0, 0}};
