/*
 * arena: bump allocator for everything that lives as long as one message
 * or one request. Freed at once with arena_reset/arena_free; individual
 * allocations are never freed. Allocation fails (NULL) past the arena's
 * hard limit instead of growing without bound.
 */
#ifndef PC_ARENA_H
#define PC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "slice.h"

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t chunk_size;
	size_t limit; /* total bytes this arena may hold; 0 = no limit */
	size_t used;
};

void arena_init(struct arena *a, size_t chunk_size, size_t limit);
/* 16-byte aligned; NULL when the limit would be passed. */
void *arena_alloc(struct arena *a, size_t n);
void *arena_zalloc(struct arena *a, size_t n);
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* Copies the slice's bytes into the arena; the result is NUL-terminated. */
struct slice arena_slice_dup(struct arena *a, struct slice s);
char *arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Frees every chunk but the first; the arena can be reused. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
