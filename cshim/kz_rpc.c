/*
 * kz_rpc.c - RPC commands that describe the module across its processes:
 *   kamcmd kazoo.status          every process running the module: its brokers (state,
 *                                since when, errors) and its queries in flight
 *   kamcmd kazoo.subscriptions   what the consumer workers consume
 * Each process's Go side keeps a slot of a shared-memory table current (plain stores, no
 * Kamailio API); the RPC process reads the table. kazoo.subscribe / kazoo.unsubscribe are in
 * kz_subscribe.c.
 */
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <sys/types.h>
#include "core/dprint.h"
#include "core/pt.h"
#include "core/rpc.h"
#include "core/rpc_lookup.h"
#include "core/mem/shm_mem.h"
#include "kazoo_abi.h"
#include "kz_params.h"
#include "kz_url.h"
#include "kz_rpc.h"

#define KZ_STATUS_SLOTS 1024 /* process_no of every Kamailio process fits */

static uint8_t *slots = NULL;
static uint8_t *subs_area = NULL;

/* Fields of the shared areas, which Go stores while this process reads them: one atomic
 * load each (Go stores each field with one atomic store), so that no field is seen half
 * old and half new; the areas are little-endian on every host. */
static uint32_t shared_le32(const uint32_t *p)
{
	uint32_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

static int64_t shared_le64(const void *p)
{
	uint64_t v = __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return (int64_t)v;
}

int kz_rpc_mod_init(void)
{
	if(rpc_register_array(kz_rpc) != 0) {
		LM_ERR("cannot register the kazoo RPC commands\n");
		return -1;
	}
	slots = shm_malloc(KZ_STATUS_SLOTS * KZ_STATUS_SLOT_SIZE);
	subs_area = shm_malloc(KZ_SUBS_AREA_SIZE);
	if(slots == NULL || subs_area == NULL) {
		SHM_MEM_ERROR;
		return -1;
	}
	memset(slots, 0, KZ_STATUS_SLOTS * KZ_STATUS_SLOT_SIZE);
	memset(subs_area, 0, KZ_SUBS_AREA_SIZE);
	return 0;
}

/* the slot of this process, for Go (right after kzgo_init) */
void kz_rpc_process_started(void)
{
	if(slots == NULL || process_no < 0 || process_no >= KZ_STATUS_SLOTS)
		return;
	kzgo_status_area(
			(kz_bytes_t){slots + (size_t)process_no * KZ_STATUS_SLOT_SIZE, KZ_STATUS_SLOT_SIZE});
}

/* consumer 1 publishes the subscriptions there */
void kz_rpc_subscriptions_writer(void)
{
	if(subs_area != NULL)
		kzgo_subscriptions_area((kz_bytes_t){subs_area, KZ_SUBS_AREA_SIZE});
}

static const char *state_name(uint32_t s)
{
	static const char *names[KZ_BROKER_STATE_COUNT] = {[KZ_BROKER_CONNECTING] = "connecting",
			[KZ_BROKER_OPEN] = "open", [KZ_BROKER_DOWN] = "down", [KZ_BROKER_STOPPED] = "stopped",
			[KZ_BROKER_IDLE] = "idle"};
	return s < KZ_BROKER_STATE_COUNT ? names[s] : "unknown";
}

/* "zone=<name>;" prefix of an amqp_connection, or the primary zone */
static void broker_zone(const char *url, char *zone, int size)
{
	const char *semi;

	if(strncmp(url, "zone=", 5) == 0 && (semi = strchr(url, ';')) != NULL) {
		snprintf(zone, size, "%.*s", (int)(semi - url - 5), url + 5);
		return;
	}
	snprintf(zone, size, "%.*s", kz_primary_zone.len, kz_primary_zone.s);
}

static void rpc_status(rpc_t *rpc, void *ctx)
{
	int i, b, n;
	struct kz_status_slot *slot;
	struct kz_status_broker *br;
	uint32_t pid;
	void *proc, *brokers, *one;
	kz_broker_url_t *url;
	char zone[128], since[32];
	int64_t since_ms;
	time_t since_s;
	struct tm tm;

	if(slots == NULL) {
		rpc->fault(ctx, 500, "no status table");
		return;
	}
	for(i = 0; i < KZ_STATUS_SLOTS && i < *process_count; i++) {
		slot = (struct kz_status_slot *)(slots + (size_t)i * KZ_STATUS_SLOT_SIZE);
		pid = shared_le32(&slot->pid);
		if(pid == 0 || (pt && pt[i].pid != (int)pid) || kill((pid_t)pid, 0) != 0)
			continue;
		if(rpc->add(ctx, "{", &proc) < 0)
			return;
		rpc->struct_add(proc, "dsddL", "pid", (int)pid, "process", pt ? pt[i].desc : "",
				"queries_in_flight", (int)shared_le32(&slot->queries_in_flight), "goroutines",
				(int)shared_le32(&slot->goroutines), "go_heap_live",
				(long long)shared_le64(&slot->go_heap_live));
		if(rpc->struct_add(proc, "[", "brokers", &brokers) < 0)
			return;
		n = (int)shared_le32(&slot->brokers);
		for(b = 0, url = kz_broker_urls; b < n && b < KZ_STATUS_MAX_BROKERS && url;
				b++, url = url->next) {
			br = &slot->broker[b];
			broker_zone(url->url, zone, sizeof(zone));
			if(rpc->array_add(brokers, "{", &one) < 0)
				return;
			since_ms = shared_le64(&br->since);
			since_s = (time_t)(since_ms / 1000);
			gmtime_r(&since_s, &tm);
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
			rpc->struct_add(one, "dssssdL", "id", b + 1, "url",
					kz_url_masked(strncmp(url->url, "zone=", 5) == 0 && strchr(url->url, ';')
										  ? strchr(url->url, ';') + 1
										  : url->url),
					"zone", zone, "state", state_name(shared_le32(&br->state)), "since", since,
					"blocked", (int)shared_le32(&br->blocked), "errors",
					(long long)shared_le64(&br->errors));
		}
	}
}

/* a process counter summed over the live processes' slots (statistics functions) */
long kz_rpc_counter_sum(int idx)
{
	long sum = 0;
	struct kz_status_slot *slot;
	uint32_t pid;
	int i;

	if(slots == NULL || idx < 0 || idx >= KZ_SC_COUNT)
		return 0;
	for(i = 0; i < KZ_STATUS_SLOTS && i < *process_count; i++) {
		slot = (struct kz_status_slot *)(slots + (size_t)i * KZ_STATUS_SLOT_SIZE);
		pid = shared_le32(&slot->pid);
		if(pid == 0 || (pt && pt[i].pid != (int)pid))
			continue;
		sum += (long)shared_le64(&slot->counters[idx]);
	}
	return sum;
}

/* A consistent copy of the subscriptions area, a sequence lock written by Go
 * (abi.SubsArea.Write, kazoo/internal/abi/statusarea.go): the sequence is odd while Go writes; Go's atomic stores (the
 * sequence, then every 8-byte word of the text, the length, the sequence again) are
 * sequentially consistent, so a copy made between two equal even loads of the sequence,
 * with an acquire fence before the second, holds no word of a later write. Returns the
 * length copied, -1 when every try met a write. */
#define KZ_SUBS_TEXT_MAX (KZ_SUBS_AREA_SIZE - offsetof(struct kz_subs_area, text))
_Static_assert(KZ_SUBS_AREA_SIZE % 8 == 0 && offsetof(struct kz_subs_area, text) % 8 == 0,
		"the subscriptions area is copied by 8-byte words");

static int copy_subscriptions(char *copy)
{
	const struct kz_subs_area *area = (const struct kz_subs_area *)subs_area;
	uint32_t seq, len, i;
	uint64_t w;
	int tries;

	for(tries = 0; tries < 100; tries++) {
		seq = __atomic_load_n(&area->seq, __ATOMIC_ACQUIRE);
		if(seq & 1)
			continue;
		len = shared_le32(&area->len);
		if(len > KZ_SUBS_TEXT_MAX)
			len = KZ_SUBS_TEXT_MAX;
		for(i = 0; i < (len + 7) / 8; i++) { /* the area's size is a multiple of 8 */
			w = __atomic_load_n((const uint64_t *)area->text + i, __ATOMIC_RELAXED);
			memcpy(copy + 8 * i, &w, 8);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if(__atomic_load_n(&area->seq, __ATOMIC_RELAXED) == seq)
			return (int)len;
	}
	return -1;
}

static void rpc_subscriptions(rpc_t *rpc, void *ctx)
{
	char *copy;
	int len;

	if(subs_area == NULL) {
		rpc->fault(ctx, 500, "no subscriptions area");
		return;
	}
	copy = pkg_malloc(KZ_SUBS_AREA_SIZE);
	if(copy == NULL) {
		rpc->fault(ctx, 500, "out of memory");
		return;
	}
	len = copy_subscriptions(copy);
	if(len < 0) {
		pkg_free(copy);
		rpc->fault(ctx, 500, "the subscriptions are being updated; try again");
		return;
	}
	copy[len] = 0;
	rpc->rpl_printf(ctx, "%s", len ? copy : "[]");
	pkg_free(copy);
}

static const char *rpc_status_doc[] = {
		"Per process running the module: its brokers (state, since, errors) and queries in"
		" flight",
		0};
static const char *rpc_subscriptions_doc[] = {
		"The subscriptions the consumer workers consume (JSON)", 0};

rpc_export_t kz_rpc[] = {
		{"kazoo.status", rpc_status, rpc_status_doc, RET_ARRAY},
		{"kazoo.subscriptions", rpc_subscriptions, rpc_subscriptions_doc, 0},
		{0, 0, 0, 0}};
