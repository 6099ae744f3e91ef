/*
 * kz_json.c - the JSON surface: transformations {kz.json,path}, {kz.json.count,path} and
 * {kz.encode}, functions kazoo_json, kazoo_json_keys and kazoo_encode; and the 2600hz fork's
 * {kz.filename} (the text after the last '/', for log prefixes: no Go call).
 *
 * Transformation parameters are parsed once, when the cfg is parsed (in the main process,
 * where Go never runs): a leading '$' makes the parameter one variable whose value is the
 * path, anything else is a string in which variables are expanded at every call
 * (Media-Servers.$var(key).url), as in the C module. Evaluation runs in Go (kzgo_json_*),
 * which writes the result straight into this process's rotating C buffers: nothing is
 * allocated per call on either side.
 */
#include "kz_build.h"
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include "core/dprint.h"
#include "core/mod_fix.h"
#include "core/pvar.h"
#include "core/lvalue.h"
#include "core/trim.h"
#include "core/usr_avp.h"
#include "core/mem/mem.h"
#include "kazoo_abi.h"
#include "kz_go.h"
#include "kz_bounds.h"
#include "kz_params.h"
#include "kz_json.h"

/* pv_get_avp_name() takes the name type as avp_flags_t* (unsigned int) since Kamailio 6.0
 * (commit fa792054a5); before, as unsigned short*. A 2-byte local there would be overrun. */
#if VERSIONVAL >= 6000000
typedef avp_flags_t kz_avp_name_type_t;
#else
typedef unsigned short kz_avp_name_type_t;
#endif

enum { TR_KZ_JSON = 1, TR_KZ_JSON_COUNT, TR_KZ_ENCODE, TR_KZ_FILENAME };
#define TR_KZ_CLASS 0x4b5a /* module-private transformation type */

/* Results live until the next few transformations of the same process: a chain such as
 * $(kzR{kz.json,a}{kz.json,b}) reads one while writing the next, hence rotation. */
#define KZ_RESULT_BUFFERS 4
static struct {
	uint8_t *s;
	int64_t cap;
} results[KZ_RESULT_BUFFERS];
static int next_result;

static int escape_char(void)
{
	return kz_json_escape_char.len > 0 ? (unsigned char)kz_json_escape_char.s[0] : '%';
}

static uint8_t *result_buffer(int64_t need, int64_t *cap)
{
	int i = next_result;

	if((results[i].cap < need || results[i].s == NULL)
			&& kz_pkg_grow(&results[i].s, &results[i].cap, need > 4096 ? need : 4096) < 0)
		return NULL;
	*cap = results[i].cap;
	return results[i].s;
}

static void result_taken(void)
{
	next_result = (next_result + 1) % KZ_RESULT_BUFFERS;
}

/* evaluate doc at path into a rotating buffer; *kind as kz_json_kind */
static int json_get(str *doc, str *path, str *out, int *kind)
{
	int64_t cap, len = 0;
	int32_t k = KZ_JSON_MISSING, rc;
	uint8_t *buf;
	kz_buf_t res;

	if(kz_go_ensure() < 0)
		return -1;
	buf = result_buffer(0, &cap);
	if(buf == NULL)
		return -1;
	for(;;) {
		kz_err.len = 0;
		res = (kz_buf_t){buf, cap, 0};
		rc = kzgo_json_get(kz_bytes(doc), kz_bytes(path), escape_char(), &res, &k, &kz_err);
		len = res.len;
		if(rc != KZ_ERR_BUFFER)
			break;
		if(!kz_grow_ok(len, cap, INT_MAX, "a result length")
				|| (buf = result_buffer(len, &cap)) == NULL)
			return -1;
	}
	if(rc != KZ_OK) {
		LM_ERR("kz.json '%.*s': %.*s\n", path->len, path->s, kz_errlen_checked(), kz_errbuf);
		k = KZ_JSON_INVALID;
		len = 0;
	} else if(!kz_len_ok(len, cap, "a result length")) {
		return -1;
	}
	result_taken();
	out->s = (char *)buf;
	out->len = (int)len;
	*kind = k;
	return 0;
}

