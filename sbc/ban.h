/*
 * ban: the edge's memory of offenders. Records offences (flood, scanner,
 * failed authentications) per source, decides when a source is banned and
 * for how long (doubling on each repeat up to a maximum), and keeps the
 * user-space ban list used when the relay (kernel ban set) is absent.
 * Bounded: at most max_entries sources, least recently touched evicted.
 * Time is passed in (ms, monotonic).
 */
#ifndef PC_SBC_BAN_H
#define PC_SBC_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_msgs.h"

struct ban_params {
	uint32_t timeout_s; /* first ban */
	uint32_t max_timeout_s; /* cap of the doubling */
	uint32_t auth_fail_max; /* failures within the window that ban */
	uint32_t auth_fail_window_ms;
	uint32_t max_entries;
};

struct ban;

struct ban *ban_new(const struct ban_params *p);
void ban_free(struct ban *b);
void ban_set_params(struct ban *b, const struct ban_params *p);

/* Bans src now; returns the timeout chosen (grows with repeats). */
uint32_t ban_add(struct ban *b, const struct ipc_addr *src, const char *reason,
    uint64_t now_ms);
/* Bans src for exactly timeout_s (an operator's bans.add). */
void ban_add_for(struct ban *b, const struct ipc_addr *src, uint32_t timeout_s,
    const char *reason, uint64_t now_ms);
bool ban_remove(struct ban *b, const struct ipc_addr *src);
bool ban_is_banned(struct ban *b, const struct ipc_addr *src, uint64_t now_ms);
/* Counts a failed authentication; true when it crosses the threshold
 * (the caller then calls ban_add). */
bool ban_auth_failed(
    struct ban *b, const struct ipc_addr *src, uint64_t now_ms);

struct ban_info {
	struct ipc_addr addr;
	uint64_t until_ms; /* 0 = not banned now (remembered for repeats) */
	uint32_t count; /* bans so far */
	const char *reason;
};
typedef void (*ban_walk_cb)(const struct ban_info *bi, void *arg);
/* Visits the sources banned at now_ms. */
void ban_walk(struct ban *b, uint64_t now_ms, ban_walk_cb cb, void *arg);
size_t ban_count_active(struct ban *b, uint64_t now_ms);

#endif
