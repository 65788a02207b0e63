/*
 * challenge: requests the edge answers itself, statelessly, so they never
 * cross core.sock: the digest challenge (401) of a REGISTER that carries
 * no credentials, and an OPTIONS addressed to the SBC itself. Nonces are
 * core's own (core/auth.c, same key, core's epoch), so core verifies them
 * as its own. Holds no per-request state; owns e->auth and e->route.
 */
#ifndef PC_SBC_CHALLENGE_H
#define PC_SBC_CHALLENGE_H

#include <stdbool.h>

#include "edge.h"
#include "sip_msg.h"

/*
 * (Re)reads core's nonce key (STATE_DIR/nonce.key) and epoch
 * (RUNTIME_DIR/nonce.epoch) and the served domains; called when core.sock
 * connects. If a file cannot be read, the edge leaves every request to
 * core, as before.
 */
void challenge_setup(struct edge *e);
void challenge_free(struct edge *e);

/*
 * Answers m on flow f when it qualifies: only requests whose answer core
 * would give without looking at any state (one Via, no Route, Require or
 * Proxy-Require, no To tag, a domain we serve). true = answered, the
 * caller is done with m. m must have passed sip_msg_validate (the edge's
 * sanity_check does it for every message) and be unchanged since: it is
 * not validated again here.
 */
bool challenge_try(struct edge *e, const struct ipc_flow *f, struct sip_msg *m);

#endif
