/*
 * statefile: the write-behind of an edge table (an lru of the caller's
 * entries) to a sealed state file (token_file_save), read back at start;
 * shared by sbc/toprow.c and sbc/callid.c. The file is one sealed blob of
 * an 8-byte magic, u64 wall-clock ms of the write, u32 entry count, then
 * the entries oldest first in the table's own layout, little endian. The
 * caller owns the struct statefile (embedded in its table) and its keys.
 */
#ifndef PC_SBC_STATEFILE_H
#define PC_SBC_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "lru.h"
#include "token.h"

#define STATEFILE_MAGIC_LEN 8
#define STATEFILE_HEAD_LEN (STATEFILE_MAGIC_LEN + 8 + 4)

/* What a table's file is and how its entries are written and read. */
struct statefile_ops {
	const char *what; /* names the table in logs */
	const char *label; /* bound into the seal */
	const char *magic; /* STATEFILE_MAGIC_LEN bytes */
	size_t max; /* the most a file holds (most recent entries first) */
	/* Bytes entry n takes in the file. */
	size_t (*size)(const struct lru_node *n);
	/* Writes entry n (size(n) bytes), idle for idle ms, at p. */
	void (*put)(const struct lru_node *n, uint64_t idle, uint8_t *p);
	/* The size of the entry at p (avail bytes left) with its idle time
	 * at the write in *idle, or 0 when it is malformed. */
	size_t (*get)(const uint8_t *p, size_t avail, uint64_t *idle);
	/* Checks (apply false) or stores (apply true) the entry at p of
	 * size len into the table of l, idle for idle ms at now_ms:
	 * 1 stored, 0 not (only checked, or already there), -1 refused. */
	int (*load)(struct lru *l, const uint8_t *p, size_t len, uint64_t idle,
	    uint64_t now_ms, bool apply);
};

struct statefile {
	const struct statefile_ops *ops;
	struct lru *lru;
	char *path; /* NULL: not persisted */
	const struct token_keys *keys;
	bool is_dirty; /* set by the table when an entry is added */
	uint64_t now_ms; /* latest time seen, for the write at close */
	uint64_t synced_ms;
	struct log_rl rl_write;
};

void statefile_init(
    struct statefile *sf, const struct statefile_ops *ops, struct lru *lru);
/* Writes what changed (statefile_sync, forced) and frees the path. */
void statefile_close(struct statefile *sf);
/*
 * Keeps the table in the file at path and loads it now: entries idle for
 * longer than idle_ms, counting the time the file lay on disk, are
 * dropped; a malformed file loads nothing. Returns the entries loaded, or
 * -1 with the reason in err (the table then works without the file's).
 */
int statefile_open(struct statefile *sf, const char *path,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms, char *err,
    size_t errlen);
/* statefile_open() on STATE_DIR/name, logging the outcome. */
void statefile_open_in(struct statefile *sf, const char *state_dir,
    const char *name, const struct token_keys *keys, uint64_t idle_ms,
    uint64_t now_ms);
/* Writes the table if entries were added since the last write and at
 * least a second has passed (force: now, if anything changed). 0 or -1. */
int statefile_sync(struct statefile *sf, uint64_t now_ms, bool force);

/* Little-endian n-byte integers; put returns n. */
size_t statefile_put_le(uint8_t *p, uint64_t v, int n);
uint64_t statefile_get_le(const uint8_t *p, int n);
/* Writes the file's head (STATEFILE_HEAD_LEN bytes); returns its size. */
size_t statefile_put_head(
    uint8_t *p, const char *magic, uint64_t written_ms, uint32_t count);
/* Wall-clock ms (CLOCK_REALTIME), the time base of the file. */
uint64_t statefile_wall_ms(void);

#endif
