/* Unit tests of hash: SipHash-2-4 reference vectors and the table. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "tap.h"

static void
ref_key(void)
{
	uint8_t key[16];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	hash_seed(key);
}

static void
test_siphash_vectors(void)
{
	/* From the SipHash paper's reference implementation: key 00..0f,
	 * message 00..(n-1). */
	uint8_t msg[64];
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	ref_key();
	CHECK(hash_bytes(msg, 0) == 0x726fdb47dd0e0e31ULL);
	CHECK(hash_bytes(msg, 1) == 0x74f839c593dc67fdULL);
	CHECK(hash_bytes(msg, 8) == 0x93f5f5799a932462ULL);
	CHECK(hash_bytes(msg, 15) == 0xa129ca6149be45e5ULL);
}

static void
test_nocase(void)
{
	ref_key();
	const char *a = "Alice@Example.COM;tag=XyZ-0123456789";
	const char *b = "alice@example.com;tag=xyz-0123456789";
	CHECK(
	    hash_bytes_nocase(a, strlen(a)) == hash_bytes_nocase(b, strlen(b)));
	CHECK(hash_bytes_nocase(b, strlen(b)) == hash_bytes(b, strlen(b)));
	CHECK(hash_bytes(a, strlen(a)) != hash_bytes(b, strlen(b)));
	/* Different keys give different hashes. */
	uint64_t h1 = hash_bytes("call-id", 7);
	hash_seed_random();
	CHECK(hash_bytes("call-id", 7) != h1);
}

struct item {
	struct hnode node;
	int key;
	bool is_seen;
};

static uint64_t
hkey(int k)
{
	return hash_bytes(&k, sizeof k);
}

static struct item *
find(struct htable *t, int k)
{
	uint64_t hv = hkey(k);
	for (struct hnode *n = htable_first(t, hv); n; n = htable_next(n, hv)) {
		struct item *it = container_of(n, struct item, node);
		if (it->key == k)
			return it;
	}
	return NULL;
}

static int
count_cb(struct hnode *n, void *arg)
{
	(void)n;
	(*(size_t *)arg)++;
	return 0;
}

struct rm_ctx {
	struct htable *t;
	size_t removed;
};

static int
remove_odd_cb(struct hnode *n, void *arg)
{
	struct rm_ctx *c = arg;
	struct item *it = container_of(n, struct item, node);
	if (it->key % 2) {
		htable_remove(c->t, n);
		c->removed++;
	}
	return 0;
}

static int
stop_cb(struct hnode *n, void *arg)
{
	(void)n;
	return ++(*(int *)arg) == 5;
}

static void
test_table(void)
{
	hash_seed_random();
	struct htable t;
	CHECK_EQ_INT(htable_init(&t, 3), 0);
	CHECK_EQ_INT(t.mask, 15);
	enum { N = 20000 };
	struct item *items = calloc(N, sizeof *items);
	for (int i = 0; i < N; i++) {
		items[i].key = i;
		CHECK_EQ_INT(htable_insert(&t, &items[i].node, hkey(i)), 0);
	}
	CHECK_EQ_INT(t.count, N);
	CHECK(t.mask + 1 >= N); /* grew with the load */
	int missing = 0;
	for (int i = 0; i < N; i++)
		missing += find(&t, i) != &items[i];
	CHECK_EQ_INT(missing, 0);
	CHECK(find(&t, N + 5) == NULL);

	struct rm_ctx c = {&t, 0};
	htable_walk(&t, remove_odd_cb, &c);
	CHECK_EQ_INT(c.removed, N / 2);
	CHECK_EQ_INT(t.count, N / 2);
	size_t cnt = 0;
	htable_walk(&t, count_cb, &cnt);
	CHECK_EQ_INT(cnt, N / 2);
	CHECK(find(&t, 3) == NULL);
	CHECK(find(&t, 4) == &items[4]);
	int visits = 0;
	htable_walk(&t, stop_cb, &visits);
	CHECK_EQ_INT(visits, 5);

	for (int i = 0; i < N; i += 2)
		htable_remove(&t, &items[i].node);
	CHECK_EQ_INT(t.count, 0);
	htable_free(&t);
	free(items);
}

static void
test_same_hash(void)
{
	struct htable t;
	htable_init(&t, 16);
	struct item it[4] = {{.key = 1}, {.key = 2}, {.key = 3}, {.key = 4}};
	for (int i = 0; i < 3; i++)
		htable_insert(&t, &it[i].node, 42);
	/* Same bucket, different hash value: not returned. */
	htable_insert(&t, &it[3].node, 42 + 16);
	int n = 0, sum = 0;
	for (struct hnode *h = htable_first(&t, 42); h;
	     h = htable_next(h, 42)) {
		n++;
		sum += container_of(h, struct item, node)->key;
	}
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(sum, 6);
	htable_remove(&t, &it[1].node);
	n = 0;
	for (struct hnode *h = htable_first(&t, 42); h; h = htable_next(h, 42))
		n++;
	CHECK_EQ_INT(n, 2);
	htable_free(&t);
}

int
main(void)
{
	TEST_RUN(test_siphash_vectors);
	TEST_RUN(test_nocase);
	TEST_RUN(test_table);
	TEST_RUN(test_same_hash);
	return tap_done();
}
