/*
 * sip_msg: zero-copy SIP message parser (RFC 3261 §7, §20, §25; torture
 * tests RFC 4475 and RFC 5118). sip_msg_parse() checks the start line and
 * indexes every header line once (name looked up in a table, compact forms
 * included); a header's value is parsed the first time it is asked for and
 * the result cached in the message. Everything returned points into the
 * message buffer or into the arena passed at parse time, and lives as long
 * as both. The buffer is never written to.
 */
#ifndef PC_SIP_MSG_H
#define PC_SIP_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "sip_err.h"
#include "sip_uri.h"
#include "slice.h"

/* Hard limits: a message past any of them is rejected. */
#define SIP_MAX_MSG_SIZE 65535
#define SIP_MAX_HEADERS 128
#define SIP_MAX_LINE 8192
#define SIP_MAX_VIAS 32
#define SIP_MAX_CONTACTS 32
#define SIP_MAX_ROUTES 32

enum sip_method {
	SIP_M_UNKNOWN = 0,
	SIP_M_INVITE,
	SIP_M_ACK,
	SIP_M_BYE,
	SIP_M_CANCEL,
	SIP_M_REGISTER,
	SIP_M_OPTIONS,
	SIP_M_PRACK,
	SIP_M_SUBSCRIBE,
	SIP_M_NOTIFY,
	SIP_M_PUBLISH,
	SIP_M_INFO,
	SIP_M_REFER,
	SIP_M_MESSAGE,
	SIP_M_UPDATE,
};

/* Header ids; names and compact forms live in the table in sip_hdr.c. */
enum sip_hdr_id {
	SIP_HDR_OTHER = 0,
	SIP_HDR_VIA,
	SIP_HDR_FROM,
	SIP_HDR_TO,
	SIP_HDR_CALL_ID,
	SIP_HDR_CSEQ,
	SIP_HDR_CONTACT,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_ROUTE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_CONTENT_ENCODING,
	SIP_HDR_EXPIRES,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_AUTHENTICATION_INFO,
	SIP_HDR_SUPPORTED,
	SIP_HDR_REQUIRE,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_ALLOW,
	SIP_HDR_EVENT,
	SIP_HDR_SUBSCRIPTION_STATE,
	SIP_HDR_PATH,
	SIP_HDR_USER_AGENT,
	SIP_HDR_SERVER,
	SIP_HDR_RETRY_AFTER,
	SIP_HDR_ACCEPT,
	SIP_HDR_P_ASSERTED_IDENTITY,
	SIP_HDR_PRIVACY,
	SIP_HDR_REFER_TO,
	SIP_HDR_RSEQ,
	SIP_HDR_RACK,
	SIP_HDR_SESSION_EXPIRES,
	SIP_HDR_DATE,
	SIP_HDR_TIMESTAMP,
	SIP_HDR__COUNT
};

struct sip_hdr {
	enum sip_hdr_id id;
	struct slice name; /* as written (may be the compact form) */
	struct slice value; /* trimmed; may contain folded line breaks */
	uint32_t line_off; /* offset of the header line in the buffer */
	uint32_t line_len; /* whole line(s) including the final CRLF/LF */
};

struct sip_via {
	struct slice proto; /* "SIP/2.0" */
	struct slice transport; /* "UDP", "TCP", "TLS", "WS", ... */
	struct slice host; /* IPv6 without brackets */
	uint16_t port; /* 0 if absent */
	bool is_ipv6;
	struct slice branch; /* empty if absent */
	struct slice received; /* empty if absent */
	bool has_rport;
	uint32_t rport; /* 0 if ;rport without value */
	struct slice params; /* all params, no leading ';' */
	struct slice raw; /* this via-parm as written */
	uint16_t hdr_index; /* which header line it came from */
};

/* name-addr / addr-spec as in From, To, Contact, Route, Record-Route,
 * Path, P-Asserted-Identity, Refer-To. */
