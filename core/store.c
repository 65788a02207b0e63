/*
 * SQLite storage for core. Why prepared statements kept open: the user
 * lookup runs on every authenticated request and the location flush every
 * second, so neither should re-parse SQL. Schema changes go through the
 * migrations table below, numbered by PRAGMA user_version. Users are
 * also kept in memory (bounded), since a lookup per authenticated request
 * is still a read transaction with file locks; every user write of this
 * process drops the entry (core is the only writer of the users table).
 * The cache is filled from the table when the store opens and after a
 * transaction that wrote users (an import), not only on first use: after
 * a restart every phone registers again at once, and that storm should be
 * served from memory, not by one SQLite read per user.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "log.h"
#include "store.h"

/* Users kept in memory at most; past it a new entry evicts an old one. */
#define UCACHE_MAX 65536

enum {
	ST_USER_GET,
	ST_USER_INSERT,
	ST_USER_REPLACE,
	ST_USER_REMOVE,
	ST_USER_LIST,
	ST_USER_ALL,
	ST_USER_COUNT,
	ST_META_GET,
	ST_META_SET,
	ST_LOC_PUT,
	ST_LOC_SET,
	ST_LOC_DEL,
	ST_CDR_PUT,
	ST_CDR_LIST,
	ST_CDR_TRIM,
	ST__COUNT
};

static const char *const stmt_sql[ST__COUNT] = {
    [ST_USER_GET] = "SELECT user, domain, realm, ha1_md5, ha1_sha256, "
                    "ha1_sha512_256, max_calls FROM users WHERE user = ?1 "
                    "AND domain = ?2 COLLATE NOCASE",
    [ST_USER_INSERT] = "INSERT INTO users (user, domain, realm, ha1_md5, "
                       "ha1_sha256, ha1_sha512_256, max_calls) VALUES "
                       "(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_USER_REPLACE] = "INSERT OR REPLACE INTO users (user, domain, "
                        "realm, ha1_md5, ha1_sha256, ha1_sha512_256, "
                        "max_calls) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_USER_REMOVE] = "DELETE FROM users WHERE user = ?1 AND domain = ?2 "
                       "COLLATE NOCASE",
    [ST_USER_LIST] = "SELECT user, domain, realm, ha1_md5, ha1_sha256, "
                     "ha1_sha512_256, max_calls FROM users ORDER BY "
                     "domain, user LIMIT ?1",
    /* Table order: no sort, so the warm-up streams the rows. */
    [ST_USER_ALL] = "SELECT user, domain, realm, ha1_md5, ha1_sha256, "
                    "ha1_sha512_256, max_calls FROM users",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES "
                    "(?1, ?2)",
    [ST_LOC_PUT] = "INSERT OR REPLACE INTO location (id, aor, contact, "
                   "call_id, instance, path, ua, expires_at, "
                   "registered_at, cseq, reg_id, q, flow) VALUES (?1, ?2, "
                   "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    /* A refresh rewrites its row in place: INSERT OR REPLACE would
     * delete it and insert it again. */
    [ST_LOC_SET] = "UPDATE location SET aor = ?2, contact = ?3, call_id = "
                   "?4, instance = ?5, path = ?6, ua = ?7, expires_at = ?8, "
                   "registered_at = ?9, cseq = ?10, reg_id = ?11, q = ?12, "
                   "flow = ?13 WHERE id = ?1",
    [ST_LOC_DEL] = "DELETE FROM location WHERE id = ?1",
    [ST_CDR_PUT] = "INSERT INTO cdr (call_id, start_ms, answer_ms, end_ms, "
                   "duration_ms, caller, callee, trunk, direction, status, "
                   "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                   "?10, ?11)",
    [ST_CDR_LIST] = "SELECT id, call_id, start_ms, answer_ms, end_ms, "
                    "duration_ms, caller, callee, trunk, direction, status, "
                    "reason FROM cdr ORDER BY id DESC LIMIT ?1",
    [ST_CDR_TRIM] = "DELETE FROM cdr WHERE id <= (SELECT max(id) FROM cdr) "
                    "- ?1",
};

