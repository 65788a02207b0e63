/*
 * toprow: the table behind topology tokens that would be too long for real
 * phones (DESIGN §6). The hidden text is kept here under a 16-byte row id
 * derived from its content (the same text always gets the same row, so a
 * Contact or Call-ID stays stable across a dialog), and the token carries
 * only the row id. Bounded (least recently used rows go first) with idle
 * expiry; owned by the edge. With toprow_persist() the table is written
 * behind (at most once a second, and at toprow_free) to a file sealed
 * with the topology key, and read back at start, so an edge restart keeps
 * its rows; rows are still not shared between edge processes.
 */
#ifndef PC_SBC_TOPROW_H
#define PC_SBC_TOPROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slice.h"
#include "token.h"

#define TOPROW_ID_LEN 16
/* The most a row file holds (most recently used rows first). */
#define TOPROW_FILE_MAX (16u << 20)
#define TOPROW_FILE_LABEL "portcullis toprow v1"

struct toprow;

struct toprow *toprow_new(uint32_t max_rows);
void toprow_free(struct toprow *t);
/* Stores text (copied); fills id. -1 when out of memory. */
int toprow_put(struct toprow *t, struct slice text, uint8_t id[TOPROW_ID_LEN],
    uint64_t now_ms);
/* The text of row id (valid until the row is evicted), or an empty slice
 * with p == NULL. */
struct slice toprow_get(
    struct toprow *t, const uint8_t id[TOPROW_ID_LEN], uint64_t now_ms);
void toprow_expire(struct toprow *t, uint64_t now_ms, uint64_t idle_ms);
uint32_t toprow_count(const struct toprow *t);

/*
 * Keeps the table in the file at path (made and replaced atomically,
 * mode 0600), sealed with keys (which must outlive t). Loads it now: rows
 * idle for longer than idle_ms, counting the time the file lay on disk,
 * are dropped; a file that does not open (damaged, another key) is
 * ignored and replaced at the next write. Returns the rows loaded, or -1
 * with the reason in err (the table then works without the file's rows).
 */
int toprow_persist(struct toprow *t, const char *path,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms, char *err,
    size_t errlen);
/* toprow_persist() on STATE_DIR/topology.rows, logging the outcome. */
void toprow_persist_in(struct toprow *t, const char *state_dir,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms);
/* Writes the table if rows were added since the last write and at least
 * a second has passed (force: now, if anything changed). 0, or -1. */
int toprow_sync(struct toprow *t, uint64_t now_ms, bool force);

#endif
