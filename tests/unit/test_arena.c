/* Unit tests of arena.c: alignment, growth, the hard limit and reset. */
#include <stdint.h>

#include "arena.h"
#include "tap.h"

static void
test_alloc_align(void)
{
	struct arena a;
	arena_init(&a, 256, 0);
	for (int i = 1; i < 100; i++) {
		char *p = arena_alloc(&a, (size_t)i);
		CHECK(p != NULL);
		CHECK(((uintptr_t)p % 16) == 0);
		memset(p, 'x', (size_t)i);
	}
	char *z = arena_zalloc(&a, 1000); /* bigger than a chunk */
	CHECK(z != NULL);
	CHECK(z[0] == 0 && z[999] == 0);
	arena_free(&a);
}

static void
test_limit(void)
{
	struct arena a;
	arena_init(&a, 1024, 4096);
	int n = 0;
	while (arena_alloc(&a, 100) != NULL && n < 1000)
		n++;
	CHECK(n > 0 && n < 1000);
	CHECK(a.used <= 4096);
	CHECK(arena_alloc(&a, SIZE_MAX - 4) == NULL);
	CHECK(arena_alloc(&a, 5000) == NULL);
	arena_reset(&a);
	CHECK(a.used == 0);
	CHECK(arena_alloc(&a, 100) != NULL);
	arena_free(&a);
}

static void
test_strings(void)
{
	struct arena a;
	arena_init(&a, 64, 0);
	char *s = arena_strndup(&a, "hello world", 5);
	CHECK_STR(s, "hello");
	struct slice d = arena_slice_dup(&a, SLICE_LIT("abc"));
	CHECK(slice_eq_cstr(d, "abc") && d.p[3] == '\0');
	char *f = arena_printf(&a, "%s-%d", "x", 42);
	CHECK_STR(f, "x-42");
	char big[300];
	memset(big, 'q', sizeof big - 1);
	big[299] = 0;
	char *g = arena_printf(&a, "%s", big);
	CHECK(g != NULL && strlen(g) == 299);
	arena_reset(&a);
	arena_reset(&a);
	CHECK_STR(arena_strndup(&a, "", 0), "");
	arena_free(&a);
	arena_free(&a);
}

static void
test_reset_keeps_normal_chunk(void)
{
	struct arena a;
	arena_init(&a, 256, 0);
	CHECK(arena_alloc(&a, 10) != NULL);
	CHECK(arena_alloc(&a, 5000) != NULL); /* one-off, behind the head */
	CHECK(arena_alloc(&a, 300) != NULL);
	arena_reset(&a);
	CHECK(a.head != NULL && a.used == 0);
	/* What is kept is a normal chunk: a small allocation fits in it. */
	char *p = arena_alloc(&a, 200);
	CHECK(p != NULL);
	arena_reset(&a);
	CHECK(arena_alloc(&a, 200) == p);
	arena_free(&a);
	arena_init(&a, 64, 0);
	CHECK(arena_alloc(&a, 1000) != NULL); /* first chunk is big */
	arena_reset(&a);
	CHECK(a.head == NULL);
	CHECK(arena_alloc(&a, 8) != NULL);
	arena_free(&a);
}

int
main(void)
{
	TEST_RUN(test_alloc_align);
	TEST_RUN(test_limit);
	TEST_RUN(test_strings);
	TEST_RUN(test_reset_keeps_normal_chunk);
	return tap_done();
}
