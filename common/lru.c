/*
 * Bounded, idle-expiring index for tables fed from outside (the edge's
 * Call-ID creators and long-token rows): a hostile peer can fill them but
 * never grow them.
 */
#include "lru.h"

static void
unlink_node(struct lru *l, struct lru_node *n)
{
	if (n->prev != NULL)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next != NULL)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

static void
push_head(struct lru *l, struct lru_node *n)
{
	n->next = l->head;
	if (l->head != NULL)
		l->head->prev = n;
	l->head = n;
	if (l->tail == NULL)
		l->tail = n;
}

static void
drop(struct lru *l, struct lru_node *n)
{
	htable_remove(&l->tab, &n->h);
	unlink_node(l, n);
	l->n--;
	l->free_node(n);
}

int
lru_init(struct lru *l, uint32_t max, size_t buckets, lru_free_cb free_node)
{
	l->head = l->tail = NULL;
	l->n = 0;
	l->max = max ? max : 1;
	l->free_node = free_node;
	return htable_init(&l->tab, buckets);
}

void
lru_fini(struct lru *l)
{
	while (l->head != NULL)
		drop(l, l->head);
	htable_free(&l->tab);
}

void
lru_insert(struct lru *l, struct lru_node *n, uint64_t hv, uint64_t now_ms)
{
	if (l->n >= l->max && l->tail != NULL)
		drop(l, l->tail);
	n->prev = n->next = NULL;
	n->seen_ms = now_ms;
	htable_insert(&l->tab, &n->h, hv);
	push_head(l, n);
	l->n++;
}

void
lru_touch(struct lru *l, struct lru_node *n, uint64_t now_ms)
{
	unlink_node(l, n);
	push_head(l, n);
	n->seen_ms = now_ms;
}

void
lru_expire(struct lru *l, uint64_t now_ms, uint64_t idle_ms)
{
	while (l->tail != NULL && l->tail->seen_ms + idle_ms <= now_ms)
		drop(l, l->tail);
}
