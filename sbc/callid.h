/*
 * callid: who created each Call-ID seen (the From tag of the request that
 * opened it), so that Call-ID hiding (topology.hide_call_id) shows the
 * real Call-ID to its creator and a sealed one to everybody else. This is
 * the "table row" part of topology hiding: a bounded table with idle
 * expiry, owned by the edge. With callid_persist_in() it is written behind
 * to a file sealed with the topology key and read back at start, so an
 * edge restart keeps it (without, every party would see the hidden form
 * after a restart, which breaks the dialogs of the creators).
 */
#ifndef PC_SBC_CALLID_H
#define PC_SBC_CALLID_H

#include <stdbool.h>
#include <stdint.h>

#include "slice.h"
#include "token.h"

struct callid_tab;

struct callid_tab *callid_new(uint32_t max_entries);
void callid_free(struct callid_tab *t);
/* Records tag as the creator of cid unless one is known. */
void callid_note(
    struct callid_tab *t, struct slice cid, struct slice tag, uint64_t now_ms);
/* Whether tag created cid; unknown = false. Refreshes the entry. */
bool callid_is_creator(
    struct callid_tab *t, struct slice cid, struct slice tag, uint64_t now_ms);
void callid_expire(struct callid_tab *t, uint64_t now_ms, uint64_t idle_ms);
uint32_t callid_count(const struct callid_tab *t);

#define CALLID_FILE_MAX (16u << 20)
#define CALLID_FILE_LABEL "portcullis callid v1"
/* Keeps the table in STATE_DIR/topology.callids (see toprow_persist(),
 * same rules); loads it now, logging the outcome. keys must outlive t. */
void callid_persist_in(struct callid_tab *t, const char *state_dir,
    const struct token_keys *keys, uint64_t idle_ms, uint64_t now_ms);
/* Writes the table if entries were added since the last write and at
 * least a second has passed (force: now, if anything changed). 0 or -1. */
int callid_sync(struct callid_tab *t, uint64_t now_ms, bool force);

#endif
