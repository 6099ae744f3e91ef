/*
 * kz_pua.c - kazoo_pua_publish(json) and its _mwi, _presence and _dialoginfo forms.
 *
 * Go builds the presentity row from the JSON exactly as the C module did (body templates,
 * etag, sender, expires, Flush-Level; values XML-escaped), this file writes it with
 * Kamailio's DB API as the C module did: inside start_transaction(pua_lock_type) when the
 * driver has transactions, REPLACE keyed on (event, domain, username, etag) when the driver
 * has it and the reset level is 0, else DELETE by the first 4-reset keys and INSERT.
 * Unlike the C module, the return code tells the truth: 1 written (or nothing to write),
 * -1 bad JSON or a database error. The presence modules NOTIFY when the script calls
 * pres_refresh_watchers(), as with the C module.
 */
#include "kz_build.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/mem/mem.h"
#include "lib/srdb1/db.h"
#include "kazoo_abi.h"
#include "kz_params.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_pua.h"
#include "kz_le.h"

static db_func_t dbf;
static db1_con_t *db = NULL;
static int db_bound = 0;
static uint8_t *row_buf = NULL;
static int64_t row_cap = 0;

static str col_event = str_init("event");
static str col_domain = str_init("domain");
static str col_username = str_init("username");
static str col_etag = str_init("etag");
static str col_sender = str_init("sender");
static str col_body = str_init("body");
static str col_received_time = str_init("received_time");
static str col_expires = str_init("expires");
static str col_priority = str_init("priority");

int kz_pua_mod_init(void)
{
	if(kz_pua_mode != 1 || kz_db_url.s == NULL || kz_db_url.len == 0)
		return 0;
	if(db_bind_mod(&kz_db_url, &dbf) < 0) {
		LM_ERR("db_url: no database module for '%.*s' (loadmodule it before kazoo)\n",
				kz_db_url.len, kz_db_url.s);
		return -1;
	}
	if(!DB_CAPABILITY(dbf, DB_CAP_QUERY | DB_CAP_INSERT | DB_CAP_DELETE)) {
		LM_ERR("db_url: the database module cannot query, insert and delete\n");
		return -1;
	}
	db_bound = 1;
	return 0;
}

/* the connection of this process, opened on first use (each process has its own) */
static int ensure_db(void)
{
	if(db != NULL)
		return 0;
	if(!db_bound) {
		LM_ERR("kazoo_pua_publish*: needs pua_mode 1 and db_url\n");
		return -1;
	}
	db = dbf.init(&kz_db_url);
	if(db == NULL) {
		LM_ERR("kazoo_pua_publish*: cannot connect to the database\n");
		return -1;
	}
	return 0;
}

static void set_str(db_val_t *v, str *s)
{
	v->type = DB1_STR;
	v->nul = 0;
	v->val.str_val = *s;
}

static void set_int(db_val_t *v, int i)
{
	v->type = DB1_INT;
	v->nul = 0;
	v->val.int_val = i;
}

static int write_row(str *f, const char *fn)
{
	db_key_t cols[9] = {&col_event, &col_domain, &col_username, &col_etag, &col_sender,
			&col_body, &col_received_time, &col_expires, &col_priority};
	db_op_t ops[4] = {OP_EQ, OP_EQ, OP_EQ, OP_EQ};
	db_val_t vals[9];
	int reset = atoi(f[KZ_PUA_F_RESET].s);

	set_str(&vals[0], &f[KZ_PUA_F_EVENT]);
	set_str(&vals[1], &f[KZ_PUA_F_DOMAIN]);
	set_str(&vals[2], &f[KZ_PUA_F_USERNAME]);
	set_str(&vals[3], &f[KZ_PUA_F_ETAG]);
	set_str(&vals[4], &f[KZ_PUA_F_SENDER]);
	set_str(&vals[5], &f[KZ_PUA_F_BODY]);
	vals[5].type = DB1_BLOB;
	set_int(&vals[6], atoi(f[KZ_PUA_F_RECEIVED_TIME].s));
	set_int(&vals[7], atoi(f[KZ_PUA_F_EXPIRES].s));
	set_int(&vals[8], 0);
	if(reset < 0 || reset > 4)
		reset = 0;

	if(ensure_db() < 0)
		return -1;
	if(dbf.use_table(db, &kz_presentity_table) < 0) {
		LM_ERR("%s: cannot use table %.*s\n", fn, kz_presentity_table.len,
				kz_presentity_table.s);
		return -1;
	}
	if(dbf.start_transaction
			&& dbf.start_transaction(db, (db_locking_t)kz_pua_lock_type) < 0) {
		LM_ERR("%s: cannot start a transaction\n", fn);
		return -1;
	}
	if(dbf.replace != NULL && reset == 0) {
		if(dbf.replace(db, cols, vals, 9, 4, 0) < 0)
			goto fail;
	} else {
		if(dbf.delete(db, cols, ops, vals, 4 - reset) < 0 || dbf.insert(db, cols, vals, 9) < 0)
			goto fail;
	}
	if(dbf.end_transaction && dbf.end_transaction(db) < 0) {
		LM_ERR("%s: cannot commit\n", fn);
		return -1;
	}
	return 1;
fail:
	LM_ERR("%s: cannot write presentity %.*s@%.*s (%.*s)\n", fn,
			f[KZ_PUA_F_USERNAME].len, f[KZ_PUA_F_USERNAME].s, f[KZ_PUA_F_DOMAIN].len,
			f[KZ_PUA_F_DOMAIN].s, f[KZ_PUA_F_EVENT].len, f[KZ_PUA_F_EVENT].s);
	if(dbf.abort_transaction && dbf.abort_transaction(db) < 0)
		LM_ERR("%s: cannot abort the transaction\n", fn);
	return -1;
}

