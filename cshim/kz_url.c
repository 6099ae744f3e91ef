/*
 * kz_url.c - amqp_connection syntax check. Go parses the URL for real in each process that
 * connects; this check exists so that a typo fails `kamailio -c` and startup with one clear
 * line instead of a process that retries a URL it can never use.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <ctype.h>
#include <stdint.h>
#include <strings.h>
#include <arpa/inet.h>
#include "kz_url.h"

#define KZ_URL_MAX 512 /* the C module's limit */

/* What follows mirrors what the Go side refuses after fork (Go's net/url.Parse, then
 * amqp091-go's ParseURI and DialConfig), so that `kamailio -c` refuses it first;
 * kazoo/internal/config/urlcheck compares the two. */

/* every '%' in [s, e) starts an escape of two hex digits */
static int escapes_ok(const char *s, const char *e)
{
	for(; s < e; s++)
		if(*s == '%'
				&& (e - s < 3 || !isxdigit((unsigned char)s[1])
						|| !isxdigit((unsigned char)s[2])))
			return 0;
	return 1;
}

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

/* net/url's userinfo: RFC 3986's characters, and '@' */
static int userinfo_ok(const char *s, const char *e)
{
	for(; s < e; s++)
		if(!isalnum((unsigned char)*s) && strchr("-._:~!$&'()*+,;=%@", *s) == NULL)
			return 0;
	return 1;
}

/* net/url's host name: these ASCII characters, any other byte, and %-escapes of
 * non-ASCII bytes only (or %25) */
static int hostname_ok(const char *s, const char *e)
{
	for(; s < e; s++) {
		unsigned char c = (unsigned char)*s;
		if(c == '%') {
			if(!escapes_ok(s, e) || (hexval(s[1]) < 8 && strncmp(s, "%25", 3) != 0))
				return 0;
			s += 2;
		} else if(c < 0x80 && !isalnum(c) && strchr("-_.~!$&'()*+,;=:[]<>\"", c) == NULL) {
			return 0;
		}
	}
	return 1;
}

/* net/url's query component, unescaped into out ('+' is a space); 0 on a bad escape */
static int query_unescape(const char *s, const char *e, char *out, size_t out_len)
{
	size_t n = 0;

	if(!escapes_ok(s, e))
		return 0;
	for(; s < e && n + 1 < out_len; s++) {
		if(*s == '%') {
			out[n++] = (char)(hexval(s[1]) << 4 | hexval(s[2]));
			s += 2;
		} else {
			out[n++] = *s == '+' ? ' ' : *s;
		}
	}
	out[n] = 0;
	return 1;
}

/* strconv.ParseUint(v, 10, 16): digits only */
static int is_uint16(const char *v)
{
	unsigned long n = 0;

	if(*v == 0)
		return 0;
	for(; *v; v++) {
		if(!isdigit((unsigned char)*v))
			return 0;
		n = n * 10 + (*v - '0');
		if(n > 65535)
			return 0;
	}
	return 1;
}

/* strconv.Atoi(v) on 64 bits: an optional sign, digits, no overflow */
static int is_int64(const char *v)
{
	uint64_t n = 0, lim = INT64_MAX;

	if(*v == '+' || *v == '-')
		lim += *v++ == '-';
	if(*v == 0)
		return 0;
	for(; *v; v++) {
		if(!isdigit((unsigned char)*v) || n > (lim - (*v - '0')) / 10)
			return 0;
		n = n * 10 + (*v - '0');
	}
	return 1;
}

/* the query options amqp091-go reads, with net/url's rules: pairs split at '&', a pair
 * with a ';' or a bad escape is dropped, the first of a repeated key counts (every one
 * for auth_mechanism); other keys are ignored, as there */
