/*
 * Call-ID creators. An LRU list keeps the table bounded; the oldest entry
 * goes first when it is full.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callid.h"
#include "lru.h"
#include "statefile.h"

#define CID_MAX 255
#define TAG_MAX 63

struct cid_ent {
	struct lru_node node;
	char cid[CID_MAX + 1];
	char tag[TAG_MAX + 1];
};

struct callid_tab {
	struct lru lru;
	struct statefile sf; /* persistence (callid_persist_in) */
};

static const struct statefile_ops file_ops;

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
	statefile_init(&t->sf, &file_ops, &t->lru);
	return t;
}

void
callid_free(struct callid_tab *t)
{
	if (t == NULL)
		return;
	statefile_close(&t->sf);
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
	t->sf.now_ms = now_ms;
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
	t->sf.is_dirty = true;
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

/*
 * The file (sbc/statefile.h), magic "PCCID1\n\n"; per entry: u64 idle ms
 * at the write, u8 Call-ID length, u8 tag length, Call-ID, tag.
 */
#define ENT_HDR 10

static size_t
ent_size(const struct lru_node *n)
{
	const struct cid_ent *e = container_of(n, struct cid_ent, node);
	return ENT_HDR + strlen(e->cid) + strlen(e->tag);
}

static void
ent_put(const struct lru_node *n, uint64_t idle, uint8_t *p)
{
	const struct cid_ent *e = container_of(n, struct cid_ent, node);
	size_t cl = strlen(e->cid), tl = strlen(e->tag);
	statefile_put_le(p, idle, 8);
	p[8] = (uint8_t)cl;
	p[9] = (uint8_t)tl;
	memcpy(p + ENT_HDR, e->cid, cl);
	memcpy(p + ENT_HDR + cl, e->tag, tl);
}

static size_t
ent_get(const uint8_t *p, size_t avail, uint64_t *idle)
{
	if (avail < ENT_HDR)
		return 0;
	size_t cl = p[8], tl = p[9];
	if (cl == 0 || cl > CID_MAX || tl > TAG_MAX ||
	    avail - ENT_HDR < cl + tl)
		return 0;
	/* Entries are C strings: a NUL would cut one short. */
	if (memchr(p + ENT_HDR, '\0', cl + tl) != NULL)
		return 0;
	*idle = statefile_get_le(p, 8);
	return ENT_HDR + cl + tl;
}

static int
ent_load(struct lru *l, const uint8_t *p, size_t len, uint64_t idle,
    uint64_t now_ms, bool apply)
{
	struct callid_tab *t = container_of(l, struct callid_tab, lru);
	size_t cl = p[8], tl = p[9];
	struct slice cid = slice_make((const char *)p + ENT_HDR, (uint32_t)cl);
	uint64_t hv = hash_bytes(cid.p, cid.len);
	if (!apply || find(t, cid, hv) != NULL)
		return 0;
	struct cid_ent *e = calloc(1, sizeof *e);
	if (e == NULL)
		return -1;
	memcpy(e->cid, p + ENT_HDR, cl);
	memcpy(e->tag, p + ENT_HDR + cl, tl);
	lru_insert(&t->lru, &e->node, hv, now_ms > idle ? now_ms - idle : 0);
	return 1;
}

static const struct statefile_ops file_ops = {
    .what = "Call-ID creators",
    .label = CALLID_FILE_LABEL,
    .magic = "PCCID1\n\n",
    .max = CALLID_FILE_MAX,
    .size = ent_size,
    .put = ent_put,
    .get = ent_get,
    .load = ent_load,
};

void
callid_persist_in(struct callid_tab *t, const char *state_dir,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms)
{
	if (t == NULL)
		return;
	statefile_open_in(
	    &t->sf, state_dir, "topology.callids", keys, idle_ms, now_ms);
}

int
callid_sync(struct callid_tab *t, uint64_t now_ms, bool force)
{
	return statefile_sync(&t->sf, now_ms, force);
}
