/*
 * Row table for long topology tokens. The row id is the first 16 bytes of
 * SHA-256 of the text: a collision would need a SHA-256 prefix collision.
 *
 * The row file is one sealed blob (token_seal_blob) of:
 *   "PCTROW1\n", u64 wall-clock ms of the write, u32 row count, then per
 *   row (oldest first): id[16], u64 idle ms at the write, u32 len, text
 * all little endian. Sealed, so it can be neither read nor altered on
 * disk; a torn or foreign file simply does not open. Written to a
 * temporary name and renamed over the old one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "log.h"
#include "lru.h"
#include "toprow.h"

static struct log_rl rl_write = LOG_RL_INIT(60000, 1);

struct row {
	struct lru_node node;
	uint8_t id[TOPROW_ID_LEN];
	uint32_t len;
	char text[]; /* len bytes + NUL */
};

struct toprow {
	struct lru lru;
	uint64_t now_ms; /* latest time seen, for the write at free */
	/* persistence (toprow_persist) */
	char *path;
	const struct token_keys *keys;
	bool is_dirty;
	uint64_t synced_ms;
};

#define MAGIC "PCTROW1\n"
#define ROW_HDR (TOPROW_ID_LEN + 8 + 4)

static void
put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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
	if (t->path != NULL)
		toprow_sync(t, t->now_ms, true);
	lru_fini(&t->lru);
	free(t->path);
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
	t->now_ms = now_ms;
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
	t->is_dirty = true;
	return 0;
}

struct slice
toprow_get(struct toprow *t, const uint8_t id[TOPROW_ID_LEN], uint64_t now_ms)
{
	t->now_ms = now_ms;
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

/* Inserts a row read from the file, idle for idle ms. */
static int
load_row(struct toprow *t, const uint8_t *id, const uint8_t *text, uint32_t len,
    uint64_t idle, uint64_t now_ms)
{
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

/* Checks the whole file (apply false), then loads it (apply true), so
 * that a malformed file adds no row at all. */
static int
parse_file(struct toprow *t, const uint8_t *p, size_t n, uint64_t idle_ms,
    uint64_t now_ms, uint64_t wall, bool apply)
{
	size_t ml = strlen(MAGIC);
	if (n < ml + 12 || memcmp(p, MAGIC, ml) != 0)
		return -1;
	uint64_t written = get_le(p + ml, 8);
	uint32_t count = (uint32_t)get_le(p + ml + 8, 4);
	uint64_t away = wall > written ? wall - written : 0;
	size_t o = ml + 12;
	int loaded = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (n - o < ROW_HDR)
			return -1;
		const uint8_t *id = p + o;
		uint64_t idle = get_le(p + o + TOPROW_ID_LEN, 8);
		uint32_t len = (uint32_t)get_le(p + o + TOPROW_ID_LEN + 8, 4);
		o += ROW_HDR;
		if (len > n - o || len > TOKEN_MAX_PLAIN)
			return -1;
		/* Saturated: a huge idle time must not wrap round to a
		 * young row. */
		idle = idle > UINT64_MAX - away ? UINT64_MAX : idle + away;
		if (idle < idle_ms) {
			int rc = 0;
			if (!apply && !id_matches(id, p + o, len))
				rc = -1;
			else if (apply)
				rc = load_row(t, id, p + o, len, idle, now_ms);
			if (rc < 0)
				return -1;
			loaded += rc;
		}
		o += len;
	}
	return o == n ? loaded : -1;
}

int
toprow_persist(struct toprow *t, const char *path,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms, char *err,
    size_t errlen)
{
	free(t->path);
	t->path = strdup(path);
	if (t->path == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->keys = keys;
	t->now_ms = t->synced_ms = now_ms;
	uint8_t *plain;
	size_t n;
	int rc = token_file_load(keys, TOPROW_FILE_LABEL, path, TOPROW_FILE_MAX,
	    &plain, &n, err, errlen);
	if (rc <= 0)
		return rc;
	uint64_t wall = wall_ms();
	rc = parse_file(t, plain, n, idle_ms, now_ms, wall, false);
	if (rc == 0)
		rc = parse_file(t, plain, n, idle_ms, now_ms, wall, true);
	if (rc < 0)
		snprintf(err, errlen, "%s: malformed", path);
	free(plain);
	return rc;
}

int
toprow_sync(struct toprow *t, uint64_t now_ms, bool force)
{
	if (t->path == NULL || !t->is_dirty)
		return 0;
	if (!force && now_ms - t->synced_ms < 1000)
		return 0;
	t->now_ms = now_ms;
	/* The most recent rows that fit, written oldest first so that
	 * loading them in order rebuilds the recency list. */
	size_t ml = strlen(MAGIC), size = ml + 12, nrows = 0;
	struct lru_node *last = NULL;
	for (struct lru_node *n = t->lru.head; n != NULL; n = n->next) {
		struct row *r = container_of(n, struct row, node);
		if (size + ROW_HDR + r->len > TOPROW_FILE_MAX)
			break;
		size += ROW_HDR + r->len;
		nrows++;
		last = n;
	}
	uint8_t *plain = malloc(size);
	int rc = -1;
	if (plain == NULL)
		goto out;
	memcpy(plain, MAGIC, ml);
	put_le(plain + ml, wall_ms(), 8);
	put_le(plain + ml + 8, nrows, 4);
	size_t o = ml + 12;
	for (struct lru_node *n = last; nrows > 0 && n != NULL; n = n->prev) {
		struct row *r = container_of(n, struct row, node);
		uint64_t seen = r->node.seen_ms;
		memcpy(plain + o, r->id, TOPROW_ID_LEN);
		put_le(plain + o + TOPROW_ID_LEN,
		    now_ms > seen ? now_ms - seen : 0, 8);
		put_le(plain + o + TOPROW_ID_LEN + 8, r->len, 4);
		memcpy(plain + o + ROW_HDR, r->text, r->len);
		o += ROW_HDR + r->len;
	}
	if (token_file_save(t->keys, TOPROW_FILE_LABEL, t->path, plain, o) !=
	    0) {
		log_ratelimited(&rl_write, LOG_LVL_WARN,
		    "topology rows: cannot write %s: %s", t->path,
		    strerror(errno));
		t->synced_ms = now_ms;
		goto out;
	}
	t->is_dirty = false;
	t->synced_ms = now_ms;
	rc = 0;
out:
	/* A failed write is tried again at the next sync. */
	free(plain);
	return rc;
}

void
toprow_persist_in(struct toprow *t, const char *state_dir,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms)
{
	char path[4096], err[512];
	if (state_dir == NULL || t == NULL)
		return;
	snprintf(path, sizeof path, "%s/topology.rows", state_dir);
	int n = toprow_persist(t, path, keys, idle_ms, now_ms, err, sizeof err);
	if (n < 0)
		log_warnx("topology rows not restored: %s", err);
	else if (n > 0)
		log_info("topology rows: %d restored from %s", n, path);
}
