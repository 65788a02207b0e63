/*
 * reg: the registrar's rules (RFC 3261 §10.3, RFC 5626 §6): given what a
 * REGISTER asks, checks it as a whole (Contact: *, expiry bounds, Call-ID
 * and CSeq ordering, max contacts) and then applies it to the location
 * service atomically: either every change or none. The SIP parsing stays
 * with the caller; reg sees plain values and writes the Contact list of
 * the 200 into a caller buffer.
 */
#ifndef PC_REG_H
#define PC_REG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loc.h"
#include "sip_msg.h"
#include "slice.h"

struct reg_limits {
	uint32_t min_expires;
	uint32_t max_expires;
	uint32_t default_expires;
	uint32_t max_contacts;
};

struct reg_contact_in {
	struct slice uri; /* contact URI text, without <> */
	int64_t expires; /* -1 if no expires parameter */
	int q; /* 0..1000, -1 if absent */
	struct slice instance; /* +sip.instance, may be empty */
	uint32_t reg_id; /* 0 if absent */
};

struct reg_request {
	struct slice aor; /* reg_make_aor() form */
	struct slice call_id;
	uint32_t cseq;
	int64_t expires_hdr; /* -1 if no Expires header */
	bool is_star;
	const struct reg_contact_in *contacts;
	int ncontacts;
	struct slice path; /* Path values joined by ",", may be empty */
	struct slice user_agent; /* may be empty */
	struct loc_flow flow; /* where the REGISTER came from */
	int64_t now; /* wall-clock seconds */
};

struct reg_result {
	int code; /* 200, 400, 403, 423, 500 */
	const char *reason;
	uint32_t min_expires; /* for 423 */
	int added, refreshed, removed;
};

/* Checks and applies; fills res. Returns 0 when applied (code 200), -1
 * when refused (nothing changed). */
int reg_apply(struct loc *l, const struct reg_limits *lim,
    const struct reg_request *r, struct reg_result *res);

/* "user@host" from a SIP URI: user unescaped, host lower case, port and
 * parameters dropped (a port does not make another AoR). -1 if it does not
 * fit or the URI has no host. */
int reg_make_aor(const struct sip_uri *uri, char *buf, size_t cap);

/* "Contact: <uri>;expires=N[;q=0.5][;+sip.instance=..;reg-id=N]\r\n" for
 * every binding of aor; returns the length, or -1 if it did not fit. */
int reg_format_contacts(
    struct loc *l, struct slice aor, int64_t now, char *buf, size_t cap);

/* Fills the contact list from a parsed REGISTER; returns the count, or -1
 * if there are more than max. */
int reg_contacts_from_msg(const struct sip_contact *c, int n,
    struct reg_contact_in *out, int max, bool *is_star);

#endif
