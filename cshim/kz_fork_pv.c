/*
 * kz_fork_pv.c - the pseudo-variables of 2600hz's fork that their configs (master, 5.x) use,
 * so those configs load: $knode, the node's name, $ki, a per-process log tag, and $kzTS,
 * the time now.
 *
 * $knode is "kamailio@<node_hostname>", the Node key of every published payload.
 * $ki is a string each process keeps for its own log lines (the configs put it in their
 * xlog prefix): a script sets it ($ki = "..."; $null or "" clears it) and reads it back;
 * unset, it reads $null. The fork also set it to "Call-ID|Msg-ID" of each consumed message;
 * here only scripts set it (README, "2600hz configs").
 */
#include "kz_build.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core/dprint.h"
#include "core/pvar.h"
#include "core/mem/mem.h"
#include "kz_go.h"
#include "kz_params.h"
#include "kz_fork_pv.h"

/* a log tag longer than this is cut: it goes into every log line of the process */
#define KZ_KI_MAX 1024

static uint8_t *ki_buf = NULL;
static int64_t ki_cap = 0;
static str ki = STR_NULL;

int pv_get_knode(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static char node[300];
	static str s = STR_NULL;

	if(s.s == NULL) {
		s.len = snprintf(node, sizeof(node), "kamailio@%.*s", kz_node_hostname.len,
				kz_node_hostname.s ? kz_node_hostname.s : "");
		if(s.len < 0 || s.len >= (int)sizeof(node))
			return pv_get_null(msg, param, res);
		s.s = node;
	}
	return pv_get_strval(msg, param, res, &s);
}

int pv_get_ki(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	if(ki.s == NULL || ki.len == 0)
		return pv_get_null(msg, param, res);
	return pv_get_strval(msg, param, res, &ki);
}

int pv_set_ki(sip_msg_t *msg, pv_param_t *param, int op, pv_value_t *val)
{
	str in;
	char num[32];

	if(val == NULL || (val->flags & PV_VAL_NULL)) {
		ki.len = 0;
		return 0;
	}
	if(val->flags & PV_VAL_STR) {
		in = val->rs;
	} else if(val->flags & PV_VAL_INT) {
		in.len = snprintf(num, sizeof(num), "%ld", (long)val->ri);
		in.s = num;
	} else {
		LM_ERR("$ki takes a string or a number\n");
		return -1;
	}
	if(in.len > KZ_KI_MAX)
		in.len = KZ_KI_MAX;
	if(in.len > 0 && kz_pkg_grow(&ki_buf, &ki_cap, in.len + 1) < 0)
		return -1;
	if(in.len > 0)
		memcpy(ki_buf, in.s, in.len);
	ki.s = (char *)ki_buf;
	ki.len = in.len;
	return 0;
}

/* $kzTS: the current UTC time in RFC 3339 with nanoseconds, e.g.
 * 2026-12-06T05:12:09.123456789Z, as the fork wrote it (log lines, payload timestamps).
 * Formatted here: a Go call per read would cost more than the formatting. */
int pv_get_kzTS(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	static char buf[64];
	struct timespec now;
	struct tm tm;
	str s;

	if(clock_gettime(CLOCK_REALTIME, &now) < 0 || gmtime_r(&now.tv_sec, &tm) == NULL)
		return pv_get_null(msg, param, res);
	s.len = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			(long)now.tv_nsec);
	if(s.len < 0 || s.len >= (int)sizeof(buf))
		return pv_get_null(msg, param, res);
	s.s = buf;
	return pv_get_strval(msg, param, res, &s);
}
