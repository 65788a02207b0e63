/*
 * proxy_int: functions shared by the proxy's files (proxy.c, proxy_auth.c);
 * not for other modules.
 */
#ifndef PC_PROXY_INT_H
#define PC_PROXY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "hash.h"
#include "sip_msg.h"

#define BRANCH_PREFIX "z9hG4bKpc"
#define PX_MAX_BRANCHES 16
#define PX_MAX_TARGETS 32

struct px_target {
	char *uri;
	char *path; /* may be NULL */
	struct ipc_flow flow;
	uint16_t q;
	/* Toward a trunk: its name, the From user and headers the route
	 * asks for (all may be NULL / empty). */
	char trunk[32];
	char *from_user;
	char *extra; /* header lines, CRLF-terminated */
	bool is_anonymous;
	uint8_t edge; /* edge holding flow (proxy_edge.c) */
	uint32_t ring_ms; /* its ring group's ring time; 0 = timer C's */
};

struct px_branch {
	struct px_ctx *ctx;
	struct tx *tx; /* NULL once ended */
	int code; /* final code, 0 while pending */
	char *resp; /* final non-2xx, our Via removed */
	uint32_t resp_len;
	bool has_provisional;
	int prov_code; /* last provisional answer (calls.list) */
	bool cancel_pending;
	bool is_cancelled;
	struct ipc_flow flow;
	char branch[48];
	int target; /* index into ctx targets; -1 = none (in-dialog) */
	uint8_t edge; /* edge holding flow: its requests leave there */
	bool is_auth_retry; /* carries our answer to a challenge */
	bool is_superseded; /* challenged; its retry speaks for it */
	/* A 3xx whose Contacts became targets: chosen as the best response
	 * only when no other branch has a final one. */
	bool is_redirected;
	bool got_response;
	bool has_fo_timer;
	struct ev_timer fo_timer; /* trunk failover timeout */
	/* Added to the CSeq of what this branch sends (a challenge answered:
	 * RFC 3261 §22.2), taken off the responses it relays. */
	uint32_t cseq_delta;
};

struct px_ctx {
	struct core *c;
	struct px_ctx *next, *prev;
	struct tx *stx;
	enum sip_method method;
	bool is_final_sent;
	bool is_cancelled;
	bool is_in_dialog;
	bool add_rr;
	int nbranches;
	/* Allocated as needed: most contexts have one branch and target. */
	struct px_branch *br[PX_MAX_BRANCHES];
	struct px_target *targets;
	int ntargets, next_target;
	char *base; /* request to fork, see above */
	uint32_t base_len;
	struct ipc_flow in_flow;
	uint8_t in_edge; /* edge of the request: its answers leave there */
	uint8_t dst_edge; /* in-dialog: edge of the other party */
	char loophash[17];
	char caller_user[STORE_USER_MAX + STORE_DOMAIN_MAX]; /* authed */
	int64_t start_s;
	bool has_dialog;
	bool is_trunk_call; /* targets are trunk peers: fail over on
			       408/5xx only */
	int final_code;
	int nredirects; /* targets added from 3xx Contacts */
	struct call_acct acct;
	uint32_t cseq_delta; /* for branches started from now on */
	/* proxy_cseq.c: indexed by Call-ID while cseq_delta moves the
	 * caller's early-dialog requests; "Call-ID\0From-tag". */
	struct hnode early_node;
	char *early_key;
	uint32_t early_cid_len;
};

/* Builds a response to req (with a To tag when > 100) and sends it through
 * stx, or statelessly on flow when stx is NULL. extra: header lines. */
void px_send_response(struct core *c, struct tx *stx,
    const struct ipc_flow *flow, struct sip_msg *req, int code,
    const char *reason, const char *extra);
/* A flow to the address a URI names (IP literal only). */
bool px_flow_from_uri(
    struct core *c, const struct sip_uri *u, struct ipc_flow *f);
/*
 * Digest authentication of a request from one of our users: 1 = go on
 * (*authed says whether credentials were checked), 0 = answered (401/407
 * challenge, 403 identity mismatch).
 */
int px_authenticate(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, bool is_register, bool *authed, struct store_user *who);

/* Refuses with 420 (Unsupported listing them) the option tags of header
 * id not in ok (NULL-terminated, may be NULL); false when it answered. */
bool px_check_require(struct core *c, struct tx *stx,
    const struct ipc_flow *flow, struct sip_msg *m, enum sip_hdr_id id,
    const char *const *ok);
/* A branch parameter: magic cookie, our prefix, the loop hash, random. */
void px_make_branch(const char *loophash, char *out, size_t cap);
/* Sends the base request to target ti (-1: to flow with uri) as a new
 * branch; extra: header lines added to this branch only. */
