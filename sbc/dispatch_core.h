/*
 * dispatch_core: the edge's side of core.sock. Connects (and reconnects
 * every 250 ms while core is down), sends what inbound.c makes, and
 * handles SIP_OUT (topology hiding, then out on the flow core names),
 * AUTH_FAILED (ban counting) and SOURCE_TRUSTED (higher limits).
 */
#ifndef PC_SBC_DISPATCH_CORE_H
#define PC_SBC_DISPATCH_CORE_H

#include "edge.h"

void dispatch_core_start(struct edge *e);
void dispatch_core_stop(struct edge *e);
/* Handles one SIP_OUT body (exposed for tests): 0 sent, -1 dropped. */
int dispatch_core_sip_out(struct edge *e, const struct ipc_sip_out *so,
    const char *sip, uint32_t len);

#endif
