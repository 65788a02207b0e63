/*
 * Header text helpers. Everything is bounded by SIP_MAX_LINE-sized inputs
 * and allocated from the message's arena.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "hdrtext.h"

struct slice
hdrtext_splice(struct arena *a, struct slice value,
    const struct hdrtext_span *spans, size_t n)
{
	size_t out = value.len;
	const char *pos = value.p;
	for (size_t i = 0; i < n; i++) {
		if (spans[i].at.p < pos ||
		    spans[i].at.p + spans[i].at.len > value.p + value.len)
			return SLICE_NULL;
		out = out - spans[i].at.len + spans[i].with.len;
		pos = spans[i].at.p + spans[i].at.len;
	}
	char *buf = arena_alloc(a, out + 1);
	if (buf == NULL)
		return SLICE_NULL;
	size_t o = 0;
	pos = value.p;
	for (size_t i = 0; i < n; i++) {
		size_t pre = (size_t)(spans[i].at.p - pos);
		memcpy(buf + o, pos, pre);
		o += pre;
		memcpy(buf + o, spans[i].with.p, spans[i].with.len);
		o += spans[i].with.len;
		pos = spans[i].at.p + spans[i].at.len;
	}
	size_t rest = (size_t)(value.p + value.len - pos);
	memcpy(buf + o, pos, rest);
	o += rest;
	buf[o] = '\0';
	return slice_make(buf, (uint32_t)o);
}

struct slice
hdrtext_unfold(struct arena *a, struct slice s)
{
	if (memchr(s.p, '\n', s.len) == NULL &&
	    memchr(s.p, '\r', s.len) == NULL)
		return s;
	char *buf = arena_alloc(a, s.len + 1);
	if (buf == NULL)
		return SLICE_NULL;
	size_t o = 0;
	bool in_ws = false;
	for (uint32_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			if (!in_ws)
				buf[o++] = ' ';
			in_ws = true;
			continue;
		}
		in_ws = false;
		buf[o++] = c;
	}
	buf[o] = '\0';
	return slice_make(buf, (uint32_t)o);
}

struct slice
hdrtext_hostport(const struct sip_uri *u, struct slice uri_text)
{
	if (u->host.p == NULL)
		return SLICE_NULL;
	const char *start = u->host.p;
	const char *end = u->host.p + u->host.len;
	const char *lim = uri_text.p + uri_text.len;
	if (u->is_ipv6 && start > uri_text.p && start[-1] == '[') {
		start--;
		if (end < lim && *end == ']')
			end++;
	}
	if (end < lim && *end == ':') {
		end++;
		while (end < lim && *end >= '0' && *end <= '9')
			end++;
	}
	return slice_make(start, (uint32_t)(end - start));
}

const char *
hdrtext_host(const struct ipc_addr *a, bool with_port, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	if (a->family == 6)
		inet_ntop(AF_INET6, a->addr, ip, sizeof ip);
	else
		inet_ntop(AF_INET, a->addr, ip, sizeof ip);
	if (a->family == 6)
		snprintf(buf, cap, with_port ? "[%s]:%u" : "[%s]", ip, a->port);
	else
		snprintf(buf, cap, with_port ? "%s:%u" : "%s", ip, a->port);
	return buf;
}

bool
hdrtext_host_is(struct slice host, const struct ipc_addr *a)
{
	char t[64];
	uint8_t bin[16];
	if (host.len == 0 || host.len >= sizeof t)
		return false;
	memcpy(t, host.p, host.len);
	t[host.len] = '\0';
	if (a->family == 4)
		return inet_pton(AF_INET, t, bin) == 1 &&
		    memcmp(bin, a->addr, 4) == 0;
	if (a->family == 6)
		return inet_pton(AF_INET6, t, bin) == 1 &&
		    memcmp(bin, a->addr, 16) == 0;
	return false;
}

struct slice
hdrtext_join(
    struct arena *a, const struct slice *parts, size_t n, const char *sep)
{
	size_t sl = strlen(sep), len = 0;
	for (size_t i = 0; i < n; i++)
		len += parts[i].len + (i ? sl : 0);
	char *buf = arena_alloc(a, len + 1);
	if (buf == NULL)
		return SLICE_NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (i) {
			memcpy(buf + o, sep, sl);
			o += sl;
		}
		memcpy(buf + o, parts[i].p, parts[i].len);
		o += parts[i].len;
	}
	buf[o] = '\0';
	return slice_make(buf, (uint32_t)o);
}