/* Each entry brings the schema from version i to i + 1. */
static const char *const migrations[] = {
    "CREATE TABLE users (user TEXT NOT NULL, domain TEXT NOT NULL COLLATE "
    "NOCASE, realm TEXT NOT NULL, ha1_md5 TEXT NOT NULL DEFAULT '', "
    "ha1_sha256 TEXT NOT NULL DEFAULT '', ha1_sha512_256 TEXT NOT NULL "
    "DEFAULT '', max_calls INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user, "
    "domain));"
    "CREATE TABLE location (id INTEGER PRIMARY KEY, aor TEXT NOT NULL, "
    "contact TEXT NOT NULL, call_id TEXT NOT NULL, instance TEXT NOT NULL, "
    "path TEXT NOT NULL, ua TEXT NOT NULL, expires_at INTEGER NOT NULL, "
    "registered_at INTEGER NOT NULL, cseq INTEGER NOT NULL, reg_id INTEGER "
    "NOT NULL, q INTEGER NOT NULL, flow BLOB NOT NULL);"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
    "CREATE TABLE cdr (id INTEGER PRIMARY KEY, call_id TEXT NOT NULL, "
    "start_ms INTEGER NOT NULL, answer_ms INTEGER NOT NULL, end_ms INTEGER "
    "NOT NULL, duration_ms INTEGER NOT NULL, caller TEXT NOT NULL, callee "
    "TEXT NOT NULL, trunk TEXT NOT NULL, direction TEXT NOT NULL, status "
    "INTEGER NOT NULL, reason TEXT NOT NULL);",
};

/* A cached user: its strings packed after the header (user, domain as
 * stored, realm, the HA1s of each algorithm), so an entry takes ~200
 * bytes, not a whole store_user (~710) plus a key: a full cache is ~14 MB
 * rather than ~60 MB, which a registration storm of distinct users fills. */
enum {
	UC_USER,
	UC_DOMAIN,
	UC_REALM,
	UC_HA1,
	UC__COUNT = UC_HA1 + DIGEST__COUNT
};
struct ucache_ent {
	struct hnode node;
	uint32_t max_calls;
	uint8_t len[UC__COUNT]; /* every field is shorter than 256 */
	char data[];
};
_Static_assert(STORE_DOMAIN_MAX <= 256 && DIGEST_HEX_MAX <= 256,
    "cached user fields fit a uint8_t length");

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST__COUNT];
	bool in_tx;
	bool tx_users; /* the open transaction wrote users */
	struct htable ucache;
	size_t evict_at; /* bucket where the next eviction looks first */
};