bool px_start_branch(struct px_ctx *x, int ti, const char *uri,
    const char *path, const struct ipc_flow *flow, const char *extra);

/* proxy_edge.c: which edge a message leaves from. Stamps are edge slot
 * + 1; 0 = not known (any edge), PX_EDGE_GONE = that edge went away. */
#define PX_EDGE_GONE 0xff
/* The stamp of the edge the message being handled came from. */
uint8_t px_edge_now(const struct core *c);
/* False when flow is a TCP/TLS connection held by an edge that is gone
 * (nobody else can reach it). */
bool px_edge_reaches(
    const struct core *c, uint8_t edge, const struct ipc_flow *flow);
/* Sends go through edge (when connected) until px_edge_leave(old). */
int px_edge_enter(struct core *c, uint8_t edge);
void px_edge_leave(struct core *c, int old);
/* proxy.c: x's caller is unreachable (its edge is gone); may free x. */
void px_caller_gone(struct px_ctx *x);
/* The bindings of m's AoR (a REGISTER's To, else From) on flow are held
 * by the current edge (after the registrar ran, or on a request from a
 * TCP/TLS flow). */
void px_edge_stamp(
    struct core *c, struct sip_msg *m, const struct ipc_flow *flow);

/* The contexts in progress, newest first (->next). */
struct px_ctx *px_first(struct core *c);

/* proxy_redirect.c: the usable Contacts of branch b's 3xx inserted as
 * targets at x->next_target (by q); returns how many. *covered: some
 * Contact is now in the target set (added, or tried already), so the 3xx
 * need not reach the caller. */
int px_recurse(
    struct px_ctx *x, struct px_branch *b, struct sip_msg *resp, bool *covered);

/* proxy_trunk.c: dial plan, trunks, call limits, CDRs. */
/*
 * Fills x's targets from the dial plan (trunks, users, groups, URIs).
 * For a call from a trunk, aor receives DID@first-domain, looked up by
 * the caller when no rule matched. Returns 0 (targets filled, or none:
 * the caller looks up aor), or a response code (>= 400) to answer.
 */
int px_route(struct core *c, struct px_ctx *x, struct sip_msg *m,
    struct trunk *from_trunk, char *aor, size_t aorcap);
/* Call admission: 0 or the response code to refuse with. */
int px_admit(struct core *c, struct px_ctx *x, struct trunk *from_trunk,
    const struct store_user *who, bool authed);
/* The call ended (never answered, or its dialog ended): frees its slots
 * and queues its CDR. */
void px_acct_end(struct core *c, struct call_acct *a, struct slice call_id,
    int status, const char *reason);
/* The call was answered through trunk name (after failover to another
 * trunk): its slot moves there. */
void px_acct_move_out(struct core *c, struct call_acct *a, const char *name);
/* A carrier challenged branch b: answers it on a new branch; false when
 * there is nothing to answer with. */
bool px_trunk_auth_retry(
    struct px_ctx *x, struct px_branch *b, struct sip_msg *resp);
/* Arms the failover timer of a branch toward a trunk. */
void px_trunk_branch_started(struct px_ctx *x, struct px_branch *b);
void px_trunk_branch_stop(struct px_ctx *x, struct px_branch *b);
/* From rewritten for a target (caller ID, anonymity); false on failure. */
struct sip_edit;
bool px_rewrite_from(struct sip_edit *e, struct sip_msg *m,
    const struct px_target *tg, struct arena *a);
/* Appends "Name: value\r\n" lines to an edit. */
void px_append_lines(struct sip_edit *e, const char *lines, struct arena *a);
/* Calls of a user in progress (dialogs and INVITEs being proxied). */
uint32_t px_calls_of(struct core *c, const char *user);

/* proxy_cseq.c. */
/* x's delta (just raised by a challenge) now also moves the caller's
 * requests in the early dialog; undone by px_early_cseq_drop (ctx_free). */
void px_early_cseq_track(struct px_ctx *x);
void px_early_cseq_drop(struct px_ctx *x);
/* proxy.c: the contexts indexed by px_early_cseq_track. */
struct htable *px_early_table(struct core *c);
/* CSeq (and a PRACK's RAck) moved by delta in an edit of m; false when it
 * cannot be. */
bool px_cseq_edit(
    struct sip_edit *e, struct sip_msg *m, int64_t delta, struct arena *a);
/* A whole message with its CSeq moved by delta (msg itself on failure). */
struct slice px_cseq_shift(struct slice msg, int64_t delta, struct arena *a);
/* How far the callee's view of the caller's CSeq is ahead, for a request
 * from the caller of a known dialog or of an INVITE in progress (early
 * dialog), or a response to one; else 0. */
uint32_t px_dialog_cseq_delta(struct core *c, struct sip_msg *m);

/* REGISTER (proxy_reg.c). */
void px_register(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m);

#endif
