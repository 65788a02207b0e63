/* Unit tests of core/store.c: schema creation, users, metadata, the user
 * cache filled at open and after user transactions, and the location
 * write-behind surviving a close and reopen. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/store.h"
#include "tap.h"

static char dir[] = "/tmp/pc-test-store.XXXXXX";
static char path[256];

static struct store *
open_db(void)
{
	char err[256] = "";
	struct store *s = store_open(path, err, sizeof(err));

	if (s == NULL)
		printf("# %s\n", err);
	return s;
}

static int
list_cb(const struct store_user *u, void *arg)
{
	int *n = arg;

	(*n)++;
	return strcmp(u->user, "bob") == 0; /* stop at bob */
}

static void
test_users(void)
{
	struct store *s = open_db();
	struct store_user u, got;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	memset(&u, 0, sizeof(u));
	snprintf(u.user, sizeof(u.user), "alice");
	snprintf(u.domain, sizeof(u.domain), "example.com");
	snprintf(u.realm, sizeof(u.realm), "example.com");
	snprintf(u.ha1[DIGEST_MD5], sizeof(u.ha1[0]), "%032d", 1);
	CHECK_EQ_INT(store_user_put(s, &u, false), 0);
	CHECK_EQ_INT(store_user_put(s, &u, false), 1);
	CHECK_EQ_INT(store_user_get(
	                 s, SLICE_LIT("alice"), SLICE_LIT("EXAMPLE.com"), &got),
	    1);
	CHECK_STR(got.ha1[DIGEST_MD5], u.ha1[DIGEST_MD5]);
	CHECK_STR(got.ha1[DIGEST_SHA256], "");
	CHECK_EQ_INT(store_user_get(
	                 s, SLICE_LIT("Alice"), SLICE_LIT("example.com"), &got),
	    0);
	snprintf(u.ha1[DIGEST_SHA256], sizeof(u.ha1[0]), "%064d", 2);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	snprintf(u.user, sizeof(u.user), "bob");
	CHECK_EQ_INT(store_user_put(s, &u, false), 0);
	snprintf(u.user, sizeof(u.user), "carol");
	CHECK_EQ_INT(store_user_put(s, &u, false), 0);
	CHECK_EQ_INT(store_user_count(s), 3);
	int n = 0;
	CHECK_EQ_INT(store_user_list(s, 0, list_cb, &n), 2);
	CHECK_EQ_INT(
	    store_user_remove(s, SLICE_LIT("carol"), SLICE_LIT("example.com")),
	    1);
	CHECK_EQ_INT(
	    store_user_remove(s, SLICE_LIT("carol"), SLICE_LIT("example.com")),
	    0);
	/* A rolled-back transaction leaves nothing behind. */
	CHECK_EQ_INT(store_begin(s), 0);
	snprintf(u.user, sizeof(u.user), "dave");
	CHECK_EQ_INT(store_user_put(s, &u, false), 0);
	store_rollback(s);
	CHECK_EQ_INT(store_user_count(s), 2);
	/* The in-memory copy of users never outlives a change: a password
	 * change, a removal, a rolled-back change are all seen at once. */
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("bob"), SLICE_LIT("example.com"), &got),
	    1); /* now cached */
	snprintf(u.user, sizeof(u.user), "bob");
	snprintf(u.ha1[DIGEST_MD5], sizeof(u.ha1[0]), "%032d", 7);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("bob"), SLICE_LIT("Example.COM"), &got),
	    1);
	CHECK_STR(got.ha1[DIGEST_MD5], u.ha1[DIGEST_MD5]);
	CHECK_EQ_INT(store_begin(s), 0);
	snprintf(u.ha1[DIGEST_MD5], sizeof(u.ha1[0]), "%032d", 8);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("bob"), SLICE_LIT("example.com"), &got),
	    1);
	CHECK_STR(got.ha1[DIGEST_MD5], u.ha1[DIGEST_MD5]); /* in the tx */
	store_rollback(s);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("bob"), SLICE_LIT("example.com"), &got),
	    1);
	snprintf(u.ha1[DIGEST_MD5], sizeof(u.ha1[0]), "%032d", 7);
	CHECK_STR(got.ha1[DIGEST_MD5], u.ha1[DIGEST_MD5]); /* rolled back */
	CHECK_EQ_INT(
	    store_user_remove(s, SLICE_LIT("bob"), SLICE_LIT("EXAMPLE.COM")),
	    1);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("bob"), SLICE_LIT("example.com"), &got),
	    0);
	CHECK_EQ_INT(store_user_put(s, &u, false), 0);
	/* A user found in memory is the row as stored: every field, the
	 * domain as written (not as asked), however often it is asked. */
	struct store_user e;
	memset(&e, 0, sizeof(e));
	snprintf(e.user, sizeof(e.user), "erin");
	snprintf(e.domain, sizeof(e.domain), "Example.Org");
	snprintf(e.realm, sizeof(e.realm), "realm.example");
	snprintf(e.ha1[DIGEST_MD5], sizeof(e.ha1[0]), "%032d", 3);
	snprintf(e.ha1[DIGEST_SHA256], sizeof(e.ha1[0]), "%064d", 4);
	snprintf(e.ha1[DIGEST_SHA512_256], sizeof(e.ha1[0]), "%064d", 5);
	e.max_calls = 3;
	CHECK_EQ_INT(store_user_put(s, &e, false), 0);
	for (int k = 0; k < 3; k++) {
		memset(&got, 0x55, sizeof(got));
		CHECK_EQ_INT(
		    store_user_get(s, SLICE_LIT("erin"),
		        slice_cstr(k == 1 ? "EXAMPLE.ORG" : "example.org"),
		        &got),
		    1);
		CHECK(memcmp(&got, &e, sizeof(e)) == 0);
	}
	CHECK_EQ_INT(store_user_get(
	                 s, SLICE_LIT("erin"), SLICE_LIT("example.orgx"), &got),
	    0);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("eri"), SLICE_LIT("example.org"), &got),
	    0);
	CHECK_EQ_INT(
	    store_user_remove(s, SLICE_LIT("erin"), SLICE_LIT("EXAMPLE.org")),
	    1);
	CHECK_EQ_INT(store_user_get(
	                 s, SLICE_LIT("erin"), SLICE_LIT("example.org"), &got),
	    0);
	CHECK_EQ_INT(store_meta_set(s, "k", "v1"), 0);
	CHECK_EQ_INT(store_meta_set(s, "k", "v2"), 0);
	char buf[16];
	CHECK_EQ_INT(store_meta_get(s, "k", buf, sizeof(buf)), 1);
	CHECK_STR(buf, "v2");
	CHECK_EQ_INT(store_meta_get(s, "nokey", buf, sizeof(buf)), 0);
	store_close(s);

	/* Durable across a reopen. */
	s = open_db();
	CHECK_EQ_INT(store_user_get(
	                 s, SLICE_LIT("alice"), SLICE_LIT("example.com"), &got),
	    1);
	CHECK_STR(got.ha1[DIGEST_SHA256], u.ha1[DIGEST_SHA256]);
	store_close(s);
}

