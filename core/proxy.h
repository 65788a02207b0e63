/*
 * proxy: what core does with each SIP message from edge (RFC 3261 §16):
 * server transactions, the registrar and authentication in front of it,
 * loose/strict routing, domain checks, location lookup, parallel and
 * serial forking by q-value with best-response selection, CANCEL, redirect
 * mode, in-dialog routing through the dialog table, and BYE generation
 * for calls.hangup / CALL_RELEASE. Messages it sends are built in arenas
 * and copied by the transaction layer or the edge channel.
 */
#ifndef PC_PROXY_H
#define PC_PROXY_H

#include <stdint.h>

#include "core.h"

struct proxy;

struct proxy *proxy_new(struct core *c);
void proxy_free(struct proxy *p);

/* One SIP message received by edge on flow. */
void proxy_sip_in(
    struct core *c, const struct ipc_flow *flow, const char *buf, uint32_t len);
/* Ends the dialog of call_id with BYE to both parties; -1 if not found. */
int proxy_hangup(struct core *c, struct slice call_id, const char *reason);
/* Edge slot went away (dispatch_edge): what it held is marked gone, so
 * TCP/TLS flows through it are answered 480 and UDP ones leave through
 * another edge. */
void proxy_edge_gone(struct core *c, int slot);
/* Proxy contexts in progress (for stats). */
size_t proxy_pending(const struct proxy *p);

/* A call being set up (an INVITE proxied, no final answer yet), for
 * calls.list; strings valid during the callback only. */
struct proxy_setup {
	const char *call_id, *from, *to;
	const char *state; /* "trying", "ringing" (180-182), "early" (183) */
	const char *branch; /* target URI of the branch that rings, else of
			       the first pending one */
	int branches; /* branches still pending */
	int64_t start_s;
	struct ipc_addr caller, callee;
};
typedef int (*proxy_setup_cb)(const struct proxy_setup *s, void *arg);
void proxy_walk_setup(struct core *c, proxy_setup_cb cb, void *arg);

#endif
