/*
 * sip_hdr: the tables behind sip_msg: header names (long and compact forms,
 * RFC 3261 §7.3.3 and the IANA registry), methods and reason phrases. The
 * header lookup is on the hot path (every header line of every message), so
 * names are found through a small open-addressing hash keyed on length and
 * first/last letter, built once at load time.
 */
#include <stddef.h>

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
		    slice_eq_nocase(name, slice_make(n, name.len)))
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
