/*
 * kz_query.c - kazoo_query(exchange, routing_key, payload [, target [, amqp_headers]]):
 * a request/reply round trip with Kazoo. Returns 1 with the reply in $kzR (and in target),
 * -1 on error or timeout with $kzR null. Go sends the request and receives the reply; the
 * process waits in C (kz_wait.c). This file marshals the arguments, picks the timeout,
 * waits, and stores the reply in this process's memory for $kzR.
 *
 * The 4th argument is a writable variable upstream (the reply goes there too), but publish
 * flags in 2600hz's fork (its stock configs pass "$def(...)" or a number): a writable
 * variable is a target, anything else is accepted as flags and ignored.
 */
#include "kz_build.h"
#include "core/ut.h"
#include <stdint.h>
#include <string.h>
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/pvar.h"
#include "core/lvalue.h"
#include "core/mem/mem.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_params.h"
#include "kz_query.h"
#include "kz_stats.h"
#include "kz_wait.h"

#define KZ_QUERY_TIMEOUT_MAX_MS 86400000 /* amqp_query_timeout_sec's maximum */

/* the last reply of this process: $kzR */
static uint8_t *kz_reply = NULL;
static int kz_reply_cap = 0;
static int kz_reply_len = -1; /* -1: $null */
static pv_spec_t *kz_timeout_pv = NULL;
/* where Go writes the pending query's outcome (static: it must outlive the wait) */
static kz_outcome_t kz_outcome;

int kz_query_mod_init(void)
{
	if(kz_query_timeout_avp.s && kz_query_timeout_avp.len > 0) {
		kz_timeout_pv = pv_cache_get(&kz_query_timeout_avp);
		if(kz_timeout_pv == NULL) {
			LM_ERR("amqp_query_timeout_avp '%.*s' is not a valid variable\n",
					kz_query_timeout_avp.len, kz_query_timeout_avp.s);
			return -1;
		}
	}
	return 0;
}

/* amqp_query_timeout_avp holds milliseconds (as the C module reads it, whatever its docs
 * say); else amqp_query_timeout_sec/_micro. A per-call value is bounded like the modparam
 * (a day), so that no deadline or conversion downstream (poll's int, the async record's
 * 32 bits) can overflow. */
int64_t kz_query_timeout_ms(sip_msg_t *msg)
{
	pv_value_t v;
	int64_t ms;

	if(kz_timeout_pv && pv_get_spec_value(msg, kz_timeout_pv, &v) == 0
			&& (v.flags & PV_VAL_INT) && v.ri != 0) {
		ms = (int64_t)v.ri;
		if(ms > KZ_QUERY_TIMEOUT_MAX_MS) {
			LM_WARN("amqp_query_timeout_avp is %lld ms: above the maximum, %d ms is used\n",
					(long long)ms, KZ_QUERY_TIMEOUT_MAX_MS);
			return KZ_QUERY_TIMEOUT_MAX_MS;
		}
		if(ms > 0)
			return ms;
		LM_WARN("amqp_query_timeout_avp is %lld ms: not a timeout, amqp_query_timeout_sec/"
				"_micro is used\n",
				(long long)ms);
	}
	return (int64_t)kz_query_timeout_sec * 1000 + kz_query_timeout_micro / 1000;
}