static void
test_location(void)
{
	struct store *s = open_db();
	struct loc *l = loc_new();
	struct loc_binding_in in;
	struct loc_binding *v[4];

	memset(&in, 0, sizeof(in));
	in.s[LOC_S_AOR] = SLICE_LIT("alice@example.com");
	in.s[LOC_S_CONTACT] = SLICE_LIT("sip:alice@10.0.0.5:5060");
	in.s[LOC_S_CALL_ID] = SLICE_LIT("call-1");
	in.s[LOC_S_INSTANCE] = SLICE_LIT("<urn:uuid:1>");
	in.expires_at = 2000;
	in.cseq = 3;
	in.q = 500;
	in.flow.transport = IPC_TP_UDP;
	in.flow.remote.family = 4;
	in.flow.remote.port = 40000;
	loc_add(l, &in, false);
	in.s[LOC_S_AOR] = SLICE_LIT("bob@example.com");
	in.expires_at = 1000;
	struct loc_binding *bob = loc_add(l, &in, false);
	in.s[LOC_S_AOR] = SLICE_LIT("carol@example.com");
	struct loc_binding *carol = loc_add(l, &in, false);
	CHECK_EQ_INT(store_loc_flush(s, l, 0), 0);
	loc_remove(l, carol);
	in.s[LOC_S_AOR] = SLICE_LIT("bob@example.com");
	in.expires_at = 3000;
	loc_update(l, bob, &in);
	CHECK_EQ_INT(store_loc_flush(s, l, 0), 0);
	loc_free(l);
	store_close(s);

	s = open_db();
	l = loc_new();
	CHECK_EQ_INT(store_loc_load(s, l, 1500), 2);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("alice@example.com"), v, 4), 1);
	CHECK_STR(loc_str(v[0], LOC_S_INSTANCE), "<urn:uuid:1>");
	CHECK_EQ_INT(v[0]->q, 500);
	CHECK_EQ_INT(v[0]->flow.remote.port, 40000);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("bob@example.com"), v, 4), 1);
	CHECK_EQ_INT(v[0]->expires_at, 3000);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("carol@example.com"), v, 4), 0);
	/* Restored bindings are not dirty; a new one gets a fresh id. */
	CHECK_EQ_INT(loc_dirty_count(l), 0);
	uint64_t old = v[0]->id;
	in.s[LOC_S_AOR] = SLICE_LIT("dave@example.com");
	CHECK(loc_add(l, &in, false)->id > old);
	loc_free(l);
	l = loc_new();
	CHECK_EQ_INT(store_loc_load(s, l, 2500), 1); /* alice expired */
	loc_free(l);
	store_close(s);
}

