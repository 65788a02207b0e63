/*
 * store: core's durable state in SQLite (WAL): the user table (HA1
 * digests only, never passwords), the location bindings written behind
 * from loc, and small key/value metadata. Only this module includes
 * SQLite, so another engine can replace it behind the same functions.
 * Results are copied into caller-owned structs.
 */
#ifndef PC_STORE_H
#define PC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "loc.h"
#include "slice.h"

#define STORE_USER_MAX 64
#define STORE_DOMAIN_MAX 128

struct store_user {
	char user[STORE_USER_MAX];
	char domain[STORE_DOMAIN_MAX];
	char realm[STORE_DOMAIN_MAX]; /* realm the HA1s were computed in */
	char ha1[DIGEST__COUNT][DIGEST_HEX_MAX]; /* "" when not set */
	uint32_t max_calls; /* 0 = no limit */
};

struct store;

/* Opens (creating) the database and brings its schema up to date. NULL
 * with a message in err on failure. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/* 1 found, 0 not found, -1 error. */
int store_user_get(struct store *s, struct slice user, struct slice domain,
    struct store_user *out);
/* 0 ok, 1 exists (when !replace), -1 error. Committed (durable) before it
 * returns unless inside store_begin(). */
int store_user_put(struct store *s, const struct store_user *u, bool replace);
/* 1 removed, 0 not found, -1 error. */
int store_user_remove(struct store *s, struct slice user, struct slice domain);
/* Users in (domain, user) order, at most limit (0 = all); cb non-zero
 * stops. Returns the number visited or -1. */
typedef int (*store_user_cb)(const struct store_user *u, void *arg);
int store_user_list(struct store *s, size_t limit, store_user_cb cb, void *arg);
int64_t store_user_count(struct store *s);
/* Users held in memory (filled from the table at open and after a
 * transaction that wrote users; bounded). */
size_t store_user_cached(const struct store *s);

/* Explicit transaction around several writes (users.import). */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Metadata: 1 found, 0 not, -1 error. */
int store_meta_get(struct store *s, const char *key, char *buf, size_t cap);
int store_meta_set(struct store *s, const char *key, const char *val);

/* Writes the first max dirty bindings of l (0 = all) in one transaction.
 * 0 or -1 (the bindings stay dirty for the next try). */
int store_loc_flush(struct store *s, struct loc *l, size_t max);
/* Loads the stored bindings that have not expired at now into l; returns
 * how many, or -1. Expired rows are deleted. */
long store_loc_load(struct store *s, struct loc *l, int64_t now);

/* Call detail records (cdr.c writes them behind, in batches). */
struct store_cdr {
	int64_t id;
	char call_id[256];
	int64_t start_ms, answer_ms, end_ms, duration_ms; /* wall clock; 0 =
							     none */
	char caller[256];
	char callee[256];
	char trunk[32];
	char direction[12]; /* "inbound", "outbound", "internal" */
	int status; /* final response code of the INVITE */
	char reason[64]; /* how it ended: "bye caller", "cancel", "408" ... */
};
int store_cdr_put(struct store *s, const struct store_cdr *r);
/* Newest first, at most limit (0 = all); cb non-zero stops. Count or -1. */
typedef int (*store_cdr_cb)(const struct store_cdr *r, void *arg);
int store_cdr_list(struct store *s, size_t limit, store_cdr_cb cb, void *arg);
/* Drops all but the newest keep records. */
int store_cdr_trim(struct store *s, uint64_t keep);

const char *store_errmsg(struct store *s);

/* Opens (creating) an SQLite file the way every core database is kept:
 * WAL, the given synchronous level ("FULL" or "NORMAL"), a busy timeout.
 * NULL with err filled when it cannot. For core's other stores. */
struct sqlite3;
struct sqlite3 *store_db_open(
    const char *path, const char *sync, char *err, size_t errlen);

#endif
