/*
 * sip_lex: the small scanners the SIP parsers (sip_hdr, sip_msg, sip_uri)
 * share. They run per header and per parameter on the hot path, so they
 * are inline here rather than calls into slice.c. Nothing allocates.
 */
#ifndef PC_SIP_LEX_H
#define PC_SIP_LEX_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "slice.h"

/* RFC 3261 token characters; filled once at load (sip_hdr.c). */
extern bool sip_lex_tok[256];

static inline bool
is_tok(char c)
{
	return sip_lex_tok[(unsigned char)c];
}

static inline bool
is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline struct slice
sl_from(struct slice s, uint32_t i)
{
	return slice_make(s.p + i, s.len - i);
}

/* Inline case-insensitive compare of n bytes: names on the hot path. */
static inline bool
eq_nocase_n(const char *a, const char *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x != y &&
		    ((x | 0x20) != (y | 0x20) || (x | 0x20) < 'a' ||
		        (x | 0x20) > 'z'))
			return false;
	}
	return true;
}

/* Local inline forms of slice_find/slice_trim: these run per parameter
 * and per header on the hot path. */
static inline int32_t
find_ch(struct slice s, char c)
{
	/* Most slices here are a few bytes: a loop beats a libc call. */
	if (s.len < 32) {
		for (uint32_t i = 0; i < s.len; i++)
			if (s.p[i] == c)
				return (int32_t)i;
		return -1;
	}
	const char *q = memchr(s.p, c, s.len);
	return q == NULL ? -1 : (int32_t)(q - s.p);
}

static inline struct slice
trim_ws(struct slice s)
{
	while (s.len > 0 &&
	    (s.p[0] == ' ' || s.p[0] == '\t' || s.p[0] == '\r' ||
	        s.p[0] == '\n')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 &&
	    (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
	        s.p[s.len - 1] == '\r' || s.p[s.len - 1] == '\n'))
		s.len--;
	return s;
}

static inline struct slice
skip_lws(struct slice s)
{
	uint32_t i = 0;
	while (i < s.len && is_lws(s.p[i]))
		i++;
	return sl_from(s, i);
}

/* Takes the leading RFC 3261 token off *s. */
static inline struct slice
take_token(struct slice *s)
{
	uint32_t i = 0;
	while (i < s->len && is_tok(s->p[i]))
		i++;
	struct slice t = slice_make(s->p, i);
	*s = sl_from(*s, i);
	return t;
}

/* Consumes c with the linear white space around it; false if absent. */
static inline bool
expect_char(struct slice *s, char c)
{
	*s = skip_lws(*s);
	if (s->len == 0 || s->p[0] != c)
		return false;
	*s = skip_lws(sl_from(*s, 1));
	return true;
}

/* Value of a hexadecimal digit, or -1. */
static inline int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
