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
/* Rewrites host:port of each Contact not equal to src to src. Returns the
 * number of contacts changed, or -1 on error. */
int nat_alias_contacts(
    struct sip_msg *m, struct sip_edit *ed, const struct ipc_addr *src);

#endif
