/*
 * ban: banned source addresses. In kernel mode they live in the table's
 * ban sets (per-element timeouts, dropped before conntrack toward the SIP
 * and media ports); in user-space mode in a bounded list that the media
 * path consults (SIP ports then rely on the edge's own list). The ban
 * object owns its list; list callbacks see data valid during the call.
 */
#ifndef PC_RELAY_BAN_H
#define PC_RELAY_BAN_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc_msgs.h"

struct ban;
struct nft;
struct ev_loop;

#define BAN_USER_MAX 4096

/* nft NULL = user-space list only. */
struct ban *ban_new(struct ev_loop *loop, struct nft *nft,
    uint32_t default_timeout_s, uint32_t max_timeout_s);
void ban_free(struct ban *b);

/* timeout_s 0 = the default; clamped to the maximum. 0 or -errno. */
int ban_add(struct ban *b, const struct ipc_addr *a, uint32_t timeout_s);
/* 0, -ENOENT if not banned, or -errno. */
int ban_del(struct ban *b, const struct ipc_addr *a);

typedef void (*ban_list_cb)(const struct ipc_addr *a, uint64_t timeout_s,
    uint64_t expires_s, void *arg);
int ban_list(struct ban *b, ban_list_cb cb, void *arg);

/* The user-space check (fallback mode). */
bool ban_user_is_banned(struct ban *b, const struct ipc_addr *a);

#endif
