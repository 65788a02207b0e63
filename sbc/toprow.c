/*
 * Row table for long topology tokens. The row id is the first 16 bytes of
 * SHA-256 of the text: a collision would need a SHA-256 prefix collision.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lru.h"
#include "toprow.h"

struct row {
	struct lru_node node;
	uint8_t id[TOPROW_ID_LEN];
	uint32_t len;
	char text[]; /* len bytes + NUL */
};

struct toprow {
	struct lru lru;
};

static void
free_row(struct lru_node *n)
{
	free(container_of(n, struct row, node));
}

struct toprow *
toprow_new(uint32_t max_rows)
{
	struct toprow *t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	if (lru_init(&t->lru, max_rows, 256, free_row) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

void
toprow_free(struct toprow *t)
{
	if (t == NULL)
		return;
	lru_fini(&t->lru);
	free(t);
}

static struct row *
find(struct toprow *t, const uint8_t id[TOPROW_ID_LEN])
{
	uint64_t hv = hash_bytes(id, TOPROW_ID_LEN);
	for (struct hnode *n = htable_first(&t->lru.tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct row *r = container_of(n, struct row, node.h);
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
		lru_touch(&t->lru, &r->node, now_ms);
		return 0;
	}
	r = malloc(sizeof *r + text.len + 1);
	if (r == NULL)
		return -1;
	memset(r, 0, sizeof *r);
	memcpy(r->id, id, TOPROW_ID_LEN);
	r->len = text.len;
	memcpy(r->text, text.p, text.len);
	r->text[text.len] = '\0';
	lru_insert(&t->lru, &r->node, hash_bytes(id, TOPROW_ID_LEN), now_ms);
	return 0;
}

struct slice
toprow_get(struct toprow *t, const uint8_t id[TOPROW_ID_LEN], uint64_t now_ms)
{
	struct row *r = find(t, id);
	if (r == NULL)
		return SLICE_NULL;
	lru_touch(&t->lru, &r->node, now_ms);
	return slice_make(r->text, r->len);
}

void
toprow_expire(struct toprow *t, uint64_t now_ms, uint64_t idle_ms)
{
	lru_expire(&t->lru, now_ms, idle_ms);
}

uint32_t
toprow_count(const struct toprow *t)
{
	return t->lru.n;
}
