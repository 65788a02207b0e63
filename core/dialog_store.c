/*
 * Dialogs in SQLite. Why a file of their own rather than a table in
 * store's database: the dialog rows change with every call and are
 * disposable (a lost row only loses one call's listing and CDR end),
 * while store's schema is migrated by its own version; keeping them apart
 * lets either change without the other. One row per dialog: its strings
 * NUL-separated in one blob, its fixed fields in another, checked by size
 * and version when read back.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_store.h"
#include "log.h"
#include "store.h"

/* Version 3 is version 2's record with its zero runs packed (rec_pack);
 * version 2 rows (the record as it is) are still read. */
#define REC_VERSION 3u
#define REC_VERSION_RAW 2u
/* Written behind this often; forgotten at a restart after this long (a
 * call whose BYE never came). */
#define FLUSH_MS 200
#define MAX_AGE_S (24 * 3600)

struct dlg_store {
	sqlite3 *db;
	sqlite3_stmt *put, *del;
	struct ev_loop *loop;
	struct dlg_table *t;
	struct ev_timer timer;
	uint32_t interval_ms;
	uint64_t errors;
};

/* The fixed part of a row; edge slots are not kept (they mean nothing
 * to the next process). */
struct dlg_rec {
	uint32_t version;
	uint32_t state;
	uint32_t caller_cseq, callee_cseq;
	uint32_t callee_cseq_delta;
	uint32_t pad;
	int64_t start_s, answer_s;
	struct ipc_flow caller_flow, callee_flow;
	struct call_acct acct;
};

static int
exec(struct dlg_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

struct dlg_store *
dlg_store_open(const char *path, char *err, size_t errlen)
{
	struct dlg_store *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* NORMAL in WAL: a crash of core loses nothing committed; only a
	 * power loss may lose the last batches, which only cost listings. */
	s->db = store_db_open(path, "NORMAL", err, errlen);
	if (s->db == NULL) {
		dlg_store_close(s);
		return NULL;
	}
	if (exec(s,
	        "CREATE TABLE IF NOT EXISTS dialogs (id INTEGER PRIMARY KEY, "
	        "call_id TEXT NOT NULL, strs BLOB NOT NULL, rec BLOB NOT "
	        "NULL)") < 0)
		goto fail;
	if (sqlite3_prepare_v2(s->db,
	        "INSERT OR REPLACE INTO dialogs (id, call_id, strs, rec) "
	        "VALUES (?1, ?2, ?3, ?4)",
	        -1, &s->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM dialogs WHERE id = ?1", -1,
	        &s->del, NULL) != SQLITE_OK)
		goto fail;
	return s;
fail:
	snprintf(err, errlen, "%s: %s", path,
	    s->db ? sqlite3_errmsg(s->db) : "cannot open");
	dlg_store_close(s);
	return NULL;
}

static void
timer_cb(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct dlg_store *s = arg;

	if (dlg_store_flush(s, s->t) < 0)
		s->errors++;
	ev_timer_start(loop, tm, s->interval_ms);
}

void
dlg_store_attach(struct dlg_store *s, struct ev_loop *loop, struct dlg_table *t,
    uint32_t interval_ms)
{
	s->loop = loop;
	s->t = t;
	s->interval_ms = interval_ms;
	ev_timer_init(&s->timer, timer_cb, s);
	ev_timer_start(loop, &s->timer, interval_ms);
}

uint64_t
dlg_store_errors(const struct dlg_store *s)
{
	return s->errors;
}

void
dlg_store_close(struct dlg_store *s)
{
	if (s == NULL)
		return;
	if (s->loop != NULL) {
		ev_timer_stop(s->loop, &s->timer);
		dlg_store_flush(s, s->t);
	}
	sqlite3_finalize(s->put);
	sqlite3_finalize(s->del);
	sqlite3_close(s->db);
	free(s);
}

const char *
dlg_store_errmsg(struct dlg_store *s)
{
	return sqlite3_errmsg(s->db);
}

/* The fixed record is mostly zeros (the unused room of its strings,
 * empty TLS names and trunk tags): each run of zeros is written as a 0
 * and its length (1-255), other bytes as they are. That makes a row about
 * half as long, and so the pages each flush writes to the WAL and the
 * checkpoint copies. Returns the packed length (at most 2 * n). */
static size_t
rec_pack(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (in[i] != 0) {
			out[o++] = in[i++];
			continue;
		}
		size_t run = 0;
		while (i < n && in[i] == 0 && run < 255) {
			i++;
			run++;
		}
		out[o++] = 0;
		out[o++] = (unsigned char)run;
	}
	return o;
}

