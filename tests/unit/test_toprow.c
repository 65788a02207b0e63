/* Unit tests of the edge's persisted topology tables: sbc/toprow.c (row
 * table of long tokens) and sbc/callid.c (Call-ID creators) written to a
 * sealed file and read back, as across an edge restart; and the sealed
 * state files of sbc/token.c they use. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callid.h"
#include "statefile.h"
#include "tap.h"
#include "token.h"
#include "toprow.h"

#define HOUR (3600ull * 1000)

static struct token_keys keys, other;
static char dir[256];

static void
set_keys(void)
{
	uint8_t k[TOKEN_KEY_LEN];
	memset(k, 7, sizeof k);
	token_keys_add(&keys, k);
	memset(k, 9, sizeof k);
	token_keys_add(&other, k);
}

static char *
path_of(const char *name)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return p;
}

static void
test_blob(void)
{
	uint8_t sealed[64 + TOKEN_OVERHEAD], out[64];
	const char *msg = "hidden headers";
	size_t n = strlen(msg);
	int sl = token_seal_blob(&keys, "a", msg, n, sealed, sizeof sealed);
	CHECK_EQ_INT(sl, (int)(n + TOKEN_OVERHEAD));
	CHECK_EQ_INT(
	    token_open_blob(&keys, "a", sealed, (size_t)sl, out, sizeof out),
	    (int)n);
	CHECK(memcmp(out, msg, n) == 0);
	CHECK_EQ_INT(
	    token_open_blob(&keys, "b", sealed, (size_t)sl, out, sizeof out),
	    -1);
	CHECK_EQ_INT(
	    token_open_blob(&other, "a", sealed, (size_t)sl, out, sizeof out),
	    -1);
	sealed[20] ^= 1;
	CHECK_EQ_INT(
	    token_open_blob(&keys, "a", sealed, (size_t)sl, out, sizeof out),
	    -1);
	CHECK_EQ_INT(
	    token_open_blob(&keys, "a", sealed, 5, out, sizeof out), -1);
	/* Two seals of one text differ (random nonces). */
	uint8_t s2[64 + TOKEN_OVERHEAD];
	sealed[20] ^= 1;
	token_seal_blob(&keys, "a", msg, n, s2, sizeof s2);
	CHECK(memcmp(s2, sealed, (size_t)sl) != 0);
}

