/*
 * Fuzz target: the edge's Call-ID creators file (sbc/callid.c), read back
 * at start from STATE_DIR/topology.callids behind its seal (sbc/token.c
 * sealed blobs). Each input goes to callid_persist_in() twice: as the
 * file itself (the unsealing must refuse what the test key did not seal,
 * and open within bounds what it did) and sealed with the test key (the
 * record parser behind the seal). A table that loaded is written back
 * and must load again to as many entries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callid.h"
#include "log.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 16
#define NOW_MS 5000
/* Generous, so that seed files stay young for years; an idle time the
 * fuzzer makes larger still drops its entry. */
#define IDLE_MS (1ull << 40)
#define RT_CID "fuzz-round-trip@127.0.0.1"

static struct token_keys keys;
static char dir[64], path[128];

static void
cleanup(void)
{
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	unlink(path);
	rmdir(dir);
}

static void
setup(void)
{
	uint8_t k[TOKEN_KEY_LEN];
	for (int i = 0; i < TOKEN_KEY_LEN; i++)
		k[i] = (uint8_t)(0xa0 + i);
	token_keys_add(&keys, k);
	log_set_level(LOG_LVL_ERROR);
	/* Memory-backed when there is one: a few times more inputs/s. */
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || strlen(tmp) >= 32)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/fuzz_callid.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/topology.callids", dir);
	atexit(cleanup);
}

static void
write_raw(const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void
load(void)
{
	struct callid_tab *t = callid_new(MAX_ENTRIES);
	if (t == NULL)
		abort();
	callid_persist_in(t, dir, &keys, IDLE_MS, NOW_MS);
	uint32_t c = callid_count(t);
	if (c > MAX_ENTRIES)
		abort();
	if (c == 0) {
		callid_free(t);
		return;
	}
	/* Expiry (rows idle over a second go) walks the recency list the
	 * load rebuilt; the round trip below writes what remains. */
	callid_expire(t, NOW_MS, 1000);
	if (callid_count(t) > c)
		abort();
	/* Round trip: a new entry makes the table changed (unless the file
	 * had that Call-ID), its write must load again to the same entries
	 * (they are all young enough). */
	callid_note(t, slice_cstr(RT_CID), slice_cstr("rt"), NOW_MS + 1);
	uint32_t before = callid_count(t);
	unlink(path);
	if (callid_sync(t, NOW_MS + 2, true) != 0)
		abort();
	struct stat st;
	if (stat(path, &st) == 0) {
		struct callid_tab *u = callid_new(MAX_ENTRIES);
		callid_persist_in(u, dir, &keys, IDLE_MS * 2, NOW_MS + 3);
		if (callid_count(u) != before ||
		    !callid_is_creator(
		        u, slice_cstr(RT_CID), slice_cstr("rt"), NOW_MS + 4))
			abort();
		callid_free(u);
	}
	callid_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		setup();
		ready = 1;
	}
	if (size > CALLID_FILE_MAX)
		return 0;
	/* Raw bytes load only if they are a file the test key sealed. */
	write_raw(data, size);
	load();
	if (token_file_save(&keys, CALLID_FILE_LABEL, path, data, size) != 0)
		abort();
	load();
	return 0;
}