/* A refresh updates the row in place; a binding loc believes stored
 * whose row is gone is inserted again, so nothing depends on that
 * belief being right. */
static void
test_location_refresh(void)
{
	snprintf(path, sizeof(path), "%s/refresh.db", dir);
	struct store *s = open_db();
	struct loc *l = loc_new(), *l2;
	struct loc_binding_in in;
	struct loc_binding *v[4];

	memset(&in, 0, sizeof(in));
	in.s[LOC_S_AOR] = SLICE_LIT("erin@example.com");
	in.s[LOC_S_CONTACT] = SLICE_LIT("sip:erin@10.0.0.7:5060");
	in.s[LOC_S_CALL_ID] = SLICE_LIT("call-e");
	in.expires_at = 2000;
	in.q = 1000;
	in.flow.remote.port = 41000;
	struct loc_binding *b = loc_add(l, &in, false);
	CHECK(!(b->flags & LOC_F_STORED));
	CHECK_EQ_INT(store_loc_flush(s, l, 0), 0);
	CHECK(b->flags & LOC_F_STORED);
	in.s[LOC_S_CONTACT] = SLICE_LIT("sip:erin@10.0.0.8:5062");
	in.s[LOC_S_PATH] = SLICE_LIT("<sip:p.example.com;lr>");
	in.expires_at = 4000;
	in.cseq = 9;
	in.flow.remote.port = 42000;
	b = loc_update(l, b, &in);
	CHECK(b != NULL && (b->flags & LOC_F_STORED));
	CHECK_EQ_INT(store_loc_flush(s, l, 0), 0);
	/* Another loc loading at 5000 deletes the row (expired there)... */
	l2 = loc_new();
	CHECK_EQ_INT(store_loc_load(s, l2, 5000), 0);
	loc_free(l2);
	/* ...so the next refresh finds no row to update and inserts it. */
	in.expires_at = 6000;
	b = loc_update(l, b, &in);
	CHECK_EQ_INT(store_loc_flush(s, l, 0), 0);
	l2 = loc_new();
	CHECK_EQ_INT(store_loc_load(s, l2, 5500), 1);
	int n = loc_lookup(l2, SLICE_LIT("erin@example.com"), v, 4);
	CHECK_EQ_INT(n, 1);
	if (n != 1) {
		loc_free(l2);
		loc_free(l);
		store_close(s);
		return;
	}
	CHECK_EQ_INT(v[0]->expires_at, 6000);
	CHECK_EQ_INT(v[0]->cseq, 9);
	CHECK_EQ_INT(v[0]->flow.remote.port, 42000);
	CHECK_STR(loc_str(v[0], LOC_S_CONTACT), "sip:erin@10.0.0.8:5062");
	CHECK_STR(loc_str(v[0], LOC_S_PATH), "<sip:p.example.com;lr>");
	CHECK(v[0]->flags & LOC_F_STORED);
	CHECK_EQ_INT(v[0]->id, b->id);
	/* A restored binding refreshed is updated in place, one row. */
	in.expires_at = 7000;
	loc_update(l2, v[0], &in);
	CHECK_EQ_INT(store_loc_flush(s, l2, 0), 0);
	loc_free(l2);
	l2 = loc_new();
	CHECK_EQ_INT(store_loc_load(s, l2, 5500), 1);
	n = loc_lookup(l2, SLICE_LIT("erin@example.com"), v, 4);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && v[0]->expires_at == 7000);
	loc_free(l2);
	loc_free(l);
	store_close(s);
}

