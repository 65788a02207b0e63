/*
 * Row table for long topology tokens. The row id is the first 16 bytes of
 * SHA-256 of the text: a collision would need a SHA-256 prefix collision.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hash.h"
#include "toprow.h"

struct row {
	struct hnode node;
	struct row *prev, *next; /* head = most recent */
	uint8_t id[TOPROW_ID_LEN];
	uint64_t seen_ms;
	uint32_t len;
	char text[]; /* len bytes + NUL */
};

struct toprow {
	struct htable tab;
	struct row *head, *tail;
	uint32_t n, max;
};

static void
unlink_row(struct toprow *t, struct row *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		t->head = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	else
		t->tail = r->prev;
	r->prev = r->next = NULL;
}

static void
push(struct toprow *t, struct row *r)
{
	r->next = t->head;
	if (t->head != NULL)
		t->head->prev = r;
	t->head = r;
	if (t->tail == NULL)
		t->tail = r;
}

static void
drop(struct toprow *t, struct row *r)
{
	htable_remove(&t->tab, &r->node);
	unlink_row(t, r);
	t->n--;
	free(r);
}

struct toprow *
toprow_new(uint32_t max_rows)
{
	struct toprow *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	if (htable_init(&t->tab, 256) != 0) {
		free(t);
		return NULL;
	}
	t->max = max_rows ? max_rows : 1;
	return t;
}

void
toprow_free(struct toprow *t)
{
	if (t == NULL)
		return;
	while (t->head != NULL)
		drop(t, t->head);
	htable_free(&t->tab);
	free(t);
}

static struct row *
find(struct toprow *t, const uint8_t id[TOPROW_ID_LEN])
{
	uint64_t hv = hash_bytes(id, TOPROW_ID_LEN);
	for (struct hnode *n = htable_first(&t->tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct row *r = container_of(n, struct row, node);
		if (memcmp(r->id, id, TOPROW_ID_LEN) == 0)
			return r;
	}
	return NULL;
}

int
toprow_put(struct toprow *t, struct slice text, uint8_t id[TOPROW_ID_LEN],
    uint64_t now_ms)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	if (!EVP_Digest(text.p, text.len, md, &mdlen, EVP_sha256(), NULL))
		return -1;
	memcpy(id, md, TOPROW_ID_LEN);
	struct row *r = find(t, id);
	if (r != NULL) {
		unlink_row(t, r);
		push(t, r);
		r->seen_ms = now_ms;
		return 0;
	}
	if (t->n >= t->max && t->tail != NULL)
		drop(t, t->tail);
	r = malloc(sizeof *r + text.len + 1);
	if (r == NULL)
		return -1;
	memset(r, 0, sizeof *r);
	memcpy(r->id, id, TOPROW_ID_LEN);
	r->seen_ms = now_ms;
	r->len = text.len;
	memcpy(r->text, text.p, text.len);
	r->text[text.len] = '\0';
	htable_insert(&t->tab, &r->node, hash_bytes(id, TOPROW_ID_LEN));
	push(t, r);
	t->n++;
	return 0;
}

struct slice
toprow_get(struct toprow *t, const uint8_t id[TOPROW_ID_LEN], uint64_t now_ms)
{
	struct row *r = find(t, id);
	if (r == NULL)
		return SLICE_NULL;
	unlink_row(t, r);
	push(t, r);
	r->seen_ms = now_ms;
	return slice_make(r->text, r->len);
}

void
toprow_expire(struct toprow *t, uint64_t now_ms, uint64_t idle_ms)
{
	while (t->tail != NULL && t->tail->seen_ms + idle_ms <= now_ms)
		drop(t, t->tail);
}

uint32_t
toprow_count(const struct toprow *t)
{
	return t->n;
}
