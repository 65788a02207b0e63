/*
 * toprow: the table behind topology tokens that would be too long for real
 * phones (DESIGN §6). The hidden text is kept here under a 16-byte row id
 * derived from its content (the same text always gets the same row, so a
 * Contact or Call-ID stays stable across a dialog), and the token carries
 * only the row id. Bounded (least recently used rows go first) with idle
 * expiry; owned by the edge. Rows are lost on restart and are not shared
 * between edge processes: the limit of the stateful form.
 */
#ifndef PC_SBC_TOPROW_H
#define PC_SBC_TOPROW_H

#include <stddef.h>
#include <stdint.h>

#include "slice.h"

#define TOPROW_ID_LEN 16

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

#endif
