/*
 * kz_url.c - amqp_connection syntax check. Go parses the URL for real in each process that
 * connects; this check exists so that a typo fails `kamailio -c` and startup with one clear
 * line instead of a process that retries a URL it can never use.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "kz_url.h"

#define KZ_URL_MAX 512 /* the C module's limit */

int kz_url_check(const char *url, char *why, size_t why_len)
{
	const char *p = url, *auth_end, *host, *end, *colon;
	size_t n = strlen(url);
	long port;
	char *num_end;

	if(n == 0 || n > KZ_URL_MAX) {
		snprintf(why, why_len, "length must be 1 to %d characters", KZ_URL_MAX);
		return -1;
	}
	if(strncmp(p, "zone=", 5) == 0) {
		const char *semi = strchr(p, ';');
		if(semi == NULL || semi == p + 5) {
			snprintf(why, why_len, "the zone=<name>; prefix needs a name and a ';'");
			return -1;
		}
		p = semi + 1;
	}
	if(strncmp(p, "amqp://", 7) == 0 || strncmp(p, "kazoo://", 8) == 0) {
		p = strstr(p, "://") + 3;
	} else if(strncmp(p, "amqps://", 8) == 0) {
		p += 8;
	} else {
		snprintf(why, why_len, "the scheme must be amqp://, amqps:// or kazoo://");
		return -1;
	}
	end = p + strcspn(p, "/?#");
	auth_end = NULL;
	for(const char *q = p; q < end; q++)
		if(*q == '@')
			auth_end = q;
	host = auth_end ? auth_end + 1 : p;
	if(host == end || *host == ':') {
		snprintf(why, why_len, "no host");
		return -1;
	}
	if(*host == '[') { /* IPv6 literal: the port follows the ']' */
		const char *close = memchr(host, ']', end - host);
		if(close == NULL) {
			snprintf(why, why_len, "unterminated IPv6 address");
			return -1;
		}
		colon = (close + 1 < end && close[1] == ':') ? close + 1 : NULL;
	} else {
		colon = memchr(host, ':', end - host);
	}
	if(colon) {
		port = strtol(colon + 1, &num_end, 10);
		if(num_end != end || port < 1 || port > 65535) {
			snprintf(why, why_len, "the port must be a number from 1 to 65535");
			return -1;
		}
	}
	return 0;
}

/* The rule of kazoo/internal/config/mask.go, which must print the same: the password is
 * what lies between the first ':' after "://" (else after the start) and the last '@';
 * without an '@', what follows the host's ':' up to '/', '?', '#' or the end unless it is
 * a port. Malformed values are masked too: they are the ones printed in errors. */
const char *kz_url_masked(const char *url)
{
	static char buf[KZ_URL_MAX + 16];
	const char *scheme = strstr(url, "://"), *from, *at, *colon, *host, *end;
	size_t n;

	from = scheme ? scheme + 3 : url;
	if((at = strrchr(from, '@')) != NULL) {
		colon = memchr(from, ':', at - from);
		if(colon == NULL)
			return url;
		snprintf(buf, sizeof(buf), "%.*s:***%s", (int)(colon - url), url, at);
		return buf;
	}
	end = from + strcspn(from, "/?#");
	host = from;
	if(*host == '[') { /* an IPv6 literal's colons are not the port's */
		host = memchr(from, ']', end - from);
		if(host == NULL)
			return url;
	}
	colon = memchr(host, ':', end - host);
	if(colon == NULL || colon + 1 == end)
		return url;
	n = strspn(colon + 1, "0123456789");
	if(colon + 1 + n >= end)
		return url; /* a port */
	snprintf(buf, sizeof(buf), "%.*s:***%s", (int)(colon - url), url, end);
	return buf;
}
