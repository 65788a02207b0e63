/*
 * Call-ID creators. An LRU list keeps the table bounded; the oldest entry
 * goes first when it is full.
 */
#include <stdlib.h>
#include <string.h>

#include "callid.h"
#include "hash.h"

#define CID_MAX 255
#define TAG_MAX 63

struct cid_ent {
	struct hnode node;
	struct cid_ent *prev, *next; /* head = most recent */
	uint64_t seen_ms;
	char cid[CID_MAX + 1];
	char tag[TAG_MAX + 1];
};

struct callid_tab {
	struct htable tab;
	struct cid_ent *head, *tail;
	uint32_t n, max;
};

static void
unlink_ent(struct callid_tab *t, struct cid_ent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
push(struct callid_tab *t, struct cid_ent *e)
{
	e->next = t->head;
	if (t->head != NULL)
		t->head->prev = e;
	t->head = e;
	if (t->tail == NULL)
		t->tail = e;
}

static void
drop(struct callid_tab *t, struct cid_ent *e)
{
	htable_remove(&t->tab, &e->node);
	unlink_ent(t, e);
	t->n--;
	free(e);
}

struct callid_tab *
callid_new(uint32_t max_entries)
{
	struct callid_tab *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	if (htable_init(&t->tab, 1024) != 0) {
		free(t);
		return NULL;
	}
	t->max = max_entries ? max_entries : 1;
	return t;
}

void
callid_free(struct callid_tab *t)
{
	if (t == NULL)
		return;
	while (t->head != NULL)
		drop(t, t->head);
	htable_free(&t->tab);
	free(t);
}

static struct cid_ent *
find(struct callid_tab *t, struct slice cid, uint64_t hv)
{
	for (struct hnode *n = htable_first(&t->tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct cid_ent *e = container_of(n, struct cid_ent, node);
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
		unlink_ent(t, e);
		push(t, e);
		e->seen_ms = now_ms;
		return;
	}
	if (t->n >= t->max && t->tail != NULL)
		drop(t, t->tail);
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return;
	memcpy(e->cid, cid.p, cid.len);
	memcpy(e->tag, tag.p, tag.len);
	e->seen_ms = now_ms;
	htable_insert(&t->tab, &e->node, hv);
	push(t, e);
	t->n++;
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
	unlink_ent(t, e);
	push(t, e);
	e->seen_ms = now_ms;
	return strlen(e->tag) == tag.len && memcmp(e->tag, tag.p, tag.len) == 0;
}

void
callid_expire(struct callid_tab *t, uint64_t now_ms, uint64_t idle_ms)
{
	while (t->tail != NULL && t->tail->seen_ms + idle_ms <= now_ms)
		drop(t, t->tail);
}

uint32_t
callid_count(const struct callid_tab *t)
{
	return t->n;
}
