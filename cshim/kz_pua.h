/* kz_pua.h - kazoo_pua_publish and its forms (presentity rows) */
#ifndef KAZOO_PUA_H
#define KAZOO_PUA_H

#include "core/parser/msg_parser.h"

/* mod_init: bind the database module of db_url (pua_mode 1) */
int kz_pua_mod_init(void);
int w_kazoo_pua_publish(sip_msg_t *msg, char *json);
int w_kazoo_pua_publish_mwi(sip_msg_t *msg, char *json);
int w_kazoo_pua_publish_presence(sip_msg_t *msg, char *json);
int w_kazoo_pua_publish_dialoginfo(sip_msg_t *msg, char *json);
int ki_kazoo_pua_publish(sip_msg_t *msg, str *json);
int ki_kazoo_pua_publish_mwi(sip_msg_t *msg, str *json);
int ki_kazoo_pua_publish_presence(sip_msg_t *msg, str *json);
int ki_kazoo_pua_publish_dialoginfo(sip_msg_t *msg, str *json);

#endif
