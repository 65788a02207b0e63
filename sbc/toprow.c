/*
 * Row table for long topology tokens. The row id is the first 16 bytes of
 * SHA-256 of the text: a collision would need a SHA-256 prefix collision.
 *
 * The row file (sbc/statefile.h), magic "PCTROW1\n"; per row: id[16],
 * u64 idle ms at the write, u32 len, text. Sealed, so it can be neither
 * read nor altered on disk; a torn or foreign file simply does not open.
 * Written to a temporary name and renamed over the old one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lru.h"
#include "statefile.h"
#include "toprow.h"

struct row {
	struct lru_node node;
	uint8_t id[TOPROW_ID_LEN];
	uint32_t len;
	char text[]; /* len bytes + NUL */
};

struct toprow {
	struct lru lru;
	struct statefile sf; /* persistence (toprow_persist) */
};

#define ROW_HDR (TOPROW_ID_LEN + 8 + 4)

static const struct statefile_ops file_ops;

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
	statefile_init(&t->sf, &file_ops, &t->lru);
	return t;
}

void
toprow_free(struct toprow *t)
{
	if (t == NULL)
		return;
	statefile_close(&t->sf);
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
	t->sf.now_ms = now_ms;
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
	t->sf.is_dirty = true;
	return 0;
}

struct slice
toprow_get(struct toprow *t, const uint8_t id[TOPROW_ID_LEN], uint64_t now_ms)
{
	t->sf.now_ms = now_ms;
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

/* The id must be the text's: a row cannot be made to answer for
 * another (the seal already prevents it; this keeps the invariant
 * local). */
static bool
id_matches(const uint8_t *id, const uint8_t *text, uint32_t len)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	return EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) &&
	    memcmp(md, id, TOPROW_ID_LEN) == 0;
}

static size_t
row_size(const struct lru_node *n)
{
	return ROW_HDR + container_of(n, struct row, node)->len;
}

static void
row_put(const struct lru_node *n, uint64_t idle, uint8_t *p)
{
	const struct row *r = container_of(n, struct row, node);
	memcpy(p, r->id, TOPROW_ID_LEN);
	statefile_put_le(p + TOPROW_ID_LEN, idle, 8);
	statefile_put_le(p + TOPROW_ID_LEN + 8, r->len, 4);
	memcpy(p + ROW_HDR, r->text, r->len);
}

static size_t
row_get(const uint8_t *p, size_t avail, uint64_t *idle)
{
	if (avail < ROW_HDR)
		return 0;
	uint32_t len = (uint32_t)statefile_get_le(p + TOPROW_ID_LEN + 8, 4);
	if (len > avail - ROW_HDR || len > TOKEN_MAX_PLAIN)
		return 0;
	*idle = statefile_get_le(p + TOPROW_ID_LEN, 8);
	return ROW_HDR + len;
}

/* Checks or inserts a row read from the file, idle for idle ms. */
static int
row_load(struct lru *l, const uint8_t *p, size_t size, uint64_t idle,
    uint64_t now_ms, bool apply)
{
	struct toprow *t = container_of(l, struct toprow, lru);
	const uint8_t *id = p, *text = p + ROW_HDR;
	uint32_t len = (uint32_t)(size - ROW_HDR);
	if (!apply)
		return id_matches(id, text, len) ? 0 : -1;
	if (find(t, id) != NULL)
		return 0;
	if (!id_matches(id, text, len))
		return -1;
	struct row *r = malloc(sizeof *r + len + 1);
	if (r == NULL)
		return -1;
	memset(r, 0, sizeof *r);
	memcpy(r->id, id, TOPROW_ID_LEN);
	r->len = len;
	memcpy(r->text, text, len);
	r->text[len] = '\0';
	lru_insert(&t->lru, &r->node, hash_bytes(id, TOPROW_ID_LEN),
	    now_ms > idle ? now_ms - idle : 0);
	return 1;
}

static const struct statefile_ops file_ops = {
    .what = "topology rows",
    .label = TOPROW_FILE_LABEL,
    .magic = "PCTROW1\n",
    .max = TOPROW_FILE_MAX,
    .size = row_size,
    .put = row_put,
    .get = row_get,
    .load = row_load,
};

int
toprow_persist(struct toprow *t, const char *path,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms, char *err,
    size_t errlen)
{
	return statefile_open(&t->sf, path, keys, idle_ms, now_ms, err, errlen);
}

int
toprow_sync(struct toprow *t, uint64_t now_ms, bool force)
{
	return statefile_sync(&t->sf, now_ms, force);
}

void
toprow_persist_in(struct toprow *t, const char *state_dir,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms)
{
	if (t == NULL)
		return;
	statefile_open_in(
	    &t->sf, state_dir, "topology.rows", keys, idle_ms, now_ms);
}
