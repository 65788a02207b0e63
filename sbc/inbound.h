/*
 * inbound: the way of a message from outside to core (DESIGN §3): ACL and
 * ban check, parse and sanity, rate limits, received/rport, undoing the
 * topology hiding, Contact aliasing, media anchoring, then SIP_IN. Also
 * the edge's own answers (400/503/...), sent back on the same flow. The
 * buffer is the caller's; nothing of it is kept after return except what
 * sdp_rw copies while it waits for the relay.
 */
#ifndef PC_SBC_INBOUND_H
#define PC_SBC_INBOUND_H

#include "edge.h"
#include "sip_msg.h"
#include "slice.h"

struct conn;

/* conn is NULL for UDP. */
void inbound_msg(struct edge *e, struct listener *l, struct conn *conn,
    const struct ipc_addr *src, const char *buf, uint32_t len);
/* A stream connection went away: tell core (FLOW_CLOSED). */
void inbound_flow_closed(struct edge *e, struct listener *l, uint32_t conn_id,
    const struct ipc_addr *remote);
/* Fills the flow a message from src on l (and conn) came on. */
void inbound_flow(struct edge *e, struct listener *l, struct conn *conn,
    const struct ipc_addr *src, struct ipc_flow *f);
/* Sends the final message to core as SIP_IN (after anchoring). */
int inbound_to_core(
    struct edge *e, const struct ipc_flow *f, uint32_t flags, struct slice msg);
/* Answers req (parsed) on the flow it came on with code/phrase and
 * optional extra header lines ("Name: v\r\n"). */
void inbound_reply(struct edge *e, const struct ipc_flow *f,
    struct sip_msg *req, int code, const char *phrase, const char *extra);
/* Bans src for reason (user-space list, and the relay's kernel set). */
void inbound_ban(
    struct edge *e, const struct ipc_addr *src, const char *reason);
/* Sends raw bytes out on flow f (UDP: to f->remote; stream: its conn). */
int inbound_send_flow(
    struct edge *e, const struct ipc_flow *f, struct slice msg);

#endif
