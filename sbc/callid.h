/*
 * callid: who created each Call-ID seen (the From tag of the request that
 * opened it), so that Call-ID hiding (topology.hide_call_id) shows the
 * real Call-ID to its creator and a sealed one to everybody else. This is
 * the "table row" part of topology hiding: a bounded table with idle
 * expiry, owned by the edge. Lost on restart (then every party sees the
 * hidden form, which breaks dialogs of the creator: documented limit).
 */
#ifndef PC_SBC_CALLID_H
#define PC_SBC_CALLID_H

#include <stdbool.h>
#include <stdint.h>

#include "slice.h"

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

#endif
