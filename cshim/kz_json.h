/* kz_json.h - kz.json, kz.json.count, kz.encode, kazoo_json, kazoo_json_keys, kazoo_encode */
#ifndef KAZOO_JSON_H
#define KAZOO_JSON_H

#include "core/parser/msg_parser.h"
#include "core/str.h"

int kz_json_register_trans(char *path);
int kz_json_fixup(void **param, int param_no);
int kz_json_fixup_free(void **param, int param_no);
int kz_json_keys_fixup(void **param, int param_no);
int kz_encode_fixup(void **param, int param_no);
int kz_encode_fixup_free(void **param, int param_no);
int w_kazoo_json(sip_msg_t *msg, char *json, char *path, char *target);
int ki_kazoo_json_keys(sip_msg_t *msg, str *json, str *path, str *avp);
int w_kazoo_json_keys(sip_msg_t *msg, char *json, char *path, char *avp);
int w_kazoo_encode(sip_msg_t *msg, char *in, char *target);
int ki_kazoo_json(sip_msg_t *msg, str *json, str *path, str *target);
int ki_kazoo_encode(sip_msg_t *msg, str *in, str *target);

#endif