static int ensure_reply_cap(int64_t n)
{
	uint8_t *p;

	if(n <= kz_reply_cap)
		return 0;
	p = pkg_realloc(kz_reply, n);
	if(p == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	kz_reply = p;
	kz_reply_cap = n;
	return 0;
}

static int kz_query(sip_msg_t *msg, str *exchange, str *routing_key, str *payload,
		pv_spec_t *target, str *headers)
{
	int32_t rc;
	int64_t len = 0, n, timeout, deadline;
	int notified;
	pv_value_t val;
	kz_query_t q;
	kz_buf_t reply;

	kz_reply_len = -1;
	if(kz_go_ensure() < 0)
		return -1;
	if(ensure_reply_cap(16384) < 0)
		return -1;
	if(kz_wait_fd() < 0)
		return -1;
	kz_err.len = 0;
	timeout = kz_query_timeout_ms(msg);
	deadline = kz_monotonic_ms() + timeout;
	memset(&kz_outcome, 0, sizeof(kz_outcome));
	q = (kz_query_t){{kz_bytes(exchange), kz_bytes(routing_key), kz_bytes(payload),
							 kz_bytes(headers), kz_bytes(NULL), kz_wait_fd(), &kz_outcome},
			timeout, kz_reply, kz_reply_cap};
	rc = kzgo_query_start(&q, &kz_err);
	while(rc == KZ_PENDING) { /* sent: wait in C for the reply */
		notified = kz_wait_outcome(deadline);
		if(kz_outcome_take(&kz_outcome, &rc, &len))
			break;
		reply = (kz_buf_t){kz_reply, kz_reply_cap, len};
		rc = kzgo_query_finish(!notified, &reply, &kz_err);
		len = reply.len;
	}
	if(rc != KZ_OK) {
		kz_stat_inc(rc == KZ_ERR_TIMEOUT ? KZ_STAT_QUERY_TIMEOUT : KZ_STAT_QUERY_FAILED);
		LM_ERR("kazoo_query to exchange '%.*s' with routing key '%.*s' failed: %.*s\n",
				exchange->len, exchange->s, routing_key->len, routing_key->s,
				kz_errlen_checked(), kz_errbuf);
		return -1;
	}
	if(!kz_len_ok(len, INT_MAX, "a reply length"))
		return -1;
	if(len > kz_reply_cap) {
		if(ensure_reply_cap(len) < 0)
			return -1;
		n = kzgo_last_reply((kz_bytes_t){kz_reply, kz_reply_cap});
		if(n != len) {
			LM_ERR("kazoo_query: reply of %lld bytes lost\n", (long long)len);
			return -1;
		}
	}
	kz_reply_len = (int)len;
	kz_stat_inc(KZ_STAT_QUERY_OK);
	if(target) {
		memset(&val, 0, sizeof(val));
		val.flags = PV_VAL_STR;
		val.rs.s = (char *)kz_reply;
		val.rs.len = kz_reply_len;
		if(target->setf(msg, &target->pvp, (int)EQ_T, &val) < 0) {
			LM_ERR("kazoo_query: cannot store the reply in the target variable\n");
			return -1;
		}
	}
	return 1;
}

void kz_query_set_reply(const uint8_t *buf, int len)
{
	kz_reply_len = -1;
	if(buf == NULL || len < 0 || ensure_reply_cap(len) < 0)
		return;
	memcpy(kz_reply, buf, len);
	kz_reply_len = len;
}

int pv_get_kzR(sip_msg_t *msg, pv_param_t *param, pv_value_t *res)
{
	str s;

	if(kz_reply_len < 0)
		return pv_get_null(msg, param, res);
	s.s = (char *)kz_reply;
	s.len = kz_reply_len;
	return pv_get_strval(msg, param, res, &s);
}

/* the 4th parameter: a writable variable (target) or the fork's publish flags */
typedef struct kz_target {
	pv_spec_t *pv;       /* writable: the target */
	pv_spec_t *readonly; /* a read-only variable: flags when its value is a number */
	char *text;          /* as written, for the log */
} kz_target_t;

int kz_query_fixup(void **param, int param_no)
{
	kz_target_t *t;
	str s;

	if(param_no != 4)
		return fixup_spve_null(param, 1);
	t = pkg_malloc(sizeof(*t));
	if(t == NULL) {
		PKG_MEM_ERROR;
		return -1;
	}
	memset(t, 0, sizeof(*t));
	s.s = (char *)*param;
	s.len = strlen(s.s);
	t->text = s.s;
	if(s.len > 0 && s.s[0] == '$') {
		t->pv = pv_cache_get(&s);
		if(t->pv == NULL) {
			LM_ERR("kazoo_query: invalid variable '%s' as 4th parameter\n", s.s);
			pkg_free(t);
			return -1;
		}
		if(t->pv->setf == NULL) { /* e.g. $def(FLAGS) in 2600hz's configs */
			t->readonly = t->pv;
			t->pv = NULL;
		}
	}
	*param = t;
	return 0;
}

int kz_query_fixup_free(void **param, int param_no)
{
	if(param_no != 4)
		return fixup_free_spve_null(param, 1);
	if(*param)
		pkg_free(*param);
	*param = NULL;
	return 0;
}

static int get_str(sip_msg_t *msg, char *p, str *out, const char *what)
{
	if(fixup_get_svalue(msg, (gparam_t *)p, out) < 0) {
		LM_ERR("kazoo_query: cannot evaluate the %s parameter\n", what);
		return -1;
	}
	return 0;
}

/* a read-only 4th parameter is accepted as the fork's publish flags when it holds a
 * number; anything else is a target the reply cannot be written to */
static int check_readonly_target(sip_msg_t *msg, kz_target_t *t)
{
	pv_value_t v;
	int flags;

	if(t == NULL || t->readonly == NULL)
		return 0;
	if(pv_get_spec_value(msg, t->readonly, &v) == 0) {
		/* a number, also as text ($def(...) gives the define's text) */
		if((v.flags & PV_VAL_INT) || ((v.flags & PV_VAL_STR) && str2sint(&v.rs, &flags) == 0))
			return 0;
	}
	LM_ERR("kazoo_query: the 4th parameter '%s' is neither a writable variable for the reply"
		   " nor publish flags (a number)\n",
			t->text);
	return -1;
}

int w_kazoo_query5(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *target, char *headers)
{
	str ex, rk, pl, hd;

	/* a call that fails before it queries leaves $kzR null, not the previous reply */
	kz_reply_len = -1;
	if(check_readonly_target(msg, (kz_target_t *)target) < 0)
		return -1;
	if(get_str(msg, exchange, &ex, "exchange") < 0
			|| get_str(msg, routing_key, &rk, "routing key") < 0
			|| get_str(msg, payload, &pl, "payload") < 0
			|| (headers && get_str(msg, headers, &hd, "amqp headers") < 0))
		return -1;
	return kz_query(msg, &ex, &rk, &pl, target ? ((kz_target_t *)target)->pv : NULL,
			headers ? &hd : NULL);
}

int w_kazoo_query4(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *target)
{
	return w_kazoo_query5(msg, exchange, routing_key, payload, target, NULL);
}

int w_kazoo_query3(sip_msg_t *msg, char *exchange, char *routing_key, char *payload)
{
	return w_kazoo_query5(msg, exchange, routing_key, payload, NULL, NULL);
}

int ki_kazoo_query(sip_msg_t *msg, str *exchange, str *routing_key, str *payload)
{
	return kz_query(msg, exchange, routing_key, payload, NULL, NULL);
}
