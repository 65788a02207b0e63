/*
 * proxy_int: functions shared by the proxy's files (proxy.c, proxy_auth.c);
 * not for other modules.
 */
#ifndef PC_PROXY_INT_H
#define PC_PROXY_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core.h"
#include "sip_msg.h"

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
/* REGISTER (proxy_reg.c). */
void px_register(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m);

#endif
