/*
 * Registrar rules. Why a plan before changes: RFC 3261 §10.3 step 8 wants
 * a REGISTER processed atomically, so every contact is checked (expiry,
 * ordering, count) before the first binding is touched.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "reg.h"
#include "sip_uri.h"
#include "wbuf.h"

#define REG_MAX_PLAN 64

struct plan {
	const struct reg_contact_in *c;
	struct loc_binding *match;
	int64_t expires;
};

static bool
same_binding(const struct loc_binding *b, const struct reg_contact_in *c)
{
	/* RFC 5626: the instance (and reg-id) names the binding, whatever
	 * Contact URI it registers this time. */
	if (c->instance.len > 0 || b->str_len[LOC_S_INSTANCE] > 0)
		return slice_eq(loc_slice(b, LOC_S_INSTANCE), c->instance) &&
		    b->reg_id == c->reg_id;
	return slice_eq(loc_slice(b, LOC_S_CONTACT), c->uri);
}

static bool
same_binding_in(const struct reg_contact_in *a, const struct reg_contact_in *b)
{
	if (a->instance.len > 0 || b->instance.len > 0)
		return slice_eq(a->instance, b->instance) &&
		    a->reg_id == b->reg_id;
	return slice_eq(a->uri, b->uri);
}

static int
refuse(struct reg_result *res, int code, const char *reason)
{
	res->code = code;
	res->reason = reason;
	return -1;
}

int
reg_apply(struct loc *l, const struct reg_limits *lim,
    const struct reg_request *r, struct reg_result *res)
{
	struct loc_binding *cur[REG_MAX_PLAN];
	struct plan plan[REG_MAX_PLAN];

	memset(res, 0, sizeof(*res));
	int ncur = loc_lookup(l, r->aor, cur, REG_MAX_PLAN);
	if (ncur > REG_MAX_PLAN)
		return refuse(res, 500, "Too Many Bindings Stored");

	if (r->is_star) {
		if (r->expires_hdr != 0 || r->ncontacts != 0)
			return refuse(res, 400,
			    "Bad Request - Contact * needs Expires: 0 alone");
		for (int i = 0; i < ncur; i++)
			if (slice_eq(
			        loc_slice(cur[i], LOC_S_CALL_ID), r->call_id) &&
			    r->cseq <= cur[i]->cseq)
				return refuse(res, 500, "Stale CSeq");
		for (int i = 0; i < ncur; i++)
			loc_remove(l, cur[i]);
		res->removed = ncur;
		res->code = 200;
		res->reason = "OK";
		return 0;
	}
	if (r->ncontacts > REG_MAX_PLAN)
		return refuse(res, 400, "Bad Request - Too Many Contacts");

	int count = ncur;
	for (int i = 0; i < r->ncontacts; i++) {
		const struct reg_contact_in *c = &r->contacts[i];
		struct plan *p = &plan[i];
		p->c = c;
		p->match = NULL;
		if (c->uri.len == 0)
			return refuse(res, 400, "Bad Request - Empty Contact");
		p->expires = c->expires >= 0 ? c->expires
		    : r->expires_hdr >= 0    ? r->expires_hdr
		                             : (int64_t)lim->default_expires;
		if (p->expires > 0 && p->expires < (int64_t)lim->min_expires) {
			res->min_expires = lim->min_expires;
			return refuse(res, 423, "Interval Too Brief");
		}
		if (p->expires > (int64_t)lim->max_expires)
			p->expires = lim->max_expires;
		for (int k = 0; k < ncur; k++) {
			if (!same_binding(cur[k], c))
				continue;
			if (slice_eq(
			        loc_slice(cur[k], LOC_S_CALL_ID), r->call_id) &&
			    r->cseq <= cur[k]->cseq)
				return refuse(res, 500, "Stale CSeq");
			p->match = cur[k];
			break;
		}
		/* A contact listed twice in one request counts once. */
		bool dup = false;
		for (int k = 0; k < i; k++)
			if (same_binding_in(plan[k].c, c))
				dup = true;
		if (dup)
			continue;
		if (p->match == NULL && p->expires > 0)
			count++;
		else if (p->match != NULL && p->expires == 0)
			count--;
	}
	if (count > (int)lim->max_contacts)
		return refuse(res, 403, "Too Many Contacts");

	for (int i = 0; i < r->ncontacts; i++) {
		struct plan *p = &plan[i];
		const struct reg_contact_in *c = p->c;
		/* A binding replaced earlier in this loop must not be used. */
		if (p->match != NULL) {
			struct loc_binding *now[REG_MAX_PLAN];
			int n = loc_lookup(l, r->aor, now, REG_MAX_PLAN);
			p->match = NULL;
			for (int k = 0; k < n && k < REG_MAX_PLAN; k++)
				if (same_binding(now[k], c))
					p->match = now[k];
		}
		if (p->expires == 0) {
			if (p->match != NULL) {
				loc_remove(l, p->match);
				res->removed++;
			}
			continue;
		}
		struct loc_binding_in in;
		memset(&in, 0, sizeof(in));
		in.s[LOC_S_AOR] = r->aor;
		in.s[LOC_S_CONTACT] = c->uri;
		in.s[LOC_S_CALL_ID] = r->call_id;
		in.s[LOC_S_INSTANCE] = c->instance;
		in.s[LOC_S_PATH] = r->path;
		in.s[LOC_S_UA] = r->user_agent;
		in.expires_at = r->now + p->expires;
		in.registered_at = r->now;
		in.cseq = r->cseq;
		in.reg_id = c->reg_id;
		in.q = c->q >= 0 ? (uint16_t)c->q : 1000;
		in.flow = r->flow;
		if (p->match != NULL) {
			if (loc_update(l, p->match, &in) == NULL)
				return refuse(res, 500, "Out Of Memory");
			res->refreshed++;
		} else {
			if (loc_add(l, &in, false) == NULL)
				return refuse(res, 500, "Out Of Memory");
			res->added++;
		}
	}
	res->code = 200;
	res->reason = "OK";
	return 0;
}

