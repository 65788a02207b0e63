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
#include "fuzz_statefile.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 16
#define NOW_MS 5000
/* Generous, so that seed files stay young for years; an idle time the
 * fuzzer makes larger still drops its entry. */
#define IDLE_MS (1ull << 40)
#define RT_CID "fuzz-round-trip@127.0.0.1"

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
		fs_setup("fuzz_callid", "topology.callids");
		ready = 1;
	}
	if (size > CALLID_FILE_MAX)
		return 0;
	fs_load_raw_and_sealed(CALLID_FILE_LABEL, data, size, load);
	return 0;
}
