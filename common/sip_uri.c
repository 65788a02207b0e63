/*
 * sip_uri: sip:, sips: and tel: URI parsing into slices (RFC 3261 §19.1,
 * §25.1; RFC 3966; IPv6 references per RFC 5118), comparison per RFC 3261
 * §19.1.4, and the ";name=value" parameter scanner shared with sip_msg.
 * Nothing here allocates; unescaping copies into the caller's buffer.
 */
#include <arpa/inet.h>
#include <stdio.h>

#include "sip_lex.h"
#include "sip_msg.h"
#include "sip_uri.h"

enum {
	C_UNRES = 1 << 0, /* alphanum / mark */
	C_USER = 1 << 1, /* user-unreserved */
	C_PASS = 1 << 2, /* password extras */
	C_PARAM = 1 << 3, /* param-unreserved */
	C_HNV = 1 << 4, /* hnv-unreserved */
	C_HOST = 1 << 5, /* hostname characters */
	C_HEX = 1 << 6,
	C_TEL = 1 << 7, /* tel: number characters */
};

static uint8_t cls[256];

/* Case-insensitive match against a literal, length first. */
#define NAME_IS(n, lit) \
	((n).len == sizeof(lit) - 1 && eq_nocase_n((n).p, (lit), (n).len))

static void
set_cls(const char *chars, uint8_t flag)
{
	for (const char *p = chars; *p != '\0'; p++)
		cls[(unsigned char)*p] |= flag;
}

__attribute__((constructor)) static void
uri_tables_init(void)
{
	for (int c = 0; c < 256; c++) {
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');
		if (alnum)
			cls[c] |= C_UNRES | C_HOST;
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F'))
			cls[c] |= C_HEX | C_TEL;
	}
	set_cls("-_.!~*'()", C_UNRES);
	set_cls("&=+$,;?/", C_USER);
	set_cls("&=+$,", C_PASS);
	set_cls("[]/:&+$", C_PARAM);
	set_cls("[]/?:+$", C_HNV);
	set_cls("-._", C_HOST);
	set_cls("+-.()*#pPwW", C_TEL);
}

static inline bool
is_cls(char c, uint8_t flags)
{
	return (cls[(unsigned char)c] & flags) != 0;
}

/* Checks that s only has characters of `flags` or valid %HH escapes. */
static bool
valid_chars(struct slice s, uint8_t flags)
{
	for (uint32_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '%') {
			if (i + 2 >= s.len + 0u || !is_cls(s.p[i + 1], C_HEX) ||
			    !is_cls(s.p[i + 2], C_HEX))
				return false;
			i += 2;
		} else if (!is_cls(c, flags)) {
			return false;
		}
	}
	return true;
}

