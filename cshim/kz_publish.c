/*
 * kz_publish.c - kazoo_publish(exchange, routing_key, payload [, amqp_headers]) and the
 * 2600hz fork's kazoo_publish(exchange, routing_key, payload, flags, arguments) (Go reads
 * a 4th argument of digits as the fork's flags, and headers in either form).
 * Returns 1 once the broker confirmed the message, 2 when no broker is connected and the
 * message waits in this process's spool (amqp_spool_max > 0), -1 otherwise with one log
 * line saying why. Never 0: in Kamailio 0 ends the script, which the C module did silently whenever
 * the broker was down.
 */
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "kz_stats.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_publish.h"
#include "kz_params.h"
#include "kz_wait.h"

/* where Go writes the pending publish's outcome (static: it must outlive the wait) */
static kz_outcome_t kz_pub_outcome;

static int kz_publish(str *exchange, str *routing_key, str *payload, str *headers, str *flags)
{
	int32_t rc;
	int64_t deadline;
	int notified;
	kz_message_t msg;

	if(kz_go_ensure() < 0 || kz_wait_fd() < 0)
		return -1;
	kz_err.len = 0;
	deadline = kz_monotonic_ms() + kz_publish_timeout_ms;
	memset(&kz_pub_outcome, 0, sizeof(kz_pub_outcome));
	msg = (kz_message_t){kz_bytes(exchange), kz_bytes(routing_key), kz_bytes(payload),
			kz_bytes(headers), kz_bytes(flags), kz_wait_fd(), &kz_pub_outcome};
	rc = kzgo_publish_start(&msg, &kz_err);
	while(rc == KZ_PENDING) { /* sent: wait in C for the broker's confirm */
		notified = kz_wait_outcome(deadline);
		if(kz_outcome_take(&kz_pub_outcome, &rc, NULL))
			break;
		rc = kzgo_publish_finish(!notified, &kz_err);
	}
	if(rc == KZ_SPOOLED) {
		kz_stat_inc(KZ_STAT_SPOOLED);
		return 2;
	}
	if(rc == KZ_ERR_SPOOL_FULL)
		kz_stat_inc(KZ_STAT_SPOOL_OVERFLOW);
	if(rc != KZ_OK) {
		kz_stat_inc(KZ_STAT_PUBLISH_FAILED);
		LM_ERR("kazoo_publish to exchange '%.*s' with routing key '%.*s' failed: %.*s\n",
				exchange->len, exchange->s, routing_key->len, routing_key->s,
				kz_errlen_checked(), kz_errbuf);
		return -1;
	}
	kz_stat_inc(KZ_STAT_PUBLISHED);
	return 1;
}

int ki_kazoo_publish_hdrs(
		sip_msg_t *msg, str *exchange, str *routing_key, str *payload, str *headers)
{
	return kz_publish(exchange, routing_key, payload, headers, NULL);
}


int ki_kazoo_publish(sip_msg_t *msg, str *exchange, str *routing_key, str *payload)
{
	return kz_publish(exchange, routing_key, payload, NULL, NULL);
}

static int get_params(sip_msg_t *msg, char **params, str *out, int n)
{
	static const char *names[] = {
			"exchange", "routing key", "payload", "4th (headers or flags)", "amqp headers"};
	int i;

	for(i = 0; i < n; i++) {
		if(fixup_get_svalue(msg, (gparam_t *)params[i], &out[i]) < 0) {
			LM_ERR("kazoo_publish: cannot evaluate the %s parameter\n", names[i]);
			return -1;
		}
	}
	return 0;
}

int w_kazoo_publish(sip_msg_t *msg, char *exchange, char *routing_key, char *payload)
{
	char *params[] = {exchange, routing_key, payload};
	str v[3];

	if(get_params(msg, params, v, 3) < 0)
		return -1;
	return kz_publish(&v[0], &v[1], &v[2], NULL, NULL);
}

int w_kazoo_publish_hdrs(sip_msg_t *msg, char *exchange, char *routing_key,
		char *payload, char *headers)
{
	char *params[] = {exchange, routing_key, payload, headers};
	str v[4];

	if(get_params(msg, params, v, 4) < 0)
		return -1;
	return kz_publish(&v[0], &v[1], &v[2], &v[3], NULL);
}

/* the fork's 5 arguments: flags (digits, 2048 = mandatory) and arguments (AMQP headers as
 * a JSON object, or upstream's "k=v;...") */
int w_kazoo_publish5(sip_msg_t *msg, char *exchange, char *routing_key, char *payload,
		char *flags, char *headers)
{
	char *params[] = {exchange, routing_key, payload, flags, headers};
	str v[5];

	if(get_params(msg, params, v, 5) < 0)
		return -1;
	return kz_publish(&v[0], &v[1], &v[2], &v[4], &v[3]);
}