static int json_count(str *doc, str *path, long *count)
{
	int64_t n = 0;

	if(kz_go_ensure() < 0)
		return -1;
	kz_err.len = 0;
	if(kzgo_json_count(kz_bytes(doc), kz_bytes(path), escape_char(), &n, &kz_err)
			!= KZ_OK) {
		LM_ERR("kz.json.count '%.*s': %.*s\n", path->len, path->s, kz_errlen_checked(), kz_errbuf);
		n = 0;
	}
	*count = (long)n;
	return 0;
}

static int encode(str *in, str *out)
{
	int64_t cap, len = 0;
	uint8_t *buf;
	kz_buf_t res;

	if(kz_go_ensure() < 0)
		return -1;
	buf = result_buffer(0, &cap);
	while(buf) {
		res = (kz_buf_t){buf, cap, 0};
		if(kzgo_encode(kz_bytes(in), &res) != KZ_ERR_BUFFER) {
			len = res.len;
			break;
		}
		len = res.len;
		if(!kz_grow_ok(len, cap, INT_MAX, "a result length"))
			return -1;
		buf = result_buffer(len, &cap);
	}
	if(buf == NULL || !kz_len_ok(len, cap, "a result length"))
		return -1;
	result_taken();
	out->s = (char *)buf;
	out->len = (int)len;
	return 0;
}

/* ---- transformations ---- */

typedef struct kz_tr_param {
	pv_spec_t *spec; /* "$var(x)": its value is the path */
	gparam_t *fmt;   /* otherwise: a string with variables, expanded per call */
} kz_tr_param_t;

static int tr_path(sip_msg_t *msg, kz_tr_param_t *p, str *path)
{
	pv_value_t v;

	if(p->spec) {
		/* an empty path is not an error here: Go reports it, and the result is "" */
		if(pv_get_spec_value(msg, p->spec, &v) != 0 || !(v.flags & PV_VAL_STR)) {
			LM_ERR("kz.json: the path variable has no string value\n");
			return -1;
		}
		*path = v.rs;
		return 0;
	}
	if(fixup_get_svalue(msg, p->fmt, path) != 0) {
		LM_ERR("kz.json: cannot expand the path\n");
		return -1;
	}
	return 0;
}

static int kz_tr_eval(sip_msg_t *msg, tr_param_t *tp, int subtype, pv_value_t *val)
{
	str path, out;
	int kind;
	long count;

	if(val == NULL || (val->flags & PV_VAL_NULL) || !(val->flags & PV_VAL_STR))
		return -1;
	switch(subtype) {
		case TR_KZ_FILENAME: /* the 2600hz fork's: what follows the last '/' (a view) */
			for(kind = val->rs.len; kind > 0 && val->rs.s[kind - 1] != '/'; kind--)
				;
			val->flags = PV_VAL_STR;
			val->ri = 0;
			val->rs.s += kind;
			val->rs.len -= kind;
			return 0;
		case TR_KZ_ENCODE:
			if(encode(&val->rs, &out) < 0)
				return -1;
			val->flags = PV_VAL_STR;
			val->ri = 0;
			val->rs = out;
			return 0;
		case TR_KZ_JSON:
			if(tp == NULL || tr_path(msg, (kz_tr_param_t *)tp->v.data, &path) < 0
					|| json_get(&val->rs, &path, &out, &kind) < 0)
				return -1;
			/* missing, JSON null and invalid input all read as "" (not $null) */
			val->flags = PV_VAL_STR;
			val->ri = 0;
			val->rs = out;
			return 0;
		case TR_KZ_JSON_COUNT:
			if(tp == NULL || tr_path(msg, (kz_tr_param_t *)tp->v.data, &path) < 0
					|| json_count(&val->rs, &path, &count) < 0)
				return -1;
			/* an integer only, as in the C module */
			val->flags = PV_TYPE_INT | PV_VAL_INT;
			val->rs.s = NULL;
			val->rs.len = 0;
			val->ri = count;
			return 0;
	}
	LM_ERR("unknown kz transformation %d\n", subtype);
	return -1;
}

