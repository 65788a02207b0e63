/* Unit tests for lru: bound, recency order and idle expiry. */
#include <stdlib.h>

#include "lru.h"
#include "tap.h"

struct item {
	struct lru_node node;
	int key;
};

static int freed;

static void
free_item(struct lru_node *n)
{
	freed++;
	free(container_of(n, struct item, node));
}

static struct item *
find(struct lru *l, int key)
{
	uint64_t hv = hash_bytes(&key, sizeof key);
	for (struct hnode *n = htable_first(&l->tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct item *it = container_of(n, struct item, node.h);
		if (it->key == key)
			return it;
	}
	return NULL;
}

static void
add(struct lru *l, int key, uint64_t now)
{
	struct item *it = calloc(1, sizeof *it);
	it->key = key;
	lru_insert(l, &it->node, hash_bytes(&key, sizeof key), now);
}

static void
test_bounded_evicts_oldest(void)
{
	struct lru l;
	freed = 0;
	CHECK(lru_init(&l, 3, 16, free_item) == 0);
	add(&l, 1, 0);
	add(&l, 2, 0);
	add(&l, 3, 0);
	lru_touch(&l, &find(&l, 1)->node, 1); /* 2 is now the oldest */
	add(&l, 4, 2);
	CHECK_EQ_INT(l.n, 3);
	CHECK_EQ_INT(freed, 1);
	CHECK(find(&l, 2) == NULL);
	CHECK(
	    find(&l, 1) != NULL && find(&l, 3) != NULL && find(&l, 4) != NULL);
	lru_fini(&l);
	CHECK_EQ_INT(freed, 4);
}

static void
test_expire_idle(void)
{
	struct lru l;
	freed = 0;
	CHECK(lru_init(&l, 0, 16, free_item) == 0); /* 0 counts as 1 */
	add(&l, 7, 100);
	add(&l, 8, 100); /* evicts 7 */
	CHECK_EQ_INT(l.n, 1);
	lru_expire(&l, 150, 100);
	CHECK_EQ_INT(l.n, 1);
	lru_expire(&l, 200, 100);
	CHECK_EQ_INT(l.n, 0);
	CHECK(l.head == NULL && l.tail == NULL);
	lru_fini(&l);
	CHECK_EQ_INT(freed, 2);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_bounded_evicts_oldest);
	TEST_RUN(test_expire_idle);
	return tap_done();
}
