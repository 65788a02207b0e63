/*
 * Fuzz target: core's dialog rows read back from SQLite at start
 * (core/dialog_store.c dlg_store_decode, what dlg_store_load does per
 * row). The database is a file on disk, so a row may hold anything: it
 * must be refused or become a dialog whose strings, flags and times the
 * rest of core can use as they are. A row that decodes is written
 * through the store (SQLite in memory) and must load back the same.
 *
 * Input: u64 row id, u16 length of the strings blob, the strings blob,
 * then the fixed record blob (all of the rest); little endian.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dialog.h"
#include "core/dialog_store.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_S 1795000000
#define MAX_AGE_S (24 * 3600)

static bool
terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

/* What the rest of core takes for granted of a dialog. */
static void
check(struct dlg_table *t, struct dialog *d)
{
	if (d->state != DLG_CONFIRMED || d->acct.is_counted)
		abort();
	/* The CDR and the call limits read these as C strings. */
	if (!terminated(d->acct.trunk_in, sizeof d->acct.trunk_in) ||
	    !terminated(d->acct.trunk_out, sizeof d->acct.trunk_out) ||
	    !terminated(d->acct.caller, sizeof d->acct.caller) ||
	    !terminated(d->acct.callee, sizeof d->acct.callee) ||
	    !terminated(d->acct.call_id, sizeof d->acct.call_id))
		abort();
	/* Loads of the flags as core makes them (UBSan: bool values). */
	volatile int flags = d->acct.is_open + d->acct.is_outbound;
	(void)flags;
	for (int i = 0; i < DLG_S__COUNT; i++)
		if (d->s[i][d->len[i]] != '\0')
			abort();
	struct slice cid =
	    slice_make(d->s[DLG_S_CALL_ID], d->len[DLG_S_CALL_ID]);
	struct slice a =
	    slice_make(d->s[DLG_S_CALLER_TAG], d->len[DLG_S_CALLER_TAG]);
	struct slice b =
	    slice_make(d->s[DLG_S_CALLEE_TAG], d->len[DLG_S_CALLEE_TAG]);
	if (dlg_find(t, cid, a, b) == NULL)
		abort();
}

static bool
same(const struct dialog *x, const struct dialog *y)
{
	if (x->id != y->id || x->caller_cseq != y->caller_cseq ||
	    x->callee_cseq != y->callee_cseq ||
	    x->callee_cseq_delta != y->callee_cseq_delta ||
	    x->start_s != y->start_s || x->answer_s != y->answer_s ||
	    memcmp(&x->caller_flow, &y->caller_flow, sizeof x->caller_flow) !=
	        0 ||
	    memcmp(&x->callee_flow, &y->callee_flow, sizeof x->callee_flow) !=
	        0 ||
	    strcmp(x->acct.caller, y->acct.caller) != 0 ||
	    strcmp(x->acct.call_id, y->acct.call_id) != 0 ||
	    x->acct.is_open != y->acct.is_open)
		return false;
	for (int i = 0; i < DLG_S__COUNT; i++)
		if (x->len[i] != y->len[i] ||
		    memcmp(x->s[i], y->s[i], x->len[i]) != 0)
			return false;
	return true;
}

static struct dialog *first;

static int
first_cb(struct dialog *d, void *arg)
{
	(void)arg;
	first = d;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dlg_store *s;
	if (s == NULL) {
		char err[256];
		log_set_level(LOG_LVL_ERROR);
		s = dlg_store_open(":memory:", err, sizeof err);
		if (s == NULL)
			abort();
	}
	if (size < 10)
		return 0;
	uint64_t id = 0;
	for (int i = 7; i >= 0; i--)
		id = id << 8 | data[i];
	size_t slen = data[8] | (size_t)data[9] << 8;
	if (slen > size - 10)
		return 0;
	/* Exact copies, so that ASan sees any read past either blob. */
	char *strs = malloc(slen ? slen : 1);
	size_t rlen = size - 10 - slen;
	uint8_t *rec = malloc(rlen ? rlen : 1);
	if (strs == NULL || rec == NULL)
		abort();
	memcpy(strs, data + 10, slen);
	memcpy(rec, data + 10 + slen, rlen);

	struct dlg_table *t = dlg_table_new();
	struct dialog *d = dlg_store_decode(t, id, slen ? strs : NULL, slen,
	    rlen ? rec : NULL, rlen, NOW_S, MAX_AGE_S);
	if (d != NULL) {
		check(t, d);
		/* Ids are not reused after a restore: a new dialog's is
		 * larger (a row of its own in the store). */
		struct slice ns[DLG_S__COUNT];
		struct ipc_flow nf;
		memset(ns, 0, sizeof ns);
		memset(&nf, 0, sizeof nf);
		ns[DLG_S_CALL_ID] = slice_cstr("fuzz-new-dialog");
		struct dialog *n = dlg_create(t, ns, &nf, &nf, 1, NOW_S, NOW_S);
		if (n == NULL || n->id <= d->id)
			abort();
		dlg_remove(t, n);
		/* Round trip through the store. */
		dlg_touch(t, d);
		if (dlg_store_flush(s, t) != 0)
			abort();
		struct dlg_table *u = dlg_table_new();
		if (dlg_store_load(s, u, NOW_S, MAX_AGE_S) != 1)
			abort();
		first = NULL;
		dlg_walk(u, first_cb, NULL);
		if (first == NULL || !same(d, first))
			abort();
		/* Leave the database empty for the next input. */
		dlg_remove(u, first);
		if (dlg_store_flush(s, u) != 0)
			abort();
		dlg_table_free(u);
	}
	dlg_table_free(t);
	free(strs);
	free(rec);
	return 0;
}
