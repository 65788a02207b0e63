/*
 * loc: the location service in memory (RFC 3261 §10): bindings of an
 * address-of-record to contacts, hashed by AoR. A binding is one
 * allocation holding its strings (the User-Agent, repeated by thousands
 * of phones of one model, is kept once and shared), so a million of them
 * fit in ~300 MB. Changes are queued on a dirty list that the store writes
 * behind (loc_flush); a removed binding is freed only once that happened.
 * Returned bindings belong to loc and stay valid until the next change.
 */
#ifndef PC_LOC_H
#define PC_LOC_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "ipc_msgs.h"
#include "sip_uri.h"
#include "slice.h"

/* The part of an ipc_flow a binding keeps to reach its UA. */
struct loc_flow {
	uint8_t transport;
	uint8_t role;
	uint16_t listener;
	uint32_t conn_id;
	struct ipc_addr local;
	struct ipc_addr remote;
};

enum loc_str {
	LOC_S_AOR = 0, /* "user@host", host lower case */
	LOC_S_CONTACT, /* contact URI as registered */
	LOC_S_CALL_ID,
	LOC_S_INSTANCE, /* +sip.instance, may be empty */
	LOC_S_PATH, /* Path header values joined by ",", may be empty */
	LOC_S_UA, /* User-Agent, may be empty */
	LOC_S__COUNT
};

#define LOC_F_DIRTY 0x1u
#define LOC_F_DELETED 0x2u /* row to delete, then free */
#define LOC_F_RETIRED 0x4u /* replaced by a binding with its id: free only */
/* Its id has a row in the store, as far as loc knows (restored, or
 * flushed; a replacement inherits it): the store may update that row
 * instead of replacing it, and falls back to replacing if none. */
#define LOC_F_STORED 0x8u
#define LOC_F_BY_CONTACT 0x10u /* anode is in the index by Contact */
#define LOC_F_BY_REMOTE 0x20u /* rnode is in the index by source */

struct loc_binding {
	struct hnode node;
	/* In loc's index by connection while flow.conn_id != 0, so that a
	 * closed connection finds its bindings without a walk of all. */
	struct hnode cnode;
	/* In loc's indexes for requests to a Contact: anode by its Contact
	 * (loc_lookup_contact), rnode by its flow's remote address
	 * (loc_lookup_source); LOC_F_BY_* say which it is in. */
	struct hnode anode, rnode;
	struct loc_binding *dirty_next;
	uint64_t id; /* stable key in the store */
	int64_t expires_at; /* wall-clock seconds */
	int64_t registered_at;
	uint32_t cseq;
	uint32_t reg_id;
	uint16_t q; /* 0..1000 */
	uint8_t flags;
	/* Edge (slot + 1) holding the flow, set by the proxy; 0 = unknown
	 * (not stored: the edges reconnect in any order). */
	uint8_t edge;
	struct loc_flow flow;
	uint16_t str_len[LOC_S__COUNT];
	const char *ua; /* LOC_S_UA, shared: read it with loc_str() */
	char strs[]; /* each string but the UA NUL-terminated, in enum
			order */
};

/* The strings and fields of a binding to add or replace. */
struct loc_binding_in {
	struct slice s[LOC_S__COUNT];
	int64_t expires_at;
	int64_t registered_at;
	uint32_t cseq;
	uint32_t reg_id;
	uint16_t q;
	struct loc_flow flow;
	uint64_t id; /* 0: allocate a new one */
};

struct loc;

struct loc *loc_new(void);
void loc_free(struct loc *l);

/* The string i of b (NUL-terminated) and its slice. */
const char *loc_str(const struct loc_binding *b, enum loc_str i);
struct slice loc_slice(const struct loc_binding *b, enum loc_str i);

/* Bindings of an AoR: up to max into out; returns the count (which may
 * exceed max: the caller then knows it saw only some). */
int loc_lookup(
    struct loc *l, struct slice aor, struct loc_binding **out, int max);
/* For a request to a device's Contact (one the edge handed out), whose
 * registered flow is then known. Bindings whose Contact equals u (RFC 3261
 * §19.1.4), and bindings whose flow comes from address a (a UA behind
 * NAT, a stream's source port) and whose Contact's user is user: up to
 * max into out; each returns the count (which may exceed max). */
int loc_lookup_contact(
    struct loc *l, const struct sip_uri *u, struct loc_binding **out, int max);
int loc_lookup_source(struct loc *l, const struct ipc_addr *a,
    struct slice user, struct loc_binding **out, int max);
/* Whether a and b are one address and port (an IPv4-mapped IPv6 address
 * is the IPv4 one). */
bool loc_addr_same(const struct ipc_addr *a, const struct ipc_addr *b);
/* Adds a binding (dirty unless is_restore); NULL if out of memory or a
 * string is longer than 65535. */
struct loc_binding *loc_add(
    struct loc *l, const struct loc_binding_in *in, bool is_restore);
/* Replaces b by a new binding with the same id (b is retired). */
struct loc_binding *loc_update(
    struct loc *l, struct loc_binding *b, const struct loc_binding_in *in);
void loc_remove(struct loc *l, struct loc_binding *b);
/* Removes the bindings expired at now; returns how many. */
size_t loc_expire(struct loc *l, int64_t now);
/* Removes the bindings of an AoR (contact empty = all); count removed. */
size_t loc_remove_aor(struct loc *l, struct slice aor, struct slice contact);
/* Forgets conn_id of bindings on a closed stream connection (they are then
 * reached by address, if at all); count touched. */
size_t loc_flow_closed(struct loc *l, const struct loc_flow *f);

size_t loc_count(const struct loc *l);
size_t loc_dirty_count(const struct loc *l);

/* Visits every live binding; non-zero from cb stops. */
typedef int (*loc_walk_cb)(struct loc_binding *b, void *arg);
void loc_walk(struct loc *l, loc_walk_cb cb, void *arg);

/*
 * Write-behind: hands the first max dirty bindings (0 = all) to cb, oldest
 * change first (is_deleted says whether to delete its row or write it);
 * if cb returns 0 for all, they leave the list and retired bindings are
 * freed. On -1 the list is kept for the next try and -1 returned.
 */
typedef int (*loc_flush_cb)(
    const struct loc_binding *b, bool is_deleted, void *arg);
int loc_flush(struct loc *l, size_t max, loc_flush_cb cb, void *arg);

void loc_flow_from_ipc(struct loc_flow *lf, const struct ipc_flow *f);
void loc_flow_to_ipc(struct ipc_flow *f, const struct loc_flow *lf);

#endif
