/*
 * kz_stats.c - statistics, as Kamailio counters in the "kazoo" group (kamcmd
 * stats.get_statistics kazoo:, xhttp_prom). Updated by the C threads of the processes that
 * call the module, after Go returned: goroutines never touch Kamailio's counters.
 */
#include "kz_build.h"
#include "core/dprint.h"
#include "core/counters.h"
#include "kazoo_abi.h"
#include "kz_rpc.h"
#include "kz_stats.h"

static stat_var *vars[KZ_STAT_COUNT];

/* clang-format off */
static stat_export_t kz_stats[] = {
	{"published", 0, &vars[KZ_STAT_PUBLISHED]},
	{"publish_failed", 0, &vars[KZ_STAT_PUBLISH_FAILED]},
	{"spooled", 0, &vars[KZ_STAT_SPOOLED]},
	{"spool_overflow", 0, &vars[KZ_STAT_SPOOL_OVERFLOW]},
	{"query_ok", 0, &vars[KZ_STAT_QUERY_OK]},
	{"query_timeout", 0, &vars[KZ_STAT_QUERY_TIMEOUT]},
	{"query_failed", 0, &vars[KZ_STAT_QUERY_FAILED]},
	{"async_query_ok", 0, &vars[KZ_STAT_ASYNC_OK]},
	{"async_query_failed", 0, &vars[KZ_STAT_ASYNC_FAILED]},
	{"events", 0, &vars[KZ_STAT_EVENTS]},
	{0, 0, 0}
};
/* clang-format on */

/* counters kept by the Go side of each process in the shared status table, summed when
 * read (STAT_IS_FUNC: the function runs in the process that reads the statistics) */
#define KZ_SUM_STAT(fn, idx) \
	static counter_val_t fn(void)   \
	{                               \
		return kz_rpc_counter_sum(idx); \
	}
KZ_SUM_STAT(stat_returned, KZ_SC_RETURNED)
KZ_SUM_STAT(stat_acked, KZ_SC_ACKED)
KZ_SUM_STAT(stat_redelivered, KZ_SC_REDELIVERED)
KZ_SUM_STAT(stat_rejected, KZ_SC_REJECTED)
KZ_SUM_STAT(stat_reconnects, KZ_SC_RECONNECTS)
KZ_SUM_STAT(stat_q10, KZ_SC_QUERY_10MS)
KZ_SUM_STAT(stat_q50, KZ_SC_QUERY_50MS)
KZ_SUM_STAT(stat_q100, KZ_SC_QUERY_100MS)
KZ_SUM_STAT(stat_q500, KZ_SC_QUERY_500MS)
KZ_SUM_STAT(stat_q1000, KZ_SC_QUERY_1S)
KZ_SUM_STAT(stat_qslower, KZ_SC_QUERY_SLOWER)
KZ_SUM_STAT(stat_cancelled, KZ_SC_CONSUMERS_CANCELLED)

static struct {
	char *name;
	stat_function fn;
} kz_sum_stats[] = {
	{"returned", stat_returned},
	{"acked", stat_acked},
	{"redelivered", stat_redelivered},
	{"rejected", stat_rejected},
	{"reconnects", stat_reconnects},
	{"consumers_cancelled", stat_cancelled},
	{"query_latency_le_10ms", stat_q10},
	{"query_latency_le_50ms", stat_q50},
	{"query_latency_le_100ms", stat_q100},
	{"query_latency_le_500ms", stat_q500},
	{"query_latency_le_1s", stat_q1000},
	{"query_latency_gt_1s", stat_qslower},
	{0, 0}
};

int kz_stats_mod_init(void)
{
	int i;

	if(register_module_stats("kazoo", kz_stats) != 0) {
		LM_ERR("cannot register the kazoo statistics\n");
		return -1;
	}
	for(i = 0; kz_sum_stats[i].name; i++) {
		if(register_stat("kazoo", kz_sum_stats[i].name, (stat_var **)kz_sum_stats[i].fn,
				   STAT_IS_FUNC | STAT_NO_RESET)
				!= 0) {
			LM_ERR("cannot register statistic kazoo:%s\n", kz_sum_stats[i].name);
			return -1;
		}
	}
	return 0;
}

void kz_stat_inc(enum kz_stat which)
{
	if(which >= 0 && which < KZ_STAT_COUNT)
		update_stat(vars[which], 1);
}
