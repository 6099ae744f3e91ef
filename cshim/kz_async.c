/*
 * kz_async.c - kazoo_async_query(exchange, routing_key, payload, reply_route, fail_route
 * [, headers_or_flags]) and its alias kazoo_query_async. The 6th argument is AMQP headers
 * "k=v;..." as kazoo_publish's 4th, or, digits only, 2600hz's fork's publish flags, which
 * Go tells apart and ignores (queries are always mandatory).
 *
 * The SIP worker suspends the transaction (tm), hands the request as one datagram to the
 * module's consumer workers ("kazoo consumer N"; the first to read it takes it) and returns
 * 0, which ends its script: the SIP worker is free at once. That worker's Go side performs
 * the query; its C thread then
 * resumes the transaction with t_continue in onreply_route[reply_route] ($kzR holds the
 * reply) or, on timeout or error, in failure_route[fail_route] - as the C module does, but
 * the reply never waits behind a busy SIP worker and an unknown route is a startup error
 * instead of a transaction left suspended.
 *
 * KEMI (KSR.kazoo.async_query) names callback functions instead of routes: the names are
 * kept in a small shared table and the record carries their index with KZ_ASYNC_KEMI_REF
 * set, so the record and the Go side stay the same; the consumer worker resumes with
 * t_continue_cb.
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
#include "core/mem/shm_mem.h"
#include "core/locking.h"
#include "core/kemi.h"
#include "modules/tm/tm_load.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_query.h"
#include "kz_async.h"
#include "kz_le.h"
#include "kz_stats.h"

static struct tm_binds tmb;
static int tm_loaded = 0;
static int ipc[2] = {-1, -1};    /* [0] consumer reads, [1] SIP workers send */
static uint8_t *record = NULL;   /* this process's record buffer */
static int record_cap = 0;

/* KEMI callback names, appended by SIP workers, read by consumer workers (shared memory).
 * A script names a handful of callbacks; the table only grows. */
#define KZ_ASYNC_KEMI_REF 0x80000000u
#define KZ_KEMI_CB_MAX 128
#define KZ_KEMI_CB_NAME 64
typedef struct kemi_callbacks {
	gen_lock_t lock;
	int count; /* entries below count are complete and never change (atomic access) */
	int len[KZ_KEMI_CB_MAX];
	char name[KZ_KEMI_CB_MAX][KZ_KEMI_CB_NAME];
} kemi_callbacks_t;
static kemi_callbacks_t *kemi_cbs = NULL;

