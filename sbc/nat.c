/*
 * NAT handling of messages from outside, and the flow tokens of RFC 5626.
 */
#include <stdio.h>
#include <string.h>

#include "hdrtext.h"
#include "nat.h"

/* raw Via without its received and rport parameters. */
static struct slice
via_strip(struct arena *a, const struct sip_via *v)
{
	struct slice raw = v->raw;
	if (v->params.len == 0 || v->params.p < raw.p ||
	    v->params.p + v->params.len > raw.p + raw.len)
		return raw;
	/* raw up to the ';' that opens the parameters */
	const char *ps = v->params.p;
	uint32_t head = (uint32_t)(ps - raw.p);
	while (head > 0 && raw.p[head - 1] != ';')
		head--;
	if (head > 0)
		head--;
	char *buf = arena_alloc(a, raw.len + 1);
	if (buf == NULL)
		return SLICE_NULL;
	memcpy(buf, raw.p, head);
	size_t o = head;
	/* each ;param, quotes respected */
	uint32_t i = 0;
	struct slice p = v->params;
	while (i < p.len) {
		uint32_t s = i;
		bool q = false;
		while (i < p.len && (q || p.p[i] != ';')) {
			if (p.p[i] == '"')
				q = !q;
			i++;
		}
		struct slice one = slice_trim(slice_make(p.p + s, i - s));
		i++;
		int32_t eq = slice_find(one, '=');
		struct slice name =
		    slice_trim(eq < 0 ? one : slice_make(one.p, (uint32_t)eq));
		if (one.len == 0 || slice_eq_cstr_nocase(name, "received") ||
		    slice_eq_cstr_nocase(name, "rport"))
			continue;
		buf[o++] = ';';
		memcpy(buf + o, one.p, one.len);
		o += one.len;
	}
	/* anything after the params inside raw (should be nothing) */
	buf[o] = '\0';
	return slice_make(buf, (uint32_t)o);
}

struct slice
nat_via_value(struct sip_msg *m, const struct ipc_addr *src, bool force_rport,
    struct arena *a)
{
	struct sip_err err;
	const struct sip_via *v = sip_msg_top_via(m, &err);
	if (v == NULL)
		return SLICE_NULL;
	bool need_received = !hdrtext_host_is(v->host, src);
	bool want_rport = v->has_rport || force_rport;
	if (!need_received && !want_rport)
		return SLICE_NULL;
	if (!need_received && v->has_rport && v->rport == src->port &&
	    v->received.len > 0)
		return SLICE_NULL;
	struct slice base = via_strip(a, v);
	if (base.p == NULL)
		return SLICE_NULL;
	char host[64];
	char extra[128];
	hdrtext_host(src, false, host, sizeof host);
	/* RFC 3581 §4: with rport the received parameter is always added. */
	if (want_rport)
		snprintf(extra, sizeof extra, ";received=%s;rport=%u",
		    src->family == 6 ? host + 1 : host, src->port);
	else
		snprintf(extra, sizeof extra, ";received=%s",
		    src->family == 6 ? host + 1 : host);
	if (src->family == 6) {
		/* received carries the bare IPv6 address (RFC 5118 §4.5
		 * shows it without brackets). */
		char *rb = strchr(extra, ']');
		if (rb != NULL)
			memmove(rb, rb + 1, strlen(rb));
	}
	struct slice parts[2] = {base, slice_cstr(extra)};
	struct slice newvia = hdrtext_join(a, parts, 2, "");
	struct slice line = m->hdrs[v->hdr_index].value;
	struct hdrtext_span sp = {v->raw, newvia};
	return hdrtext_unfold(a, hdrtext_splice(a, line, &sp, 1));
}

int
nat_fix_via(struct sip_msg *m, struct sip_edit *ed, const struct ipc_addr *src,
    bool force_rport)
{
	struct slice v = nat_via_value(m, src, force_rport, m->arena);
	if (v.p == NULL)
		return 0;
	struct sip_err err;
	const struct sip_via *top = sip_msg_top_via(m, &err);
	return sip_edit_replace(ed, top->hdr_index, v);
}

bool
nat_is_behind(struct sip_msg *m, const struct ipc_addr *src)
{
	struct sip_err err;
	const struct sip_via *v = sip_msg_top_via(m, &err);
	if (v != NULL) {
		uint16_t port = v->port ? v->port : 5060;
		if (!hdrtext_host_is(v->host, src) || port != src->port)
			return true;
	}
	const struct sip_contact *c;
	int n = sip_msg_contacts(m, &c, &err);
	if (n > 0 && !c[0].is_star) {
		uint16_t port = sip_uri_port_or_default(&c[0].na.uri);
		if (!hdrtext_host_is(c[0].na.uri.host, src) ||
		    port != src->port)
			return true;
	}
	return false;
}

