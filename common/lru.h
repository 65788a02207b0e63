/*
 * lru: a bounded hash index whose entries also sit on a most-recently-used
 * list, so the table never grows past its limit (the oldest entry goes
 * first) and idle entries can be expired from the tail. Nodes are embedded
 * in the caller's structs; the table frees them through the callback given
 * at init. Lookups go through the htable (htable_first/htable_next on
 * .tab) and the caller compares keys.
 */
#ifndef PC_LRU_H
#define PC_LRU_H

#include <stdint.h>

#include "hash.h"

struct lru_node {
	struct hnode h;
	struct lru_node *prev, *next; /* head = most recent */
	uint64_t seen_ms;
};

typedef void (*lru_free_cb)(struct lru_node *n);

struct lru {
	struct htable tab;
	struct lru_node *head, *tail;
	uint32_t n, max;
	lru_free_cb free_node;
};

/* max 0 counts as 1. Returns -1 if the bucket array cannot be made. */
int lru_init(
    struct lru *l, uint32_t max, size_t buckets, lru_free_cb free_node);
/* Frees every node through the callback, then the index. */
void lru_fini(struct lru *l);
/* Adds n as the most recent entry, evicting the oldest when full. */
void lru_insert(
    struct lru *l, struct lru_node *n, uint64_t hv, uint64_t now_ms);
/* Marks n as just used. */
void lru_touch(struct lru *l, struct lru_node *n, uint64_t now_ms);
/* Frees entries not used for idle_ms. */
void lru_expire(struct lru *l, uint64_t now_ms, uint64_t idle_ms);

#endif