int kz_async_mod_init(void)
{
	int size = 4 << 20;

	kemi_cbs = shm_malloc(sizeof(*kemi_cbs));
	if(kemi_cbs == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(kemi_cbs, 0, sizeof(*kemi_cbs));
	lock_init(&kemi_cbs->lock);

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

/* the index of a KEMI callback name, added if new; -1 when the table is full or the name
 * too long */
static int kemi_callback_ref(str *name)
{
	int i, n = __atomic_load_n(&kemi_cbs->count, __ATOMIC_ACQUIRE);

	for(i = 0; i < n; i++)
		if(kemi_cbs->len[i] == name->len && memcmp(kemi_cbs->name[i], name->s, name->len) == 0)
			return i;
	if(name->len <= 0 || name->len >= KZ_KEMI_CB_NAME) {
		LM_ERR("kazoo async_query: callback name '%.*s' is empty or longer than %d\n",
				name->len, name->s, KZ_KEMI_CB_NAME - 1);
		return -1;
	}
	lock_get(&kemi_cbs->lock);
	for(i = n; i < kemi_cbs->count; i++) /* added by another worker meanwhile? */
		if(kemi_cbs->len[i] == name->len && memcmp(kemi_cbs->name[i], name->s, name->len) == 0)
			break;
	if(i == kemi_cbs->count && i < KZ_KEMI_CB_MAX) {
		memcpy(kemi_cbs->name[i], name->s, name->len);
		kemi_cbs->len[i] = name->len;
		__atomic_store_n(&kemi_cbs->count, i + 1, __ATOMIC_RELEASE);
	}
	lock_release(&kemi_cbs->lock);
	if(i >= KZ_KEMI_CB_MAX) {
		LM_ERR("kazoo async_query: more than %d distinct callback names\n", KZ_KEMI_CB_MAX);
		return -1;
	}
	return i;
}

/* resumes with the route or KEMI callback the record refers to */
static int resume(uint32_t *ints, struct action *a)
{
	str name;
	uint32_t ref = ints[2];

	if(!(ref & KZ_ASYNC_KEMI_REF))
		return tmb.t_continue(ints[0], ints[1], a);
	ref &= ~KZ_ASYNC_KEMI_REF;
	if(ref >= (uint32_t)__atomic_load_n(&kemi_cbs->count, __ATOMIC_ACQUIRE)) {
		LM_ERR("async query record names an unknown KEMI callback %u\n", ref);
		return -1;
	}
	name.s = kemi_cbs->name[ref];
	name.len = kemi_cbs->len[ref];
	return tmb.t_continue_cb(ints[0], ints[1], &name, NULL);
}

/* the route index of a record (the SIP worker's, through Go) within the route list */
static int route_index_ok(uint32_t ref, struct route_list *rt)
{
	if(ref & KZ_ASYNC_KEMI_REF) /* resume() checks the callback's index */
		return 1;
	if(ref < (uint32_t)rt->entries)
		return 1;
	LM_ERR("BUG: async query record names route %u of %d\n", ref, rt->entries);
	return 0;
}

void kz_async_resume(int kind, uint32_t *ints, uint8_t *buf, int64_t len)
{
	struct action *a = NULL;

	/* the lengths came back from Go: the reply, or the reason and then ints[3] bytes */
	if(!kz_len_ok(len, INT_MAX, "an async outcome length")
			|| (kind != KZ_EVENT_ASYNC_REPLY
					&& !kz_len_ok(ints[3], len, "an async failure reply length"))
			|| !route_index_ok(ints[2],
					kind == KZ_EVENT_ASYNC_REPLY ? &onreply_rt : &failure_rt)) {
		/* not resumed: tm ends the suspended transaction at its timeout */
		kz_stat_inc(KZ_STAT_ASYNC_FAILED);
		return;
	}
	kz_stat_inc(kind == KZ_EVENT_ASYNC_REPLY ? KZ_STAT_ASYNC_OK : KZ_STAT_ASYNC_FAILED);
	if(kind == KZ_EVENT_ASYNC_REPLY) {
		kz_query_set_reply(buf, (int)len);
		if(!(ints[2] & KZ_ASYNC_KEMI_REF))
			a = onreply_rt.rlist[ints[2]];
	} else {
		/* the reason, then (ints[3] bytes) what $kzR holds there: the fork's description of
		 * a returned request, which stock failure routes test for */
		LM_ERR("%.*s\n", (int)(len - ints[3]), buf);
		if(ints[3] > 0)
			kz_query_set_reply(buf + len - ints[3], (int)ints[3]);
		else
			kz_query_set_reply(NULL, -1);
		if(!(ints[2] & KZ_ASYNC_KEMI_REF))
			a = failure_rt.rlist[ints[2]];
	}
	if(resume(ints, a) < 0)
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

/* suspends the transaction and hands the query to the consumer workers; reply_ref and
 * fail_ref are route indexes or KEMI callback references */
static int async_query(sip_msg_t *msg, str *exchange, str *routing_key, str *payload,
		str *headers, uint32_t reply_ref, uint32_t fail_ref)
{
	str parts[4] = {*exchange, *routing_key, *payload, *headers};
	uint32_t f[KZ_ASYNC_F_COUNT];
	unsigned int tindex, tlabel;
	struct cell *t;

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
	f[KZ_ASYNC_F_REPLY_ROUTE] = reply_ref;
	f[KZ_ASYNC_F_FAIL_ROUTE] = fail_ref;
	f[KZ_ASYNC_F_TIMEOUT_MS] = (uint32_t)kz_query_timeout_ms(msg);
	f[KZ_ASYNC_F_EXCHANGE_LEN] = parts[0].len;
	f[KZ_ASYNC_F_ROUTING_KEY_LEN] = parts[1].len;
	f[KZ_ASYNC_F_PAYLOAD_LEN] = parts[2].len;
	f[KZ_ASYNC_F_HEADERS_LEN] = parts[3].len;
	if(send_record(f, parts) < 0) {
		tmb.t_cancel_suspend(tindex, tlabel);
		return -1;
	}
	return 0;
}

static int w_async_query(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route, char *headers)
{
	str ex, rk, pl, hd = {"", 0};

	if(fixup_get_svalue(msg, (gparam_t *)exchange, &ex) < 0
			|| fixup_get_svalue(msg, (gparam_t *)routing_key, &rk) < 0
			|| fixup_get_svalue(msg, (gparam_t *)payload, &pl) < 0
			|| (headers && fixup_get_svalue(msg, (gparam_t *)headers, &hd) < 0)) {
		LM_ERR("kazoo_async_query: cannot evaluate its parameters\n");
		return -1;
	}
	if(async_query(msg, &ex, &rk, &pl, &hd, *(int *)reply_route, *(int *)fail_route) < 0)
		return -1;
	return 0; /* suspended: the script ends here and resumes in one of the routes */
}

int w_kazoo_async_query(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route)
{
	return w_async_query(msg, exchange, routing_key, payload, reply_route, fail_route, NULL);
}

/* KSR.kazoo.async_query(exchange, routing_key, payload, reply_callback, failure_callback):
 * 1 when suspended (the script should then end: KSR.x.exit()), -1 on error. The callbacks
 * are functions of the KEMI script, run as tm runs t_continue_cb callbacks. */
int ki_kazoo_async_query(sip_msg_t *msg, str *exchange, str *routing_key, str *payload,
		str *reply_cb, str *fail_cb)
{
	int reply_ref, fail_ref;
	str none = {"", 0};

	if(!tm_loaded) {
		LM_ERR("kazoo async_query needs the tm module: loadmodule \"tm.so\" before kazoo\n");
		return -1;
	}
	if(sr_kemi_eng_get() == NULL) {
		LM_ERR("kazoo async_query with callbacks needs a KEMI engine (cfgengine)\n");
		return -1;
	}
	if((reply_ref = kemi_callback_ref(reply_cb)) < 0 || (fail_ref = kemi_callback_ref(fail_cb)) < 0)
		return -1;
	if(async_query(msg, exchange, routing_key, payload, &none, KZ_ASYNC_KEMI_REF | reply_ref,
			   KZ_ASYNC_KEMI_REF | fail_ref) < 0)
		return -1;
	return 1;
}

int w_kazoo_async_query6(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *reply_route, char *fail_route, char *headers_or_flags)
{
	return w_async_query(
			msg, exchange, routing_key, payload, reply_route, fail_route, headers_or_flags);
}
