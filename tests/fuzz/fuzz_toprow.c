/*
 * Fuzz target: the edge's topology row file (sbc/toprow.c), read back at
 * start from STATE_DIR/topology.rows behind its seal (sbc/token.c sealed
 * blobs). Each input goes to toprow_persist() three ways: as the file
 * itself (the unsealing must refuse what the test key did not seal, and
 * open within bounds what it did), sealed with the test key (the record
 * parser behind the seal), and sealed after each row id is set to its
 * text's SHA-256 prefix, so that rows pass the id check and get loaded.
 * A load that fails must leave the table empty; a table that loaded is
 * written back and must load again to as many rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fuzz_statefile.h"
#include "token.h"
#include "toprow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 16
#define NOW_MS 5000
/* Generous, so that seed files stay young for years; an idle time the
 * fuzzer makes larger still drops its row. */
#define IDLE_MS (1ull << 40)
#define MAGIC_LEN 8
#define ROW_HDR (TOPROW_ID_LEN + 8 + 4)

/* Sets each row id that the row's length lets us find to its text's. */
static void
fix_ids(uint8_t *p, size_t n)
{
	size_t o = MAGIC_LEN + 12;
	while (o <= n && n - o >= ROW_HDR) {
		size_t len = p[o + 24] | (size_t)p[o + 25] << 8 |
		    (size_t)p[o + 26] << 16 | (size_t)p[o + 27] << 24;
		if (len > n - o - ROW_HDR)
			return;
		uint8_t md[EVP_MAX_MD_SIZE];
		unsigned mdlen = 0;
		if (!EVP_Digest(
		        p + o + ROW_HDR, len, md, &mdlen, EVP_sha256(), NULL))
			abort();
		memcpy(p + o, md, TOPROW_ID_LEN);
		o += ROW_HDR + len;
	}
}

static void
load(void)
{
	char err[512];
	struct toprow *t = toprow_new(MAX_ROWS);
	if (t == NULL)
		abort();
	int n =
	    toprow_persist(t, path, &keys, IDLE_MS, NOW_MS, err, sizeof err);
	uint32_t c = toprow_count(t);
	/* A refused file adds nothing; at most MAX_ROWS are kept. */
	if ((n < 0 && c != 0) || c > MAX_ROWS || (n >= 0 && c > (uint32_t)n))
		abort();
	if (n <= 0) {
		toprow_free(t);
		return;
	}
	/* Expiry (rows idle over a second go) walks the recency list the
	 * load rebuilt; the round trip below writes what remains. */
	toprow_expire(t, NOW_MS, 1000);
	if (toprow_count(t) > c)
		abort();
	/* Round trip: one new row makes the table changed, its write must
	 * load again to the same rows (they are all young enough). */
	uint8_t id[TOPROW_ID_LEN];
	if (toprow_put(t, slice_cstr("<sip:fuzz-round-trip@127.0.0.1>"), id,
	        NOW_MS + 1) != 0)
		abort();
	uint32_t before = toprow_count(t);
	unlink(path);
	if (toprow_sync(t, NOW_MS + 2, true) != 0)
		abort();
	struct stat st;
	if (stat(path, &st) == 0) {
		struct toprow *u = toprow_new(MAX_ROWS);
		int m = toprow_persist(
		    u, path, &keys, IDLE_MS * 2, NOW_MS + 3, err, sizeof err);
		if (m != (int)before || toprow_count(u) != before)
			abort();
		struct slice s = toprow_get(u, id, NOW_MS + 4);
		if (s.p == NULL ||
		    !slice_eq_cstr(s, "<sip:fuzz-round-trip@127.0.0.1>"))
			abort();
		toprow_free(u);
	}
	toprow_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fs_setup("fuzz_toprow", "topology.rows");
		ready = 1;
	}
	if (size > TOPROW_FILE_MAX)
		return 0;
	fs_load_raw_and_sealed(TOPROW_FILE_LABEL, data, size, load);
	uint8_t *copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	fix_ids(copy, size);
	if (token_file_save(&keys, TOPROW_FILE_LABEL, path, copy, size) != 0)
		abort();
	load();
	free(copy);
	return 0;
}
