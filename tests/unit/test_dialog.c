/*
 * Dialog table and its write-behind (dialog_store): find by tags either
 * way, removal, changes and removals flushed to SQLite and read back by
 * a new table (strings, flows, CSeqs, accounting), rows too old or
 * damaged dropped at load, ids not reused after a restore.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dialog.h"
#include "core/dialog_store.h"
#include "tap.h"

static char dir[] = "/tmp/pc-test-dialog.XXXXXX";
static char path[256];

static struct dialog *
add(struct dlg_table *t, const char *cid, const char *a, const char *b,
    int64_t start)
{
	struct slice s[DLG_S__COUNT];
	struct ipc_flow f1, f2;

	memset(s, 0, sizeof(s));
	memset(&f1, 0, sizeof(f1));
	memset(&f2, 0, sizeof(f2));
	ipc_addr_parse(&f1.remote, "10.0.0.1", 5060);
	ipc_addr_parse(&f2.remote, "10.0.0.2", 5062);
	f2.transport = IPC_TP_TCP;
	f2.conn_id = 42;
	s[DLG_S_CALL_ID] = slice_cstr(cid);
	s[DLG_S_CALLER_TAG] = slice_cstr(a);
	s[DLG_S_CALLEE_TAG] = slice_cstr(b);
	s[DLG_S_FROM] = SLICE_LIT("<sip:alice@example.com>;tag=a");
	s[DLG_S_TO] = SLICE_LIT("<sip:bob@example.com>;tag=b");
	s[DLG_S_CALLER_CONTACT] = SLICE_LIT("sip:alice@10.0.0.1");
	s[DLG_S_CALLEE_CONTACT] = SLICE_LIT("sip:bob@10.0.0.2:5062");
	s[DLG_S_ROUTE_SET] = SLICE_LIT("<sip:p1;lr>\n<sip:p2;lr>");
	return dlg_create(t, s, &f1, &f2, 7, start, start + 3);
}

static void
test_table(void)
{
	struct dlg_table *t = dlg_table_new();

	add(t, "c1", "ta", "tb", 100);
	add(t, "c1", "ta", "tc", 100); /* a second (forked) dialog */
	CHECK_EQ_INT(dlg_count(t), 2);
	struct dialog *d = dlg_find(t, SLICE_LIT("c1"), SLICE_LIT("tc"),
	    SLICE_LIT("ta")); /* from the callee's side */
	CHECK(d != NULL && strcmp(d->s[DLG_S_CALLEE_TAG], "tc") == 0);
	CHECK(d != NULL && !dlg_is_caller(d, SLICE_LIT("tc")));
	CHECK(dlg_find(t, SLICE_LIT("c1"), SLICE_LIT("ta"), SLICE_LIT("x")) ==
	    NULL);
	CHECK_EQ_INT(dlg_dirty_count(t), 2);
	if (d != NULL)
		dlg_remove(t, d); /* never stored: nothing to delete */
	CHECK_EQ_INT(dlg_dirty_count(t), 1);
	dlg_table_free(t);
}

static int
fail_cb(void *arg)
{
	(void)arg;
	return -1;
}

static int
put_ok(const struct dialog *d, void *arg)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static int
del_ok(uint64_t id, void *arg)
{
	(void)id;
	(*(int *)arg)++;
	return 0;
}

