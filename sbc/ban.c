/*
 * Offender bookkeeping. An entry outlives its ban by max_timeout_s so a
 * source that comes back is banned for longer; entries are kept on an LRU
 * list (most recently touched first) and the table is bounded.
 */
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "ban.h"
#include "hash.h"

struct ban_ent {
	struct hnode node;
	struct ban_ent *prev, *next;
	struct ipc_addr addr; /* port 0, normalised */
	uint64_t until_ms;
	uint64_t touched_ms;
	uint32_t count;
	uint64_t fail_start_ms;
	uint32_t fails;
	char reason[32];
};

struct ban {
	struct ban_params p;
	struct htable tab;
	struct ban_ent *head, *tail;
	size_t n;
};

static void
unlink_ent(struct ban *b, struct ban_ent *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		b->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		b->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
push_ent(struct ban *b, struct ban_ent *e)
{
	e->next = b->head;
	if (b->head != NULL)
		b->head->prev = e;
	b->head = e;
	if (b->tail == NULL)
		b->tail = e;
}

static void
del_ent(struct ban *b, struct ban_ent *e)
{
	htable_remove(&b->tab, &e->node);
	unlink_ent(b, e);
	b->n--;
	free(e);
}

static struct ipc_addr
key_of(const struct ipc_addr *src)
{
	struct ipc_addr k = *src;
	acl_addr_normalise(&k);
	k.port = 0;
	k.pad = 0;
	if (k.family == 4)
		memset(k.addr + 4, 0, 12);
	return k;
}

static uint64_t
hv_of(const struct ipc_addr *k)
{
	return hash_bytes(k, sizeof *k);
}

static struct ban_ent *
lookup(struct ban *b, const struct ipc_addr *k, uint64_t hv)
{
	for (struct hnode *n = htable_first(&b->tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct ban_ent *e = container_of(n, struct ban_ent, node);
		if (memcmp(&e->addr, k, sizeof *k) == 0)
			return e;
	}
	return NULL;
}

static struct ban_ent *
get(struct ban *b, const struct ipc_addr *src, uint64_t now_ms)
{
	struct ipc_addr k = key_of(src);
	uint64_t hv = hv_of(&k);
	struct ban_ent *e = lookup(b, &k, hv);
	if (e == NULL) {
		if (b->n >= b->p.max_entries && b->tail != NULL)
			del_ent(b, b->tail);
		e = calloc(1, sizeof *e);
		if (e == NULL)
			return NULL;
		e->addr = k;
		htable_insert(&b->tab, &e->node, hv);
		b->n++;
	} else {
		unlink_ent(b, e);
	}
	push_ent(b, e);
	e->touched_ms = now_ms;
	return e;
}

static void
sanitise(struct ban_params *p)
{
	if (p->timeout_s == 0)
		p->timeout_s = 1;
	if (p->max_timeout_s < p->timeout_s)
		p->max_timeout_s = p->timeout_s;
	if (p->max_entries == 0)
		p->max_entries = 1;
	if (p->auth_fail_max == 0)
		p->auth_fail_max = 1;
}

struct ban *
ban_new(const struct ban_params *p)
{
	struct ban *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	b->p = *p;
	sanitise(&b->p);
	if (htable_init(&b->tab, 256) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void
ban_free(struct ban *b)
{
	if (b == NULL)
		return;
	while (b->head != NULL)
		del_ent(b, b->head);
	htable_free(&b->tab);
	free(b);
}

void
ban_set_params(struct ban *b, const struct ban_params *p)
{
	b->p = *p;
	sanitise(&b->p);
	while (b->n > b->p.max_entries)
		del_ent(b, b->tail);
}

static void
set_reason(struct ban_ent *e, const char *reason)
{
	size_t n = reason != NULL ? strlen(reason) : 0;
	if (n >= sizeof e->reason)
		n = sizeof e->reason - 1;
	memcpy(e->reason, reason != NULL ? reason : "", n);
	e->reason[n] = '\0';
}

uint32_t
ban_add(struct ban *b, const struct ipc_addr *src, const char *reason,
    uint64_t now_ms)
{
	struct ban_ent *e = get(b, src, now_ms);
	if (e == NULL)
		return b->p.timeout_s;
	/* A repeat after the memory window starts over. */
	if (e->count > 0 &&
	    e->until_ms + (uint64_t)b->p.max_timeout_s * 1000 < now_ms)
		e->count = 0;
	uint64_t t = b->p.timeout_s;
	for (uint32_t i = 0; i < e->count && t < b->p.max_timeout_s; i++)
		t *= 2;
	if (t > b->p.max_timeout_s)
		t = b->p.max_timeout_s;
	e->count++;
	e->until_ms = now_ms + t * 1000;
	e->fails = 0;
	set_reason(e, reason);
	return (uint32_t)t;
}

void
ban_add_for(struct ban *b, const struct ipc_addr *src, uint32_t timeout_s,
    const char *reason, uint64_t now_ms)
{
	struct ban_ent *e = get(b, src, now_ms);
	if (e == NULL)
		return;
	e->count++;
	e->until_ms = now_ms + (uint64_t)timeout_s * 1000;
	set_reason(e, reason);
}

bool
ban_remove(struct ban *b, const struct ipc_addr *src)
{
	struct ipc_addr k = key_of(src);
	struct ban_ent *e = lookup(b, &k, hv_of(&k));
	if (e == NULL)
		return false;
	bool was = e->until_ms != 0;
	del_ent(b, e);
	return was;
}

bool
ban_is_banned(struct ban *b, const struct ipc_addr *src, uint64_t now_ms)
{
	struct ipc_addr k = key_of(src);
	struct ban_ent *e = lookup(b, &k, hv_of(&k));
	return e != NULL && e->until_ms > now_ms;
}

bool
ban_auth_failed(struct ban *b, const struct ipc_addr *src, uint64_t now_ms)
{
	struct ban_ent *e = get(b, src, now_ms);
	if (e == NULL)
		return false;
	if (e->fails == 0 ||
	    now_ms - e->fail_start_ms >= b->p.auth_fail_window_ms) {
		e->fail_start_ms = now_ms;
		e->fails = 0;
	}
	e->fails++;
	return e->fails >= b->p.auth_fail_max;
}

void
ban_walk(struct ban *b, uint64_t now_ms, ban_walk_cb cb, void *arg)
{
	for (struct ban_ent *e = b->head; e != NULL; e = e->next) {
		if (e->until_ms <= now_ms)
			continue;
		struct ban_info bi = {
		    e->addr, e->until_ms, e->count, e->reason};
		cb(&bi, arg);
	}
}

size_t
ban_count_active(struct ban *b, uint64_t now_ms)
{
	size_t n = 0;
	for (struct ban_ent *e = b->head; e != NULL; e = e->next)
		n += e->until_ms > now_ms;
	return n;
}