static int query_ok(const char *q, const char *end, char *why, size_t why_len)
{
	char key[KZ_URL_MAX + 1], val[KZ_URL_MAX + 1];
	int seen_hb = 0, seen_ct = 0, seen_cm = 0;
	const char *amp, *eq;

	for(; q < end; q = amp + 1) {
		amp = memchr(q, '&', end - q);
		if(amp == NULL)
			amp = end;
		if(amp == q || memchr(q, ';', amp - q))
			continue;
		eq = memchr(q, '=', amp - q);
		if(eq == NULL)
			eq = amp;
		if(!query_unescape(q, eq, key, sizeof(key))
				|| !query_unescape(eq < amp ? eq + 1 : amp, amp, val, sizeof(val)))
			continue;
		if(strcmp(key, "heartbeat") == 0 && !seen_hb++ && !is_uint16(val)) {
			snprintf(why, why_len, "the heartbeat option must be a number from 0 to 65535");
			return 0;
		}
		if(strcmp(key, "channel_max") == 0 && !seen_cm++ && !is_uint16(val)) {
			snprintf(why, why_len, "the channel_max option must be a number from 0 to 65535");
			return 0;
		}
		if(strcmp(key, "connection_timeout") == 0 && !seen_ct++ && !is_int64(val)) {
			snprintf(why, why_len, "the connection_timeout option must be an integer");
			return 0;
		}
		if(strcmp(key, "auth_mechanism") == 0 && strcasecmp(val, "plain") != 0
				&& strcasecmp(val, "amqplain") != 0 && strcasecmp(val, "external") != 0) {
			snprintf(why, why_len, "the auth_mechanism option must be plain, amqplain or external");
			return 0;
		}
	}
	return 1;
}

/* "[v6addr]" or "[v6addr%25zone]", then an optional ":digits" */
static int ipv6_ok(const char *host, const char *end)
{
	char addr[64];
	const char *close = host, *zone, *p;
	struct in6_addr a;

	for(p = host; p < end; p++)
		if(*p == ']')
			close = p;
	if(close == host)
		return 0;
	if(close + 1 < end) {
		if(close[1] != ':')
			return 0;
		for(p = close + 2; p < end; p++)
			if(!isdigit((unsigned char)*p))
				return 0;
	}
	for(zone = host + 1; zone < close && strncmp(zone, "%25", 3) != 0; zone++)
		;
	if(zone < close && zone + 3 >= close) /* an empty zone */
		return 0;
	if(zone - host - 1 >= (long)sizeof(addr))
		return 0;
	memcpy(addr, host + 1, zone - host - 1);
	addr[zone - host - 1] = 0;
	return inet_pton(AF_INET6, addr, &a) == 1;
}

int kz_url_check(const char *url, char *why, size_t why_len)
{
	const char *p = url, *uri, *auth_end, *host, *end, *colon, *path_end, *frag;
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
	uri = p; /* the zone is a name: anything up to ';' */
	if(strncmp(p, "amqp://", 7) == 0 || strncmp(p, "kazoo://", 8) == 0) {
		p = strstr(p, "://") + 3;
	} else if(strncmp(p, "amqps://", 8) == 0) {
		p += 8;
	} else {
		snprintf(why, why_len, "the scheme must be amqp://, amqps:// or kazoo://");
		return -1;
	}
	for(; *uri; uri++) {
		if((unsigned char)*uri <= ' ' || *uri == 0x7f) {
			snprintf(why, why_len, "spaces and control characters must be %%-escaped");
			return -1;
		}
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
		if(close == NULL || !ipv6_ok(host, end)) {
			snprintf(why, why_len, "invalid IPv6 address");
			return -1;
		}
		colon = (close + 1 < end && close[1] == ':') ? close + 1 : NULL;
	} else {
		if(memchr(host, '[', end - host) || !hostname_ok(host, end)) {
			snprintf(why, why_len, "invalid character in the host name");
			return -1;
		}
		colon = memchr(host, ':', end - host);
	}
	if(colon) {
		port = strtol(colon + 1, &num_end, 10);
		if(num_end != end || port < 1 || port > 65535) {
			snprintf(why, why_len, "the port must be a number from 1 to 65535");
			return -1;
		}
	}
	if(auth_end && (!userinfo_ok(p, auth_end) || !escapes_ok(p, auth_end))) {
		/* the reason only: the user info holds the password */
		snprintf(why, why_len, "the user or password has a character that must be"
							   " %%-escaped, or a '%%' that is not an escape");
		return -1;
	}
	path_end = end + strcspn(end, "?#");
	if(!escapes_ok(end, path_end)) {
		snprintf(why, why_len, "the vhost has a '%%' that is not an escape");
		return -1;
	}
	frag = strchr(url, '#');
	if(frag && !escapes_ok(frag + 1, url + n)) {
		snprintf(why, why_len, "the fragment has a '%%' that is not an escape");
		return -1;
	}
	if(*path_end == '?' && !query_ok(path_end + 1, frag ? frag : url + n, why, why_len))
		return -1;
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
