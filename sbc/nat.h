/*
 * nat: NAT traversal for outside user agents. Adds received/rport to the
 * top Via of requests (RFC 3261 §18.2.1, RFC 3581), tells whether a UA is
 * behind NAT (for the relay's latching), and aliases the Contact of a UA
 * behind NAT to the address its packets come from, so that requests
 * inside its dialogs reach it. Edits are recorded in the caller's
 * sip_edit; text is allocated from the message arena.
 */
#ifndef PC_SBC_NAT_H
#define PC_SBC_NAT_H

#include <stdbool.h>

#include "ipc_msgs.h"
#include "sip_edit.h"
#include "sip_msg.h"
#include "token.h"

/* The new top Via text for a request from src; empty slice when nothing
 * changes (or the Via cannot be parsed). */
struct slice nat_via_value(struct sip_msg *m, const struct ipc_addr *src,
    bool force_rport, struct arena *a);
/* Records the Via change in ed; 0 if nothing to do or done, -1 on error. */
int nat_fix_via(struct sip_msg *m, struct sip_edit *ed,
    const struct ipc_addr *src, bool force_rport);
/* True when the top Via's sent-by or the first Contact's host:port is not
 * the source address. */
bool nat_is_behind(struct sip_msg *m, const struct ipc_addr *src);
/* Rewrites host:port of each Contact not equal to src to src (never in a
 * 3xx response, whose Contacts are other targets). Returns the number of
 * contacts changed, or -1 on error. */
int nat_alias_contacts(
    struct sip_msg *m, struct sip_edit *ed, const struct ipc_addr *src);

/*
 * RFC 5626 (outbound), edge proxy side. A REGISTER with Supported:
 * outbound and a first Contact with reg-id and +sip.instance gets a Path
 * (RFC 3327) naming this edge, with a sealed flow token (purpose 'O': the
 * transport, listener, connection and remote address it came on) as its
 * user part and ;ob. The registrar hands that Path back as the Route of
 * requests to the UA; the edge then sends them on exactly that flow, or
 * answers 430 Flow Failed when it is gone.
 */
#define NAT_OB_PURPOSE 'O'
bool nat_ob_wanted(struct sip_msg *m);
/* Records "Path: <sip:TOKEN@host:port;transport=x;lr;ob>" as the first
 * header line (host: IPv6 without brackets is bracketed). 0 or -1. */
int nat_ob_add_path(struct sip_msg *m, struct sip_edit *ed,
    const struct token_keys *ks, const struct ipc_flow *f, const char *host,
    uint16_t port);
/*
 * For a request from core: when its top Route names this edge
 * (is_local) with a flow token, fills f's transport, listener, connection
 * and remote address from it and records the removal of that Route
 * entry. Returns 1, 0 when the top Route is not a flow token of ours, or
 * -1 when it is ours by address but its token does not open.
 */
int nat_ob_route(struct sip_msg *m, struct sip_edit *ed,
    const struct token_keys *ks,
    bool (*is_local)(void *arg, struct slice host, uint16_t port), void *arg,
    struct ipc_flow *f);

#endif