/* parse the parameter after "json," / "json.count,"; returns the position after it */
static char *tr_parse_param(str *in, char *p, tr_param_t **out)
{
	kz_tr_param_t *kp;
	tr_param_t *tp;
	str s;
	char *start, *end;

	while(is_in_str(p, in) && (*p == ' ' || *p == '\t' || *p == '\n'))
		p++;
	kp = pkg_malloc(sizeof(*kp));
	tp = pkg_malloc(sizeof(*tp));
	if(kp == NULL || tp == NULL) {
		PKG_MEM_ERROR;
		return NULL;
	}
	memset(kp, 0, sizeof(*kp));
	memset(tp, 0, sizeof(*tp));
	if(*p == PV_MARKER) {
		kp->spec = pkg_malloc(sizeof(pv_spec_t));
		if(kp->spec == NULL) {
			PKG_MEM_ERROR;
			return NULL;
		}
		s.s = p;
		s.len = in->s + in->len - p;
		end = pv_parse_spec(&s, kp->spec);
		if(end == NULL) {
			LM_ERR("invalid variable in kz transformation: %.*s\n", in->len, in->s);
			return NULL;
		}
		p = end;
	} else {
		start = p;
		while(is_in_str(p, in) && *p != '\t' && *p != '\n' && *p != TR_PARAM_MARKER
				&& *p != TR_RBRACKET)
			p++;
		if(*p == '\0') {
			LM_ERR("invalid parameter in kz transformation: %.*s\n", in->len, in->s);
			return NULL;
		}
		/* the expanded path is parsed into a gparam once, not at every call */
		s.len = p - start;
		s.s = pkg_malloc(s.len + 1);
		if(s.s == NULL) {
			PKG_MEM_ERROR;
			return NULL;
		}
		memcpy(s.s, start, s.len);
		s.s[s.len] = 0;
		kp->fmt = (gparam_t *)s.s;
		if(fixup_spve_null((void **)&kp->fmt, 1) != 0) {
			LM_ERR("invalid path in kz transformation: %.*s\n", in->len, in->s);
			return NULL;
		}
	}
	tp->type = TR_PARAM_SPEC;
	tp->v.data = kp;
	*out = tp;
	while(*p && (*p == ' ' || *p == '\t' || *p == '\n'))
		p++;
	if(*p != TR_RBRACKET) {
		LM_ERR("invalid kz transformation: %.*s\n", in->len, in->s);
		return NULL;
	}
	return p;
}

static char *kz_tr_parse(str *in, trans_t *t)
{
	char *p = in->s;
	str name;

	if(in == NULL || t == NULL)
		return NULL;
	t->type = TR_KZ_CLASS;
	t->trf = kz_tr_eval;
	name.s = in->s;
	while(is_in_str(p, in) && *p != TR_PARAM_MARKER && *p != TR_RBRACKET)
		p++;
	if(*p == '\0') {
		LM_ERR("invalid kz transformation: %.*s\n", in->len, in->s);
		return NULL;
	}
	name.len = p - name.s;
	trim(&name);
	t->name = name;
	if(name.len == 6 && strncasecmp(name.s, "encode", 6) == 0) {
		t->subtype = TR_KZ_ENCODE;
		return p;
	}
	if(name.len == 8 && strncasecmp(name.s, "filename", 8) == 0) {
		t->subtype = TR_KZ_FILENAME;
		return p;
	}
	if(name.len == 10 && strncasecmp(name.s, "json.count", 10) == 0)
		t->subtype = TR_KZ_JSON_COUNT;
	else if(name.len == 4 && strncasecmp(name.s, "json", 4) == 0)
		t->subtype = TR_KZ_JSON;
	else {
		LM_ERR("unknown kz transformation: %.*s\n", in->len, in->s);
		return NULL;
	}
	if(*p != TR_PARAM_MARKER) {
		LM_ERR("the kz.%.*s transformation needs a path: %.*s\n", name.len, name.s,
				in->len, in->s);
		return NULL;
	}
	return tr_parse_param(in, p + 1, &t->params);
}