int
reg_make_aor(const struct sip_uri *uri, char *buf, size_t cap)
{
	char user[256];
	int ul = 0;

	if (uri->host.len == 0)
		return -1;
	if (uri->user.len > 0) {
		ul = sip_uri_unescape(uri->user, user, sizeof(user));
		if (ul < 0)
			return -1;
	}
	size_t need = (size_t)ul + (ul > 0) + uri->host.len + 1;
	if (need > cap)
		return -1;
	size_t off = 0;
	if (ul > 0) {
		memcpy(buf, user, (size_t)ul);
		buf[ul] = '@';
		off = (size_t)ul + 1;
	}
	for (uint32_t i = 0; i < uri->host.len; i++)
		buf[off + i] = (char)tolower((unsigned char)uri->host.p[i]);
	off += uri->host.len;
	buf[off] = '\0';
	return (int)off;
}

struct contact_line_in {
	const struct loc_binding *b;
	int64_t left; /* seconds */
};

/* One Contact line, counted only while w->p is NULL. The text is
 * what "Contact: <%s>;expires=%lld", ";q=%u.%03u", ";+sip.instance=\"%s\""
 * and ";reg-id=%u" gave: written by copies because every answered
 * REGISTER lists its contacts (snprintf was most of this function). */
static void
contact_line(struct wbuf *w, const void *arg)
{
	const struct contact_line_in *in = arg;
	const struct loc_binding *b = in->b;
	int64_t left = in->left;

	put_str(w, "Contact: <");
	put_str(w, loc_str(b, LOC_S_CONTACT));
	put_str(w, ">;expires=");
	if (left <= UINT32_MAX) {
		put_u32(w, (uint32_t)left);
	} else {
		char n[24];
		int k = snprintf(n, sizeof(n), "%lld", (long long)left);
		put(w, n, (size_t)k);
	}
	if (b->q != 1000) {
		char frac[4] = {(char)('0' + b->q % 1000 / 100),
		    (char)('0' + b->q % 100 / 10), (char)('0' + b->q % 10), 0};
		put_str(w, ";q=");
		put_u32(w, b->q / 1000u);
		put(w, ".", 1);
		put(w, frac, 3);
	}
	if (b->str_len[LOC_S_INSTANCE] > 0) {
		put_str(w, ";+sip.instance=\"");
		put_str(w, loc_str(b, LOC_S_INSTANCE));
		put(w, "\"", 1);
		if (b->reg_id != 0) {
			put_str(w, ";reg-id=");
			put_u32(w, b->reg_id);
		}
	}
	put(w, "\r\n", 2);
}

int
reg_format_contacts(
    struct loc *l, struct slice aor, int64_t now, char *buf, size_t cap)
{
	struct loc_binding *v[REG_MAX_PLAN];
	int n = loc_lookup(l, aor, v, REG_MAX_PLAN);
	size_t off = 0;

	if (n > REG_MAX_PLAN)
		n = REG_MAX_PLAN;
	if (cap > 0)
		buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		const struct loc_binding *b = v[i];
		int64_t left = b->expires_at - now;
		if (left <= 0)
			continue; /* expired, waiting for the expiry timer */
		/* A line fits with its NUL or the answer is -1, as when
		 * each piece was an snprintf. */
		struct contact_line_in in = {b, left};
		if (!wbuf_append(buf, cap, &off, contact_line, &in))
			return -1;
	}
	return (int)off;
}

int
reg_contacts_from_msg(const struct sip_contact *c, int n,
    struct reg_contact_in *out, int max, bool *is_star)
{
	int k = 0;

	*is_star = false;
	for (int i = 0; i < n; i++) {
		if (c[i].is_star) {
			*is_star = true;
			continue;
		}
		if (k >= max)
			return -1;
		out[k].uri = c[i].na.uri_text;
		out[k].expires = c[i].expires;
		out[k].q = c[i].q;
		out[k].instance = c[i].instance;
		out[k].reg_id = c[i].reg_id;
		k++;
	}
	/* "*" mixed with other contacts is an error the caller reports. */
	return k;
}