static int
exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("store: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	sqlite3_stmt *q;
	int version = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	int target = (int)(sizeof(migrations) / sizeof(migrations[0]));
	if (version > target) {
		snprintf(err, errlen,
		    "database schema %d is newer than this program (%d)",
		    version, target);
		return -1;
	}
	for (int v = version; v < target; v++) {
		char pragma[64];
		if (exec(s, "BEGIN IMMEDIATE") < 0)
			goto fail;
		snprintf(
		    pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
		if (exec(s, migrations[v]) < 0 || exec(s, pragma) < 0) {
			exec(s, "ROLLBACK");
			goto fail;
		}
		if (exec(s, "COMMIT") < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(
	    err, errlen, "schema migration failed: %s", sqlite3_errmsg(s->db));
	return -1;
}

static int
ucache_free_cb(struct hnode *n, void *arg)
{
	struct store *s = arg;
	htable_remove(&s->ucache, n);
	free(container_of(n, struct ucache_ent, node));
	return 0;
}

static void
ucache_clear(struct store *s)
{
	if (s->ucache.buckets != NULL)
		htable_walk(&s->ucache, ucache_free_cb, s);
}

/* The key of (user, domain) as the lookup compares them: user exact,
 * domain ASCII case-insensitive. 0 if too long to cache. */
static uint32_t
ucache_key(struct slice user, struct slice domain, char *key)
{
	if (user.len >= STORE_USER_MAX || domain.len >= STORE_DOMAIN_MAX)
		return 0;
	if (user.len > 0) /* an empty user may have no bytes at all */
		memcpy(key, user.p, user.len);
	key[user.len] = '\0';
	for (uint32_t i = 0; i < domain.len; i++) {
		char c = domain.p[i];
		key[user.len + 1 + i] = c >= 'A' && c <= 'Z' ? c + 32 : c;
	}
	return user.len + 1 + domain.len;
}

/* The entry of (user, domain), compared as the lookup does: user exact,
 * domain ASCII case-insensitive. */
static struct ucache_ent *
ucache_find(
    struct store *s, struct slice user, struct slice domain, uint64_t hv)
{
	for (struct hnode *h = htable_first(&s->ucache, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct ucache_ent *e = container_of(h, struct ucache_ent, node);
		if (e->len[UC_USER] == user.len &&
		    e->len[UC_DOMAIN] == domain.len &&
		    (user.len == 0 || memcmp(e->data, user.p, user.len) == 0) &&
		    slice_eq_nocase(
		        slice_make(e->data + user.len, domain.len), domain))
			return e;
	}
	return NULL;
}

static struct ucache_ent *
ucache_make(const struct store_user *u)
{
	const char *f[UC__COUNT] = {u->user, u->domain, u->realm};
	uint8_t len[UC__COUNT];
	size_t total = 0;

	for (int a = 0; a < DIGEST__COUNT; a++)
		f[UC_HA1 + a] = u->ha1[a];
	for (int i = 0; i < UC__COUNT; i++) {
		size_t n = strlen(f[i]);
		if (n > 255)
			return NULL;
		len[i] = (uint8_t)n;
		total += n;
	}
	struct ucache_ent *e = malloc(sizeof(*e) + total);
	if (e == NULL)
		return NULL;
	e->max_calls = u->max_calls;
	memcpy(e->len, len, sizeof(len));
	char *p = e->data;
	for (int i = 0; i < UC__COUNT; i++) {
		memcpy(p, f[i], len[i]);
		p += len[i];
	}
	return e;
}

static void
ucache_copy_out(const struct ucache_ent *e, struct store_user *u)
{
	char *f[UC__COUNT] = {u->user, u->domain, u->realm};
	const char *p = e->data;

	memset(u, 0, sizeof(*u));
	for (int a = 0; a < DIGEST__COUNT; a++)
		f[UC_HA1 + a] = u->ha1[a];
	for (int i = 0; i < UC__COUNT; i++) {
		memcpy(f[i], p, e->len[i]); /* each field has room (make) */
		p += e->len[i];
	}
	u->max_calls = e->max_calls;
}

static void
ucache_drop(struct store *s, struct slice user, struct slice domain)
{
	char key[STORE_USER_MAX + STORE_DOMAIN_MAX];
	uint32_t klen = ucache_key(user, domain, key);
	if (klen == 0)
		return;
	struct ucache_ent *e =
	    ucache_find(s, user, domain, hash_bytes(key, klen));
	if (e != NULL) {
		htable_remove(&s->ucache, &e->node);
		free(e);
	}
}

/* Makes room for one entry. The victim is the first entry at or after a
 * moving bucket index: the keyed hash scatters users over buckets, so
 * this is close to random replacement, at O(1) and no per-entry links.
 * (Emptying the whole cache instead would throw away every hot user
 * each time a deployment of more than UCACHE_MAX users met a new one.) */
static void
ucache_evict_one(struct store *s)
{
	struct htable *t = &s->ucache;

	for (size_t i = 0; i <= t->mask; i++) {
		size_t b = (s->evict_at + i) & t->mask;
		struct hnode *n = t->buckets[b];
		if (n != NULL) {
			s->evict_at = b + 1;
			htable_remove(t, n);
			free(container_of(n, struct ucache_ent, node));
			return;
		}
	}
}

static void
ucache_add(struct store *s, const struct store_user *u, uint64_t hv)
{
	if (s->ucache.count >= UCACHE_MAX)
		ucache_evict_one(s);
	struct ucache_ent *e = ucache_make(u);
	if (e != NULL)
		htable_insert(&s->ucache, &e->node, hv);
}

static void row_to_user(sqlite3_stmt *q, struct store_user *u);
static sqlite3_stmt *stmt(struct store *s, int i);

/* Fills the cache with the users it lacks, in table order, until it
 * holds UCACHE_MAX; one row in memory at a time. Outside transactions
 * only (a row written in one may still roll back). Returns the number
 * added or -1. */
static long
ucache_warm(struct store *s)
{
	if (s->in_tx)
		return 0;
	sqlite3_stmt *q = stmt(s, ST_USER_ALL);
	struct store_user u;
	long added = 0;
	int rc = SQLITE_DONE;

	while (s->ucache.count < UCACHE_MAX &&
	    (rc = sqlite3_step(q)) == SQLITE_ROW) {
		/* A field that the copy would cut is not cached: the entry
		 * must be the row exactly (store_user_get compares keys). */
		if (sqlite3_column_bytes(q, 0) >= STORE_USER_MAX ||
		    sqlite3_column_bytes(q, 1) >= STORE_DOMAIN_MAX ||
		    sqlite3_column_bytes(q, 2) >= STORE_DOMAIN_MAX ||
		    sqlite3_column_bytes(q, 3) >= DIGEST_HEX_MAX ||
		    sqlite3_column_bytes(q, 4) >= DIGEST_HEX_MAX ||
		    sqlite3_column_bytes(q, 5) >= DIGEST_HEX_MAX)
			continue;
		row_to_user(q, &u);
		char key[STORE_USER_MAX + STORE_DOMAIN_MAX];
		struct slice us = slice_cstr(u.user), ds = slice_cstr(u.domain);
		uint32_t klen = ucache_key(us, ds, key);
		if (klen == 0)
			continue;
		uint64_t hv = hash_bytes(key, klen);
		if (ucache_find(s, us, ds, hv) != NULL)
			continue;
		ucache_add(s, &u, hv);
		added++;
	}
	if (s->ucache.count >= UCACHE_MAX)
		rc = SQLITE_DONE;
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		log_warnx("store: user cache fill: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return added;
}

struct sqlite3 *
store_db_open(const char *path, const char *sync, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char pragma[64];

	snprintf(pragma, sizeof pragma, "PRAGMA synchronous = %s", sync);
	if (sqlite3_open_v2(path, &db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 2000) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL) !=
	        SQLITE_OK ||
	    sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* FULL sync: a reply to a user change means it is on disk; the
	 * location flush is batched, so the extra fsync is per second. */
	s->db = store_db_open(path, "FULL", err, errlen);
	if (s->db == NULL)
		goto fail;
	if (htable_init(&s->ucache, 1024) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (migrate(s, err, errlen) < 0)
		goto fail;
	for (int i = 0; i < ST__COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &s->st[i],
		        NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: %s", stmt_sql[i],
			    sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	/* A cache that cannot be filled only costs lookups later. */
	long n = ucache_warm(s);
	if (n > 0)
		log_info("store: %ld users read into memory", n);
	return s;
fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	ucache_clear(s);
	htable_free(&s->ucache);
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

const char *
store_errmsg(struct store *s)
{
	return sqlite3_errmsg(s->db);
}

static sqlite3_stmt *
stmt(struct store *s, int i)
{
	sqlite3_reset(s->st[i]);
	sqlite3_clear_bindings(s->st[i]);
	return s->st[i];
}

/* SQLITE_STATIC: every statement here is stepped and reset before its
 * caller returns, and stmt() clears the bindings before the next use, so
 * SQLite need not copy each value (7 copies per binding written). */
static void
bind_slice(sqlite3_stmt *q, int i, struct slice v)
{
	sqlite3_bind_text(q, i, v.p ? v.p : "", (int)v.len, SQLITE_STATIC);
}

static void
col_copy(sqlite3_stmt *q, int i, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void
row_to_user(sqlite3_stmt *q, struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	col_copy(q, 0, u->user, sizeof(u->user));
	col_copy(q, 1, u->domain, sizeof(u->domain));
	col_copy(q, 2, u->realm, sizeof(u->realm));
	col_copy(q, 3, u->ha1[DIGEST_MD5], sizeof(u->ha1[0]));
	col_copy(q, 4, u->ha1[DIGEST_SHA256], sizeof(u->ha1[0]));
	col_copy(q, 5, u->ha1[DIGEST_SHA512_256], sizeof(u->ha1[0]));
	u->max_calls = (uint32_t)sqlite3_column_int64(q, 6);
}

int
store_user_get(struct store *s, struct slice user, struct slice domain,
    struct store_user *out)
{
	char key[STORE_USER_MAX + STORE_DOMAIN_MAX];
	uint32_t klen = ucache_key(user, domain, key);
	uint64_t hv = klen ? hash_bytes(key, klen) : 0;
	struct ucache_ent *e = klen ? ucache_find(s, user, domain, hv) : NULL;
	if (e != NULL) {
		ucache_copy_out(e, out);
		return 1;
	}
	sqlite3_stmt *q = stmt(s, ST_USER_GET);

	bind_slice(q, 1, user);
	bind_slice(q, 2, domain);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		row_to_user(q, out);
		sqlite3_reset(q);
		/* Not what an open transaction may still roll back. */
		if (klen > 0 && !s->in_tx)
			ucache_add(s, out, hv);
		return 1;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("store: user lookup: %s", sqlite3_errmsg(s->db));
	return -1;
}

int
store_user_put(struct store *s, const struct store_user *u, bool replace)
{
	sqlite3_stmt *q = stmt(s, replace ? ST_USER_REPLACE : ST_USER_INSERT);

	ucache_drop(s, slice_cstr(u->user), slice_cstr(u->domain));
	s->tx_users |= s->in_tx;

	sqlite3_bind_text(q, 1, u->user, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, u->domain, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, u->realm, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 4, u->ha1[DIGEST_MD5], -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 5, u->ha1[DIGEST_SHA256], -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(
	    q, 6, u->ha1[DIGEST_SHA512_256], -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 7, u->max_calls);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT && !replace)
		return 1;
	log_warnx("store: user write: %s", sqlite3_errmsg(s->db));
	return -1;
}

int
store_user_remove(struct store *s, struct slice user, struct slice domain)
{
	sqlite3_stmt *q = stmt(s, ST_USER_REMOVE);

	ucache_drop(s, user, domain);
	s->tx_users |= s->in_tx;
	bind_slice(q, 1, user);
	bind_slice(q, 2, domain);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		log_warnx("store: user remove: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	return sqlite3_changes(s->db) > 0 ? 1 : 0;
}

int
store_user_list(struct store *s, size_t limit, store_user_cb cb, void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_USER_LIST);
	struct store_user u;
	int n = 0, rc;

	sqlite3_bind_int64(q, 1, limit == 0 ? -1 : (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row_to_user(q, &u);
		n++;
		if (cb(&u, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? n : -1;
}

int64_t
store_user_count(struct store *s)
{
	sqlite3_stmt *q = stmt(s, ST_USER_COUNT);
	int64_t n = -1;

	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return n;
}

size_t
store_user_cached(const struct store *s)
{
	return s->ucache.count;
}

int
store_begin(struct store *s)
{
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	s->in_tx = true;
	return 0;
}

/* After a transaction: the users it wrote were dropped from the cache
 * (whichever way it ended), so read them back in. The rest of the cache
 * is the committed table: gets inside a transaction add nothing. */
static void
tx_end(struct store *s)
{
	s->in_tx = false;
	if (s->tx_users)
		ucache_warm(s);
	s->tx_users = false;
}

int
store_commit(struct store *s)
{
	if (exec(s, "COMMIT") < 0) {
		exec(s, "ROLLBACK");
		tx_end(s);
		return -1;
	}
	tx_end(s);
	return 0;
}

void
store_rollback(struct store *s)
{
	exec(s, "ROLLBACK");
	tx_end(s);
}

int
store_meta_get(struct store *s, const char *key, char *buf, size_t cap)
{
	sqlite3_stmt *q = stmt(s, ST_META_GET);

	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		col_copy(q, 0, buf, cap);
		sqlite3_reset(q);
		return 1;
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_meta_set(struct store *s, const char *key, const char *val)
{
	sqlite3_stmt *q = stmt(s, ST_META_SET);

	sqlite3_bind_text(q, 1, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, val, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
flush_one(const struct loc_binding *b, bool is_deleted, void *arg)
{
	struct store *s = arg;
	sqlite3_stmt *q;

	bool is_set = !is_deleted && (b->flags & LOC_F_STORED);
again:
	if (is_deleted) {
		q = stmt(s, ST_LOC_DEL);
		sqlite3_bind_int64(q, 1, (sqlite3_int64)b->id);
	} else {
		q = stmt(s, is_set ? ST_LOC_SET : ST_LOC_PUT);
		sqlite3_bind_int64(q, 1, (sqlite3_int64)b->id);
		for (int i = 0; i < LOC_S__COUNT; i++)
			bind_slice(q, 2 + i, loc_slice(b, (enum loc_str)i));
		sqlite3_bind_int64(q, 8, b->expires_at);
		sqlite3_bind_int64(q, 9, b->registered_at);
		sqlite3_bind_int64(q, 10, b->cseq);
		sqlite3_bind_int64(q, 11, b->reg_id);
		sqlite3_bind_int(q, 12, b->q);
		sqlite3_bind_blob(
		    q, 13, &b->flow, sizeof(b->flow), SQLITE_STATIC);
	}
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		log_warnx("store: location write: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (is_set && sqlite3_changes(s->db) == 0) {
		is_set = false; /* no row after all: insert it */
		goto again;
	}
	return 0;
}

int
store_loc_flush(struct store *s, struct loc *l, size_t max)
{
	if (loc_dirty_count(l) == 0)
		return 0;
	if (exec(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	if (loc_flush(l, max, flush_one, s) < 0) {
		exec(s, "ROLLBACK");
		return -1;
	}
	if (exec(s, "COMMIT") < 0) {
		/* loc already forgot the changes; the rows will be rewritten
		 * at the binding's next refresh. Say so. */
		log_warnx(
		    "store: location commit failed: %s", sqlite3_errmsg(s->db));
		exec(s, "ROLLBACK");
		return -1;
	}
	return 0;
}

long
store_loc_load(struct store *s, struct loc *l, int64_t now)
{
	sqlite3_stmt *q;
	long n = 0;
	int rc;
	char del[96];

	snprintf(del, sizeof(del),
	    "DELETE FROM location WHERE expires_at <= %lld", (long long)now);
	if (exec(s, del) < 0)
		return -1;
	if (sqlite3_prepare_v2(s->db,
	        "SELECT id, aor, contact, call_id, instance, path, ua, "
	        "expires_at, registered_at, cseq, reg_id, q, flow FROM "
	        "location",
	        -1, &q, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct loc_binding_in in;
		memset(&in, 0, sizeof(in));
		in.id = (uint64_t)sqlite3_column_int64(q, 0);
		for (int i = 0; i < LOC_S__COUNT; i++) {
			const char *t =
			    (const char *)sqlite3_column_text(q, 1 + i);
			in.s[i] = slice_make(t ? t : "",
			    (uint32_t)sqlite3_column_bytes(q, 1 + i));
		}
		in.expires_at = sqlite3_column_int64(q, 7);
		in.registered_at = sqlite3_column_int64(q, 8);
		in.cseq = (uint32_t)sqlite3_column_int64(q, 9);
		in.reg_id = (uint32_t)sqlite3_column_int64(q, 10);
		in.q = (uint16_t)sqlite3_column_int(q, 11);
		if (sqlite3_column_bytes(q, 12) == (int)sizeof(in.flow))
			memcpy(&in.flow, sqlite3_column_blob(q, 12),
			    sizeof(in.flow));
		if (loc_add(l, &in, true) == NULL) {
			sqlite3_finalize(q);
			return -1;
		}
		n++;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? n : -1;
}

int
store_cdr_put(struct store *s, const struct store_cdr *r)
{
	sqlite3_stmt *q = stmt(s, ST_CDR_PUT);

	sqlite3_bind_text(q, 1, r->call_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, r->start_ms);
	sqlite3_bind_int64(q, 3, r->answer_ms);
	sqlite3_bind_int64(q, 4, r->end_ms);
	sqlite3_bind_int64(q, 5, r->duration_ms);
	sqlite3_bind_text(q, 6, r->caller, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, r->callee, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, r->trunk, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 9, r->direction, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 10, r->status);
	sqlite3_bind_text(q, 11, r->reason, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
cdr_col(sqlite3_stmt *q, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(q, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int
store_cdr_list(struct store *s, size_t limit, store_cdr_cb cb, void *arg)
{
	sqlite3_stmt *q = stmt(s, ST_CDR_LIST);
	struct store_cdr r;
	int n = 0, rc;

	sqlite3_bind_int64(q, 1, limit ? (sqlite3_int64)limit : -1);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		r.id = sqlite3_column_int64(q, 0);
		cdr_col(q, 1, r.call_id, sizeof(r.call_id));
		r.start_ms = sqlite3_column_int64(q, 2);
		r.answer_ms = sqlite3_column_int64(q, 3);
		r.end_ms = sqlite3_column_int64(q, 4);
		r.duration_ms = sqlite3_column_int64(q, 5);
		cdr_col(q, 6, r.caller, sizeof(r.caller));
		cdr_col(q, 7, r.callee, sizeof(r.callee));
		cdr_col(q, 8, r.trunk, sizeof(r.trunk));
		cdr_col(q, 9, r.direction, sizeof(r.direction));
		r.status = sqlite3_column_int(q, 10);
		cdr_col(q, 11, r.reason, sizeof(r.reason));
		n++;
		if (cb(&r, arg) != 0)
			break;
	}
	sqlite3_reset(q);
	return rc == SQLITE_ERROR ? -1 : n;
}

int
store_cdr_trim(struct store *s, uint64_t keep)
{
	sqlite3_stmt *q = stmt(s, ST_CDR_TRIM);

	sqlite3_bind_int64(q, 1, (sqlite3_int64)keep);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : -1;
}