/* Inverse of rec_pack; false unless in unpacks to exactly cap bytes. */
static bool
rec_unpack(const unsigned char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		if (in[i] != 0) {
			if (o == cap)
				return false;
			out[o++] = in[i++];
			continue;
		}
		if (i + 1 >= n || in[i + 1] == 0 || in[i + 1] > cap - o)
			return false;
		memset(out + o, 0, in[i + 1]);
		o += in[i + 1];
		i += 2;
	}
	return o == cap;
}

static int
put_cb(const struct dialog *d, void *arg)
{
	struct dlg_store *s = arg;
	struct dlg_rec r;
	unsigned char packed[2 * sizeof(struct dlg_rec)];
	size_t off = 0;

	for (int i = 0; i < DLG_S__COUNT; i++)
		off += (size_t)d->len[i] + 1;
	/* The strings lie one after the other, NUL-terminated. */
	const char *strs = d->s[0];
	if (d->s[DLG_S__COUNT - 1] + d->len[DLG_S__COUNT - 1] + 1 != strs + off)
		return -1;
	memset(&r, 0, sizeof(r));
	r.version = REC_VERSION;
	r.state = (uint32_t)d->state;
	r.caller_cseq = d->caller_cseq;
	r.callee_cseq = d->callee_cseq;
	r.callee_cseq_delta = d->callee_cseq_delta;
	r.start_s = d->start_s;
	r.answer_s = d->answer_s;
	r.caller_flow = d->caller_flow;
	r.callee_flow = d->callee_flow;
	r.acct = d->acct;
	sqlite3_reset(s->put);
	sqlite3_bind_int64(s->put, 1, (sqlite3_int64)d->id);
	sqlite3_bind_text(s->put, 2, d->s[DLG_S_CALL_ID], d->len[DLG_S_CALL_ID],
	    SQLITE_STATIC);
	sqlite3_bind_blob(s->put, 3, strs, (int)off, SQLITE_STATIC);
	size_t plen = rec_pack((const unsigned char *)&r, sizeof(r), packed);
	sqlite3_bind_blob(s->put, 4, packed, (int)plen, SQLITE_STATIC);
	int rc = sqlite3_step(s->put);
	sqlite3_reset(s->put);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
del_cb(uint64_t id, void *arg)
{
	struct dlg_store *s = arg;

	sqlite3_reset(s->del);
	sqlite3_bind_int64(s->del, 1, (sqlite3_int64)id);
	int rc = sqlite3_step(s->del);
	sqlite3_reset(s->del);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
commit_cb(void *arg)
{
	return exec(arg, "COMMIT");
}

int
dlg_store_flush(struct dlg_store *s, struct dlg_table *t)
{
	if (dlg_dirty_count(t) == 0)
		return 0;
	if (exec(s, "BEGIN") < 0)
		return -1;
	if (dlg_flush(t, put_cb, del_cb, commit_cb, s) < 0) {
		exec(s, "ROLLBACK");
		return -1;
	}
	return 0;
}

/* The strings of a row: exactly DLG_S__COUNT NUL-terminated ones. */
static bool
split_strs(const char *p, size_t n, struct slice s[DLG_S__COUNT])
{
	size_t off = 0;

	for (int i = 0; i < DLG_S__COUNT; i++) {
		const char *z = off < n ? memchr(p + off, '\0', n - off) : NULL;
		if (z == NULL)
			return false;
		s[i] = slice_make(p + off, (uint32_t)(z - (p + off)));
		off = (size_t)(z - p) + 1;
	}
	return off == n;
}

/* A stored bool's byte: anything but 0 or 1 is a damaged row (loading
 * it as a bool would be undefined). */
static bool
flag_ok(const bool *f)
{
	uint8_t v;

	memcpy(&v, f, 1);
	return v <= 1;
}

/* The accounting's strings are read as C strings (CDR, call limits). */
static bool
acct_ok(const struct call_acct *a)
{
	return memchr(a->trunk_in, '\0', sizeof(a->trunk_in)) != NULL &&
	    memchr(a->trunk_out, '\0', sizeof(a->trunk_out)) != NULL &&
	    memchr(a->caller, '\0', sizeof(a->caller)) != NULL &&
	    memchr(a->callee, '\0', sizeof(a->callee)) != NULL &&
	    memchr(a->call_id, '\0', sizeof(a->call_id)) != NULL &&
	    flag_ok(&a->is_counted) && flag_ok(&a->is_open) &&
	    flag_ok(&a->is_outbound);
}

struct dialog *
dlg_store_decode(struct dlg_table *t, uint64_t id, const void *strs,
    size_t slen, const void *rec, size_t rlen, int64_t now, int64_t max_age_s)
{
	struct dlg_rec r;
	struct slice sv[DLG_S__COUNT];
	int64_t age;

	/* The table's next id is id + 1: the largest would wrap it to 0 and
	 * new dialogs would take the rows of restored ones. */
	if (id == UINT64_MAX || rec == NULL || strs == NULL ||
	    !split_strs(strs, slen, sv))
		return NULL;
	/* A raw record (version 2, from before packing) has the record's
	 * size and starts with a 2; a packed one starts with the 3 of its
	 * version, so the first four bytes tell the two apart. */
	uint32_t v = 0;
	if (rlen >= sizeof(v))
		memcpy(&v, rec, sizeof(v));
	if (rlen == sizeof(r) && v == REC_VERSION_RAW)
		memcpy(&r, rec, sizeof(r));
	else if (!rec_unpack(rec, rlen, (unsigned char *)&r, sizeof(r)) ||
	    r.version != REC_VERSION)
		return NULL;
	/* A start so far back that the age overflows is too old too. */
	if (r.state != DLG_CONFIRMED ||
	    __builtin_sub_overflow(now, r.start_s, &age) || age > max_age_s ||
	    !acct_ok(&r.acct))
		return NULL;
	struct dialog *d = dlg_restore(t, sv, id);
	if (d == NULL)
		return NULL;
	d->state = (enum dlg_state)r.state;
	d->caller_cseq = r.caller_cseq;
	d->callee_cseq = r.callee_cseq;
	d->callee_cseq_delta = r.callee_cseq_delta;
	d->start_s = r.start_s;
	d->answer_s = r.answer_s;
	d->caller_flow = r.caller_flow;
	d->callee_flow = r.callee_flow;
	d->acct = r.acct;
	/* The call-limit slots were this process's; a restarted core counts
	 * anew, so the restored call holds none. */
	d->acct.is_counted = false;
	return d;
}

long
dlg_store_load(
    struct dlg_store *s, struct dlg_table *t, int64_t now, int64_t max_age_s)
{
	sqlite3_stmt *q;
	long n = 0;
	int rc;
	uint64_t *stale = NULL;
	size_t nstale = 0, cap = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT id, strs, rec FROM dialogs", -1,
	        &q, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uint64_t id = (uint64_t)sqlite3_column_int64(q, 0);
		const void *p = sqlite3_column_blob(q, 1);
		size_t plen = (size_t)sqlite3_column_bytes(q, 1);
		const void *rec = sqlite3_column_blob(q, 2);
		size_t rlen = (size_t)sqlite3_column_bytes(q, 2);
		struct dialog *d =
		    dlg_store_decode(t, id, p, plen, rec, rlen, now, max_age_s);
		if (d == NULL) {
			if (nstale == cap) {
				cap = cap ? cap * 2 : 16;
				uint64_t *v = realloc(stale, cap * sizeof(*v));
				if (v == NULL)
					break;
				stale = v;
			}
			stale[nstale++] = id;
			continue;
		}
		n++;
	}
	sqlite3_finalize(q);
	for (size_t i = 0; i < nstale; i++)
		del_cb(stale[i], s);
	free(stale);
	return rc == SQLITE_DONE ? n : -1;
}

struct dlg_store *
dlg_store_start(struct ev_loop *loop, struct dlg_table *t,
    const char *state_dir, int64_t now)
{
	char path[4096], err[512];

	/* Without the file calls still work, only unlisted after a restart:
	 * a warning, not a refusal to start. */
	snprintf(path, sizeof(path), "%s/dialogs.db", state_dir);
	struct dlg_store *s = dlg_store_open(path, err, sizeof(err));
	if (s == NULL) {
		log_warnx("dialogs are not kept across restarts: %s", err);
		return NULL;
	}
	long n = dlg_store_load(s, t, now, MAX_AGE_S);
	if (n < 0)
		log_warnx("dialogs: cannot restore: %s", dlg_store_errmsg(s));
	else if (n > 0)
		log_info("%ld dialogs restored", n);
	dlg_store_attach(s, loop, t, FLUSH_MS);
	return s;
}