static void
mk_user(struct store_user *u, const char *name, int ha1)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->user, sizeof(u->user), "%s", name);
	snprintf(u->domain, sizeof(u->domain), "warm.example");
	snprintf(u->realm, sizeof(u->realm), "warm.example");
	snprintf(u->ha1[DIGEST_MD5], sizeof(u->ha1[0]), "%032d", ha1);
}

/* Changes a user's MD5 HA1 through another connection, which core never
 * does (it is the users table's only writer): a get that still returns
 * the old value was served from memory. */
static void
poke_ha1(const char *dbpath, const char *user, int ha1)
{
	sqlite3 *db = NULL;
	char sql[200];
	snprintf(sql, sizeof(sql),
	    "UPDATE users SET ha1_md5 = '%032d' WHERE user = '%s'", ha1, user);
	CHECK(sqlite3_open(dbpath, &db) == SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	CHECK_EQ_INT(sqlite3_changes(db), 1);
	sqlite3_close(db);
}

static void
test_user_cache_warm(void)
{
	char wpath[300], want[40];
	snprintf(wpath, sizeof(wpath), "%s/warm.db", dir);
	char err[256] = "";
	struct store *s = store_open(wpath, err, sizeof(err));
	struct store_user u, got;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_user_cached(s), 0);
	const char *names[] = {"w1", "w2", "w3"};
	for (int i = 0; i < 3; i++) {
		mk_user(&u, names[i], 10 + i);
		CHECK_EQ_INT(store_user_put(s, &u, false), 0);
	}
	store_close(s);

	/* Every user is in memory once the store is open, before any
	 * lookup: the table behind it no longer matters. */
	s = store_open(wpath, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_user_cached(s), 3);
	poke_ha1(wpath, "w2", 99);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w2"), SLICE_LIT("WARM.example"), &got),
	    1);
	snprintf(want, sizeof(want), "%032d", 11);
	CHECK_STR(got.ha1[DIGEST_MD5], want);
	CHECK_STR(got.domain, "warm.example");
	poke_ha1(wpath, "w2", 11);

	/* An import-like transaction: its users are in memory after the
	 * commit with their new values, and a rolled-back change leaves the
	 * committed value in memory. */
	CHECK_EQ_INT(store_begin(s), 0);
	mk_user(&u, "w4", 14);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	mk_user(&u, "w1", 21);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	CHECK_EQ_INT(store_user_cached(s), 2); /* w1 dropped until commit */
	CHECK_EQ_INT(store_commit(s), 0);
	CHECK_EQ_INT(store_user_cached(s), 4);
	poke_ha1(wpath, "w1", 98);
	poke_ha1(wpath, "w4", 97);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w1"), SLICE_LIT("warm.example"), &got),
	    1);
	snprintf(want, sizeof(want), "%032d", 21);
	CHECK_STR(got.ha1[DIGEST_MD5], want);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w4"), SLICE_LIT("warm.example"), &got),
	    1);
	snprintf(want, sizeof(want), "%032d", 14);
	CHECK_STR(got.ha1[DIGEST_MD5], want);
	poke_ha1(wpath, "w1", 21);
	poke_ha1(wpath, "w4", 14);

	CHECK_EQ_INT(store_begin(s), 0);
	mk_user(&u, "w3", 33);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	CHECK_EQ_INT(
	    store_user_remove(s, SLICE_LIT("w4"), SLICE_LIT("warm.example")),
	    1);
	store_rollback(s);
	CHECK_EQ_INT(store_user_cached(s), 4);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w3"), SLICE_LIT("warm.example"), &got),
	    1);
	snprintf(want, sizeof(want), "%032d", 12);
	CHECK_STR(got.ha1[DIGEST_MD5], want);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w4"), SLICE_LIT("warm.example"), &got),
	    1);

	/* A change outside a transaction is seen at once, as before. */
	mk_user(&u, "w3", 43);
	CHECK_EQ_INT(store_user_put(s, &u, true), 0);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w3"), SLICE_LIT("warm.example"), &got),
	    1);
	CHECK_STR(got.ha1[DIGEST_MD5], u.ha1[DIGEST_MD5]);
	CHECK_EQ_INT(
	    store_user_remove(s, SLICE_LIT("w3"), SLICE_LIT("warm.example")),
	    1);
	CHECK_EQ_INT(
	    store_user_get(s, SLICE_LIT("w3"), SLICE_LIT("warm.example"), &got),
	    0);
	store_close(s);
}

