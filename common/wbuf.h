/*
 * wbuf: the two-pass writer sip_edit and sdp render with. A first pass with
 * p == NULL only counts the bytes, the caller allocates exactly that from
 * its arena, and a second pass writes them; so a render never overflows and
 * never reallocates. The buffer belongs to the caller.
 */
#ifndef PC_WBUF_H
#define PC_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "slice.h"

struct wbuf {
	char *p; /* NULL while measuring */
	size_t n;
	uint32_t lines; /* for writers that bound their line count */
};

static inline void
put(struct wbuf *w, const char *s, size_t n)
{
	if (w->p != NULL && n > 0)
		memcpy(w->p + w->n, s, n);
	w->n += n;
}

static inline void
put_str(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static inline void
put_sl(struct wbuf *w, struct slice s)
{
	put(w, s.p, s.len);
}

static inline void
put_u32(struct wbuf *w, uint32_t v)
{
	char tmp[12];
	int i = (int)sizeof tmp;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	put(w, tmp + i, sizeof tmp - (size_t)i);
}

/* Appends at buf + *off what fn writes, if it fits with a NUL after it
 * within cap (snprintf's rule): counted by a first call, written by a
 * second. false, and nothing written, if it does not fit. */
static inline bool
wbuf_append(char *buf, size_t cap, size_t *off,
    void (*fn)(struct wbuf *w, const void *arg), const void *arg)
{
	struct wbuf w = {NULL, 0, 0};

	fn(&w, arg);
	if (*off >= cap || w.n >= cap - *off)
		return false;
	w = (struct wbuf){buf + *off, 0, 0};
	fn(&w, arg);
	*off += w.n;
	buf[*off] = '\0';
	return true;
}

#endif
