/* kz_url.h - syntax check of amqp_connection URLs in the main process, where Go never runs */
#ifndef KAZOO_URL_H
#define KAZOO_URL_H

#include <stddef.h>

/* 0 when url is "[zone=<name>;](amqp|amqps|kazoo)://[user[:pass]@]host[:port][/vhost]";
 * otherwise -1 and a reason in why */
int kz_url_check(const char *url, char *why, size_t why_len);
/* the URL with its password replaced by ***, in a static buffer */
const char *kz_url_masked(const char *url);

#endif