struct sip_nameaddr {
	struct slice display; /* without quotes; may contain \ escapes */
	struct slice uri_text;
	struct sip_uri uri;
	struct slice params; /* header params after the URI, no leading ';' */
	struct slice tag; /* From/To tag; empty if absent */
	struct slice raw; /* the whole value element as written */
	uint16_t hdr_index;
};

struct sip_contact {
	struct sip_nameaddr na;
	bool is_star; /* "Contact: *" */
	int32_t expires; /* -1 if no expires param */
	int16_t q; /* 0..1000 (q * 1000); -1 if absent */
	struct slice instance; /* +sip.instance value, quotes removed */
	uint32_t reg_id; /* 0 if absent */
};

struct sip_cseq {
	uint32_t num;
	enum sip_method method;
	struct slice method_name;
};

/* Authorization / Proxy-Authorization / WWW-Authenticate /
 * Proxy-Authenticate parameters (RFC 7616); quotes removed. */
struct sip_auth {
	struct slice scheme; /* "Digest" */
	struct slice username, realm, nonce, uri, response, algorithm;
	struct slice cnonce, opaque, qop, nc;
	bool stale;
	bool userhash;
	uint16_t hdr_index;
};

/* A list of tokens (Supported, Require, Allow, ...) across all header
 * lines of that name. */
struct sip_tokens {
	struct slice *v;
	uint16_t n;
};

struct sip_msg_cache; /* lazily parsed values, in the arena */

struct sip_msg {
	const char *buf;
	uint32_t len; /* whole message, header and body */
	struct arena *arena;

	bool is_request;
	/* request line */
	enum sip_method method;
	struct slice method_name;
	struct slice ruri_text;
	struct sip_uri ruri;
	/* status line */
	uint16_t status;
	struct slice reason;

	struct slice version; /* "SIP/2.0" */
	struct sip_hdr hdrs[SIP_MAX_HEADERS];
	uint16_t nhdrs;
	int16_t first[SIP_HDR__COUNT]; /* first index per id, -1 if none */
	uint32_t hdr_end; /* offset of the empty line ending the headers */
	struct slice body;

	struct sip_msg_cache *cache;
};

/*
 * Parses one message from buf[0..len). For datagrams, octets after the
 * body that Content-Length states are ignored (RFC 3261 §18.3); a body
 * shorter than Content-Length is an error. Content-Length may be absent
 * (datagram: the rest is the body). Returns 0, or -1 with err set.
 * Only what stops indexing fails here (start line, header lines, limits,
 * Content-Length); when the failure is about Content-Length the start line
 * and headers are indexed, so a 400 can still be built from m. Header
 * values, the SIP version and the Request-URI are judged lazily and by
 * sip_msg_validate() (m->ruri.scheme == 0 until the Request-URI is valid).
 */
int sip_msg_parse(struct sip_msg *m, const char *buf, uint32_t len,
    struct arena *a, struct sip_err *err);

/*
 * Stream framing (TCP/TLS): how many bytes of buf form the next complete
 * message (headers + Content-Length body). Returns that length, 0 if more
 * bytes are needed, -1 with err (SIP_E_BAD_FRAMING or SIP_E_TOO_LARGE) if
 * the stream cannot be resynchronised. Leading CRLFs (keep-alives) are
 * reported through *skip so the caller can answer pings. The message
 * starts at buf + *skip and the length returned does not count the skipped
 * bytes: consume *skip, then the returned length. A missing Content-Length
 * is SIP_E_BAD_FRAMING (RFC 3261 §18.3 makes it mandatory on streams).
 */
int32_t sip_msg_frame(
    const char *buf, uint32_t len, uint32_t *skip, struct sip_err *err);

enum sip_method sip_method_from_slice(struct slice s);
const char *sip_method_name(enum sip_method m);
enum sip_hdr_id sip_hdr_lookup(struct slice name);
/* Canonical (long) header name, e.g. "Call-ID". */
const char *sip_hdr_name(enum sip_hdr_id id);
/* Long name of a compact header form ('s' -> "Subject"), also for compact
 * forms without an id of their own; NULL if c is not a compact form. */