/* More users than the cache holds: the fill stops at the bound, and a
 * user found past it evicts one entry, not the whole cache. */
static void
test_user_cache_bound(void)
{
	enum { N = 65536 + 40 };
	char wpath[300], name[32], err[256] = "";
	snprintf(wpath, sizeof(wpath), "%s/bound.db", dir);
	struct store *s = store_open(wpath, err, sizeof(err));
	struct store_user u, got;

	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_begin(s), 0);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%06d", i);
		mk_user(&u, name, i);
		bad += store_user_put(s, &u, false) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(store_commit(s), 0);
	CHECK_EQ_INT(store_user_cached(s), 65536);
	store_close(s);

	s = store_open(wpath, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ_INT(store_user_cached(s), 65536);
	int found = 0, right = 0;
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%06d", i);
		if (store_user_get(s, slice_cstr(name),
		        SLICE_LIT("warm.example"), &got) == 1) {
			found++;
			char want[40];
			snprintf(want, sizeof(want), "%032d", i);
			right += strcmp(got.ha1[DIGEST_MD5], want) == 0;
		}
		if (store_user_cached(s) != 65536)
			bad++;
	}
	CHECK_EQ_INT(found, N);
	CHECK_EQ_INT(right, N);
	CHECK_EQ_INT(bad, 0);
	store_close(s);
}

int
main(void)
{
	hash_seed_random();
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/test.db", dir);
	TEST_RUN(test_users);
	TEST_RUN(test_user_cache_warm);
	TEST_RUN(test_user_cache_bound);
	TEST_RUN(test_location);
	TEST_RUN(test_location_refresh);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
