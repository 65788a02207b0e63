/*
 * Shared set-up of the fuzz targets of the edge's sealed state files
 * (fuzz_toprow, fuzz_callid): the test key, a private directory (in
 * /dev/shm when there is one) holding the one state file, removed at exit,
 * and the feeding of an input as the raw file and as a sealed one.
 */
#ifndef PC_FUZZ_STATEFILE_H
#define PC_FUZZ_STATEFILE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "token.h"

static struct token_keys keys;
static char dir[64], path[128];

static void
fs_cleanup(void)
{
	char tmp[160];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	unlink(path);
	rmdir(dir);
}

/* Makes the directory TMP/NAME.XXXXXX with the state file FILE in it. */
static void
fs_setup(const char *name, const char *file)
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
	snprintf(dir, sizeof dir, "%s/%s.XXXXXX", tmp, name);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/%s", dir, file);
	atexit(fs_cleanup);
}

static void
fs_write_raw(const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

/* Runs load() on the input as the file itself (it opens only if the
 * test key sealed it) and then sealed with the test key under label. */
static void
fs_load_raw_and_sealed(
    const char *label, const uint8_t *data, size_t size, void (*load)(void))
{
	fs_write_raw(data, size);
	load();
	if (token_file_save(&keys, label, path, data, size) != 0)
		abort();
	load();
}

#endif
