/*
 * sip_err: why a SIP message, URI or SDP body was rejected. The phrase is a
 * static string fit to be a 400 reason phrase ("Bad Request - Missing
 * CSeq"); the code says which answer the message deserves.
 */
#ifndef PC_SIP_ERR_H
#define PC_SIP_ERR_H

enum sip_err_code {
	SIP_OK = 0,
	SIP_E_BAD_REQUEST,     /* 400 */
	SIP_E_BAD_VERSION,     /* 505 */
	SIP_E_TOO_LARGE,       /* 413 (or drop) */
	SIP_E_TOO_MANY_HOPS,   /* 483 */
	SIP_E_BAD_EXTENSION,   /* 420 */
	SIP_E_BAD_FRAMING,     /* stream framing lost: close the connection */
	SIP_E_TRUNCATED,       /* stream: need more bytes */
	SIP_E_NOMEM,           /* arena limit reached */
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

#endif
