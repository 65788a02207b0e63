/*
 * arena: a bump allocator over a list of chunks. The first chunk is kept on
 * reset so a per-connection arena reused for every message costs no malloc
 * in the steady state; the limit bounds what hostile input can make us
 * allocate.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"

struct arena_chunk {
	struct arena_chunk *next;
	size_t size; /* usable bytes after the header */
	size_t off;
	/* Keeps data 16-byte aligned after the header. */
	_Alignas(16) unsigned char data[];
};

#define ARENA_ALIGN 16
#define ARENA_DEFAULT_CHUNK 4096

void
arena_init(struct arena *a, size_t chunk_size, size_t limit)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
	a->limit = limit;
	a->used = 0;
}

static struct arena_chunk *
chunk_new(size_t size)
{
	struct arena_chunk *c = malloc(sizeof(*c) + size);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->off = 0;
	return c;
}

void *
arena_alloc(struct arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		return NULL;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (a->limit != 0 && (need > a->limit || a->used > a->limit - need))
		return NULL;
	struct arena_chunk *c = a->head;
	if (c == NULL || c->size - c->off < need) {
		size_t sz = a->chunk_size > need ? a->chunk_size : need;
		struct arena_chunk *nc = chunk_new(sz);
		if (nc == NULL)
			return NULL;
		/* A big one-off allocation goes behind the current chunk so
		 * the free room in the head is not wasted. */
		if (c != NULL && need > a->chunk_size &&
		    c->size - c->off >= ARENA_ALIGN) {
			nc->next = c->next;
			c->next = nc;
			nc->off = need;
			a->used += need;
			return nc->data;
		}
		nc->next = c;
		a->head = nc;
		c = nc;
	}
	void *p = c->data + c->off;
	c->off += need;
	a->used += need;
	return p;
}

void *
arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	if (p != NULL)
		memset(p, 0, n ? n : 1);
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *d = arena_alloc(a, n + 1);
	if (d == NULL)
		return NULL;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

struct slice
arena_slice_dup(struct arena *a, struct slice s)
{
	char *d = arena_strndup(a, s.p, s.len);
	if (d == NULL)
		return SLICE_NULL;
	return slice_make(d, s.len);
}

char *
arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *d = arena_alloc(a, (size_t)n + 1);
	if (d == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

void
arena_reset(struct arena *a)
{
	/* Keep one chunk of the normal size (big one-off chunks go), so a
	 * reused arena costs no malloc in the steady state. */
	struct arena_chunk *keep = NULL;
	for (struct arena_chunk *c = a->head; c != NULL; c = c->next)
		if (c->size == a->chunk_size)
			keep = c;
	struct arena_chunk *c = a->head;
	while (c != NULL) {
		struct arena_chunk *next = c->next;
		if (c != keep)
			free(c);
		c = next;
	}
	if (keep != NULL) {
		keep->off = 0;
		keep->next = NULL;
	}
	a->head = keep;
	a->used = 0;
}

void
arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;
	while (c != NULL) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->used = 0;
}