static bool
port_parse(struct slice s, uint16_t *port)
{
	uint32_t v;
	if (s.len > 5 || !slice_to_u32(s, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

bool
sip_host_is_ipv6(struct slice s)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;
	if (s.len == 0 || s.len >= sizeof tmp)
		return false;
	memcpy(tmp, s.p, s.len);
	tmp[s.len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

/* A hostname or IPv4 address (RFC 3261 hostname, leniently allowing '_'
 * which real deployments use). */
static bool
host_name_valid(struct slice s)
{
	if (s.len == 0 || s.len > 255)
		return false;
	if (s.p[0] == '.' || s.p[0] == '-')
		return false;
	for (uint32_t i = 0; i < s.len; i++)
		if (!is_cls(s.p[i], C_HOST))
			return false;
	return true;
}

bool
sip_hostport_parse(
    struct slice s, struct slice *host, uint16_t *port, bool *is_ipv6)
{
	*port = 0;
	*is_ipv6 = false;
	if (s.len == 0)
		return false;
	struct slice rest;
	if (s.p[0] == '[') {
		int32_t close = find_ch(s, ']');
		if (close < 0)
			return false;
		*host = slice_make(s.p + 1, (uint32_t)close - 1);
		if (!sip_host_is_ipv6(*host))
			return false;
		*is_ipv6 = true;
		rest = slice_make(s.p + close + 1, s.len - (uint32_t)close - 1);
	} else {
		int32_t colon = find_ch(s, ':');
		if (colon < 0) {
			*host = s;
			rest = SLICE_NULL;
		} else {
			*host = slice_make(s.p, (uint32_t)colon);
			rest = slice_make(s.p + colon, s.len - (uint32_t)colon);
		}
		if (!host_name_valid(*host))
			return false;
	}
	if (rest.len == 0)
		return true;
	if (rest.p[0] != ':')
		return false;
	return port_parse(slice_make(rest.p + 1, rest.len - 1), port);
}

/* Iterates ";name[=value]" parameters. p/len walk the params slice. */
static bool
param_next(struct slice *rest, struct slice *name, struct slice *value,
    bool *has_value)
{
	while (rest->len > 0 && rest->p[0] == ';') {
		rest->p++;
		rest->len--;
	}
	if (rest->len == 0)
		return false;
	/* Quoted values may hold ';' (generic-param gen-value); the usual
	 * case has no quote before the next ';'. */
	const char *semi = memchr(rest->p, ';', rest->len);
	uint32_t i = semi == NULL ? rest->len : (uint32_t)(semi - rest->p);
	if (memchr(rest->p, '"', i) != NULL) {
		bool inq = false;
		for (i = 0; i < rest->len; i++) {
			char c = rest->p[i];
			if (inq) {
				if (c == '\\' && i + 1 < rest->len)
					i++;
				else if (c == '"')
					inq = false;
			} else if (c == '"') {
				inq = true;
			} else if (c == ';') {
				break;
			}
		}
	}
	struct slice one = slice_make(rest->p, i);
	rest->p += i;
	rest->len -= i;
	int32_t eq = find_ch(one, '=');
	if (eq < 0) {
		*name = trim_ws(one);
		*value = SLICE_NULL;
		*has_value = false;
	} else {
		*name = trim_ws(slice_make(one.p, (uint32_t)eq));
		*value = trim_ws(
		    slice_make(one.p + eq + 1, one.len - (uint32_t)eq - 1));
		*has_value = true;
	}
	return true;
}

bool
sip_param_find(struct slice params, const char *pname, struct slice *value)
{
	struct slice rest = params, n, v, want = slice_cstr(pname);
	bool hv;
	while (param_next(&rest, &n, &v, &hv)) {
		if (n.len == want.len && eq_nocase_n(n.p, want.p, n.len)) {
			if (value != NULL)
				*value = hv ? v : slice_make(n.p + n.len, 0);
			return true;
		}
	}
	return false;
}

bool
sip_uri_param(const struct sip_uri *uri, const char *name, struct slice *value)
{
	return sip_param_find(uri->params, name, value);
}

static int
uri_fail(struct sip_err *err, const char *phrase)
{
	sip_err_set(err, SIP_E_BAD_REQUEST, phrase);
	return -1;
}

static int
parse_params(struct slice params, struct sip_uri *uri, struct sip_err *err)
{
	struct slice rest = params, n, v;
	bool hv;
	/* param-unreserved plus the separators; lenient on user-unreserved
	 * characters that real phones put in parameter values. */
	if (!valid_chars(params, C_UNRES | C_PARAM | C_USER))
		return uri_fail(err, "Bad URI parameter");
	while (param_next(&rest, &n, &v, &hv)) {
		if (n.len == 0)
			return uri_fail(err, "Bad URI parameter");
		/* Flag parameters keep a non-NULL empty slice. */
		struct slice val = hv ? v : slice_make(n.p + n.len, 0);
		if (NAME_IS(n, "transport"))
			uri->transport = val;
		else if (NAME_IS(n, "maddr"))
			uri->maddr = val;
		else if (NAME_IS(n, "user"))
			uri->user_param = val;
		else if (NAME_IS(n, "ob"))
			uri->ob = val;
		else if (NAME_IS(n, "lr"))
			uri->has_lr = true;
	}
	return 0;
}

static int
parse_tel(struct slice rest, struct sip_uri *uri, struct sip_err *err)
{
	int32_t semi = find_ch(rest, ';');
	struct slice num = semi < 0 ? rest : slice_make(rest.p, (uint32_t)semi);
	if (num.len == 0)
		return uri_fail(err, "Bad tel URI");
	for (uint32_t i = 0; i < num.len; i++)
		if (!is_cls(num.p[i], C_TEL) && num.p[i] != '%')
			return uri_fail(err, "Bad tel URI");
	uri->host = num;
	if (semi >= 0) {
		uri->params = slice_make(
		    rest.p + semi + 1, rest.len - (uint32_t)semi - 1);
		return parse_params(uri->params, uri, err);
	}
	return 0;
}

int
sip_uri_parse(struct slice text, struct sip_uri *uri, struct sip_err *err)
{
	memset(uri, 0, sizeof *uri);
	struct slice rest;
	/* Scheme letters compared by hand: this runs for every URI. */
	const char *t = text.p;
	bool si = text.len >= 4 && (t[0] | 0x20) == 's' &&
	    (t[1] | 0x20) == 'i' && (t[2] | 0x20) == 'p';
	if (si && t[3] == ':') {
		uri->scheme = SIP_URI_SIP;
		rest = slice_make(text.p + 4, text.len - 4);
	} else if (si && text.len >= 5 && (t[3] | 0x20) == 's' && t[4] == ':') {
		uri->scheme = SIP_URI_SIPS;
		rest = slice_make(text.p + 5, text.len - 5);
	} else if (slice_has_prefix_nocase(text, "tel:")) {
		uri->scheme = SIP_URI_TEL;
		return parse_tel(
		    slice_make(text.p + 4, text.len - 4), uri, err);
	} else {
		int32_t colon = find_ch(text, ':');
		bool scheme_ok = colon > 0;
		for (int32_t i = 0; scheme_ok && i < colon; i++) {
			char c = text.p[i];
			scheme_ok = (c >= 'a' && c <= 'z') ||
			    (c >= 'A' && c <= 'Z') ||
			    (i > 0 &&
			        ((c >= '0' && c <= '9') || c == '+' ||
			            c == '-' || c == '.'));
		}
		if (!scheme_ok)
			return uri_fail(err, "Bad URI");
		sip_err_set(
		    err, SIP_E_UNSUPPORTED_URI, "Unsupported URI Scheme");
		return -1;
	}
	if (rest.len == 0)
		return uri_fail(err, "Bad URI");

	/* userinfo: up to the first '@' ('@' in user must be escaped). */
	int32_t at = find_ch(rest, '@');
	if (at >= 0) {
		struct slice ui = slice_make(rest.p, (uint32_t)at);
		int32_t colon = find_ch(ui, ':');
		if (colon >= 0) {
			uri->user = slice_make(ui.p, (uint32_t)colon);
			uri->password = slice_make(
			    ui.p + colon + 1, ui.len - (uint32_t)colon - 1);
			if (!valid_chars(uri->password, C_UNRES | C_PASS))
				return uri_fail(err, "Bad URI password");
		} else {
			uri->user = ui;
		}
		if (uri->user.len == 0 ||
		    !valid_chars(uri->user, C_UNRES | C_USER))
			return uri_fail(err, "Bad URI user");
		rest = slice_make(rest.p + at + 1, rest.len - (uint32_t)at - 1);
	}

	/* hostport ends at ';' or '?' (outside an IPv6 reference). */
	uint32_t hp_end = 0;
	if (rest.len > 0 && rest.p[0] == '[') {
		int32_t close = find_ch(rest, ']');
		if (close < 0)
			return uri_fail(err, "Bad IPv6 reference");
		hp_end = (uint32_t)close + 1;
	}
	uint32_t colons = 0;
	for (; hp_end < rest.len; hp_end++) {
		char c = rest.p[hp_end];
		if (c == ';' || c == '?')
			break;
		colons += c == ':';
	}
	struct slice hp = slice_make(rest.p, hp_end);
	/* RFC 5118 §4.2: an IPv6 address must be bracketed. */
	if (colons > 1 && (hp.len == 0 || hp.p[0] != '['))
		return uri_fail(err, "Bad IPv6 reference");
	if (!sip_hostport_parse(hp, &uri->host, &uri->port, &uri->is_ipv6)) {
		if (hp.len > 0 && hp.p[0] == '[')
			return uri_fail(err, "Bad IPv6 reference");
		return uri_fail(err, "Bad URI host");
	}
	rest = slice_make(rest.p + hp_end, rest.len - hp_end);
	if (rest.len > 0 && rest.p[0] == ';') {
		int32_t q = find_ch(rest, '?');
		uint32_t end = q < 0 ? rest.len : (uint32_t)q;
		uri->params = slice_make(rest.p + 1, end - 1);
		if (parse_params(uri->params, uri, err) < 0)
			return -1;
		rest = slice_make(rest.p + end, rest.len - end);
	}
	if (rest.len > 0 && rest.p[0] == '?') {
		uri->headers = slice_make(rest.p + 1, rest.len - 1);
		/* '@' and '"' appear unescaped in real headers parts. */
		for (uint32_t i = 0; i < uri->headers.len; i++) {
			char c = uri->headers.p[i];
			if (!is_cls(c, C_UNRES | C_HNV) && c != '%' &&
			    c != '=' && c != '&' && c != '@')
				return uri_fail(err, "Bad URI headers");
		}
		rest = SLICE_NULL;
	}
	if (rest.len > 0)
		return uri_fail(err, "Bad URI");
	return 0;
}

int
sip_uri_unescape(struct slice s, char *dst, size_t cap)
{
	size_t o = 0;
	for (uint32_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (c == '%') {
			if (i + 2 >= s.len + 0u)
				return -1;
			int h = hexval(s.p[i + 1]), l = hexval(s.p[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			c = (char)(h * 16 + l);
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		dst[o++] = c;
	}
	if (cap == 0)
		return -1;
	dst[o] = '\0';
	return (int)o;
}

/* Compares two slices after unescaping, case-sensitively or not. */
static bool
eq_unescaped(struct slice a, struct slice b, bool nocase)
{
	char ba[512], bb[512];
	int la = sip_uri_unescape(a, ba, sizeof ba);
	int lb = sip_uri_unescape(b, bb, sizeof bb);
	if (la < 0 || lb < 0)
		return nocase ? slice_eq_nocase(a, b) : slice_eq(a, b);
	struct slice sa = slice_make(ba, (uint32_t)la);
	struct slice sb = slice_make(bb, (uint32_t)lb);
	return nocase ? slice_eq_nocase(sa, sb) : slice_eq(sa, sb);
}

static bool
host_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	if (a->is_ipv6 != b->is_ipv6)
		return false;
	if (a->is_ipv6) {
		char ta[INET6_ADDRSTRLEN + 1], tb[INET6_ADDRSTRLEN + 1];
		struct in6_addr ia, ib;
		if (slice_copy_cstr(a->host, ta, sizeof ta) &&
		    slice_copy_cstr(b->host, tb, sizeof tb) &&
		    inet_pton(AF_INET6, ta, &ia) == 1 &&
		    inet_pton(AF_INET6, tb, &ib) == 1)
			return memcmp(&ia, &ib, sizeof ia) == 0;
	}
	return slice_eq_nocase(a->host, b->host);
}

static bool
is_must_match_param(struct slice n)
{
	return slice_eq_cstr_nocase(n, "user") ||
	    slice_eq_cstr_nocase(n, "ttl") ||
	    slice_eq_cstr_nocase(n, "method") ||
	    slice_eq_cstr_nocase(n, "maddr") ||
	    slice_eq_cstr_nocase(n, "transport");
}

/* Looks a parameter up by a name slice. */
static bool
param_find_slice(
    struct slice params, struct slice name, struct slice *v, bool *has_value)
{
	struct slice rest = params, n, val;
	bool hv;
	while (param_next(&rest, &n, &val, &hv)) {
		if (eq_unescaped(n, name, true)) {
			*v = val;
			*has_value = hv;
			return true;
		}
	}
	return false;
}

/* One direction of the parameter rule of §19.1.4. A name given twice
 * counts with its first value on both sides, so equality stays
 * reflexive. */
static bool
params_cover(struct slice pa, struct slice pb)
{
	struct slice rest = pa, n, v, v1, v2;
	bool hv, hv1, hv2;
	while (param_next(&rest, &n, &v, &hv)) {
		param_find_slice(pa, n, &v1, &hv1);
		if (param_find_slice(pb, n, &v2, &hv2)) {
			if (hv1 != hv2 || !eq_unescaped(v1, v2, true))
				return false;
		} else if (is_must_match_param(n)) {
			return false;
		}
	}
	return true;
}

/* Headers: every header of each side must be in the other, equal. */
static bool
headers_cover(struct slice ha, struct slice hb)
{
	struct slice rest = ha;
	while (rest.len > 0) {
		int32_t amp = find_ch(rest, '&');
		struct slice one =
		    amp < 0 ? rest : slice_make(rest.p, (uint32_t)amp);
		rest = amp < 0 ? SLICE_NULL
		               : slice_make(rest.p + amp + 1,
		                     rest.len - (uint32_t)amp - 1);
		int32_t eq = find_ch(one, '=');
		struct slice n = eq < 0 ? one : slice_make(one.p, (uint32_t)eq);
		struct slice v = eq < 0
		    ? SLICE_NULL
		    : slice_make(one.p + eq + 1, one.len - (uint32_t)eq - 1);
		bool found = false;
		struct slice r2 = hb;
		while (r2.len > 0 && !found) {
			int32_t a2 = find_ch(r2, '&');
			struct slice o2 =
			    a2 < 0 ? r2 : slice_make(r2.p, (uint32_t)a2);
			r2 = a2 < 0 ? SLICE_NULL
			            : slice_make(r2.p + a2 + 1,
			                  r2.len - (uint32_t)a2 - 1);
			int32_t e2 = find_ch(o2, '=');
			struct slice n2 =
			    e2 < 0 ? o2 : slice_make(o2.p, (uint32_t)e2);
			struct slice v2 = e2 < 0
			    ? SLICE_NULL
			    : slice_make(
			          o2.p + e2 + 1, o2.len - (uint32_t)e2 - 1);
			if (eq_unescaped(n, n2, true) &&
			    eq_unescaped(v, v2, false))
				found = true;
		}
		if (!found)
			return false;
	}
	return true;
}

bool
sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	if (a->scheme != b->scheme || a->scheme == 0)
		return false;
	if (a->scheme == SIP_URI_TEL) {
		/* RFC 3966 §4: visual separators are ignored. */
		char na[64], nb[64];
		size_t la = 0, lb = 0;
		for (uint32_t i = 0; i < a->host.len && la < sizeof na; i++)
			if (!strchr("-.()", a->host.p[i]))
				na[la++] = a->host.p[i];
		for (uint32_t i = 0; i < b->host.len && lb < sizeof nb; i++)
			if (!strchr("-.()", b->host.p[i]))
				nb[lb++] = b->host.p[i];
		if (!slice_eq_nocase(slice_make(na, (uint32_t)la),
		        slice_make(nb, (uint32_t)lb)))
			return false;
		return params_cover(a->params, b->params) &&
		    params_cover(b->params, a->params);
	}
	if (!eq_unescaped(a->user, b->user, false) ||
	    !eq_unescaped(a->password, b->password, false))
		return false;
	if (!host_equal(a, b) || a->port != b->port)
		return false;
	if (!params_cover(a->params, b->params) ||
	    !params_cover(b->params, a->params))
		return false;
	return headers_cover(a->headers, b->headers) &&
	    headers_cover(b->headers, a->headers);
}

uint16_t
sip_uri_port_or_default(const struct sip_uri *uri)
{
	if (uri->port != 0)
		return uri->port;
	if (uri->scheme == SIP_URI_SIPS ||
	    slice_eq_cstr_nocase(uri->transport, "tls"))
		return 5061;
	return 5060;
}
