/*
 * kz_consumer.c - the module's consumer workers: amqp_consumer_workers processes named
 * "kazoo consumer N" in `kamcmd core.psx`.
 *
 * Each one runs Go with its own AMQP connection per broker, consumes the subscriptions
 * (a shared queue is consumed by every worker, so the broker spreads its messages over
 * them), runs async queries, and its C thread runs what Go queues for it: event routes for
 * consumed messages and connection events ($kzE, $kzRK), or t_continue for async replies.
 * The C thread blocks here on a pipe, in C, not inside Go, so signals reach Kamailio's
 * handlers as in any other process.
 *
 * Worker 1 runs event_route[kazoo:mod-init] (or the KEMI callback with "kazoo:mod-init")
 * once, after its Go side started - so kazoo_subscribe, kazoo_publish, kazoo_query and the
 * kz transformations work there - and then tells every worker to start consuming.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "kz_build.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "core/dprint.h"
#include "core/pt.h"
#include "core/route.h"
#include "core/fmsg.h"
#include "core/kemi.h"
#include "core/receive.h"
#include "core/script_cb.h"
#include "core/cfg/cfg_struct.h"
#include "core/mem/mem.h"
#include "core/str_hash.h"
#include "core/clist.h"
#include "kazoo_abi.h"
#include "kz_params.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_async.h"
#include "kz_consumer.h"
#include "kz_stats.h"
#include "kz_rpc.h"

#define MOD_INIT_ROUTE "kazoo:mod-init"
#define EVENT_ROUTE_PREFIX "kazoo:"

static int (*notify)[2] = NULL;  /* per worker: Go -> its C thread */
static int (*control)[2] = NULL; /* per worker: [0] it reads, [1] any process sends */

/* the event being run in this process: $kzE and $kzRK */
static str event_payload = STR_NULL;
static str event_routing_key = STR_NULL;
static int event_running = 0;
static int event_has_routing_key = 0;

/* every event_route[kazoo:...] of the cfg, handed to Go as "<index> <name>" records */
static int add_event_routes(void)
{
	struct str_hash_entry *e;
	char rec[512];
	int i, n = 0;

	if(event_rt.names.table == NULL)
		return 0;
	for(i = 0; i < event_rt.names.size; i++) {
		clist_foreach(&event_rt.names.table[i], e, next)
		{
			if(e->key.len < (int)sizeof(EVENT_ROUTE_PREFIX) - 1
					|| strncmp(e->key.s, EVENT_ROUTE_PREFIX, sizeof(EVENT_ROUTE_PREFIX) - 1)
					|| event_rt.rlist[e->u.n] == NULL)
				continue;
			snprintf(rec, sizeof(rec), "%d %.*s", e->u.n, e->key.len, e->key.s);
			if(kz_go_cfg_add(kz_key_event_route, rec, -1) < 0)
				return -1;
			n++;
		}
	}
	LM_DBG("%d kazoo event routes\n", n);
	return 0;
}

