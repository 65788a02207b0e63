/*
 * hdrtext: small text surgery on header values for nat.c and topo.c:
 * replacing spans inside a value, unfolding folded lines, locating a
 * URI's host:port, formatting addresses as SIP hosts. Results live in the
 * arena given; inputs are never written.
 */
#ifndef PC_SBC_HDRTEXT_H
#define PC_SBC_HDRTEXT_H

#include <stddef.h>

#include "arena.h"
#include "ipc_msgs.h"
#include "sip_uri.h"
#include "slice.h"

struct hdrtext_span {
	struct slice at; /* inside the value being rewritten */
	struct slice with; /* replacement */
};

/* value with each span replaced; spans in order and not overlapping.
 * Empty slice on failure (a span outside the value, arena full). */
struct slice hdrtext_splice(struct arena *a, struct slice value,
    const struct hdrtext_span *spans, size_t n);
/* Line breaks and tabs of folded lines become single spaces. */
struct slice hdrtext_unfold(struct arena *a, struct slice s);
/* The "host[:port]" text of a parsed URI inside uri_text (with the
 * brackets of an IPv6 reference). */
struct slice hdrtext_hostport(const struct sip_uri *u, struct slice uri_text);
/* "1.2.3.4" or "[2001:db8::1]" (port 0) / with ":port". NUL-terminated. */
const char *hdrtext_host(
    const struct ipc_addr *a, bool with_port, char *buf, size_t cap);
/* Whether a host text (IPv6 without brackets) names address a. */
bool hdrtext_host_is(struct slice host, const struct ipc_addr *a);
/* Joins parts with sep into the arena. */
struct slice hdrtext_join(
    struct arena *a, const struct slice *parts, size_t n, const char *sep);

#endif
