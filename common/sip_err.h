/*
 * sip_err: why a SIP message, URI or SDP body was rejected. The phrase is a
 * static string fit to be a 400 reason phrase ("Bad Request - Missing
 * CSeq"); the code says which answer the message deserves.
 */
#ifndef PC_SIP_ERR_H
#define PC_SIP_ERR_H

enum sip_err_code {
	SIP_OK = 0,
	SIP_E_BAD_REQUEST, /* 400 */
	SIP_E_BAD_VERSION, /* 505 */
	SIP_E_TOO_LARGE, /* 413 (or drop) */
	SIP_E_TOO_MANY_HOPS, /* 483 */
	SIP_E_BAD_EXTENSION, /* 420 */
	SIP_E_BAD_FRAMING, /* stream framing lost: close the connection */
	SIP_E_TRUNCATED, /* stream: need more bytes */
	SIP_E_NOMEM, /* arena limit reached */
	SIP_E_UNSUPPORTED_URI, /* 416: Request-URI scheme not sip/sips/tel */
};

struct sip_err {
	enum sip_err_code code;
	const char *phrase; /* static, never NULL when code != SIP_OK */
};

static inline void
sip_err_set(struct sip_err *e, enum sip_err_code code, const char *phrase)
{
	if (e != 0) {
		e->code = code;
		e->phrase = phrase;
	}
}

/* The response status a rejected message deserves (400 for codes that are
 * not answered with a status of their own: framing, truncation). */
static inline int
sip_err_status(enum sip_err_code code)
{
	switch (code) {
	case SIP_OK:
		return 200;
	case SIP_E_BAD_VERSION:
		return 505;
	case SIP_E_TOO_LARGE:
		return 413;
	case SIP_E_TOO_MANY_HOPS:
		return 483;
	case SIP_E_BAD_EXTENSION:
		return 420;
	case SIP_E_NOMEM:
		return 500;
	case SIP_E_UNSUPPORTED_URI:
		return 416;
	default:
		return 400;
	}
}

#endif
