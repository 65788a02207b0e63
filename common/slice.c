/*
 * slice: comparisons and conversions on (pointer, length) views. Shared by
 * every parser, so these never allocate and never read past s.p + s.len.
 */
#include "slice.h"

static inline unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

bool
slice_eq(struct slice a, struct slice b)
{
	if (a.len != b.len)
		return false;
	return a.len == 0 || memcmp(a.p, b.p, a.len) == 0;
}

bool
slice_eq_nocase(struct slice a, struct slice b)
{
	if (a.len != b.len)
		return false;
	for (uint32_t i = 0; i < a.len; i++)
		if (lower((unsigned char)a.p[i]) !=
		    lower((unsigned char)b.p[i]))
			return false;
	return true;
}

bool
slice_eq_cstr(struct slice a, const char *s)
{
	return slice_eq(a, slice_cstr(s));
}

bool
slice_eq_cstr_nocase(struct slice a, const char *s)
{
	return slice_eq_nocase(a, slice_cstr(s));
}

bool
slice_has_prefix_nocase(struct slice a, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n > a.len)
		return false;
	return slice_eq_nocase(
	    slice_make(a.p, (uint32_t)n), slice_make(prefix, (uint32_t)n));
}

static inline bool
is_trim(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct slice
slice_trim(struct slice s)
{
	if (s.p == NULL)
		return s;
	while (s.len > 0 && is_trim(s.p[0])) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && is_trim(s.p[s.len - 1]))
		s.len--;
	return s;
}

int32_t
slice_find(struct slice s, char c)
{
	if (s.len == 0)
		return -1;
	const char *q = memchr(s.p, c, s.len);
	return q == NULL ? -1 : (int32_t)(q - s.p);
}

bool
slice_to_u32(struct slice s, uint32_t max, uint32_t *out)
{
	if (s.len == 0)
		return false;
	uint64_t v = 0;
	for (uint32_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (uint64_t)(c - '0');
		if (v > max)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool
slice_copy_cstr(struct slice s, char *dst, size_t cap)
{
	if (cap == 0 || (size_t)s.len >= cap) {
		if (cap > 0)
			dst[0] = '\0';
		return false;
	}
	if (s.len > 0)
		memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	return true;
}
