/* kz_stats.h - the module's statistics (kamcmd stats.get_statistics kazoo:) */
#ifndef KAZOO_STATS_H
#define KAZOO_STATS_H

enum kz_stat {
	KZ_STAT_PUBLISHED,      /* kazoo_publish confirmed by the broker */
	KZ_STAT_PUBLISH_FAILED, /* kazoo_publish returned -1 */
	KZ_STAT_SPOOLED,        /* kept while no broker (returned 2) */
	KZ_STAT_SPOOL_OVERFLOW, /* refused: spool full */
	KZ_STAT_QUERY_OK,       /* kazoo_query answered */
	KZ_STAT_QUERY_TIMEOUT,  /* kazoo_query without an answer in time */
	KZ_STAT_QUERY_FAILED,   /* kazoo_query failed otherwise */
	KZ_STAT_ASYNC_OK,       /* kazoo_async_query resumed in its reply route */
	KZ_STAT_ASYNC_FAILED,   /* kazoo_async_query resumed in its failure route */
	KZ_STAT_EVENTS,         /* consumed messages whose event route ran */
	KZ_STAT_COUNT
};

/* mod_init: register the counters */
int kz_stats_mod_init(void);
/* from a Kamailio process's own thread only (never from Go) */
void kz_stat_inc(enum kz_stat which);

#endif
