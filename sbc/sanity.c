/*
 * Sanity policy on top of the parser's checks (sip_msg_validate does the
 * RFC 3261 §8.1.1 work; here we choose answers). A reply is only possible
 * when the headers a response copies are all present; otherwise the
 * message is dropped, since an answer could not be matched anyway.
 */
#include <string.h>

#include "sanity.h"

int
sanity_code_of(enum sip_err_code c)
{
	switch (c) {
	case SIP_E_BAD_VERSION:
		return 505;
	case SIP_E_TOO_LARGE:
	case SIP_E_NOMEM:
		return 413;
	case SIP_E_TOO_MANY_HOPS:
		return 483;
	case SIP_E_BAD_EXTENSION:
		return 420;
	case SIP_E_UNSUPPORTED_URI:
		return 416;
	default:
		return 400;
	}
}

static inline unsigned char
lower_ascii(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive substring test (the edge runs in the C locale,
 * where tolower() is exactly this): User-Agent of every request against
 * every scanner name, so the first character is matched by a cheap test
 * before a comparison starts. */
static bool
has_substr_nocase(struct slice hay, const char *needle)
{
	size_t n = strlen(needle);
	if (n == 0 || n > hay.len)
		return false;
	const unsigned char *h = (const unsigned char *)hay.p;
	const unsigned char *nd = (const unsigned char *)needle;
	unsigned char f = lower_ascii(nd[0]);
	for (uint32_t i = 0; i + n <= hay.len; i++) {
		if (lower_ascii(h[i]) != f)
			continue;
		size_t j = 1;
		while (j < n && lower_ascii(h[i + j]) == lower_ascii(nd[j]))
			j++;
		if (j == n)
			return true;
	}
	return false;
}

bool
sanity_is_scanner(struct sip_msg *m, char *const *scanners, size_t nscanners)
{
	struct slice ua = sip_msg_user_agent(m);
	const struct sip_hdr *srv = sip_msg_hdr(m, SIP_HDR_SERVER);
	for (size_t i = 0; i < nscanners; i++) {
		if (has_substr_nocase(ua, scanners[i]))
			return true;
		if (srv != NULL && has_substr_nocase(srv->value, scanners[i]))
			return true;
	}
	return false;
}

/* The headers sip_build_response copies, each present once at least. */
static bool
answerable(const struct sip_msg *m)
{
	return m->is_request && m->method != SIP_M_ACK &&
	    m->first[SIP_HDR_VIA] >= 0 && m->first[SIP_HDR_FROM] >= 0 &&
	    m->first[SIP_HDR_TO] >= 0 && m->first[SIP_HDR_CALL_ID] >= 0 &&
	    m->first[SIP_HDR_CSEQ] >= 0;
}

static void
set(struct sanity_result *r, enum sanity_verdict v, int code,
    const char *phrase)
{
	r->verdict = v;
	r->code = code;
	r->phrase = phrase;
}

void
sanity_check(struct sip_msg *m, int parse_rc, const struct sip_err *perr,
    char *const *scanners, size_t nscanners, uint32_t max_size,
    struct sanity_result *out)
{
	set(out, SANITY_OK, 0, NULL);
	if (parse_rc != 0) {
		/* A request line was read only if is_request is set. */
		if (answerable(m))
			set(out, SANITY_REPLY, sanity_code_of(perr->code),
			    perr->phrase);
		else
			set(out, SANITY_DROP, 0, perr->phrase);
		return;
	}
	if (m->is_request && sanity_is_scanner(m, scanners, nscanners)) {
		set(out, SANITY_SCANNER, 0, "scanner");
		return;
	}
	if (m->len > max_size) {
		if (answerable(m))
			set(out, SANITY_REPLY, 413, "Message Too Large");
		else
			set(out, SANITY_DROP, 0, "Message Too Large");
		return;
	}
	struct sip_err err = {0};
	if (sip_msg_validate(m, &err) != 0) {
		if (!m->is_request) {
			set(out, SANITY_DROP, 0, err.phrase);
			return;
		}
		/* A 400 needs a Via to go to: without a parseable one the
		 * message is dropped (RFC 3261 §18.2.2). */
		struct sip_err verr;
		if (answerable(m) && sip_msg_top_via(m, &verr) != NULL)
			set(out, SANITY_REPLY, sanity_code_of(err.code),
			    err.phrase);
		else
			set(out, SANITY_DROP, 0, err.phrase);
		return;
	}
	if (!m->is_request)
		return;
	if (m->method == SIP_M_ACK)
		return;
	struct sip_err merr;
	int mf = sip_msg_max_forwards(m, &merr);
	if (mf == 0 && m->method != SIP_M_REGISTER &&
	    m->method != SIP_M_OPTIONS)
		set(out, SANITY_REPLY, 483, "Too Many Hops");
}