/* splits the row record into its fields (views of p) */
static int parse_row(uint8_t *p, int64_t len, str *f)
{
	int64_t off = 0;
	uint32_t n;
	int i;

	for(i = 0; i < KZ_PUA_F_COUNT; i++) {
		if(off + 4 > len)
			return -1;
		n = kz_le32(p + off);
		off += 4;
		if(off + n > len)
			return -1;
		f[i].s = (char *)p + off;
		f[i].len = (int)n;
		off += n;
	}
	return 0;
}

static int pua_publish_str(str doc, int kind, const char *fn)
{
	str f[KZ_PUA_F_COUNT];
	int64_t len = 0;
	int32_t rc;
	kz_buf_t out;
	char num[3][24];
	int i;

	if(kz_pua_mode != 1) {
		LM_ERR("%s: pua_mode must be 1 (with db_url) to publish presence\n", fn);
		return -1;
	}
	if(kz_go_ensure() < 0)
		return -1;
	for(;;) {
		kz_err.len = 0;
		out = (kz_buf_t){row_buf, row_cap, 0};
		rc = kzgo_pua_row(kind, kz_pua_include_entity, kz_bytes(&doc), &out, &kz_err);
		len = out.len;
		if(rc != KZ_ERR_BUFFER)
			break;
		if(!kz_grow_ok(len, row_cap - 1, INT_MAX - 1, "a row length")
				|| kz_pkg_grow(&row_buf, &row_cap, len + 1) < 0)
			return -1;
	}
	if(rc != KZ_OK) {
		LM_ERR("%s: %.*s\n", fn, kz_errlen_checked(), kz_errbuf);
		return -1;
	}
	if(!kz_len_ok(len, row_cap, "a row length"))
		return -1;
	if(len == 0)
		return 1; /* not an update of a known package: nothing to write, as the C module */
	if(parse_row(row_buf, len, f) < 0) {
		LM_ERR("%s: BUG: malformed row\n", fn);
		return -1;
	}
	/* the numbers as 0-terminated text for atoi */
	for(i = 0; i < 3; i++) {
		str *n = &f[KZ_PUA_F_EXPIRES + i];
		snprintf(num[i], sizeof(num[i]), "%.*s", n->len, n->s);
		n->s = num[i];
	}
	return write_row(f, fn);
}

static int pua_publish(sip_msg_t *msg, char *param, int kind, const char *fn)
{
	str doc;

	if(fixup_get_svalue(msg, (gparam_t *)param, &doc) < 0) {
		LM_ERR("%s: cannot evaluate its parameter\n", fn);
		return -1;
	}
	return pua_publish_str(doc, kind, fn);
}

/* KEMI: KSR.kazoo.pua_publish(json), pua_publish_mwi, pua_publish_presence,
 * pua_publish_dialoginfo */
int ki_kazoo_pua_publish(sip_msg_t *msg, str *json)
{
	return pua_publish_str(*json, KZ_PUA_ANY, "kazoo_pua_publish");
}

int ki_kazoo_pua_publish_mwi(sip_msg_t *msg, str *json)
{
	return pua_publish_str(*json, KZ_PUA_MWI, "kazoo_pua_publish_mwi");
}

int ki_kazoo_pua_publish_presence(sip_msg_t *msg, str *json)
{
	return pua_publish_str(*json, KZ_PUA_PRESENCE, "kazoo_pua_publish_presence");
}

int ki_kazoo_pua_publish_dialoginfo(sip_msg_t *msg, str *json)
{
	return pua_publish_str(*json, KZ_PUA_DIALOG, "kazoo_pua_publish_dialoginfo");
}

int w_kazoo_pua_publish(sip_msg_t *msg, char *json)
{
	return pua_publish(msg, json, KZ_PUA_ANY, "kazoo_pua_publish");
}

int w_kazoo_pua_publish_mwi(sip_msg_t *msg, char *json)
{
	return pua_publish(msg, json, KZ_PUA_MWI, "kazoo_pua_publish_mwi");
}

int w_kazoo_pua_publish_presence(sip_msg_t *msg, char *json)
{
	return pua_publish(msg, json, KZ_PUA_PRESENCE, "kazoo_pua_publish_presence");
}

int w_kazoo_pua_publish_dialoginfo(sip_msg_t *msg, char *json)
{
	return pua_publish(msg, json, KZ_PUA_DIALOG, "kazoo_pua_publish_dialoginfo");
}