static tr_export_t trans[] = {
	{{"kz", sizeof("kz") - 1}, kz_tr_parse},
	{{0, 0}, 0}
};

int kz_json_register_trans(char *path)
{
	return register_trans_mod(path, trans);
}

/* ---- functions ---- */

/* kazoo_json(json, path, target) and kazoo_encode(in, target): the last one is the target */
int kz_json_fixup(void **param, int param_no)
{
	if(param_no == 3)
		return fixup_pvar_null(param, 1);
	return fixup_spve_null(param, 1);
}

int kz_encode_fixup(void **param, int param_no)
{
	if(param_no == 2)
		return fixup_pvar_null(param, 1);
	return fixup_spve_null(param, 1);
}

int kz_encode_fixup_free(void **param, int param_no)
{
	if(param_no == 2)
		return fixup_free_pvar_null(param, 1);
	return fixup_free_spve_null(param, 1);
}

int kz_json_fixup_free(void **param, int param_no)
{
	if(param_no == 3)
		return fixup_free_pvar_null(param, 1);
	return fixup_free_spve_null(param, 1);
}

int kz_json_keys_fixup(void **param, int param_no)
{
	if(param_no == 3) {
		if(fixup_pvar_null(param, 1) != 0)
			return -1;
		if(((pv_spec_t *)*param)->type != PVT_AVP) {
			LM_ERR("kazoo_json_keys: the 3rd parameter must be an AVP ($avp(name))\n");
			return -1;
		}
		return 0;
	}
	return fixup_spve_null(param, 1);
}

static int set_target(sip_msg_t *msg, pv_spec_t *dst, str *value, int null)
{
	pv_value_t v;

	if(dst->setf == NULL) {
		LM_ERR("the target variable is not writable\n");
		return -1;
	}
	memset(&v, 0, sizeof(v));
	if(null) {
		v.flags = PV_VAL_NULL;
	} else {
		v.flags = PV_VAL_STR;
		v.rs = *value;
	}
	return dst->setf(msg, &dst->pvp, (int)EQ_T, &v) < 0 ? -1 : 1;
}

static int kazoo_json(sip_msg_t *msg, str *json, str *path, pv_spec_t *dst)
{
	str out;
	int kind;

	if(json_get(json, path, &out, &kind) < 0)
		return -1;
	/* missing and JSON null set the target to $null, as in the C module */
	return set_target(msg, dst, &out,
			kind == KZ_JSON_MISSING || kind == KZ_JSON_NULL || kind == KZ_JSON_INVALID);
}

int w_kazoo_json(sip_msg_t *msg, char *json, char *path, char *target)
{
	str j, p;

	if(fixup_get_svalue(msg, (gparam_t *)json, &j) < 0
			|| fixup_get_svalue(msg, (gparam_t *)path, &p) < 0) {
		LM_ERR("kazoo_json: cannot evaluate its parameters\n");
		return -1;
	}
	return kazoo_json(msg, &j, &p, (pv_spec_t *)target);
}

int ki_kazoo_json(sip_msg_t *msg, str *json, str *path, str *target)
{
	pv_spec_t *dst = pv_cache_get(target);

	if(dst == NULL) {
		LM_ERR("kazoo_json: invalid target variable '%.*s'\n", target->len, target->s);
		return -1;
	}
	return kazoo_json(msg, json, path, dst);
}

