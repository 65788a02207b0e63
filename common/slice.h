/*
 * slice: a (pointer, length) view into a buffer owned by someone else.
 * A slice never outlives its buffer and never has a NUL written into it;
 * nothing here allocates.
 */
#ifndef PC_SLICE_H
#define PC_SLICE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct slice {
	const char *p;
	uint32_t len;
};

#define SLICE_NULL ((struct slice){NULL, 0})
#define SLICE_LIT(s) ((struct slice){(s), (uint32_t)(sizeof(s) - 1)})

static inline struct slice
slice_make(const char *p, uint32_t len)
{
	return (struct slice){p, len};
}

static inline struct slice
slice_cstr(const char *s)
{
	return (struct slice){s, (uint32_t)strlen(s)};
}

static inline bool
slice_is_empty(struct slice s)
{
	return s.len == 0;
}

bool slice_eq(struct slice a, struct slice b);
bool slice_eq_nocase(struct slice a, struct slice b);
bool slice_eq_cstr(struct slice a, const char *s);
bool slice_eq_cstr_nocase(struct slice a, const char *s);
bool slice_has_prefix_nocase(struct slice a, const char *prefix);
/* Strips SP/HTAB (and CR/LF of folded lines) from both ends. */
struct slice slice_trim(struct slice s);
/* Index of the first c in s, or -1. */
int32_t slice_find(struct slice s, char c);
/* Decimal without sign; false on empty, non-digit or overflow past max. */
bool slice_to_u32(struct slice s, uint32_t max, uint32_t *out);
/* Copies into dst (cap includes the NUL); false if it did not fit. */
bool slice_copy_cstr(struct slice s, char *dst, size_t cap);

#endif