static void
test_rows_survive(void)
{
	char err[256];
	const char *p = path_of("rows1");
	struct toprow *t = toprow_new(100);
	CHECK_EQ_INT(
	    toprow_persist(t, p, &keys, 12 * HOUR, 1000, err, sizeof err),
	    0); /* no file yet */
	uint8_t a[TOPROW_ID_LEN], b[TOPROW_ID_LEN], c[TOPROW_ID_LEN];
	toprow_put(
	    t, slice_cstr("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa"), a, 1000);
	toprow_put(t, slice_cstr("<sip:core@10.0.0.2;lr>"), b, 2000);
	/* Write-behind: not within a second of the last write ... */
	CHECK_EQ_INT(toprow_sync(t, 1500, false), 0);
	CHECK(access(p, F_OK) != 0);
	/* ... then yes. */
	CHECK_EQ_INT(toprow_sync(t, 2500, false), 0);
	CHECK(access(p, F_OK) == 0);
	struct stat st;
	CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
	toprow_put(t, slice_cstr("Contact-after-the-write"), c, 3000);
	/* toprow_free writes what changed since. */
	toprow_free(t);

	/* "After the restart": another table, another clock. */
	struct toprow *u = toprow_new(100);
	CHECK_EQ_INT(
	    toprow_persist(u, p, &keys, 12 * HOUR, 50, err, sizeof err), 3);
	CHECK_EQ_INT((int)toprow_count(u), 3);
	struct slice s = toprow_get(u, a, 60);
	CHECK(s.p != NULL &&
	    slice_eq_cstr(s, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKa"));
	s = toprow_get(u, c, 60);
	CHECK(s.p != NULL && slice_eq_cstr(s, "Contact-after-the-write"));
	/* The same text keeps its row id. */
	uint8_t b2[TOPROW_ID_LEN];
	toprow_put(u, slice_cstr("<sip:core@10.0.0.2;lr>"), b2, 70);
	CHECK(memcmp(b, b2, TOPROW_ID_LEN) == 0);
	CHECK_EQ_INT((int)toprow_count(u), 3);
	toprow_free(u);
}

static void
test_rows_expire_and_reject(void)
{
	char err[256];
	const char *p = path_of("rows2");
	struct toprow *t = toprow_new(100);
	toprow_persist(t, p, &keys, HOUR, 0, err, sizeof err);
	uint8_t old[TOPROW_ID_LEN], young[TOPROW_ID_LEN];
	toprow_put(t, slice_cstr("old row"), old, 1000);
	toprow_put(t, slice_cstr("young row"), young, 2 * HOUR);
	toprow_sync(t, 2 * HOUR + 10, true);
	toprow_free(t);
	/* Idle longer than an hour at the write: dropped at load. */
	struct toprow *u = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(u, p, &keys, HOUR, 5, err, sizeof err), 1);
	CHECK(toprow_get(u, old, 6).p == NULL);
	CHECK(toprow_get(u, young, 6).p != NULL);
	toprow_free(u);

	/* Another key: the file does not open; the table works without. */
	struct toprow *v = toprow_new(100);
	CHECK_EQ_INT(
	    toprow_persist(v, p, &other, HOUR, 5, err, sizeof err), -1);
	CHECK(strstr(err, "does not open") != NULL);
	CHECK_EQ_INT((int)toprow_count(v), 0);
	toprow_free(v);

	/* A damaged file (one byte flipped) does not open either. */
	int fd = open(p, O_RDWR);
	uint8_t x;
	CHECK(pread(fd, &x, 1, 30) == 1);
	x ^= 0x40;
	CHECK(pwrite(fd, &x, 1, 30) == 1);
	close(fd);
	struct toprow *w = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(w, p, &keys, HOUR, 5, err, sizeof err), -1);
	CHECK_EQ_INT((int)toprow_count(w), 0);
	/* ... and is replaced at the next write. */
	uint8_t id[TOPROW_ID_LEN];
	toprow_put(w, slice_cstr("new"), id, 10);
	CHECK_EQ_INT(toprow_sync(w, 20, true), 0);
	toprow_free(w);
	struct toprow *y = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(y, p, &keys, HOUR, 5, err, sizeof err), 1);
	toprow_free(y);

	/* A truncated file (a short read or a torn write) is refused. */
	CHECK(truncate(p, 10) == 0);
	struct toprow *z = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(z, p, &keys, HOUR, 5, err, sizeof err), -1);
	toprow_free(z);
}

static void
test_rows_bounded(void)
{
	/* The table keeps at most max_rows; the file holds what the table
	 * holds, the most recent rows, in recency order. */
	char err[256];
	const char *p = path_of("rows3");
	struct toprow *t = toprow_new(4);
	toprow_persist(t, p, &keys, HOUR, 0, err, sizeof err);
	uint8_t ids[6][TOPROW_ID_LEN];
	for (int i = 0; i < 6; i++) {
		char txt[32];
		snprintf(txt, sizeof txt, "row %d", i);
		toprow_put(t, slice_cstr(txt), ids[i], (uint64_t)(100 + i));
	}
	toprow_free(t);
	struct toprow *u = toprow_new(3);
	CHECK_EQ_INT(toprow_persist(u, p, &keys, HOUR, 200, err, sizeof err),
	    4); /* 4 read; the 3-row table keeps the 3 most recent */
	CHECK_EQ_INT((int)toprow_count(u), 3);
	CHECK(toprow_get(u, ids[2], 201).p == NULL);
	CHECK(toprow_get(u, ids[3], 201).p != NULL);
	CHECK(toprow_get(u, ids[5], 201).p != NULL);
	toprow_free(u);
}

