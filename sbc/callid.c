/*
 * Call-ID creators. An LRU list keeps the table bounded; the oldest entry
 * goes first when it is full.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callid.h"
#include "log.h"
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
	uint64_t now_ms; /* latest time seen, for the write at free */
	char *path; /* persistence (callid_persist_in) */
	const struct token_keys *keys;
	bool is_dirty;
	uint64_t synced_ms;
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
	if (t->path != NULL)
		callid_sync(t, t->now_ms, true);
	lru_fini(&t->lru);
	free(t->path);
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
	t->now_ms = now_ms;
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
	t->is_dirty = true;
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
 * The file: one sealed blob (token_file_save) of "PCCID1\n\n", u64
 * wall-clock ms of the write, u32 count, then per entry (oldest first):
 * u64 idle ms at the write, u8 Call-ID length, u8 tag length, Call-ID,
 * tag; little endian.
 */
#define MAGIC "PCCID1\n\n"
#define ENT_HDR 10

static struct log_rl rl_write = LOG_RL_INIT(60000, 1);

static uint64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

/* Checks the whole file (apply false), then loads it (apply true), so
 * that a malformed file adds no entry at all. */
static int
parse_file(struct callid_tab *t, const uint8_t *p, size_t n, uint64_t idle_ms,
    uint64_t now_ms, uint64_t wall, bool apply)
{
	size_t ml = strlen(MAGIC);
	if (n < ml + 12 || memcmp(p, MAGIC, ml) != 0)
		return -1;
	uint64_t written = get_le(p + ml, 8);
	uint64_t away = wall > written ? wall - written : 0;
	uint32_t count = (uint32_t)get_le(p + ml + 8, 4);
	size_t o = ml + 12;
	int loaded = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (n - o < ENT_HDR)
			return -1;
		uint64_t idle = get_le(p + o, 8);
		size_t cl = p[o + 8], tl = p[o + 9];
		o += ENT_HDR;
		if (cl == 0 || cl > CID_MAX || tl > TAG_MAX || n - o < cl + tl)
			return -1;
		/* Entries are C strings: a NUL would cut one short. */
		if (memchr(p + o, '\0', cl + tl) != NULL)
			return -1;
		/* Saturated: a huge idle time must not wrap round to a
		 * young entry. */
		idle = idle > UINT64_MAX - away ? UINT64_MAX : idle + away;
		struct slice cid =
		    slice_make((const char *)p + o, (uint32_t)cl);
		uint64_t hv = hash_bytes(cid.p, cid.len);
		if (apply && idle < idle_ms && find(t, cid, hv) == NULL) {
			struct cid_ent *e = calloc(1, sizeof *e);
			if (e == NULL)
				return -1;
			memcpy(e->cid, p + o, cl);
			memcpy(e->tag, p + o + cl, tl);
			lru_insert(&t->lru, &e->node, hv,
			    now_ms > idle ? now_ms - idle : 0);
			loaded++;
		}
		o += cl + tl;
	}
	return o == n ? loaded : -1;
}

void
callid_persist_in(struct callid_tab *t, const char *state_dir,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms)
{
	char path[4096], err[512];
	if (t == NULL || state_dir == NULL)
		return;
	snprintf(path, sizeof path, "%s/topology.callids", state_dir);
	free(t->path);
	t->path = strdup(path);
	if (t->path == NULL)
		return;
	t->keys = keys;
	t->now_ms = t->synced_ms = now_ms;
	uint8_t *plain;
	size_t n;
	int rc = token_file_load(keys, CALLID_FILE_LABEL, path, CALLID_FILE_MAX,
	    &plain, &n, err, sizeof err);
	if (rc > 0) {
		uint64_t wall = wall_ms();
		rc = parse_file(t, plain, n, idle_ms, now_ms, wall, false);
		if (rc == 0)
			rc = parse_file(
			    t, plain, n, idle_ms, now_ms, wall, true);
		free(plain);
		if (rc < 0)
			snprintf(err, sizeof err, "%.400s: malformed", path);
	}
	if (rc < 0)
		log_warnx("Call-ID creators not restored: %s", err);
	else if (rc > 0)
		log_info("Call-ID creators: %d restored from %s", rc, path);
}

int
callid_sync(struct callid_tab *t, uint64_t now_ms, bool force)
{
	if (t->path == NULL || !t->is_dirty)
		return 0;
	if (!force && now_ms - t->synced_ms < 1000)
		return 0;
	t->now_ms = now_ms;
	size_t ml = strlen(MAGIC), size = ml + 12, count = 0;
	struct lru_node *last = NULL;
	for (struct lru_node *n = t->lru.head; n != NULL; n = n->next) {
		struct cid_ent *e = container_of(n, struct cid_ent, node);
		size_t need = ENT_HDR + strlen(e->cid) + strlen(e->tag);
		if (size + need > CALLID_FILE_MAX)
			break;
		size += need;
		count++;
		last = n;
	}
	uint8_t *p = malloc(size);
	if (p == NULL)
		return -1;
	memcpy(p, MAGIC, ml);
	put_le(p + ml, wall_ms(), 8);
	put_le(p + ml + 8, count, 4);
	size_t o = ml + 12;
	/* Oldest first: loading in order rebuilds the recency list. */
	for (struct lru_node *n = last; count > 0 && n != NULL; n = n->prev) {
		struct cid_ent *e = container_of(n, struct cid_ent, node);
		size_t cl = strlen(e->cid), tl = strlen(e->tag);
		put_le(p + o, now_ms > n->seen_ms ? now_ms - n->seen_ms : 0, 8);
		p[o + 8] = (uint8_t)cl;
		p[o + 9] = (uint8_t)tl;
		memcpy(p + o + ENT_HDR, e->cid, cl);
		memcpy(p + o + ENT_HDR + cl, e->tag, tl);
		o += ENT_HDR + cl + tl;
	}
	int rc = token_file_save(t->keys, CALLID_FILE_LABEL, t->path, p, o);
	free(p);
	/* A failed write is tried again a second later. */
	t->synced_ms = now_ms;
	if (rc != 0) {
		log_ratelimited(&rl_write, LOG_LVL_WARN,
		    "Call-ID creators: cannot write %s: %s", t->path,
		    strerror(errno));
		return -1;
	}
	t->is_dirty = false;
	return 0;
}