const char *sip_hdr_compact_long(char c);
/* Standard reason phrase for a status code ("Ringing"), or "Unknown". */
const char *sip_reason_phrase(int status);

/* Header access. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *m, enum sip_hdr_id id);
/* Next header line with the same id after index i, or -1. */
int sip_msg_hdr_next(const struct sip_msg *m, int i);
/* Finds a header by name (for SIP_HDR_OTHER), case-insensitive. */
const struct sip_hdr *sip_msg_hdr_by_name(
    const struct sip_msg *m, const char *name);

/*
 * Lazily parsed values. Each returns NULL / -1 and fills err if the header
 * is missing where required or malformed; the result is cached, so the
 * second call is free.
 */
int sip_msg_vias(struct sip_msg *m, const struct sip_via **vias,
    struct sip_err *err); /* count, top first */
const struct sip_via *sip_msg_top_via(struct sip_msg *m, struct sip_err *err);
const struct sip_nameaddr *sip_msg_from(struct sip_msg *m, struct sip_err *err);
const struct sip_nameaddr *sip_msg_to(struct sip_msg *m, struct sip_err *err);
int sip_msg_call_id(struct sip_msg *m, struct slice *out, struct sip_err *err);
const struct sip_cseq *sip_msg_cseq(struct sip_msg *m, struct sip_err *err);
/* All Contact elements across header lines; 0 if none. */
int sip_msg_contacts(
    struct sip_msg *m, const struct sip_contact **out, struct sip_err *err);
int sip_msg_routes(
    struct sip_msg *m, const struct sip_nameaddr **out, struct sip_err *err);
int sip_msg_record_routes(
    struct sip_msg *m, const struct sip_nameaddr **out, struct sip_err *err);
int sip_msg_paths(
    struct sip_msg *m, const struct sip_nameaddr **out, struct sip_err *err);
/* -1 if absent, else 0..255 (larger values are an error). */
int sip_msg_max_forwards(struct sip_msg *m, struct sip_err *err);
/* -1 if absent. */
int64_t sip_msg_expires(struct sip_msg *m, struct sip_err *err);
/* -1 if absent. */
int64_t sip_msg_content_length(struct sip_msg *m, struct sip_err *err);
/* The media type ("application/sdp") without parameters; empty if none. */
struct slice sip_msg_content_type(struct sip_msg *m);
/* Parses one Authorization-family value. Quoted values keep backslash
 * escapes here; sip_msg_auths() removes them (into the arena). */
int sip_auth_parse(
    struct slice value, struct sip_auth *out, struct sip_err *err);
/* All credentials of a kind (SIP_HDR_AUTHORIZATION or
 * SIP_HDR_PROXY_AUTHORIZATION); count. */
int sip_msg_auths(struct sip_msg *m, enum sip_hdr_id id,
    const struct sip_auth **out, struct sip_err *err);
int sip_msg_tokens(struct sip_msg *m, enum sip_hdr_id id,
    struct sip_tokens *out, struct sip_err *err);
bool sip_msg_has_token(
    struct sip_msg *m, enum sip_hdr_id id, const char *token);
struct slice sip_msg_user_agent(struct sip_msg *m);

/* Parses one name-addr/addr-spec (with header params) from text. A URI of
 * another scheme than sip/sips/tel is accepted with uri.scheme == 0. */
int sip_nameaddr_parse(
    struct slice text, struct sip_nameaddr *out, struct sip_err *err);
/* Finds ";name[=value]" in a params slice (case-insensitive names). */
bool sip_param_find(struct slice params, const char *name, struct slice *value);

/*
 * Checks what every request/response must have (RFC 3261 §8.1.1: To, From,
 * CSeq, Call-ID, Max-Forwards for requests, Via; CSeq method equals the
 * request method; Content-Length consistent). Returns 0 or -1 with err
 * whose phrase names the fault.
 */
int sip_msg_validate(struct sip_msg *m, struct sip_err *err);

#endif