static int kazoo_json_keys(sip_msg_t *msg, str j, str p, pv_spec_t *spec)
{
	int_str name, v;
	kz_avp_name_type_t type;
	int64_t cap, len = 0;
	uint8_t *buf, *k, *end;
	int32_t rc;
	kz_buf_t res;

	if(spec == NULL || spec->type != PVT_AVP
			|| pv_get_avp_name(msg, &spec->pvp, &name, &type) != 0) {
		LM_ERR("kazoo_json_keys: invalid AVP\n");
		return -1;
	}
	if(kz_go_ensure() < 0)
		return -1;
	buf = result_buffer(0, &cap);
	for(;;) {
		if(buf == NULL)
			return -1;
		kz_err.len = 0;
		res = (kz_buf_t){buf, cap, 0};
		rc = kzgo_json_keys(kz_bytes(&j), kz_bytes(&p), escape_char(), &res, &kz_err);
		len = res.len;
		if(rc != KZ_ERR_BUFFER)
			break;
		if(!kz_grow_ok(len, cap, INT_MAX, "a result length"))
			return -1;
		buf = result_buffer(len, &cap);
	}
	if(rc != KZ_OK) {
		LM_ERR("kazoo_json_keys '%.*s': %.*s\n", p.len, p.s, kz_errlen_checked(), kz_errbuf);
		return 1; /* as the C module: nothing added */
	}
	/* the keys are 0-terminated: the last one too, or strlen would run past the buffer */
	if(!kz_len_ok(len, cap, "a result length"))
		return -1;
	if(len > 0 && buf[len - 1] != 0) {
		LM_ERR("BUG: kazoo_json_keys: the Go side's key list does not end with a 0\n");
		return -1;
	}
	for(k = buf, end = buf + len; k < end; k += strlen((char *)k) + 1) {
		v.s.s = (char *)k;
		v.s.len = strlen((char *)k);
		if(add_avp(AVP_VAL_STR | type, name, v) < 0) {
			LM_ERR("kazoo_json_keys: cannot add an AVP\n");
			return -1;
		}
	}
	return 1;
}

int w_kazoo_json_keys(sip_msg_t *msg, char *json, char *path, char *avp)
{
	str j, p;

	if(fixup_get_svalue(msg, (gparam_t *)json, &j) < 0
			|| fixup_get_svalue(msg, (gparam_t *)path, &p) < 0) {
		LM_ERR("kazoo_json_keys: cannot evaluate its parameters\n");
		return -1;
	}
	return kazoo_json_keys(msg, j, p, (pv_spec_t *)avp);
}

/* KEMI: KSR.kazoo.json_keys(json, path, "$avp(name)") */
int ki_kazoo_json_keys(sip_msg_t *msg, str *json, str *path, str *avp)
{
	return kazoo_json_keys(msg, *json, *path, pv_cache_get(avp));
}

static int kazoo_encode(sip_msg_t *msg, str *in, pv_spec_t *dst)
{
	str out;

	if(in->len > 255) { /* the C module's limit (a routing key) */
		LM_ERR("kazoo_encode: input of %d bytes is longer than 255\n", in->len);
		return -1;
	}
	if(encode(in, &out) < 0)
		return -1;
	return set_target(msg, dst, &out, 0);
}

int w_kazoo_encode(sip_msg_t *msg, char *in, char *target)
{
	str s;

	if(fixup_get_svalue(msg, (gparam_t *)in, &s) < 0) {
		LM_ERR("kazoo_encode: cannot evaluate its parameter\n");
		return -1;
	}
	return kazoo_encode(msg, &s, (pv_spec_t *)target);
}

int ki_kazoo_encode(sip_msg_t *msg, str *in, str *target)
{
	pv_spec_t *dst = pv_cache_get(target);

	if(dst == NULL) {
		LM_ERR("kazoo_encode: invalid target variable '%.*s'\n", target->len, target->s);
		return -1;
	}
	return kazoo_encode(msg, in, dst);
}