int kz_consumer_mod_init(void)
{
	int i, size = 1 << 20;

	if(kz_event_callback.s && kz_event_callback.len > 0 && sr_kemi_eng_get() == NULL) {
		LM_ERR("event_callback is set but no KEMI engine is configured (cfgengine)\n");
		return -1;
	}
	notify = pkg_malloc(sizeof(*notify) * kz_consumer_workers);
	control = pkg_malloc(sizeof(*control) * kz_consumer_workers);
	if(notify == NULL || control == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	for(i = 0; i < kz_consumer_workers; i++) {
		if(pipe2(notify[i], O_CLOEXEC) < 0
				|| socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, control[i]) < 0) {
			LM_ERR("cannot create the channels of kazoo consumer %d: %s\n", i + 1,
					strerror(errno));
			return -1;
		}
		/* Go writes: a full pipe must not block it (the C thread drains all on wake-up),
		 * nor a full control socket the process that subscribes (it gets an error) */
		fcntl(notify[i][1], F_SETFL, O_NONBLOCK);
		fcntl(control[i][1], F_SETFL, O_NONBLOCK);
		setsockopt(control[i][1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		setsockopt(control[i][0], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		if(kz_go_cfg_add_int(kz_key_consumer_control_fd, control[i][1]) < 0)
			return -1;
	}
	if(add_event_routes() < 0)
		return -1;
	register_procs(kz_consumer_workers);
	cfg_register_child(kz_consumer_workers);
	return 0;
}

/* ---- $kzE, $kzRK ---- */

int pv_get_kzE(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	if(!event_running)
		return pv_get_null(msg, param, res);
	return pv_get_strval(msg, param, res, &event_payload);
}

int pv_get_kzRK(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	if(!event_running || !event_has_routing_key)
		return pv_get_null(msg, param, res);
	return pv_get_strval(msg, param, res, &event_routing_key);
}

/* $kzProps: asked of Go when a script reads it, so a cfg that never does costs nothing;
 * the buffer grows to the largest properties seen and is reused */
int pv_get_kzProps(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static uint8_t *buf = NULL;
	static int64_t cap = 0;
	kz_buf_t out;
	uint8_t *bigger;
	str val;
	int32_t r;

	if(!event_running || !kz_go_running())
		return pv_get_null(msg, param, res);
	out = (kz_buf_t){buf, cap, 0};
	r = kzgo_event_properties(&out);
	if(r == KZ_ERR_BUFFER) {
		bigger = pkg_malloc(out.len);
		if(bigger == NULL) {
			LM_ERR("$kzProps: no pkg memory for %lld bytes\n", (long long)out.len);
			return pv_get_null(msg, param, res);
		}
		if(buf)
			pkg_free(buf);
		buf = bigger;
		cap = out.len;
		out = (kz_buf_t){buf, cap, 0};
		r = kzgo_event_properties(&out);
	}
	if(r != KZ_OK || out.len <= 0)
		return pv_get_null(msg, param, res);
	val.s = (char *)buf;
	val.len = (int)out.len;
	return pv_get_strval(msg, param, res, &val);
}

/* ---- running routes ---- */

/* runs event_route[idx] or the KEMI callback with evname on a faked request, as the C
 * module does (REQUEST_ROUTE type, so request-route functions work there) */
static void run_route(uint32_t idx, char *evname)
{
	sip_msg_t *fmsg;
	struct run_act_ctx ctx;
	sr_kemi_eng_t *keng;
	str name;
	int rtb;

	fmsg = faked_msg_get_next(); /* initialises the faked message on first use */
	rtb = get_route_type();
	set_route_type(REQUEST_ROUTE);
	if(exec_pre_script_cb(fmsg, REQUEST_CB_TYPE) != 0) {
		if(idx == KZ_ROUTE_CALLBACK) {
			keng = sr_kemi_eng_get();
			name.s = evname;
			name.len = strlen(evname);
			if(keng == NULL
					|| sr_kemi_route(keng, fmsg, EVENT_ROUTE, &kz_event_callback, &name)
							   < 0)
				LM_ERR("error running the kazoo event_callback %.*s(\"%s\")\n",
						kz_event_callback.len, kz_event_callback.s, evname);
		} else {
			init_run_actions_ctx(&ctx);
			run_top_route(event_rt.rlist[idx], fmsg, &ctx);
		}
		exec_post_script_cb(fmsg, REQUEST_CB_TYPE);
	}
	ksr_msg_env_reset();
	set_route_type(rtb);
}

static void run_mod_init(void)
{
	int idx;

	if(kz_event_callback.s && kz_event_callback.len > 0) {
		run_route(KZ_ROUTE_CALLBACK, MOD_INIT_ROUTE);
		return;
	}
	idx = route_lookup(&event_rt, MOD_INIT_ROUTE);
	if(idx >= 0 && event_rt.rlist[idx] != NULL) {
		LM_DBG("running event_route[" MOD_INIT_ROUTE "]\n");
		run_route(idx, MOD_INIT_ROUTE);
	}
}

/* runs a message's event route; returns its handle, which the next kzgo_take_event
 * acknowledges: after the route, not before, so that a crash in it leaves the message
 * unacknowledged and the broker delivers it again */
static uint32_t run_event(uint32_t *ints, uint8_t *buf, int64_t len)
{
	/* lengths and route from Go: the payload within the event, a route that exists */
	if(!kz_len_ok(len, INT_MAX, "an event length") || !kz_len_ok(ints[1], len, "a payload length")
			|| (ints[2] != KZ_ROUTE_CALLBACK && ints[2] >= (uint32_t)event_rt.entries)) {
		LM_ERR("BUG: event record refused (route %u of %d)\n", ints[2], event_rt.entries);
		return ints[0]; /* acknowledged: it would be refused again */
	}
	event_payload.s = (char *)buf;
	event_payload.len = (int)ints[1];
	event_routing_key.s = (char *)buf + ints[1];
	event_routing_key.len = (int)(len - ints[1]);
	event_has_routing_key = ints[3] != 0;
	event_running = 1;
	if(ints[0] != 0)
		kz_stat_inc(KZ_STAT_EVENTS);
	run_route(ints[2], "kazoo:consumer-event");
	event_running = 0;
	return ints[0];
}

/* ---- the worker process ---- */

static void worker_loop(int index)
{
	uint32_t ints[KZ_EVENT_INTS], done = 0;
	uint8_t *buf;
	int64_t cap = 65536, len;
	int32_t kind;
	kz_buf_t out;
	char wake[256];

	buf = pkg_malloc(cap);
	kz_go_consumer_process = 1;
	if(buf == NULL || kz_go_ensure() < 0) {
		LM_CRIT("kazoo consumer %d cannot start\n", index);
		exit(-1);
	}
	kz_err.len = 0;
	if(kzgo_consumer_start(index, kz_async_reader_fd(), notify[index - 1][1],
			   control[index - 1][0], &kz_err)
			!= KZ_OK) {
		LM_CRIT("kazoo consumer %d cannot start: %.*s\n", index, kz_errlen_checked(), kz_errbuf);
		exit(-1);
	}
	if(index == 1) {
		kz_rpc_subscriptions_writer();
		run_mod_init();
		kz_err.len = 0;
		if(kzgo_consumer_ready(&kz_err) != KZ_OK)
			LM_ERR("cannot start consuming: %.*s\n", kz_errlen_checked(), kz_errbuf);
	}
	for(;;) {
		if(read(notify[index - 1][0], wake, sizeof(wake)) < 0 && errno != EINTR) {
			LM_ERR("kazoo consumer %d notify pipe: %s\n", index, strerror(errno));
			sleep(1);
		}
		cfg_update();
		for(;;) {
			out = (kz_buf_t){buf, cap, 0};
			kind = kzgo_take_event(done, ints, &out);
			len = out.len;
			done = 0;
			if(kind == KZ_EVENT_NONE)
				break;
			if(len > cap) {
				uint8_t *p = pkg_realloc(buf, len);
				if(p == NULL) {
					/* not fatal: exiting would stop Kamailio, and a message acknowledged
					 * after its route, still queued, would stop it again at every start */
					kzgo_refuse_event(len);
					continue;
				}
				buf = p;
				cap = len;
				continue;
			}
			if(kind == KZ_EVENT_MESSAGE)
				done = run_event(ints, buf, len);
			else
				kz_async_resume(kind, ints, buf, len);
		}
		if(cap > (1 << 20)) { /* one huge event must not pin memory for good */
			uint8_t *p = pkg_realloc(buf, 65536);
			if(p != NULL) {
				buf = p;
				cap = 65536;
			}
		}
	}
}

int kz_consumer_fork(void)
{
	char desc[64];
	int i, j, pid;

	for(i = 1; i <= kz_consumer_workers; i++) {
		snprintf(desc, sizeof(desc), "kazoo consumer %d", i);
		pid = fork_process(PROC_XWORKER, desc, 1);
		if(pid < 0)
			return -1;
		if(pid == 0) {
			if(cfg_child_init())
				exit(-1);
			for(j = 0; j < kz_consumer_workers; j++) {
				if(j != i - 1) {
					close(notify[j][0]);
					close(control[j][0]);
				}
			}
			worker_loop(i);
			exit(0);
		}
	}
	return 0;
}