static void
test_callids_survive(void)
{
	struct callid_tab *t = callid_new(100);
	callid_persist_in(t, dir, &keys, 12 * HOUR, 0);
	callid_note(t, slice_cstr("abc@10.0.0.1"), slice_cstr("tagA"), 10);
	callid_note(t, slice_cstr("def@10.0.0.1"), slice_cstr(""), 20);
	CHECK_EQ_INT(callid_sync(t, 30, true), 0);
	callid_free(t);
	struct callid_tab *u = callid_new(100);
	callid_persist_in(u, dir, &keys, 12 * HOUR, 5);
	CHECK_EQ_INT((int)callid_count(u), 2);
	CHECK(callid_is_creator(
	    u, slice_cstr("abc@10.0.0.1"), slice_cstr("tagA"), 6));
	CHECK(!callid_is_creator(
	    u, slice_cstr("abc@10.0.0.1"), slice_cstr("tagB"), 6));
	CHECK(callid_is_creator(
	    u, slice_cstr("def@10.0.0.1"), slice_cstr(""), 6));
	callid_free(u);
	/* Another key: nothing restored. */
	struct callid_tab *v = callid_new(100);
	callid_persist_in(v, dir, &other, 12 * HOUR, 5);
	CHECK_EQ_INT((int)callid_count(v), 0);
	callid_free(v);
}

/* Regressions for the loaders behind the seal: files of the documented
 * layouts (sbc/statefile.h), sealed with the right key, that the writers
 * never make.
 *
 * A row file: header written at `written`, then the rows given. */
static size_t
row_file(uint8_t *b, uint64_t written, int nrows, const char *const *texts,
    const uint64_t *idles)
{
	size_t o = statefile_put_head(b, "PCTROW1\n", written, (uint32_t)nrows);
	struct toprow *scratch = toprow_new(8);
	for (int i = 0; i < nrows; i++) {
		size_t len = strlen(texts[i]);
		toprow_put(scratch, slice_cstr(texts[i]), b + o, 0);
		o += TOPROW_ID_LEN;
		o += statefile_put_le(b + o, idles[i], 8);
		o += statefile_put_le(b + o, len, 4);
		memcpy(b + o, texts[i], len);
		o += len;
	}
	toprow_free(scratch);
	return o;
}

static void
test_rows_malformed_adds_nothing(void)
{
	/* One good row, then a row header cut short: the file is malformed
	 * and the table must stay empty (it used to keep the first row). */
	char err[256];
	const char *p = path_of("rows4");
	const char *texts[] = {"<sip:a@10.0.0.1>"};
	uint64_t idles[] = {0};
	uint8_t b[256];
	size_t n = row_file(b, statefile_wall_ms(), 1, texts, idles);
	statefile_put_le(b + 16, 2, 4); /* says two rows */
	memset(b + n, 0, 10);
	n += 10;
	CHECK_EQ_INT(token_file_save(&keys, TOPROW_FILE_LABEL, p, b, n), 0);
	struct toprow *t = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(t, p, &keys, HOUR, 5, err, sizeof err), -1);
	CHECK(strstr(err, "malformed") != NULL);
	CHECK_EQ_INT((int)toprow_count(t), 0);
	toprow_free(t);
	/* Trailing bytes after the last row: malformed too. */
	n = row_file(b, statefile_wall_ms(), 1, texts, idles);
	b[n++] = 'x';
	CHECK_EQ_INT(token_file_save(&keys, TOPROW_FILE_LABEL, p, b, n), 0);
	t = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(t, p, &keys, HOUR, 5, err, sizeof err), -1);
	CHECK_EQ_INT((int)toprow_count(t), 0);
	toprow_free(t);
}

static void
test_rows_idle_no_wrap(void)
{
	/* A file written at time 0 with an idle time so large that adding
	 * the time away wrapped round to under an hour: such a row is old,
	 * not young (it used to be loaded). A young row beside it loads. */
	char err[256];
	const char *p = path_of("rows5");
	const char *texts[] = {"<sip:old@10.0.0.1>", "<sip:young@10.0.0.1>"};
	uint64_t w = statefile_wall_ms();
	uint64_t idles[] = {UINT64_MAX - w + HOUR / 2, 0};
	uint8_t b[256];
	size_t n = row_file(b, 0, 2, texts, idles);
	CHECK_EQ_INT(token_file_save(&keys, TOPROW_FILE_LABEL, p, b, n), 0);
	struct toprow *t = toprow_new(100);
	/* The young one is idle for the whole time away (since 1970). */
	CHECK_EQ_INT(
	    toprow_persist(t, p, &keys, UINT64_MAX - 1, 5, err, sizeof err), 1);
	CHECK_EQ_INT((int)toprow_count(t), 1);
	toprow_free(t);
	t = toprow_new(100);
	CHECK_EQ_INT(toprow_persist(t, p, &keys, HOUR, 5, err, sizeof err), 0);
	CHECK_EQ_INT((int)toprow_count(t), 0);
	toprow_free(t);
}

