/*
 * Call-ID creators. An LRU list keeps the table bounded; the oldest entry
 * goes first when it is full.
 */
#include <stdlib.h>
#include <string.h>

#include "callid.h"
#include "lru.h"

#define CID_MAX 255
#define TAG_MAX 63

struct cid_ent {
	struct lru_node node;
	char cid[CID_MAX + 1];
	char tag[TAG_MAX + 1];
};

struct callid_tab {
	struct lru lru;
};

static void
free_ent(struct lru_node *n)
{
	free(container_of(n, struct cid_ent, node));
}

struct callid_tab *
callid_new(uint32_t max_entries)
{
	struct callid_tab *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	if (lru_init(&t->lru, max_entries, 1024, free_ent) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

void
callid_free(struct callid_tab *t)
{
	if (t == NULL)
		return;
	lru_fini(&t->lru);
	free(t);
}

static struct cid_ent *
find(struct callid_tab *t, struct slice cid, uint64_t hv)
{
	for (struct hnode *n = htable_first(&t->lru.tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct cid_ent *e = container_of(n, struct cid_ent, node.h);
		if (strlen(e->cid) == cid.len &&
		    memcmp(e->cid, cid.p, cid.len) == 0)
			return e;
	}
	return NULL;
}

void
callid_note(
    struct callid_tab *t, struct slice cid, struct slice tag, uint64_t now_ms)
{
	if (cid.len == 0 || cid.len > CID_MAX || tag.len > TAG_MAX)
		return;
	uint64_t hv = hash_bytes(cid.p, cid.len);
	struct cid_ent *e = find(t, cid, hv);
	if (e != NULL) {
		lru_touch(&t->lru, &e->node, now_ms);
		return;
	}
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return;
	memcpy(e->cid, cid.p, cid.len);
	memcpy(e->tag, tag.p, tag.len);
	lru_insert(&t->lru, &e->node, hv, now_ms);
}

bool
callid_is_creator(
    struct callid_tab *t, struct slice cid, struct slice tag, uint64_t now_ms)
{
	if (cid.len == 0 || cid.len > CID_MAX)
		return false;
	struct cid_ent *e = find(t, cid, hash_bytes(cid.p, cid.len));
	if (e == NULL)
		return false;
	lru_touch(&t->lru, &e->node, now_ms);
	return strlen(e->tag) == tag.len && memcmp(e->tag, tag.p, tag.len) == 0;
}

void
callid_expire(struct callid_tab *t, uint64_t now_ms, uint64_t idle_ms)
{
	lru_expire(&t->lru, now_ms, idle_ms);
}

uint32_t
callid_count(const struct callid_tab *t)
{
	return t->lru.n;
}
