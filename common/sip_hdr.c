/*
 * sip_hdr: the tables behind sip_msg: header names (long and compact forms,
 * RFC 3261 §7.3.3 and the IANA registry), methods and reason phrases. The
 * header lookup is on the hot path (every header line of every message), so
 * names are found through a small open-addressing hash keyed on length and
 * first/last letter, built once at load time. Also the parsers that need no
 * message: stream framing and Authorization-family values.
 */
#include <stddef.h>

#include "sip_lex.h"
#include "sip_msg.h"

struct hdr_name {
	const char *name;
	enum sip_hdr_id id;
};

/* Long names of the known headers, in enum order. */
static const char *const hdr_long[SIP_HDR__COUNT] = {
    [SIP_HDR_OTHER] = "",
    [SIP_HDR_VIA] = "Via",
    [SIP_HDR_FROM] = "From",
    [SIP_HDR_TO] = "To",
    [SIP_HDR_CALL_ID] = "Call-ID",
    [SIP_HDR_CSEQ] = "CSeq",
    [SIP_HDR_CONTACT] = "Contact",
    [SIP_HDR_MAX_FORWARDS] = "Max-Forwards",
    [SIP_HDR_ROUTE] = "Route",
    [SIP_HDR_RECORD_ROUTE] = "Record-Route",
    [SIP_HDR_CONTENT_LENGTH] = "Content-Length",
    [SIP_HDR_CONTENT_TYPE] = "Content-Type",
    [SIP_HDR_CONTENT_ENCODING] = "Content-Encoding",
    [SIP_HDR_EXPIRES] = "Expires",
    [SIP_HDR_MIN_EXPIRES] = "Min-Expires",
    [SIP_HDR_AUTHORIZATION] = "Authorization",
    [SIP_HDR_PROXY_AUTHORIZATION] = "Proxy-Authorization",
    [SIP_HDR_WWW_AUTHENTICATE] = "WWW-Authenticate",
    [SIP_HDR_PROXY_AUTHENTICATE] = "Proxy-Authenticate",
    [SIP_HDR_AUTHENTICATION_INFO] = "Authentication-Info",
    [SIP_HDR_SUPPORTED] = "Supported",
    [SIP_HDR_REQUIRE] = "Require",
    [SIP_HDR_PROXY_REQUIRE] = "Proxy-Require",
    [SIP_HDR_UNSUPPORTED] = "Unsupported",
    [SIP_HDR_ALLOW] = "Allow",
    [SIP_HDR_EVENT] = "Event",
    [SIP_HDR_SUBSCRIPTION_STATE] = "Subscription-State",
    [SIP_HDR_PATH] = "Path",
    [SIP_HDR_USER_AGENT] = "User-Agent",
    [SIP_HDR_SERVER] = "Server",
    [SIP_HDR_RETRY_AFTER] = "Retry-After",
    [SIP_HDR_ACCEPT] = "Accept",
    [SIP_HDR_P_ASSERTED_IDENTITY] = "P-Asserted-Identity",
    [SIP_HDR_PRIVACY] = "Privacy",
    [SIP_HDR_REFER_TO] = "Refer-To",
    [SIP_HDR_RSEQ] = "RSeq",
    [SIP_HDR_RACK] = "RAck",
    [SIP_HDR_SESSION_EXPIRES] = "Session-Expires",
    [SIP_HDR_DATE] = "Date",
    [SIP_HDR_TIMESTAMP] = "Timestamp",
};

/* Compact forms (RFC 3261 §7.3.3, RFC 3265, 3515, 3841, 4028, 4474).
 * Those of headers without an id of their own map to SIP_HDR_OTHER; their
 * long name is still known so sip_msg_hdr_by_name() finds them. */
