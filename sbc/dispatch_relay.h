/*
 * dispatch_relay: the edge's side of relay.sock: connects and reconnects
 * (every 250 ms), feeds replies and media timeouts to sdp_rw, and fails
 * held messages when the relay goes away.
 */
#ifndef PC_SBC_DISPATCH_RELAY_H
#define PC_SBC_DISPATCH_RELAY_H

#include "edge.h"

void dispatch_relay_start(struct edge *e);
void dispatch_relay_stop(struct edge *e);

#endif
