/*
 * kz_stats.c - statistics, as Kamailio counters in the "kazoo" group (kamcmd
 * stats.get_statistics kazoo:, xhttp_prom). Updated by the C threads of the processes that
 * call the module, after Go returned: goroutines never touch Kamailio's counters.
 */
#include "kz_build.h"
#include "core/dprint.h"
#include "core/counters.h"
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

int kz_stats_mod_init(void)
{
	if(register_module_stats("kazoo", kz_stats) != 0) {
		LM_ERR("cannot register the kazoo statistics\n");
		return -1;
	}
	return 0;
}

void kz_stat_inc(enum kz_stat which)
{
	if(which >= 0 && which < KZ_STAT_COUNT)
		update_stat(vars[which], 1);
}