int
nat_alias_contacts(
    struct sip_msg *m, struct sip_edit *ed, const struct ipc_addr *src)
{
	/* A redirect's Contacts name other targets, not the sender: aliased,
	 * a NATed UA's 302 would point back at that UA. */
	if (!m->is_request && m->status >= 300 && m->status < 400)
		return 0;
	struct sip_err err;
	const struct sip_contact *c;
	int n = sip_msg_contacts(m, &c, &err);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	char hp[80];
	hdrtext_host(src, true, hp, sizeof hp);
	int changed = 0;
	/* Contacts may share a header line: one splice per line. */
	for (int i = 0; i < n;) {
		uint16_t line = c[i].na.hdr_index;
		struct hdrtext_span sp[SIP_MAX_CONTACTS];
		size_t ns = 0;
		int j = i;
		for (; j < n && c[j].na.hdr_index == line; j++) {
			if (c[j].is_star || c[j].na.uri.scheme == SIP_URI_TEL)
				continue;
			const struct sip_uri *u = &c[j].na.uri;
			if (hdrtext_host_is(u->host, src) &&
			    sip_uri_port_or_default(u) == src->port)
				continue;
			struct slice at = hdrtext_hostport(u, c[j].na.uri_text);
			if (at.p == NULL)
				continue;
			sp[ns].at = at;
			sp[ns].with = slice_cstr(hp);
			ns++;
		}
		if (ns > 0) {
			struct slice v = hdrtext_unfold(m->arena,
			    hdrtext_splice(
			        m->arena, m->hdrs[line].value, sp, ns));
			if (v.p == NULL || sip_edit_replace(ed, line, v) != 0)
				return -1;
			changed += (int)ns;
		}
		i = j;
	}
	return changed;
}

/* The flow a token names (fixed layout, little endian). */
#define OB_PLAIN (1 + 2 + 4 + 20)

static bool
has_option(struct sip_msg *m, enum sip_hdr_id id, const char *tag)
{
	for (int i = m->first[id]; i >= 0; i = sip_msg_hdr_next(m, i)) {
		struct slice v = m->hdrs[i].value;
		uint32_t s = 0;
		for (uint32_t k = 0; k <= v.len; k++) {
			if (k < v.len && v.p[k] != ',')
				continue;
			struct slice one =
			    slice_trim(slice_make(v.p + s, k - s));
			if (slice_eq_cstr_nocase(one, tag))
				return true;
			s = k + 1;
		}
	}
	return false;
}

bool
nat_ob_wanted(struct sip_msg *m)
{
	struct sip_err err;
	const struct sip_contact *c;
	if (!m->is_request || m->method != SIP_M_REGISTER ||
	    !has_option(m, SIP_HDR_SUPPORTED, "outbound"))
		return false;
	int n = sip_msg_contacts(m, &c, &err);
	return n > 0 && !c[0].is_star && c[0].reg_id != 0 &&
	    c[0].instance.len > 0;
}

static const char *
tp_param(uint8_t tp)
{
	switch (tp) {
	case IPC_TP_TCP:
		return ";transport=tcp";
	case IPC_TP_TLS:
		return ";transport=tls";
	case IPC_TP_WS:
		return ";transport=ws";
	case IPC_TP_WSS:
		return ";transport=wss";
	default:
		return "";
	}
}

int
nat_ob_add_path(struct sip_msg *m, struct sip_edit *ed,
    const struct token_keys *ks, const struct ipc_flow *f, const char *host,
    uint16_t port)
{
	uint8_t pt[OB_PLAIN];
	pt[0] = f->transport;
	pt[1] = (uint8_t)f->listener;
	pt[2] = (uint8_t)(f->listener >> 8);
	for (int i = 0; i < 4; i++)
		pt[3 + i] = (uint8_t)(f->conn_id >> (8 * i));
	memcpy(pt + 7, &f->remote, sizeof f->remote);
	char tok[TOKEN_TEXT_LEN(OB_PLAIN) + 1];
	if (token_seal(ks, NAT_OB_PURPOSE, pt, sizeof pt, tok, sizeof tok) < 0)
		return -1;
	bool v6 = strchr(host, ':') != NULL && host[0] != '[';
	char *v = arena_printf(m->arena, "<sip:%s@%s%s%s:%u%s;lr;ob>", tok,
	    v6 ? "[" : "", host, v6 ? "]" : "", port, tp_param(f->transport));
	if (v == NULL)
		return -1;
	return sip_edit_prepend(ed, "Path", slice_cstr(v));
}

int
nat_ob_route(struct sip_msg *m, struct sip_edit *ed,
    const struct token_keys *ks,
    bool (*is_local)(void *arg, struct slice host, uint16_t port), void *arg,
    struct ipc_flow *f)
{
	struct sip_err err;
	const struct sip_nameaddr *na;
	if (!m->is_request)
		return 0;
	int n = sip_msg_routes(m, &na, &err);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	const struct sip_uri *u = &na[0].uri;
	if (u->user.len == 0 || u->user.len > TOKEN_TEXT_LEN(OB_PLAIN) ||
	    !sip_param_find(u->params, "ob", NULL) ||
	    !is_local(arg, u->host, u->port))
		return 0;
	uint8_t pt[OB_PLAIN];
	if (token_open(ks, NAT_OB_PURPOSE, u->user.p, u->user.len, pt,
	        sizeof pt) != (int)sizeof pt)
		return -1;
	f->transport = pt[0];
	f->listener = (uint16_t)(pt[1] | pt[2] << 8);
	f->conn_id = 0;
	for (int i = 0; i < 4; i++)
		f->conn_id |= (uint32_t)pt[3 + i] << (8 * i);
	memcpy(&f->remote, pt + 7, sizeof f->remote);
	/* This edge is the hop the Route names: its entry goes (RFC 3261
	 * §16.4), with the comma after it when the line goes on. */
	uint16_t line = na[0].hdr_index;
	if (n > 1 && na[1].hdr_index == line) {
		struct hdrtext_span sp = {
		    slice_make(
		        na[0].raw.p, (uint32_t)(na[1].raw.p - na[0].raw.p)),
		    slice_make("", 0)};
		struct slice v =
		    hdrtext_splice(m->arena, m->hdrs[line].value, &sp, 1);
		if (v.p == NULL || sip_edit_replace(ed, line, v) != 0)
			return -1;
	} else if (sip_edit_remove(ed, line) != 0) {
		return -1;
	}
	return 1;
}