/* A Call-ID file: header written at `written`, then the entries. */
static size_t
cid_file(uint8_t *b, uint64_t written, int n, const char *const *cids,
    const size_t *cls, const uint64_t *idles)
{
	size_t o = statefile_put_head(b, "PCCID1\n\n", written, (uint32_t)n);
	for (int i = 0; i < n; i++) {
		o += statefile_put_le(b + o, idles[i], 8);
		b[o++] = (uint8_t)cls[i];
		b[o++] = 3;
		memcpy(b + o, cids[i], cls[i]);
		o += cls[i];
		memcpy(b + o, "tag", 3);
		o += 3;
	}
	return o;
}

static void
test_callids_malformed(void)
{
	const char *p = path_of("topology.callids");
	uint8_t b[256];
	uint64_t w = statefile_wall_ms();
	const char *cids[] = {"good@10.0.0.1", "bad\0@10.0.0.1"};
	size_t cls[] = {13, 14};
	uint64_t idles[] = {0, 0};
	/* A Call-ID with a NUL in it cannot have been written (entries are
	 * C strings): the file is malformed and nothing of it loads (the
	 * good entry before it used to). */
	size_t n = cid_file(b, w, 2, cids, cls, idles);
	CHECK_EQ_INT(token_file_save(&keys, CALLID_FILE_LABEL, p, b, n), 0);
	struct callid_tab *t = callid_new(100);
	callid_persist_in(t, dir, &keys, 12 * HOUR, 5);
	CHECK_EQ_INT((int)callid_count(t), 0);
	callid_free(t);
	/* One good entry, then trailing bytes: nothing loads either. */
	n = cid_file(b, w, 1, cids, cls, idles);
	b[n++] = 0;
	CHECK_EQ_INT(token_file_save(&keys, CALLID_FILE_LABEL, p, b, n), 0);
	t = callid_new(100);
	callid_persist_in(t, dir, &keys, 12 * HOUR, 5);
	CHECK_EQ_INT((int)callid_count(t), 0);
	callid_free(t);
	/* Without the trailing byte it loads. */
	n--;
	CHECK_EQ_INT(token_file_save(&keys, CALLID_FILE_LABEL, p, b, n), 0);
	t = callid_new(100);
	callid_persist_in(t, dir, &keys, 12 * HOUR, 5);
	CHECK_EQ_INT((int)callid_count(t), 1);
	callid_free(t);
	/* An idle time that wrapped round with the time away is old. */
	idles[0] = UINT64_MAX - w + HOUR / 2;
	n = cid_file(b, 0, 1, cids, cls, idles);
	CHECK_EQ_INT(token_file_save(&keys, CALLID_FILE_LABEL, p, b, n), 0);
	t = callid_new(100);
	callid_persist_in(t, dir, &keys, 12 * HOUR, 5);
	CHECK_EQ_INT((int)callid_count(t), 0);
	callid_free(t);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "/tmp/test_toprow.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	set_keys();
	TEST_RUN(test_blob);
	TEST_RUN(test_rows_survive);
	TEST_RUN(test_rows_expire_and_reject);
	TEST_RUN(test_rows_bounded);
	TEST_RUN(test_callids_survive);
	TEST_RUN(test_rows_malformed_adds_nothing);
	TEST_RUN(test_rows_idle_no_wrap);
	TEST_RUN(test_callids_malformed);
	const char *names[] = {
	    "rows1", "rows2", "rows3", "rows4", "rows5", "topology.callids"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		unlink(path_of(names[i]));
	rmdir(dir);
	return tap_done();
}
