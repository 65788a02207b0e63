/*
 * proxy_cseq: the caller's CSeq after core answered a carrier's challenge
 * (RFC 3261 §8.1.3.5, §22.2). The answer is a new request with the next
 * CSeq, so from then on the callee counts the caller's CSeq a delta ahead:
 * what the caller sends in the dialog gets the delta added (its CSeq, and
 * the RAck of a PRACK, RFC 3262 §7.2), the responses coming back get it
 * taken off. A confirmed dialog keeps its delta; before the 2xx (a PRACK
 * or UPDATE in the early dialog) the INVITE's context holds it, found by
 * the Call-ID and the caller's From tag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "proxy_int.h"
#include "sip_edit.h"
#include "tx.h"

static uint64_t
early_hash(struct slice call_id)
{
	return hash_bytes(call_id.p, call_id.len);
}

void
px_early_cseq_track(struct px_ctx *x)
{
	struct arena a;
	struct sip_msg m;
	struct sip_err err;
	struct slice cid;

	if (x->early_key != NULL || x->stx == NULL)
		return;
	struct slice r = tx_request(x->stx);
	arena_init(&a, 4096, 64 * 1024);
	const struct sip_nameaddr *from = NULL;
	if (r.len > 0 && sip_msg_parse(&m, r.p, r.len, &a, &err) == 0 &&
	    sip_msg_call_id(&m, &cid, &err) == 0)
		from = sip_msg_from(&m, &err);
	if (from != NULL) {
		char *k = malloc((size_t)cid.len + from->tag.len + 2);
		if (k != NULL) {
			memcpy(k, cid.p, cid.len);
			k[cid.len] = '\0';
			memcpy(k + cid.len + 1, from->tag.p, from->tag.len);
			k[cid.len + 1 + from->tag.len] = '\0';
			x->early_key = k;
			x->early_cid_len = cid.len;
			htable_insert(px_early_table(x->c), &x->early_node,
			    early_hash(cid));
		}
	}
	arena_free(&a);
}

void
px_early_cseq_drop(struct px_ctx *x)
{
	if (x->early_key == NULL)
		return;
	htable_remove(px_early_table(x->c), &x->early_node);
	free(x->early_key);
	x->early_key = NULL;
}

/* The delta of the INVITE in progress whose caller is (call_id, tag). */
static uint32_t
early_delta(struct core *c, struct slice call_id, struct slice tag)
{
	uint64_t hv = early_hash(call_id);

	for (struct hnode *n = htable_first(px_early_table(c), hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct px_ctx *x = container_of(n, struct px_ctx, early_node);
		const char *t = x->early_key + x->early_cid_len + 1;
		if (x->early_cid_len == call_id.len &&
		    memcmp(x->early_key, call_id.p, call_id.len) == 0 &&
		    strlen(t) == tag.len && memcmp(t, tag.p, tag.len) == 0)
			return x->cseq_delta;
	}
	return 0;
}

static const char *
skip_lws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* RAck: response-num LWS CSeq-num LWS Method (RFC 3262 §7.2); the CSeq
 * number moves. A RAck that does not parse is left as it is: the callee
 * will refuse the PRACK either way. */
static bool
rack_edit(struct sip_edit *e, struct sip_msg *m, int64_t delta, struct arena *a)
{
	int idx = m->first[SIP_HDR_RACK];

	if (idx < 0)
		return true;
	struct slice v = m->hdrs[idx].value;
	const char *p = v.p, *end = v.p + v.len;
	const char *rs = skip_lws(p, end), *q = rs;
	while (q < end && *q >= '0' && *q <= '9')
		q++;
	const char *rs_end = q;
	const char *cs = skip_lws(q, end);
	if (rs_end == rs || cs == rs_end)
		return true;
	int64_t n = 0;
	for (q = cs; q < end && *q >= '0' && *q <= '9' && n < 0x80000000LL; q++)
		n = n * 10 + (*q - '0');
	const char *method = skip_lws(q, end);
	if (q == cs || method == q || method == end)
		return true;
	n += delta;
	if (n < 0 || n >= 0x80000000LL)
		return false;
	size_t cap = (size_t)(rs_end - rs) + (size_t)(end - method) + 16;
	char *out = arena_alloc(a, cap);
	if (out == NULL)
		return false;
	int len = snprintf(out, cap, "%.*s %lld %.*s", (int)(rs_end - rs), rs,
	    (long long)n, (int)(end - method), method);
	return len > 0 && (size_t)len < cap &&
	    sip_edit_replace(
	        e, (uint16_t)idx, slice_make(out, (uint32_t)len)) == 0;
}

bool
px_cseq_edit(
    struct sip_edit *e, struct sip_msg *m, int64_t delta, struct arena *a)
{
	struct sip_err err;
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	int idx = m->first[SIP_HDR_CSEQ];

	if (delta == 0)
		return true;
	if (cs == NULL || idx < 0)
		return false;
	if (m->is_request && m->method == SIP_M_PRACK &&
	    !rack_edit(e, m, delta, a))
		return false;
	int64_t n = (int64_t)cs->num + delta;
	/* RFC 3261 §8.1.1.5: below 2**31. */
	if (n < 0 || n >= 0x80000000LL)
		return false;
	char *v = arena_alloc(a, 48 + cs->method_name.len);
	if (v == NULL)
		return false;
	int len = snprintf(v, 48 + cs->method_name.len, "%lld %.*s",
	    (long long)n, (int)cs->method_name.len, cs->method_name.p);
	return len > 0 &&
	    sip_edit_replace(e, (uint16_t)idx, slice_make(v, (uint32_t)len)) ==
	    0;
}

struct slice
px_cseq_shift(struct slice msg, int64_t delta, struct arena *a)
{
	struct sip_msg m;
	struct sip_err err;
	struct sip_edit e;

	if (delta == 0 || msg.len == 0)
		return msg;
	if (sip_msg_parse(&m, msg.p, msg.len, a, &err) < 0)
		return msg;
	sip_edit_init(&e, &m, a);
	if (!px_cseq_edit(&e, &m, delta, a))
		return msg;
	struct slice out = sip_edit_render(&e);
	return out.len > 0 ? out : msg;
}

uint32_t
px_dialog_cseq_delta(struct core *c, struct sip_msg *m)
{
	struct sip_err err;
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	struct slice cid;

	if (from == NULL || to == NULL || sip_msg_call_id(m, &cid, &err) < 0)
		return 0;
	struct dialog *d = dlg_find(c->dlg, cid, from->tag, to->tag);
	if (d == NULL)
		return early_delta(c, cid, from->tag);
	/* Only the caller's requests (and their responses: same From) are
	 * in the CSeq space we moved. */
	if (!dlg_is_caller(d, from->tag))
		return 0;
	return d->callee_cseq_delta;
}