static const struct {
	char c;
	enum sip_hdr_id id;
	const char *long_name;
} hdr_compact[] = {
    {'a', SIP_HDR_OTHER, "Accept-Contact"},
    {'b', SIP_HDR_OTHER, "Referred-By"},
    {'c', SIP_HDR_CONTENT_TYPE, "Content-Type"},
    {'d', SIP_HDR_OTHER, "Request-Disposition"},
    {'e', SIP_HDR_CONTENT_ENCODING, "Content-Encoding"},
    {'f', SIP_HDR_FROM, "From"},
    {'i', SIP_HDR_CALL_ID, "Call-ID"},
    {'j', SIP_HDR_OTHER, "Reject-Contact"},
    {'k', SIP_HDR_SUPPORTED, "Supported"},
    {'l', SIP_HDR_CONTENT_LENGTH, "Content-Length"},
    {'m', SIP_HDR_CONTACT, "Contact"},
    {'n', SIP_HDR_OTHER, "Identity-Info"},
    {'o', SIP_HDR_EVENT, "Event"},
    {'r', SIP_HDR_REFER_TO, "Refer-To"},
    {'s', SIP_HDR_OTHER, "Subject"},
    {'t', SIP_HDR_TO, "To"},
    {'u', SIP_HDR_OTHER, "Allow-Events"},
    {'v', SIP_HDR_VIA, "Via"},
    {'x', SIP_HDR_SESSION_EXPIRES, "Session-Expires"},
    {'y', SIP_HDR_OTHER, "Identity"},
};

static enum sip_hdr_id compact_id[26];
static uint8_t hdr_len[SIP_HDR__COUNT];
static const char *compact_long[26];

#define HASH_SIZE 128
static uint8_t hash_slot[HASH_SIZE]; /* id, 0 = empty */

