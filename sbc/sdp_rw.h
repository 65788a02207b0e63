/*
 * sdp_rw: media anchoring (DESIGN §3 step 5). For each SDP offer or
 * answer from outside it asks the relay for ports (MEDIA_OFFER /
 * MEDIA_ANSWER), holds a copy of the message until MEDIA_REPLY, rewrites
 * c=/o=/m=/a=rtcp (and drops ICE candidates as configured), and only then
 * passes it to core. A relay error answers the request 488 (bad SDP) or
 * 500 (relay failure) and deletes the call's media: never a half-anchored
 * call. MEDIA_DELETE when the call ends: BYE, or a final failure core
 * sends to the caller before any 2xx (never on one fork branch's CANCEL
 * or failure); MEDIA_TIMEOUT becomes CALL_RELEASE to core. Held messages and call
 * records are owned by the edge (e->pending, e->calls).
 */
#ifndef PC_SBC_SDP_RW_H
#define PC_SBC_SDP_RW_H

#include <stdbool.h>

#include "edge.h"
#include "sdp.h"
#include "sip_edit.h"
#include "sip_msg.h"

/* Pure parts (unit-tested). */
/* Fills req's streams from a parsed SDP; -1 if it has too many. */
int sdp_rw_streams(
    const struct sdp *s, bool behind_nat, struct ipc_media_req *req);
/* Fills rw from a relay reply; text buffers come from the arena. -1 when
 * the reply does not fit the SDP (stream count or index mismatch). */
int sdp_rw_apply(const struct sdp *s, const struct ipc_media_reply *rep,
    bool drop_candidates, struct sdp_rewrite *rw, struct arena *a);

/* The inbound path's last step: anchors if needed, then SIP_IN. call_id
 * is the real Call-ID (topology hiding undone; empty = read it). */
void sdp_rw_inbound(struct edge *e, const struct ipc_flow *flow, uint32_t flags,
    struct sip_msg *m, struct sip_edit *ed, bool behind, struct slice call_id);
/* Messages core sends out: media deletes when the call ends. */
void sdp_rw_outbound(struct edge *e, struct sip_msg *m);
/* Relay messages: MEDIA_REPLY, MEDIA_TIMEOUT. */
void sdp_rw_on_relay(struct edge *e, const struct ipc_msg *im);
/* Relay went away: held messages fail (500). */
void sdp_rw_relay_lost(struct edge *e);
/* Periodic: held messages that waited too long fail; idle calls go. */
void sdp_rw_housekeeping(struct edge *e);
int sdp_rw_init(struct edge *e);
void sdp_rw_free(struct edge *e);
size_t sdp_rw_ncalls(struct edge *e);

#endif
