/*
 * kz_async.c - kazoo_async_query(exchange, routing_key, payload, reply_route, fail_route
 * [, flags]) and its alias kazoo_query_async.
 *
 * The SIP worker suspends the transaction (tm), hands the request as one datagram to the
 * module's consumer workers ("kazoo consumer N"; the first to read it takes it) and returns
 * 0, which ends its script: the SIP worker is free at once. That worker's Go side performs
 * the query; its C thread then
 * resumes the transaction with t_continue in onreply_route[reply_route] ($kzR holds the
 * reply) or, on timeout or error, in failure_route[fail_route] - as the C module does, but
 * the reply never waits behind a busy SIP worker and an unknown route is a startup error
 * instead of a transaction left suspended.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/route.h"
#include "core/pt.h"
#include "core/cfg/cfg_struct.h"
#include "core/mem/mem.h"
#include "modules/tm/tm_load.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_query.h"
#include "kz_async.h"
#include "kz_le.h"
#include "kz_stats.h"

static struct tm_binds tmb;
static int tm_loaded = 0;
static int ipc[2] = {-1, -1};    /* [0] consumer reads, [1] SIP workers send */
static uint8_t *record = NULL;   /* this process's record buffer */
static int record_cap = 0;

int kz_async_mod_init(void)
{
	int size = 4 << 20;

	if(find_export("load_tm", NO_SCRIPT, 0) != NULL && load_tm_api(&tmb) == 0)
		tm_loaded = 1;
	if(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, ipc) < 0) {
		LM_ERR("cannot create the async query socket: %s\n", strerror(errno));
		return -1;
	}
	/* room for large requests and for bursts while the consumer is busy */
	if(setsockopt(ipc[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(ipc[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if(setsockopt(ipc[0], SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(ipc[0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return 0;
}

/* ---- in a consumer worker: resume a transaction with the outcome ---- */

int kz_async_reader_fd(void)
{
	return ipc[0];
}

void kz_async_resume(int kind, uint32_t *ints, uint8_t *buf, int64_t len)
{
	struct action *a;

	kz_stat_inc(kind == KZ_EVENT_ASYNC_REPLY ? KZ_STAT_ASYNC_OK : KZ_STAT_ASYNC_FAILED);
	if(kind == KZ_EVENT_ASYNC_REPLY) {
		kz_query_set_reply(buf, (int)len);
		a = onreply_rt.rlist[ints[2]];
	} else {
		/* the reason, then (ints[3] bytes) what $kzR holds there: the fork's description of
		 * a returned request, which stock failure routes test for */
		LM_ERR("%.*s\n", (int)(len - ints[3]), buf);
		if(ints[3] > 0)
			kz_query_set_reply(buf + len - ints[3], (int)ints[3]);
		else
			kz_query_set_reply(NULL, -1);
		a = failure_rt.rlist[ints[2]];
	}
	if(tmb.t_continue(ints[0], ints[1], a) < 0)
		LM_ERR("cannot resume transaction %u:%u (gone already?)\n", ints[0], ints[1]);
}

/* ---- the SIP worker side ---- */

int kz_async_fixup(void **param, int param_no)
{
	struct route_list *rt;
	const char *kind;
	int idx, *p;

	if(param_no <= 3 || param_no == 6)
		return fixup_spve_null(param, 1);
	if(!tm_loaded) {
		LM_ERR("kazoo_async_query needs the tm module: loadmodule \"tm.so\" before kazoo\n");
		return -1;
	}
	rt = param_no == 4 ? &onreply_rt : &failure_rt;
	kind = param_no == 4 ? "onreply_route" : "failure_route";
	idx = route_lookup(rt, (char *)*param);
	if(idx < 0 || rt->rlist[idx] == NULL) {
		LM_ERR("kazoo_async_query: %s[%s] is not defined\n", kind, (char *)*param);
		return -1;
	}
	p = pkg_malloc(sizeof(int));
	if(p == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	*p = idx;
	*param = p;
	return 0;
}

int kz_async_fixup_free(void **param, int param_no)
{
	if(param_no <= 3 || param_no == 6)
		return fixup_free_spve_null(param, 1);
	pkg_free(*param);
	*param = NULL;
	return 0;
}

static int send_record(uint32_t *f, str *parts)
{
	int i, need = 4 * KZ_ASYNC_F_COUNT, off = 0;
	uint8_t *p;

	for(i = 0; i < 4; i++)
		need += parts[i].len;
	if(need > record_cap) {
		p = pkg_realloc(record, need);
		if(p == NULL) {
			PKG_MEM_ERROR;
			return -1;
		}
		record = p;
		record_cap = need;
	}
	for(i = 0; i < KZ_ASYNC_F_COUNT; i++)
		off += kz_put_le32(record + off, f[i]);
	for(i = 0; i < 4; i++) {
		memcpy(record + off, parts[i].s, parts[i].len);
		off += parts[i].len;
	}
	if(send(ipc[1], record, off, MSG_DONTWAIT) != off) {
		LM_ERR("kazoo_async_query: cannot hand the request to the kazoo consumer process: %s\n",
				strerror(errno));
		return -1;
	}
	return 0;
}

int w_kazoo_async_query(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route)
{
	str parts[4] = {STR_NULL, STR_NULL, STR_NULL, {"", 0}};
	uint32_t f[KZ_ASYNC_F_COUNT];
	unsigned int tindex, tlabel;
	struct cell *t;

	if(fixup_get_svalue(msg, (gparam_t *)exchange, &parts[0]) < 0
			|| fixup_get_svalue(msg, (gparam_t *)routing_key, &parts[1]) < 0
			|| fixup_get_svalue(msg, (gparam_t *)payload, &parts[2]) < 0) {
		LM_ERR("kazoo_async_query: cannot evaluate its parameters\n");
		return -1;
	}
	t = tmb.t_gett();
	if(t == NULL || t == T_UNDEFINED) {
		if(tmb.t_newtran(msg) < 0) {
			LM_ERR("kazoo_async_query: cannot create the transaction\n");
			return -1;
		}
	}
	if(tmb.t_suspend(msg, &tindex, &tlabel) < 0) {
		LM_ERR("kazoo_async_query: cannot suspend the transaction\n");
		return -1;
	}
	f[KZ_ASYNC_F_MAGIC] = KZ_ASYNC_MAGIC;
	f[KZ_ASYNC_F_TINDEX] = tindex;
	f[KZ_ASYNC_F_TLABEL] = tlabel;
	f[KZ_ASYNC_F_REPLY_ROUTE] = *(int *)reply_route;
	f[KZ_ASYNC_F_FAIL_ROUTE] = *(int *)fail_route;
	f[KZ_ASYNC_F_TIMEOUT_MS] = (uint32_t)kz_query_timeout_ms(msg);
	f[KZ_ASYNC_F_EXCHANGE_LEN] = parts[0].len;
	f[KZ_ASYNC_F_ROUTING_KEY_LEN] = parts[1].len;
	f[KZ_ASYNC_F_PAYLOAD_LEN] = parts[2].len;
	f[KZ_ASYNC_F_HEADERS_LEN] = 0;
	if(send_record(f, parts) < 0) {
		tmb.t_cancel_suspend(tindex, tlabel);
		return -1;
	}
	return 0; /* suspended: the script ends here and resumes in one of the routes */
}

int w_kazoo_async_query6(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route, char *flags)
{
	/* flags: 2600hz's fork passes publish flags here; the C module ignored them too */
	return w_kazoo_async_query(msg, exchange, routing_key, payload, reply_route, fail_route);
}