static inline unsigned char
lc(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

static inline unsigned
hdr_hash(const char *p, uint32_t len)
{
	return (len * 7u + lc((unsigned char)p[0]) * 3u +
	           lc((unsigned char)p[len - 1])) &
	    (HASH_SIZE - 1);
}

__attribute__((constructor)) static void
hdr_tables_init(void)
{
	for (int id = 1; id < SIP_HDR__COUNT; id++) {
		const char *n = hdr_long[id];
		hdr_len[id] = (uint8_t)strlen(n);
		unsigned h = hdr_hash(n, hdr_len[id]);
		while (hash_slot[h] != 0)
			h = (h + 1) & (HASH_SIZE - 1);
		hash_slot[h] = (uint8_t)id;
	}
	for (size_t i = 0; i < sizeof hdr_compact / sizeof hdr_compact[0];
	     i++) {
		compact_id[hdr_compact[i].c - 'a'] = hdr_compact[i].id;
		compact_long[hdr_compact[i].c - 'a'] = hdr_compact[i].long_name;
	}
}

enum sip_hdr_id
sip_hdr_lookup(struct slice name)
{
	if (name.len == 0)
		return SIP_HDR_OTHER;
	if (name.len == 1) {
		unsigned char c = lc((unsigned char)name.p[0]);
		if (c >= 'a' && c <= 'z')
			return compact_id[c - 'a'];
		return SIP_HDR_OTHER;
	}
	if (name.len > 19)
		return SIP_HDR_OTHER;
	unsigned h = hdr_hash(name.p, name.len);
	while (hash_slot[h] != 0) {
		const char *n = hdr_long[hash_slot[h]];
		if (hdr_len[hash_slot[h]] == name.len &&
		    eq_nocase_n(name.p, n, name.len))
			return (enum sip_hdr_id)hash_slot[h];
		h = (h + 1) & (HASH_SIZE - 1);
	}
	return SIP_HDR_OTHER;
}

const char *
sip_hdr_compact_long(char c)
{
	unsigned char l = lc((unsigned char)c);
	if (l < 'a' || l > 'z')
		return NULL;
	return compact_long[l - 'a'];
}

const char *
sip_hdr_name(enum sip_hdr_id id)
{
	if ((int)id <= 0 || id >= SIP_HDR__COUNT)
		return "";
	return hdr_long[id];
}

static const char *const method_names[] = {
    [SIP_M_UNKNOWN] = "",
    [SIP_M_INVITE] = "INVITE",
    [SIP_M_ACK] = "ACK",
    [SIP_M_BYE] = "BYE",
    [SIP_M_CANCEL] = "CANCEL",
    [SIP_M_REGISTER] = "REGISTER",
    [SIP_M_OPTIONS] = "OPTIONS",
    [SIP_M_PRACK] = "PRACK",
    [SIP_M_SUBSCRIBE] = "SUBSCRIBE",
    [SIP_M_NOTIFY] = "NOTIFY",
    [SIP_M_PUBLISH] = "PUBLISH",
    [SIP_M_INFO] = "INFO",
    [SIP_M_REFER] = "REFER",
    [SIP_M_MESSAGE] = "MESSAGE",
    [SIP_M_UPDATE] = "UPDATE",
};

/* Methods are case-sensitive (RFC 3261 §7.1). */
enum sip_method
sip_method_from_slice(struct slice s)
{
	if (s.len < 3 || s.len > 9)
		return SIP_M_UNKNOWN;
	switch (s.p[0]) {
	case 'I':
		if (slice_eq_cstr(s, "INVITE"))
			return SIP_M_INVITE;
		if (slice_eq_cstr(s, "INFO"))
			return SIP_M_INFO;
		break;
	case 'A':
		if (slice_eq_cstr(s, "ACK"))
			return SIP_M_ACK;
		break;
	case 'B':
		if (slice_eq_cstr(s, "BYE"))
			return SIP_M_BYE;
		break;
	case 'C':
		if (slice_eq_cstr(s, "CANCEL"))
			return SIP_M_CANCEL;
		break;
	case 'R':
		if (slice_eq_cstr(s, "REGISTER"))
			return SIP_M_REGISTER;
		if (slice_eq_cstr(s, "REFER"))
			return SIP_M_REFER;
		break;
	case 'O':
		if (slice_eq_cstr(s, "OPTIONS"))
			return SIP_M_OPTIONS;
		break;
	case 'P':
		if (slice_eq_cstr(s, "PRACK"))
			return SIP_M_PRACK;
		if (slice_eq_cstr(s, "PUBLISH"))
			return SIP_M_PUBLISH;
		break;
	case 'S':
		if (slice_eq_cstr(s, "SUBSCRIBE"))
			return SIP_M_SUBSCRIBE;
		break;
	case 'N':
		if (slice_eq_cstr(s, "NOTIFY"))
			return SIP_M_NOTIFY;
		break;
	case 'M':
		if (slice_eq_cstr(s, "MESSAGE"))
			return SIP_M_MESSAGE;
		break;
	case 'U':
		if (slice_eq_cstr(s, "UPDATE"))
			return SIP_M_UPDATE;
		break;
	default:
		break;
	}
	return SIP_M_UNKNOWN;
}

const char *
sip_method_name(enum sip_method m)
{
	if ((int)m < 0 ||
	    (size_t)m >= sizeof method_names / sizeof method_names[0])
		return "";
	return method_names[m];
}

const char *
sip_reason_phrase(int status)
{
	switch (status) {
	case 100:
		return "Trying";
	case 180:
		return "Ringing";
	case 181:
		return "Call Is Being Forwarded";
	case 182:
		return "Queued";
	case 183:
		return "Session Progress";
	case 199:
		return "Early Dialog Terminated";
	case 200:
		return "OK";
	case 202:
		return "Accepted";
	case 204:
		return "No Notification";
	case 300:
		return "Multiple Choices";
	case 301:
		return "Moved Permanently";
	case 302:
		return "Moved Temporarily";
	case 305:
		return "Use Proxy";
	case 380:
		return "Alternative Service";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 402:
		return "Payment Required";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 406:
		return "Not Acceptable";
	case 407:
		return "Proxy Authentication Required";
	case 408:
		return "Request Timeout";
	case 410:
		return "Gone";
	case 412:
		return "Conditional Request Failed";
	case 413:
		return "Request Entity Too Large";
	case 414:
		return "Request-URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 416:
		return "Unsupported URI Scheme";
	case 417:
		return "Unknown Resource-Priority";
	case 420:
		return "Bad Extension";
	case 421:
		return "Extension Required";
	case 422:
		return "Session Interval Too Small";
	case 423:
		return "Interval Too Brief";
	case 428:
		return "Use Identity Header";
	case 429:
		return "Provide Referrer Identity";
	case 430:
		return "Flow Failed";
	case 433:
		return "Anonymity Disallowed";
	case 436:
		return "Bad Identity-Info";
	case 437:
		return "Unsupported Certificate";
	case 438:
		return "Invalid Identity Header";
	case 439:
		return "First Hop Lacks Outbound Support";
	case 440:
		return "Max-Breadth Exceeded";
	case 469:
		return "Bad Info Package";
	case 470:
		return "Consent Needed";
	case 480:
		return "Temporarily Unavailable";
	case 481:
		return "Call/Transaction Does Not Exist";
	case 482:
		return "Loop Detected";
	case 483:
		return "Too Many Hops";
	case 484:
		return "Address Incomplete";
	case 485:
		return "Ambiguous";
	case 486:
		return "Busy Here";
	case 487:
		return "Request Terminated";
	case 488:
		return "Not Acceptable Here";
	case 489:
		return "Bad Event";
	case 491:
		return "Request Pending";
	case 493:
		return "Undecipherable";
	case 494:
		return "Security Agreement Required";
	case 500:
		return "Server Internal Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Server Time-out";
	case 505:
		return "Version Not Supported";
	case 513:
		return "Message Too Large";
	case 555:
		return "Push Notification Service Not Supported";
	case 580:
		return "Precondition Failure";
	case 600:
		return "Busy Everywhere";
	case 603:
		return "Decline";
	case 604:
		return "Does Not Exist Anywhere";
	case 606:
		return "Not Acceptable";
	case 607:
		return "Unwanted";
	case 608:
		return "Rejected";
	default:
		return "Unknown";
	}
}

/* ---- small scanners shared by framing and credentials ------------------ */

/* The token table sip_lex.h's is_tok() reads. */
bool sip_lex_tok[256];

__attribute__((constructor)) static void
tok_init(void)
{
	for (int c = 0; c < 256; c++)
		sip_lex_tok[c] = (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c != 0 && strchr("-.!%*_+`'~", c) != NULL);
}

static int
fail(struct sip_err *err, enum sip_err_code code, const char *phrase)
{
	sip_err_set(err, code, phrase);
	return -1;
}

static void
ok(struct sip_err *err)
{
	sip_err_set(err, SIP_OK, NULL);
}

/* Digits only; false on anything else or past UINT32_MAX. */
static bool
parse_u32_value(struct slice v, uint32_t *out)
{
	v = slice_trim(v);
	if (v.len > 10)
		return false;
	return slice_to_u32(v, UINT32_MAX, out);
}

#define NAME_IS(n, lit) \
	((n).len == sizeof(lit) - 1 && eq_nocase_n((n).p, (lit), (n).len))

/* ---- stream framing ---------------------------------------------------- */

int32_t
sip_msg_frame(
    const char *buf, uint32_t len, uint32_t *skip, struct sip_err *err)
{
	uint32_t s = 0;
	while (s < len && (buf[s] == '\r' || buf[s] == '\n'))
		s++;
	*skip = s;
	ok(err);
	if (s == len)
		return 0;
	const char *p = buf + s;
	uint32_t n = len - s;
	uint32_t lim = n < SIP_MAX_MSG_SIZE ? n : SIP_MAX_MSG_SIZE;
	/* Find the empty line ending the headers. */
	uint32_t hend = 0, bstart = 0;
	const char *q = p;
	for (;;) {
		const char *lf = memchr(q, '\n', lim - (uint32_t)(q - p));
		if (lf == NULL)
			break;
		uint32_t o = (uint32_t)(lf - p) + 1;
		if (o < lim && p[o] == '\n') {
			hend = o;
			bstart = o + 1;
			break;
		}
		if (o + 1 < lim && p[o] == '\r' && p[o + 1] == '\n') {
			hend = o;
			bstart = o + 2;
			break;
		}
		q = lf + 1;
	}
	if (bstart == 0) {
		if (n >= SIP_MAX_MSG_SIZE)
			return fail(err, SIP_E_TOO_LARGE, "Message too large");
		return 0;
	}
	/* Content-Length among the header lines (folded lines included). */
	int64_t clen = -1;
	uint32_t ls = 0;
	while (ls < hend) {
		const char *lf = memchr(p + ls, '\n', hend - ls);
		uint32_t le = lf == NULL ? hend : (uint32_t)(lf - p);
		while (
		    le + 1 < hend && (p[le + 1] == ' ' || p[le + 1] == '\t')) {
			lf = memchr(p + le + 1, '\n', hend - le - 1);
			le = lf == NULL ? hend : (uint32_t)(lf - p);
		}
		uint32_t i = ls;
		while (i < le && is_tok(p[i]))
			i++;
		struct slice name = slice_make(p + ls, i - ls);
		while (i < le && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (ls > 0 && i < le && p[i] == ':' &&
		    sip_hdr_lookup(name) == SIP_HDR_CONTENT_LENGTH) {
			uint32_t v;
			if (!parse_u32_value(
			        slice_make(p + i + 1, le - i - 1), &v) ||
			    (clen >= 0 && clen != v))
				return fail(err, SIP_E_BAD_FRAMING,
				    "Bad Content-Length");
			clen = v;
		}
		ls = le + 1;
	}
	if (clen < 0)
		return fail(err, SIP_E_BAD_FRAMING, "Missing Content-Length");
	if ((int64_t)bstart + clen > SIP_MAX_MSG_SIZE)
		return fail(err, SIP_E_TOO_LARGE, "Message too large");
	if ((int64_t)n < (int64_t)bstart + clen)
		return 0;
	return (int32_t)(bstart + (uint32_t)clen);
}

/* ---- Authorization family ---------------------------------------------- */

int
sip_auth_parse(struct slice value, struct sip_auth *out, struct sip_err *err)
{
	static const char bad[] = "Bad Authorization";
	memset(out, 0, sizeof *out);
	struct slice s = slice_trim(value);
	out->scheme = take_token(&s);
	if (out->scheme.len == 0 || (s.len > 0 && !is_lws(s.p[0])))
		return fail(err, SIP_E_BAD_REQUEST, bad);
	/* Other schemes (Basic: token68) are not split into parameters. */
	if (!slice_eq_cstr_nocase(out->scheme, "Digest")) {
		ok(err);
		return 0;
	}
	s = skip_lws(s);
	bool first = true;
	while (s.len > 0) {
		if (!first) {
			if (s.p[0] != ',')
				return fail(err, SIP_E_BAD_REQUEST, bad);
			s = skip_lws(sl_from(s, 1));
			if (s.len == 0)
				break;
			if (s.p[0] == ',')
				continue;
		}
		first = false;
		struct slice name = take_token(&s);
		if (name.len == 0 || !expect_char(&s, '='))
			return fail(err, SIP_E_BAD_REQUEST, bad);
		struct slice val;
		if (s.len > 0 && s.p[0] == '"') {
			uint32_t k = 1;
			while (k < s.len && s.p[k] != '"') {
				if (s.p[k] == '\\')
					k++;
				k++;
			}
			if (k >= s.len)
				return fail(err, SIP_E_BAD_REQUEST,
				    "Unterminated quoted string");
			val = slice_make(s.p + 1, k - 1);
			s = skip_lws(sl_from(s, k + 1));
		} else {
			uint32_t k = 0;
			while (k < s.len && s.p[k] != ',' && !is_lws(s.p[k]))
				k++;
			val = slice_make(s.p, k);
			if (val.len == 0)
				return fail(err, SIP_E_BAD_REQUEST, bad);
			s = skip_lws(sl_from(s, k));
		}
		struct slice *dst = NULL;
		if (NAME_IS(name, "username"))
			dst = &out->username;
		else if (NAME_IS(name, "realm"))
			dst = &out->realm;
		else if (NAME_IS(name, "nonce"))
			dst = &out->nonce;
		else if (NAME_IS(name, "uri"))
			dst = &out->uri;
		else if (NAME_IS(name, "response"))
			dst = &out->response;
		else if (NAME_IS(name, "algorithm"))
			dst = &out->algorithm;
		else if (NAME_IS(name, "cnonce"))
			dst = &out->cnonce;
		else if (NAME_IS(name, "opaque"))
			dst = &out->opaque;
		else if (NAME_IS(name, "qop"))
			dst = &out->qop;
		else if (NAME_IS(name, "nc"))
			dst = &out->nc;
		else if (NAME_IS(name, "stale"))
			out->stale = slice_eq_cstr_nocase(val, "true");
		else if (NAME_IS(name, "userhash"))
			out->userhash = slice_eq_cstr_nocase(val, "true");
		if (dst != NULL) {
			if (dst->p != NULL)
				return fail(err, SIP_E_BAD_REQUEST,
				    "Duplicate Authorization parameter");
			*dst = val;
		}
	}
	ok(err);
	return 0;
}
