/*
 * topo: topology hiding (DESIGN §6). On the way out, the Via stack of a
 * request, the Record-Route set and the Contact of the other party are
 * replaced by one entry naming the edge, with a sealed token (token.h)
 * carrying what was there; on the way in, tokens in the top Via of a
 * response, in the Request-URI and in Route/Record-Route entries are
 * opened and the original headers put back, so core sees exactly what it
 * sent. Stateless: everything needed travels in the tokens. Edits go into
 * the caller's sip_edit; text is allocated from the message's arena.
 */
#ifndef PC_SBC_TOPO_H
#define PC_SBC_TOPO_H

#include <stdbool.h>
#include <stdint.h>

#include "sip_edit.h"
#include "sip_msg.h"
#include "token.h"

struct toprow;

struct topo {
	const struct token_keys *keys;
	/* Is host:port (port 0 = any) an address of this edge? */
	bool (*is_local)(void *arg, struct slice host, uint16_t port);
	void *arg;
	/* Optional: a token longer than max_token characters keeps its text
	 * in rows and carries only the row id (toprow.h). */
	struct toprow *rows;
	uint32_t max_token;
	uint64_t now_ms;
};

/* Where the message leaves from: written into the edge's entries. */
struct topo_self {
	const char *host; /* advertised host (IPv6 in brackets) */
	uint16_t port;
	uint8_t transport; /* enum ipc_transport */
};

/* Hides what m would reveal to the outside party it is sent to; with
 * hide_call_id the Call-ID too (the caller decides: not to its creator).
 * Returns 0, or -1 if a token could not be made (drop the message). */
int topo_hide(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    const struct topo_self *self, bool hide_call_id);
/* Prefix of a hidden Call-ID ("pci-" + token). */
#define TOPO_CID_PREFIX "pci-"

/* Puts back what tokens in m hide, the Call-ID in a Replaces header
 * (RFC 3891) included; *call_id (if not NULL) is set to the real Call-ID
 * (restored, or as received); *ruri_contact (if not NULL) says whether the
 * Request-URI was a Contact token of ours. Returns the number of tokens
 * opened, or -1 when a token of ours was forged or damaged (drop the
 * message). */
int topo_restore(const struct topo *t, struct sip_msg *m, struct sip_edit *ed,
    struct slice *call_id, bool *ruri_contact);
/* The Call-ID and to-tag of m's Replaces header (RFC 3891: the to-tag is
 * the recipient's own tag in the dialog replaced); false without one. */
bool topo_replaces(
    struct sip_msg *m, struct slice *call_id, struct slice *to_tag);
/* Seals the Call-ID of m's Replaces header as hide_call_id seals a
 * Call-ID, for a recipient that knows that dialog by the sealed form (it
 * did not create it). 0 (also without the header), or -1. */
int topo_hide_replaces(
    const struct topo *t, struct sip_msg *m, struct sip_edit *ed);

#endif