static void
test_store_roundtrip(void)
{
	char err[256];
	struct dlg_table *t = dlg_table_new();
	struct dlg_store *s = dlg_store_open(path, err, sizeof(err));

	CHECK(s != NULL);
	if (s == NULL)
		return;
	struct dialog *d1 = add(t, "keep", "a1", "b1", 1000);
	struct dialog *d2 = add(t, "gone", "a2", "b2", 1000);
	add(t, "old", "a3", "b3", 10);
	snprintf(d1->acct.caller, sizeof(d1->acct.caller), "alice@example.com");
	d1->acct.is_open = true;
	d1->acct.is_counted = true;
	d1->acct.answer_ms = 1003000;
	/* A failed commit keeps every change queued. */
	int n = 0;
	CHECK_EQ_INT(dlg_flush(t, put_ok, del_ok, fail_cb, &n), -1);
	CHECK_EQ_INT(dlg_dirty_count(t), 3);
	CHECK_EQ_INT(dlg_store_flush(s, t), 0);
	CHECK_EQ_INT(dlg_dirty_count(t), 0);
	d1->callee_cseq = 9;
	d1->callee_cseq_delta = 1;
	dlg_touch(t, d1);
	dlg_remove(t, d2);
	CHECK_EQ_INT(dlg_dirty_count(t), 2);
	CHECK_EQ_INT(dlg_store_flush(s, t), 0);
	uint64_t id1 = d1->id;
	dlg_store_close(s);
	dlg_table_free(t);

	/* A damaged row besides: dropped at load. */
	sqlite3 *db;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	CHECK(sqlite3_exec(db,
	          "INSERT INTO dialogs (id, call_id, strs, rec) VALUES (99, "
	          "'bad', x'41', x'00')",
	          NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);

	t = dlg_table_new();
	s = dlg_store_open(path, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* now 2000, max age 1500: "old" (started at 10) is dropped. */
	CHECK_EQ_INT(dlg_store_load(s, t, 2000, 1500), 1);
	CHECK_EQ_INT(dlg_count(t), 1);
	struct dialog *r =
	    dlg_find(t, SLICE_LIT("keep"), SLICE_LIT("a1"), SLICE_LIT("b1"));
	CHECK(r != NULL);
	if (r != NULL) {
		CHECK_EQ_INT(r->id, id1);
		CHECK_EQ_INT(r->state, DLG_CONFIRMED);
		CHECK_EQ_INT(r->caller_cseq, 7);
		CHECK_EQ_INT(r->callee_cseq, 9);
		CHECK_EQ_INT(r->callee_cseq_delta, 1);
		CHECK_EQ_INT(r->start_s, 1000);
		CHECK_EQ_INT(r->answer_s, 1003);
		CHECK(strcmp(r->s[DLG_S_ROUTE_SET],
		          "<sip:p1;lr>\n<sip:p2;lr>") == 0);
		CHECK(strcmp(r->s[DLG_S_CALLEE_CONTACT],
		          "sip:bob@10.0.0.2:5062") == 0);
		CHECK_EQ_INT(r->callee_flow.conn_id, 42);
		CHECK_EQ_INT(r->callee_flow.transport, IPC_TP_TCP);
		CHECK(strcmp(r->acct.caller, "alice@example.com") == 0);
		CHECK(r->acct.is_open);
		CHECK(!r->acct.is_counted); /* slots are per process */
		CHECK_EQ_INT(r->acct.answer_ms, 1003000);
		CHECK_EQ_INT(dlg_dirty_count(t), 0);
	}
	/* A new dialog gets a fresh id, and removing the restored one
	 * deletes its row. */
	struct dialog *d4 = add(t, "new", "a4", "b4", 1990);
	CHECK(d4 != NULL && r != NULL && d4->id > r->id);
	if (r != NULL)
		dlg_remove(t, r);
	CHECK_EQ_INT(dlg_store_flush(s, t), 0);
	dlg_store_close(s);
	dlg_table_free(t);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite3_stmt *q;
	CHECK(
	    sqlite3_prepare_v2(db, "SELECT group_concat(call_id) FROM dialogs",
	        -1, &q, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	const char *ids = (const char *)sqlite3_column_text(q, 0);
	CHECK(ids != NULL && strcmp(ids, "new") == 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* The test's own unpacking of a stored record (runs of zeros as 0 and a
 * length), to see the raw record the store packed. */
static size_t
unpack(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o < cap; i++) {
		if (in[i] != 0) {
			out[o++] = in[i];
			continue;
		}
		for (unsigned k = 0; i + 1 < n && k < in[i + 1] && o < cap; k++)
			out[o++] = 0;
		i++;
	}
	return o;
}

/* Records are written packed (much shorter than the raw record), rows
 * of the raw version 2 still load, and a cut packed record is dropped. */
static void
test_packed_and_raw(void)
{
	char err[256], p2[300];
	snprintf(p2, sizeof p2, "%s/d2.db", dir);
	struct dlg_table *t = dlg_table_new();
	struct dlg_store *s = dlg_store_open(p2, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	struct dialog *d = add(t, "raw", "ra", "rb", 1000);
	snprintf(d->acct.caller, sizeof(d->acct.caller), "carol@example.com");
	CHECK_EQ_INT(dlg_store_flush(s, t), 0);
	uint64_t id = d->id;
	dlg_store_close(s);
	dlg_table_free(t);

	sqlite3 *db;
	sqlite3_stmt *q;
	unsigned char packed[4096], raw[4096];
	size_t plen = 0, rlen = 0;
	CHECK(sqlite3_open(p2, &db) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(db, "SELECT rec, strs FROM dialogs", -1, &q,
	          NULL) == SQLITE_OK);
	CHECK(sqlite3_step(q) == SQLITE_ROW);
	plen = (size_t)sqlite3_column_bytes(q, 0);
	if (plen <= sizeof packed)
		memcpy(packed, sqlite3_column_blob(q, 0), plen);
	char strs[1024];
	size_t slen = (size_t)sqlite3_column_bytes(q, 1);
	CHECK(slen <= sizeof strs);
	if (slen <= sizeof strs)
		memcpy(strs, sqlite3_column_blob(q, 1), slen);
	sqlite3_finalize(q);
	CHECK(plen > 4 && plen <= sizeof packed);
	if (plen > sizeof packed)
		plen = sizeof packed;
	rlen = unpack(packed, plen, raw, sizeof raw);
	CHECK(plen * 2 < rlen); /* a raw record is ~800 bytes of zeros */
	uint32_t v;
	memcpy(&v, raw, sizeof v);
	CHECK_EQ_INT(v, 3);
	/* The row as version 2 wrote it: the raw record. */
	v = 2;
	memcpy(raw, &v, sizeof v);
	CHECK(sqlite3_prepare_v2(db, "UPDATE dialogs SET rec = ?1", -1, &q,
	          NULL) == SQLITE_OK);
	sqlite3_bind_blob(q, 1, raw, (int)rlen, SQLITE_STATIC);
	CHECK(sqlite3_step(q) == SQLITE_DONE);
	sqlite3_finalize(q);
	/* And a packed record cut short: dropped. */
	CHECK(sqlite3_prepare_v2(db,
	          "INSERT INTO dialogs (id, call_id, strs, rec) VALUES (?1, "
	          "'cut', ?2, ?3)",
	          -1, &q, NULL) == SQLITE_OK);
	sqlite3_bind_int64(q, 1, (sqlite3_int64)id + 1);
	sqlite3_bind_blob(q, 2, strs, (int)slen, SQLITE_STATIC);
	sqlite3_bind_blob(q, 3, packed, (int)plen - 2, SQLITE_STATIC);
	CHECK(sqlite3_step(q) == SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(db);

	t = dlg_table_new();
	s = dlg_store_open(p2, err, sizeof(err));
	CHECK(s != NULL);
	if (s == NULL)
		return;
	CHECK_EQ_INT(dlg_store_load(s, t, 2000, 1500), 1);
	struct dialog *r =
	    dlg_find(t, SLICE_LIT("raw"), SLICE_LIT("ra"), SLICE_LIT("rb"));
	CHECK(r != NULL && r->id == id);
	CHECK(r != NULL && strcmp(r->acct.caller, "carol@example.com") == 0);
	CHECK(r != NULL && r->callee_flow.conn_id == 42);
	dlg_store_close(s);
	dlg_table_free(t);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/dialogs.db", dir);
	TEST_RUN(test_table);
	TEST_RUN(test_store_roundtrip);
	TEST_RUN(test_packed_and_raw);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
