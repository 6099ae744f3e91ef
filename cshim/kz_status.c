/*
 * kz_status.c - $xavp(amqpc=>...): the AMQP connection counters of 2600hz's fork, which
 * the stock configs test before sending work to Kazoo (registrar-role.cfg drops every
 * REGISTER when $xavp(amqpc=>default::<zone>) is 0 or missing).
 *
 * Set before every request route and every kazoo event route of a process whose Go side
 * runs, from that process's own connections (each process owns its connections here):
 * "<zone>", "default::<zone>", "<zone>::default", "default" and the broker's URL (password
 * masked) count open connections; the same keys + "::error" count failed connects and
 * losses since start.
 *
 * The pairs are fetched from Go only when they changed (Go counts changes in
 * kz_status_gen): a request route then costs no call into Go, whose runtime wakes its
 * monitor thread each time a call returns to C.
 */
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include "core/dprint.h"
#include "core/xavp.h"
#include "core/script_cb.h"
#include "core/mem/mem.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_status.h"

static str xavp_name = str_init("amqpc");
static uint8_t *status_buf = NULL;
static int64_t status_cap = 0;
static int64_t status_len = 0;
uint64_t kz_status_gen = 0;
static uint64_t status_seen = UINT64_MAX; /* kz_status_gen of status_buf; none yet */

/* refreshes status_buf from Go; 0 or -1 */
static int fetch_status(void)
{
	int64_t len = 0;
	int32_t rc;
	kz_buf_t out;
	uint64_t gen = __atomic_load_n(&kz_status_gen, __ATOMIC_ACQUIRE);

	for(;;) {
		out = (kz_buf_t){status_buf, status_cap, 0};
		rc = kzgo_status(&out);
		len = out.len;
		if(rc != KZ_ERR_BUFFER)
			break;
		if(!kz_grow_ok(len, status_cap, INT_MAX - 256, "a status length")
				|| kz_pkg_grow(&status_buf, &status_cap, len + 256) < 0)
			return -1;
	}
	if(rc != KZ_OK || !kz_len_ok(len, status_cap, "a status length"))
		return -1;
	status_len = len;
	status_seen = gen; /* a change after the load above makes the next request fetch again */
	return 0;
}

static int set_status_xavp(sip_msg_t *msg, unsigned int flags, void *param)
{
	int64_t off;
	sr_xval_t val;
	sr_xavp_t *root = NULL, *added;
	str name;
	char *value;

	if(!kz_go_running())
		return 1;
	if(status_seen != __atomic_load_n(&kz_status_gen, __ATOMIC_ACQUIRE) && fetch_status() < 0)
		return 1;
	xavp_rm_by_name(&xavp_name, 1, NULL);
	for(off = 0; off < status_len;) {
		name.s = (char *)status_buf + off;
		name.len = strlen(name.s);
		value = name.s + name.len + 1;
		off += name.len + 1 + strlen(value) + 1;
		memset(&val, 0, sizeof(val));
		val.type = SR_XTYPE_LONG;
		val.v.l = atol(value);
		if(root == NULL)
			added = root = xavp_add_xavp_value(&xavp_name, &name, &val, NULL);
		else
			added = xavp_add_value(&name, &val, &root->val.v.xavp);
		if(added == NULL) {
			LM_ERR("cannot set $xavp(%.*s=>%.*s)\n", xavp_name.len, xavp_name.s, name.len,
					name.s);
			return 1;
		}
	}
	return 1;
}

int kz_status_mod_init(void)
{
	if(register_script_cb(set_status_xavp, PRE_SCRIPT_CB | REQUEST_CB, 0) < 0) {
		LM_ERR("cannot register the $xavp(amqpc) callback\n");
		return -1;
	}
	return 0;
}
