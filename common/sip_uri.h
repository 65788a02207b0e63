/*
 * sip_uri: parser for sip:, sips: and tel: URIs (RFC 3261 §19.1, §25.1;
 * RFC 3966), including IPv6 references (RFC 5118) and escaped characters.
 * Every field is a slice into the parsed text; nothing is allocated and
 * escapes are not decoded in place (sip_uri_unescape copies).
 */
#ifndef PC_SIP_URI_H
#define PC_SIP_URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip_err.h"
#include "slice.h"

enum sip_uri_scheme {
	SIP_URI_SIP = 1,
	SIP_URI_SIPS,
	SIP_URI_TEL,
};

struct sip_uri {
	enum sip_uri_scheme scheme;
	struct slice user; /* may contain escapes; empty if none */
	struct slice password; /* empty if none */
	struct slice host; /* IPv6 without brackets; tel: the number */
	uint16_t port; /* 0 if absent */
	bool is_ipv6;
	struct slice params; /* after the first ';' up to '?', no leading ';' */
	struct slice headers; /* after '?', no leading '?' */
	/* Common parameters, looked up once during parsing. */
	struct slice transport;
	struct slice maddr;
	struct slice user_param; /* user=phone */
	struct slice ob; /* RFC 5626 ;ob (present = .p != NULL) */
	bool has_lr;
};

/* Parses the whole slice as one URI. A syntactically valid URI of another
 * scheme fails with SIP_E_UNSUPPORTED_URI (416). */
int sip_uri_parse(struct slice text, struct sip_uri *uri, struct sip_err *err);
/* Finds ";name" or ";name=value" in params (case-insensitive name).
 * Returns true if present; *value is empty for a flag parameter. */
bool sip_uri_param(
    const struct sip_uri *uri, const char *name, struct slice *value);
/* Compares per RFC 3261 §19.1.4 (scheme, user, password case-sensitive
 * after unescaping, host case-insensitive, port, transport/user/ttl/
 * method/maddr params). */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);
/* Unescapes %XX into dst (cap includes NUL); -1 if invalid or too long,
 * else the length. */
int sip_uri_unescape(struct slice s, char *dst, size_t cap);
/* Parses host[:port] where host may be an IPv6 reference "[...]" (returned
 * without brackets); the whole slice must be consumed. */
bool sip_hostport_parse(
    struct slice s, struct slice *host, uint16_t *port, bool *is_ipv6);
/* True if s (no brackets) is an IPv6 address. */
bool sip_host_is_ipv6(struct slice s);
/* Default port for the URI: its port, or 5061 for sips/TLS, else 5060. */
uint16_t sip_uri_port_or_default(const struct sip_uri *uri);

#endif
