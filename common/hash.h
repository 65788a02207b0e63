/*
 * hash: intrusive chained hash table plus a keyed hash function. Keys that
 * come from outside (Call-IDs, branches, AoRs) are hashed with a per-process
 * random key (SipHash-2-4) so a peer cannot aim collisions at one bucket.
 * The table stores nodes embedded in the caller's structs and never
 * allocates them; it owns only its bucket array.
 */
#ifndef PC_HASH_H
#define PC_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint64_t hv;
};

struct htable {
	struct hnode **buckets;
	size_t mask;
	size_t count;
};

/* Seeds the keyed hash from getrandom(); called once per process. */
void hash_seed_random(void);
/* Fixed seed, for tests that want repeatable hashes. */
void hash_seed(const uint8_t key[16]);
uint64_t hash_bytes(const void *p, size_t len);
/* Case-insensitive variant (for host names and header-ish keys). */
uint64_t hash_bytes_nocase(const void *p, size_t len);

int htable_init(struct htable *t, size_t initial_buckets);
void htable_free(struct htable *t);
/* Grows the bucket array when the load passes 1; -1 if that failed
 * (the node is still inserted). */
int htable_insert(struct htable *t, struct hnode *n, uint64_t hv);
void htable_remove(struct htable *t, struct hnode *n);
/* First node with this hash value, then htable_next() for the others;
 * the caller compares keys. */
struct hnode *htable_first(const struct htable *t, uint64_t hv);
struct hnode *htable_next(const struct hnode *n, uint64_t hv);

/* Visits every node; the callback may remove the node it is given.
 * Returning non-zero stops the walk. */
typedef int (*htable_walk_cb)(struct hnode *n, void *arg);
void htable_walk(struct htable *t, htable_walk_cb cb, void *arg);

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
