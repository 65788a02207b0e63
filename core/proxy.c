/*
 * The stateful proxy. Why one context per proxied server transaction
 * holding every branch: best-response selection (§16.7), CANCEL (§16.10)
 * and serial forking all need the whole picture. The request as it will
 * go on (Route popped, Max-Forwards decremented, credentials removed) is
 * kept once as `base`; each branch re-parses it and adds its Request-URI,
 * Path routes, Record-Route and Via.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialog_store.h"
#include "log.h"
#include "proxy.h"
#include "proxy_int.h"
#include "reg.h"
#include "sip_edit.h"
#include "wbuf.h"

/* Scratch arenas kept for reuse, and their chunk size: enough for one
 * level of nesting per handler (a response's branch runs make_dialog
 * and send_cancel inside it). */
#define PX_SPARE_MAX 8
#define PX_SCRATCH_CHUNK 16384
#define PX_SCRATCH_LIMIT (512 * 1024)

struct proxy {
	struct px_ctx *head;
	size_t n;
	struct dlg_store *ds;
	/* Arenas reused (reset) from one message or response to the next,
	 * so neither costs a malloc of its first chunk; a nested use while
	 * one is busy takes a fresh arena instead. */
	struct arena msg, resp;
	bool msg_busy, resp_busy;
	/* Reset scratch arenas for the handlers' own work (px_scratch). */
	struct arena spare[PX_SPARE_MAX];
	unsigned nspare;
	struct htable early; /* proxy_cseq.c */
};

static struct log_rl bad_rl = LOG_RL_INIT(10000, 10);

struct proxy *
proxy_new(struct core *c)
{
	struct proxy *p = calloc(1, sizeof(struct proxy));

	if (p == NULL)
		return NULL;
	if (htable_init(&p->early, 16) != 0) {
		free(p);
		return NULL;
	}
	arena_init(&p->msg, 32768, 1024 * 1024);
	arena_init(&p->resp, 8192, 256 * 1024);
	if (c->dlg != NULL && c->conf.state_dir != NULL)
		p->ds = dlg_store_start(
		    c->loop, c->dlg, c->conf.state_dir, core_now_s(c));
	return p;
}

static void ctx_free(struct px_ctx *x);

void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	while (p->head != NULL)
		ctx_free(p->head);
	dlg_store_close(p->ds);
	htable_free(&p->early);
	arena_free(&p->msg);
	arena_free(&p->resp);
	while (p->nspare > 0)
		arena_free(&p->spare[--p->nspare]);
	free(p);
}

size_t
proxy_pending(const struct proxy *p)
{
	return p->n;
}

struct htable *
px_early_table(struct core *c)
{
	return &c->proxy->early;
}

struct px_ctx *
px_first(struct core *c)
{
	return c->proxy->head;
}

/* ---- helpers ----------------------------------------------------------- */

/* The proxy's reusable arena (shared) unless it is busy or there is no
 * proxy yet, else local, freshly set up; given back with arena_put(). */
static struct arena *
arena_take(struct arena *shared, bool *busy, struct arena *local, size_t chunk,
    size_t limit)
{
	if (shared != NULL && !*busy) {
		*busy = true;
		return shared;
	}
	arena_init(local, chunk, limit);
	return local;
}

static void
arena_put(struct arena *a, struct arena *shared, bool *busy)
{
	if (a == shared) {
		arena_reset(a);
		*busy = false;
	} else {
		arena_free(a);
	}
}

/* A scratch arena for one handler, from the spares when there are any.
 * A fresh arena per use cost a malloc and a free of its 16 KB chunk each
 * time (a dozen per call), and glibc trimmed and regrew its heap under
 * them: their page faults were most of that cost. */
static void
px_scratch(struct core *c, struct arena *a)
{
	struct proxy *p = c->proxy;

	if (p != NULL && p->nspare > 0) {
		*a = p->spare[--p->nspare];
		return;
	}
	arena_init(a, PX_SCRATCH_CHUNK, PX_SCRATCH_LIMIT);
}

/* Gives a scratch arena back: reset (one chunk kept) to the spares, or
 * freed when they are full. */
static void
px_scratch_done(struct core *c, struct arena *a)
{
	struct proxy *p = c->proxy;

	if (p != NULL && p->nspare < PX_SPARE_MAX) {
		arena_reset(a);
		p->spare[p->nspare++] = *a;
		return;
	}
	arena_free(a);
}

static char *
memdup0(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		if (n)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

void
px_send_response(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *req, int code, const char *reason, const char *extra)
{
	struct arena local;
	char tag[17];
	struct proxy *p = c->proxy;
	struct arena *shared = p != NULL ? &p->resp : NULL;
	bool dummy = false, *busy = p != NULL ? &p->resp_busy : &dummy;
	struct arena *a = arena_take(shared, busy, &local, 8192, 256 * 1024);

	sip_random_token(tag, 16);
	tag[16] = '\0';
	struct slice r = sip_build_response(req, code, reason,
	    code > 100 ? slice_cstr(tag) : SLICE_NULL,
	    extra ? slice_cstr(extra) : SLICE_NULL, a);
	if (r.len == 0) {
		log_ratelimited(&bad_rl, LOG_LVL_WARN,
		    "proxy: cannot build a %d response", code);
	} else if (stx != NULL) {
		tx_server_respond(stx, code, r.p, r.len);
	} else {
		core_send_sip(c, flow, r.p, r.len);
	}
	arena_put(a, shared, busy);
}

bool
px_flow_from_uri(struct core *c, const struct sip_uri *u, struct ipc_flow *f)
{
	memset(f, 0, sizeof(*f));
	char host[64];
	if (!slice_copy_cstr(u->host, host, sizeof(host)))
		return false;
	uint16_t port = sip_uri_port_or_default(u);
	if (!ipc_addr_parse(&f->remote, host, port))
		return false;
	f->transport = IPC_TP_UDP;
	if (slice_eq_cstr_nocase(u->transport, "tcp"))
		f->transport = IPC_TP_TCP;
	else if (slice_eq_cstr_nocase(u->transport, "tls") ||
	    u->scheme == SIP_URI_SIPS)
		f->transport = IPC_TP_TLS;
	f->listener = route_listener_for(c->route, f->transport);
	f->role = IPC_FLOW_ROLE_PUBLIC;
	return true;
}

/* Where a response goes after we strip our Via: the next Via's received /
 * rport (RFC 3581) or sent-by. */
static bool
flow_from_via(struct core *c, const struct sip_via *v, struct ipc_flow *f)
{
	char host[64];
	struct slice h = v->received.len > 0 ? v->received : v->host;

	memset(f, 0, sizeof(*f));
	if (!slice_copy_cstr(h, host, sizeof(host)))
		return false;
	uint16_t port = v->has_rport && v->rport != 0 ? (uint16_t)v->rport
	    : v->port != 0                            ? v->port
	                                              : 5060;
	if (!ipc_addr_parse(&f->remote, host, port))
		return false;
	f->transport = slice_eq_cstr_nocase(v->transport, "TCP") ? IPC_TP_TCP
	    : slice_eq_cstr_nocase(v->transport, "TLS")          ? IPC_TP_TLS
	                                                         : IPC_TP_UDP;
	f->listener = route_listener_for(c->route, f->transport);
	f->role = IPC_FLOW_ROLE_PUBLIC;
	return true;
}

/* The response without our top Via; empty slice if it is not ours. */
static struct slice
strip_our_via(struct sip_msg *m, struct arena *a)
{
	struct sip_err err;
	const struct sip_via *v;
	int n = sip_msg_vias(m, &v, &err);

	if (n < 2 || !slice_has_prefix_nocase(v[0].branch, BRANCH_PREFIX))
		return SLICE_NULL;
	struct sip_edit e;
	sip_edit_init(&e, m, a);
	if (v[1].hdr_index == v[0].hdr_index) {
		/* Our Via shares a line with the next one: keep the rest. */
		const struct sip_hdr *h = &m->hdrs[v[0].hdr_index];
		const char *end = h->value.p + h->value.len;
		sip_edit_replace(&e, v[0].hdr_index,
		    slice_make(v[1].raw.p, (uint32_t)(end - v[1].raw.p)));
	} else {
		sip_edit_remove(&e, v[0].hdr_index);
	}
	return sip_edit_render(&e);
}

/* Appends s to buf at *off, cut at cap - 1 bytes as snprintf would. */
static void
lh_put(char *buf, size_t cap, size_t *off, const char *p, size_t n)
{
	if (n == 0 || *off >= cap - 1)
		return;
	if (n > cap - 1 - *off)
		n = cap - 1 - *off;
	memcpy(buf + *off, p, n);
	*off += n;
}

/* Direct writes, not snprintf: every request takes this path, and the
 * bytes hashed (hence the branches of forwarded requests) are the same
 * as the "%.*s|%.*s|%.*s|%u" they replace. */
static void
loop_hash(struct sip_msg *m, char out[17])
{
	static const char hx[] = "0123456789abcdef";
	struct sip_err err;
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	struct slice cid = SLICE_NULL;
	char buf[1024], num[12];
	struct wbuf nw = {num, 0, 0};
	size_t off = 0;

	sip_msg_call_id(m, &cid, &err);
	lh_put(buf, sizeof(buf), &off, m->ruri_text.p, m->ruri_text.len);
	lh_put(buf, sizeof(buf), &off, "|", 1);
	if (from != NULL)
		lh_put(buf, sizeof(buf), &off, from->tag.p, from->tag.len);
	lh_put(buf, sizeof(buf), &off, "|", 1);
	lh_put(buf, sizeof(buf), &off, cid.p, cid.len);
	lh_put(buf, sizeof(buf), &off, "|", 1);
	put_u32(&nw, cs ? cs->num : 0);
	lh_put(buf, sizeof(buf), &off, num, nw.n);
	uint64_t h = hash_bytes(buf, off);
	for (int i = 15; i >= 0; i--, h >>= 4)
		out[i] = hx[h & 15];
	out[16] = '\0';
}

/* RFC 5393 §4.2 style: a Via of ours whose branch carries the same hash
 * means this very request came back. */
static bool
is_loop(struct core *c, struct sip_msg *m, const char *hash)
{
	struct sip_err err;
	const struct sip_via *v;
	int n = sip_msg_vias(m, &v, &err);

	for (int i = 0; i < n; i++) {
		if (!slice_has_prefix_nocase(v[i].branch, BRANCH_PREFIX) ||
		    v[i].branch.len < sizeof(BRANCH_PREFIX) - 1 + 16)
			continue;
		if (!route_is_me(c->route, v[i].host, v[i].port))
			continue;
		if (memcmp(v[i].branch.p + sizeof(BRANCH_PREFIX) - 1, hash,
		        16) == 0)
			return true;
	}
	return false;
}

void
px_make_branch(const char *loophash, char *out, size_t cap)
{
	char rnd[11];

	sip_random_token(rnd, 10);
	rnd[10] = '\0';
	snprintf(out, cap, "%s%s.%s", BRANCH_PREFIX, loophash, rnd);
}

/* ---- contexts ---------------------------------------------------------- */

static void
stx_freed(struct tx *t, void *arg)
{
	struct px_ctx *x = arg;

	(void)t;
	x->stx = NULL;
}

static void branch_tx_freed(struct tx *t, void *arg);

static struct px_ctx *
ctx_new(struct core *c, struct tx *stx, struct sip_msg *m,
    const struct ipc_flow *flow)
{
	struct px_ctx *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->c = c;
	x->stx = stx;
	x->method = m->method;
	x->in_flow = *flow;
	x->in_edge = px_edge_now(c);
	x->start_s = core_now_s(c);
	tx_set_user(stx, x, stx_freed);
	x->next = c->proxy->head;
	if (x->next)
		x->next->prev = x;
	c->proxy->head = x;
	c->proxy->n++;
	return x;
}

static void
ctx_free(struct px_ctx *x)
{
	struct proxy *p = x->c->proxy;

	if (x->stx != NULL)
		tx_set_user(x->stx, NULL, NULL);
	if (x->acct.is_open) {
		int code = x->final_code ? x->final_code : 500;
		char reason[32];
		snprintf(reason, sizeof(reason), "%s",
		    code == 487                     ? "cancel"
		        : code >= 200 && code < 300 ? "answered"
		        : x->final_code == 0        ? "aborted"
		                                    : "failed");
		px_acct_end(x->c, &x->acct, SLICE_NULL, code, reason);
	}
	for (int i = 0; i < x->nbranches; i++) {
		px_trunk_branch_stop(x, x->br[i]);
		if (x->br[i]->tx != NULL)
			tx_detach(x->br[i]->tx);
		free(x->br[i]->resp);
		free(x->br[i]);
	}
	for (int i = 0; i < x->ntargets; i++) {
		free(x->targets[i].uri);
		free(x->targets[i].path);
		free(x->targets[i].from_user);
		free(x->targets[i].extra);
	}
	free(x->targets);
	free(x->base);
	px_early_cseq_drop(x);
	if (x->prev)
		x->prev->next = x->next;
	else
		p->head = x->next;
	if (x->next)
		x->next->prev = x->prev;
	p->n--;
	free(x);
}

static int
pending_branches(const struct px_ctx *x)
{
	int n = 0;

	for (int i = 0; i < x->nbranches; i++)
		if (x->br[i]->code == 0)
			n++;
	return n;
}

/* Frees the context once it has answered and no branch can answer. */
static void
ctx_maybe_done(struct px_ctx *x)
{
	if (x->is_final_sent && pending_branches(x) == 0)
		ctx_free(x);
}

/* ---- CANCEL toward a branch -------------------------------------------- */

static void
send_cancel(struct px_branch *b)
{
	struct core *c = b->ctx->c;
	struct arena a;
	struct sip_msg req;
	struct sip_err err;

	if (b->tx == NULL || b->is_cancelled)
		return;
	b->is_cancelled = true;
	struct slice r = tx_request(b->tx);
	px_scratch(c, &a);
	if (sip_msg_parse(&req, r.p, r.len, &a, &err) < 0)
		goto out;
	const struct sip_via *v = sip_msg_top_via(&req, &err);
	const struct sip_hdr *from = sip_msg_hdr(&req, SIP_HDR_FROM);
	const struct sip_hdr *to = sip_msg_hdr(&req, SIP_HDR_TO);
	const struct sip_cseq *cs = sip_msg_cseq(&req, &err);
	struct slice cid;
	if (v == NULL || from == NULL || to == NULL || cs == NULL ||
	    sip_msg_call_id(&req, &cid, &err) < 0)
		goto out;
	size_t cap = 2048 + req.len;
	char *buf = arena_alloc(&a, cap);
	if (buf == NULL)
		goto out;
	int n = snprintf(buf, cap,
	    "CANCEL %.*s SIP/2.0\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s\r\n"
	    "Call-ID: %.*s\r\nCSeq: %u CANCEL\r\nMax-Forwards: 70\r\n",
	    (int)req.ruri_text.len, req.ruri_text.p, (int)v->raw.len, v->raw.p,
	    (int)from->value.len, from->value.p, (int)to->value.len,
	    to->value.p, (int)cid.len, cid.p, cs->num);
	size_t off = (size_t)n;
	for (int i = req.first[SIP_HDR_ROUTE]; i >= 0 && off < cap;
	     i = sip_msg_hdr_next(&req, i)) {
		n = snprintf(buf + off, cap - off, "Route: %.*s\r\n",
		    (int)req.hdrs[i].value.len, req.hdrs[i].value.p);
		off += (size_t)n;
	}
	if (off < cap)
		off += (size_t)snprintf(
		    buf + off, cap - off, "Content-Length: 0\r\n\r\n");
	if (off >= cap)
		goto out;
	int old = px_edge_enter(c, b->edge);
	tx_client_new(c->tx, &b->flow, SIP_M_CANCEL, b->branch, buf,
	    (uint32_t)off, NULL, NULL);
	px_edge_leave(c, old);
out:
	px_scratch_done(c, &a);
}

static void
cancel_pending(struct px_ctx *x, struct px_branch *except)
{
	for (int i = 0; i < x->nbranches; i++) {
		struct px_branch *b = x->br[i];
		if (b == except || b->code != 0 || b->is_cancelled)
			continue;
		if (b->has_provisional)
			send_cancel(b);
		else
			b->cancel_pending = true;
	}
}

/* ---- best response ----------------------------------------------------- */

static int
class_rank(int code)
{
	/* §16.7 step 6: 6xx first, then the lowest class; 5xx last. */
	if (code >= 600)
		return 0;
	if (code >= 300 && code < 400)
		return 1;
	if (code >= 400 && code < 500)
		return 2;
	return 3;
}

static bool
preferred_4xx(int code)
{
	return code == 401 || code == 407 || code == 415 || code == 420 ||
	    code == 484;
}

static struct px_branch *
best_branch(struct px_ctx *x)
{
	struct px_branch *best = NULL;

	for (int i = 0; i < x->nbranches; i++) {
		struct px_branch *b = x->br[i];
		if (b->code < 300 || b->is_superseded || b->is_redirected)
			continue;
		if (best == NULL ||
		    class_rank(b->code) < class_rank(best->code) ||
		    (class_rank(b->code) == class_rank(best->code) &&
		        preferred_4xx(b->code) && !preferred_4xx(best->code)))
			best = b;
	}
	/* §16.7 step 4: a redirect we recursed on speaks only when its
	 * Contacts gave no final answer of their own. */
	for (int i = 0; best == NULL && i < x->nbranches; i++)
		if (x->br[i]->is_redirected && x->br[i]->code >= 300)
			best = x->br[i];
	return best;
}

static void start_next_group(struct px_ctx *x);
static void ctx_maybe_done(struct px_ctx *x);

static void
send_final_from_stored(struct px_ctx *x, int code, const char *reason)
{
	struct arena a;
	struct sip_msg req;
	struct sip_err err;

	if (x->stx == NULL)
		return;
	struct slice r = tx_request(x->stx);
	px_scratch(x->c, &a);
	if (sip_msg_parse(&req, r.p, r.len, &a, &err) == 0)
		px_send_response(
		    x->c, x->stx, &x->in_flow, &req, code, reason, NULL);
	px_scratch_done(x->c, &a);
}

/* All branches of the current group ended without a 2xx or 6xx. */
static void
group_done(struct px_ctx *x)
{
	if (x->is_final_sent)
		return;
	if (!x->is_cancelled && x->next_target < x->ntargets) {
		struct px_branch *b = best_branch(x);
		/* Toward trunks, only a peer's failure moves on (408, 5xx);
		 * a 404 or 486 is the callee's answer. */
		bool go_on = b == NULL ||
		    (x->is_trunk_call ? b->code == 408 ||
		                (b->code >= 500 && b->code < 600)
		                      : b->code < 600);
		if (go_on) {
			if (x->is_trunk_call)
				x->c->st.trunk_failovers++;
			start_next_group(x);
			if (pending_branches(x) > 0)
				return;
		}
	}
	x->is_final_sent = true;
	if (x->is_cancelled) {
		x->final_code = 487;
		send_final_from_stored(x, 487, "Request Terminated");
		return;
	}
	struct px_branch *b = best_branch(x);
	x->final_code = b ? b->code : 408;
	if (b == NULL || b->resp == NULL) {
		send_final_from_stored(
		    x, b ? b->code : 408, b ? NULL : "Request Timeout");
		return;
	}
	int code = b->code;
	if (code == 503) {
		x->final_code = 500;
		/* §16.7 step 6: a 503 is not passed on (it would make the
		 * caller think we are overloaded). */
		send_final_from_stored(x, 500, "Server Internal Error");
		return;
	}
	if (x->stx != NULL)
		tx_server_respond(x->stx, code, b->resp, b->resp_len);
}

/* The caller's TCP/TLS connection went with its edge: nobody is left to
 * answer (another edge would take its connection id for another UA's), so
 * the server transaction goes and the branches are cancelled. May free x. */
void
px_caller_gone(struct px_ctx *x)
{
	if (x->stx != NULL) {
		tx_set_user(x->stx, NULL, NULL);
		tx_destroy(x->stx);
		x->stx = NULL;
	}
	x->in_flow.conn_id = 0; /* a late 2xx goes nowhere, not astray */
	if (!x->is_final_sent) {
		x->is_cancelled = true;
		cancel_pending(x, NULL);
		if (pending_branches(x) == 0)
			group_done(x);
	}
	ctx_maybe_done(x);
}

/* ---- branches ---------------------------------------------------------- */

static void
make_dialog(struct px_ctx *x, struct px_branch *b, struct sip_msg *resp)
{
	struct core *c = x->c;
	struct arena a;
	struct sip_msg req;
	struct sip_err err;
	struct slice s[DLG_S__COUNT];

	if (x->stx == NULL)
		return;
	struct slice r = tx_request(x->stx);
	px_scratch(c, &a);
	if (sip_msg_parse(&req, r.p, r.len, &a, &err) < 0)
		goto out;
	const struct sip_nameaddr *from = sip_msg_from(&req, &err);
	const struct sip_nameaddr *to = sip_msg_to(resp, &err);
	const struct sip_hdr *fh = sip_msg_hdr(&req, SIP_HDR_FROM);
	const struct sip_hdr *th = sip_msg_hdr(resp, SIP_HDR_TO);
	const struct sip_cseq *cs = sip_msg_cseq(&req, &err);
	const struct sip_contact *cc = NULL, *ec = NULL;
	struct slice cid;
	if (from == NULL || to == NULL || fh == NULL || th == NULL ||
	    cs == NULL || sip_msg_call_id(&req, &cid, &err) < 0)
		goto out;
	if (dlg_find(c->dlg, cid, from->tag, to->tag) != NULL)
		goto out;
	int ncc = sip_msg_contacts(&req, &cc, &err);
	int nec = sip_msg_contacts(resp, &ec, &err);
	s[DLG_S_CALL_ID] = cid;
	s[DLG_S_CALLER_TAG] = from->tag;
	s[DLG_S_CALLEE_TAG] = to->tag;
	s[DLG_S_FROM] = fh->value;
	s[DLG_S_TO] = th->value;
	s[DLG_S_CALLER_CONTACT] = ncc > 0 ? cc[0].na.uri_text : SLICE_NULL;
	s[DLG_S_CALLEE_CONTACT] = nec > 0 ? ec[0].na.uri_text : SLICE_NULL;
	const struct sip_nameaddr *rr;
	int nrr = sip_msg_record_routes(resp, &rr, &err);
	/* On the stack: in the arena it took a second 8 KB chunk per call. */
	char rs[8192];
	size_t rl = 0;
	for (int i = 0; i < nrr; i++) {
		if (rl + rr[i].raw.len + 2 > 8192)
			break;
		if (rl > 0)
			rs[rl++] = '\n';
		for (uint32_t k = 0; k < rr[i].raw.len; k++) {
			char ch = rr[i].raw.p[k];
			rs[rl++] = ch == '\r' || ch == '\n' ? ' ' : ch;
		}
	}
	s[DLG_S_ROUTE_SET] = slice_make(rs, (uint32_t)rl);
	s[DLG_S_CALLER_USER] = slice_cstr(x->caller_user);
	struct dialog *d = dlg_create(c->dlg, s, &x->in_flow, &b->flow, cs->num,
	    x->start_s, core_now_s(c));
	if (d != NULL) {
		d->caller_edge = x->in_edge;
		d->callee_edge = b->edge;
		d->callee_cseq_delta = b->cseq_delta;
		c->st.calls_answered++;
		/* The call's slots and CDR now end with the dialog. */
		d->acct = x->acct;
		d->acct.answer_ms = core_now_ms(c);
		if (b->target >= 0 && b->target < x->ntargets)
			px_acct_move_out(
			    c, &d->acct, x->targets[b->target].trunk);
		x->acct.is_counted = false;
		x->acct.is_open = false;
	}
out:
	px_scratch_done(c, &a);
}

static void
branch_run(struct tx *t, int code, struct sip_msg *resp, void *arg)
{
	struct px_branch *b = arg;
	struct px_ctx *x = b->ctx;
	struct core *c = x->c;
	struct arena a;

	(void)t;
	if (code == TX_EV_TIMER_C) {
		send_cancel(b);
		return;
	}
	if (code > 0) {
		b->got_response = true;
		px_trunk_branch_stop(x, b);
	}
	if (code < 0) { /* timer B/F: the branch answers 408 itself */
		b->code = 408;
		b->tx = NULL;
		tx_detach(t);
		if (pending_branches(x) == 0)
			group_done(x);
		ctx_maybe_done(x);
		return;
	}
	if (code == 100)
		return;
	px_scratch(c, &a);
	struct slice out = strip_our_via(resp, &a);
	out = px_cseq_shift(out, -(int64_t)b->cseq_delta, &a);
	if (out.len == 0 && code < 300) {
		px_scratch_done(c, &a);
		return;
	}
	if (code < 200) {
		b->has_provisional = true;
		b->prov_code = code;
		if (b->cancel_pending || x->is_cancelled)
			send_cancel(b);
		if (!x->is_final_sent && x->stx != NULL)
			tx_server_respond(x->stx, code, out.p, out.len);
		px_scratch_done(c, &a);
		return;
	}
	if (code < 300) {
		bool first = b->code == 0;
		b->code = code;
		if (x->stx != NULL && !x->is_final_sent)
			tx_server_respond(x->stx, code, out.p, out.len);
		else /* further 2xx (other branches, retransmissions) */
			core_send_sip(c, &x->in_flow, out.p, out.len);
		x->is_final_sent = true;
		if (first)
			x->final_code = code;
		if (first && x->method == SIP_M_INVITE && !x->is_in_dialog)
			make_dialog(x, b, resp);
		if (first)
			cancel_pending(x, b);
		px_scratch_done(c, &a);
		/* 2xx retransmissions after this are forwarded statelessly
		 * (handle_response), so the context need not wait for them. */
		ctx_maybe_done(x);
		return;
	}
	/* A carrier's challenge: answered once on a new branch. */
	if ((code == 401 || code == 407) && !b->is_auth_retry &&
	    !x->is_cancelled && px_trunk_auth_retry(x, b, resp)) {
		b->code = code;
		b->is_superseded = true;
		b->tx = NULL;
		tx_detach(t);
		px_scratch_done(c, &a);
		ctx_maybe_done(x);
		return;
	}
	/* A final whose Via stack lost the caller's entries (a broken UAS)
	 * still ends the branch; its code is answered from our copy. */
	b->code = code;
	free(b->resp);
	b->resp = out.len > 0 ? memdup0(out.p, out.len) : NULL;
	b->resp_len = b->resp ? out.len : 0;
	px_scratch_done(c, &a);
	if (code >= 300 && code < 400) {
		bool covered = false;
		if (px_recurse(x, b, resp, &covered) > 0)
			start_next_group(x);
		b->is_redirected = covered;
	}
	if (code >= 600 && !x->is_final_sent) {
		cancel_pending(x, b);
		x->is_final_sent = true;
		x->final_code = code;
		if (x->stx != NULL && b->resp != NULL)
			tx_server_respond(x->stx, code, b->resp, b->resp_len);
		else
			send_final_from_stored(x, code, NULL);
	} else if (pending_branches(x) == 0) {
		group_done(x);
	}
	ctx_maybe_done(x);
}

/*
 * What a branch hears is answered to the caller through the caller's edge
 * (new branches and CANCELs choose their own). A response came through
 * the edge holding the callee's flow: the branch remembers it. x may be
 * freed inside, so nothing of it is used after.
 */
static void
branch_cb(struct tx *t, int code, struct sip_msg *resp, void *arg)
{
	struct px_branch *b = arg;
	struct core *c = b->ctx->c;

	if (code > 0 && px_edge_now(c) != 0)
		b->edge = px_edge_now(c);
	int old = px_edge_enter(c, b->ctx->in_edge);
	branch_run(t, code, resp, arg);
	px_edge_leave(c, old);
}

static void
branch_tx_freed(struct tx *t, void *arg)
{
	struct px_branch *b = arg;
	struct px_ctx *x = b->ctx;
	struct core *c = x->c;
	int old = px_edge_enter(c, x->in_edge);

	(void)t;
	b->tx = NULL;
	px_trunk_branch_stop(x, b);
	if (b->code == 0) {
		b->code = 408;
		if (pending_branches(x) == 0)
			group_done(x);
	}
	ctx_maybe_done(x);
	px_edge_leave(c, old);
}

bool
px_start_branch(struct px_ctx *x, int ti, const char *uri, const char *path,
    const struct ipc_flow *flow, const char *extra)
{
	struct core *c = x->c;
	struct arena a;
	struct sip_msg m;
	struct sip_err err;
	struct sip_edit e;
	char via[256], rr[256], rr2[256];

	if (x->nbranches >= PX_MAX_BRANCHES)
		return false;
	struct px_branch *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return false;
	b->ctx = x;
	b->flow = *flow;
	b->target = ti;
	b->edge =
	    ti >= 0 && ti < x->ntargets ? x->targets[ti].edge : x->dst_edge;
	b->cseq_delta = x->cseq_delta;
	const struct px_target *tg =
	    ti >= 0 && ti < x->ntargets ? &x->targets[ti] : NULL;
	px_make_branch(x->loophash, b->branch, sizeof(b->branch));
	px_scratch(c, &a);
	if (sip_msg_parse(&m, x->base, x->base_len, &a, &err) < 0) {
		px_scratch_done(c, &a);
		free(b);
		return false;
	}
	sip_edit_init(&e, &m, &a);
	if (uri != NULL)
		sip_edit_set_ruri(&e, slice_cstr(uri));
	if (path != NULL && path[0] != '\0')
		sip_edit_prepend(&e, "Route", slice_cstr(path));
	if (tg != NULL && (tg->from_user != NULL || tg->is_anonymous) &&
	    !px_rewrite_from(&e, &m, tg, &a)) {
		px_scratch_done(c, &a);
		free(b);
		return false;
	}
	if (tg != NULL && tg->extra != NULL)
		px_append_lines(&e, tg->extra, &a);
	if (extra != NULL)
		px_append_lines(&e, extra, &a);
	if (!px_cseq_edit(&e, &m, b->cseq_delta, &a)) {
		px_scratch_done(c, &a);
		free(b);
		return false;
	}
	if (x->add_rr) {
		route_rr(c->route, x->in_flow.listener, rr, sizeof(rr));
		sip_edit_prepend(&e, "Record-Route", slice_cstr(rr));
		if (flow->listener != x->in_flow.listener) {
			/* RFC 5658: one entry per side when they differ; the
			 * top one faces the next hop. */
			route_rr(c->route, flow->listener, rr2, sizeof(rr2));
			sip_edit_prepend(&e, "Record-Route", slice_cstr(rr2));
		}
	}
	int n = route_via(c->route, flow->listener, via, sizeof(via));
	snprintf(via + n, sizeof(via) - (size_t)n, ";branch=%s", b->branch);
	sip_edit_prepend(&e, "Via", slice_cstr(via));
	struct slice out = sip_edit_render(&e);
	if (out.len == 0) {
		px_scratch_done(c, &a);
		free(b);
		return false;
	}
	x->br[x->nbranches++] = b;
	if (!px_edge_reaches(c, b->edge, flow)) {
		/* Its connection died with its edge: nobody can reach it. */
		px_scratch_done(c, &a);
		b->code = 480;
		return false;
	}
	int old = px_edge_enter(c, b->edge);
	b->tx = tx_client_new(
	    c->tx, flow, x->method, b->branch, out.p, out.len, branch_cb, b);
	px_edge_leave(c, old);
	px_scratch_done(c, &a);
	if (b->tx == NULL) {
		b->code = 500;
		return false;
	}
	tx_set_user(b->tx, b, branch_tx_freed);
	if (tg != NULL && tg->ring_ms != 0)
		tx_set_timer_c(b->tx, tg->ring_ms);
	if (tg != NULL && tg->trunk[0] != '\0')
		px_trunk_branch_started(x, b);
	return true;
}

/* Starts every target of the next q-value group (parallel within the
 * group, serial between groups). */
static void
start_next_group(struct px_ctx *x)
{
	if (x->next_target >= x->ntargets)
		return;
	uint16_t q = x->targets[x->next_target].q;
	while (
	    x->next_target < x->ntargets && x->targets[x->next_target].q == q) {
		int ti = x->next_target++;
		struct px_target *t = &x->targets[ti];
		px_start_branch(x, ti, t->uri, t->path, &t->flow, NULL);
	}
}

static int
target_cmp(const void *a, const void *b)
{
	const struct px_target *x = a, *y = b;

	return (int)y->q - (int)x->q;
}

/* ---- request processing ------------------------------------------------ */

/*
 * The base request: Route entries of ours popped (npop from the top),
 * Max-Forwards decremented, our credentials removed. A strict router's
 * request (§16.4) gets its Request-URI back from the last Route.
 */
static struct slice
make_base(struct core *c, struct sip_msg *m, int npop, bool strict_fix,
    bool drop_proxy_auth, struct arena *a)
{
	struct sip_edit e;
	struct sip_err err;
	const struct sip_nameaddr *routes;
	int nr = sip_msg_routes(m, &routes, &err);

	(void)c;
	sip_edit_init(&e, m, a);
	if (nr < 0)
		nr = 0;
	int last = strict_fix && nr > 0 ? nr - 1 : nr;
	if (strict_fix && nr > 0)
		sip_edit_set_ruri(&e, routes[nr - 1].uri_text);
	if (npop > 0 || strict_fix) {
		/* Rewrite the Route lines with what remains, one per line. */
		sip_edit_remove_all(&e, SIP_HDR_ROUTE);
		int anchor = m->first[SIP_HDR_ROUTE];
		for (int i = npop; i < last && anchor >= 0; i++)
			sip_edit_insert_before(
			    &e, (uint16_t)anchor, "Route", routes[i].raw);
	}
	int mf = sip_msg_max_forwards(m, &err);
	char mfv[16];
	if (mf < 0) {
		sip_edit_append(&e, "Max-Forwards", SLICE_LIT("70"));
	} else {
		snprintf(mfv, sizeof(mfv), "%d", mf > 0 ? mf - 1 : 0);
		sip_edit_replace(&e, (uint16_t)m->first[SIP_HDR_MAX_FORWARDS],
		    slice_cstr(mfv));
	}
	if (drop_proxy_auth)
		sip_edit_remove_all(&e, SIP_HDR_PROXY_AUTHORIZATION);
	return sip_edit_render(&e);
}

/* How many top Route entries name us. */
static int
our_routes(struct core *c, struct sip_msg *m)
{
	struct sip_err err;
	const struct sip_nameaddr *r;
	int n = sip_msg_routes(m, &r, &err), k = 0;

	while (k < n && r[k].uri.user.len == 0 &&
	    route_is_me(c->route, r[k].uri.host, r[k].uri.port))
		k++;
	return k;
}

/* Stateless forwarding of an ACK for a 2xx (end to end) along the dialog. */
static void
forward_ack(struct core *c, struct sip_msg *m, const struct ipc_flow *dst)
{
	struct arena a;
	struct sip_edit e;
	struct sip_err err;
	char via[256], hash[17];

	px_scratch(c, &a);
	loop_hash(m, hash);
	struct slice base = make_base(c, m, our_routes(c, m), false, true, &a);
	struct sip_msg bm;
	if (base.len == 0 || sip_msg_parse(&bm, base.p, base.len, &a, &err) < 0)
		goto out;
	sip_edit_init(&e, &bm, &a);
	px_cseq_edit(&e, &bm, px_dialog_cseq_delta(c, m), &a);
	const struct sip_via *tv = sip_msg_top_via(m, &err);
	/* Stateless: the branch is derived from the incoming one. */
	uint64_t h = tv ? hash_bytes(tv->branch.p, tv->branch.len) : 0;
	int n = route_via(c->route, dst->listener, via, sizeof(via));
	snprintf(via + n, sizeof(via) - (size_t)n, ";branch=%s%s.a%llx",
	    BRANCH_PREFIX, hash, (unsigned long long)h);
	sip_edit_prepend(&e, "Via", slice_cstr(via));
	struct slice out = sip_edit_render(&e);
	if (out.len > 0)
		core_send_sip(c, dst, out.p, out.len);
out:
	px_scratch_done(c, &a);
}

/* Where an in-dialog request goes: the other party's flow. */
static bool
in_dialog_dest(struct core *c, struct sip_msg *m, struct ipc_flow *dst,
    uint8_t *edge, struct dialog **out)
{
	struct sip_err err;
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	struct slice cid;

	*out = NULL;
	*edge = 0;
	if (from == NULL || to == NULL || sip_msg_call_id(m, &cid, &err) < 0)
		return false;
	struct dialog *d = dlg_find(c->dlg, cid, from->tag, to->tag);
	if (d != NULL) {
		bool from_caller = dlg_is_caller(d, from->tag);
		*dst = from_caller ? d->callee_flow : d->caller_flow;
		*edge = from_caller ? d->callee_edge : d->caller_edge;
		/* The sender's flow is where this came from now. */
		uint8_t *own = from_caller ? &d->caller_edge : &d->callee_edge;
		if (px_edge_now(c) != 0)
			*own = px_edge_now(c);
		const struct sip_cseq *cs = sip_msg_cseq(m, &err);
		if (cs != NULL && m->method != SIP_M_ACK &&
		    m->method != SIP_M_CANCEL) {
			uint32_t *mine =
			    from_caller ? &d->caller_cseq : &d->callee_cseq;
			if (cs->num > *mine) {
				*mine = cs->num;
				dlg_touch(c->dlg, d);
			}
		}
		*out = d;
		return true;
	}
	/* Not a dialog we know: a remaining Route, else the Request-URI, if
	 * it names an address. */
	const struct sip_nameaddr *r;
	int nr = sip_msg_routes(m, &r, &err);
	int k = our_routes(c, m);
	const struct sip_uri *next = nr > k ? &r[k].uri : &m->ruri;
	/* Never toward ourselves: that would loop through edge. */
	if (route_is_me(c->route, next->host, next->port))
		return false;
	return px_flow_from_uri(c, next, dst);
}

bool
px_check_require(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, enum sip_hdr_id id, const char *const *ok)
{
	struct sip_tokens tk;
	struct sip_err err;
	char extra[512];
	size_t off = 0;

	if (sip_msg_tokens(m, id, &tk, &err) < 0 || tk.n == 0)
		return true;
	for (uint16_t i = 0; i < tk.n; i++) {
		bool known = false;
		for (int k = 0; ok != NULL && ok[k] != NULL; k++)
			if (slice_eq_cstr_nocase(tk.v[i], ok[k]))
				known = true;
		if (known)
			continue;
		int n = snprintf(extra + off, sizeof(extra) - off, "%s%.*s",
		    off == 0 ? "Unsupported: " : ", ", (int)tk.v[i].len,
		    tk.v[i].p);
		if (n > 0 && (size_t)n < sizeof(extra) - off)
			off += (size_t)n;
	}
	if (off == 0)
		return true;
	snprintf(extra + off, sizeof(extra) - off, "\r\n");
	px_send_response(c, stx, flow, m, 420, "Bad Extension", extra);
	return false;
}

static void
handle_options_here(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m)
{
	px_send_response(c, stx, flow, m, 200, "OK",
	    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, "
	    "UPDATE, INFO, MESSAGE, REFER, NOTIFY, SUBSCRIBE\r\n"
	    "Accept: application/sdp\r\n");
}

/* Contacts of the AoR as targets; returns the count. */
static int
targets_from_loc(struct core *c, struct px_ctx *x, struct slice aor)
{
	struct loc_binding *v[PX_MAX_TARGETS];
	int n = loc_lookup(c->loc, aor, v, PX_MAX_TARGETS);
	int64_t now = core_now_s(c);

	if (n > PX_MAX_TARGETS)
		n = PX_MAX_TARGETS;
	x->ntargets = 0;
	x->targets = n > 0 ? calloc((size_t)n, sizeof(*x->targets)) : NULL;
	if (x->targets == NULL)
		return 0;
	for (int i = 0; i < n; i++) {
		if (v[i]->expires_at <= now)
			continue;
		struct px_target *t = &x->targets[x->ntargets];
		t->uri = strdup(loc_str(v[i], LOC_S_CONTACT));
		t->path = v[i]->str_len[LOC_S_PATH] > 0
		    ? strdup(loc_str(v[i], LOC_S_PATH))
		    : NULL;
		loc_flow_to_ipc(&t->flow, &v[i]->flow);
		t->edge = v[i]->edge;
		t->q = v[i]->q;
		if (t->uri == NULL) {
			free(t->path);
			continue;
		}
		x->ntargets++;
	}
	qsort(
	    x->targets, (size_t)x->ntargets, sizeof(x->targets[0]), target_cmp);
	return x->ntargets;
}

static void
handle_redirect(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, struct slice aor)
{
	char buf[8192];
	int n =
	    reg_format_contacts(c->loc, aor, core_now_s(c), buf, sizeof(buf));

	if (n < 0) {
		px_send_response(
		    c, stx, flow, m, 500, "Too Many Contacts", NULL);
		return;
	}
	if (n == 0) {
		px_send_response(
		    c, stx, flow, m, 480, "Temporarily Unavailable", NULL);
		return;
	}
	c->st.redirects++;
	px_send_response(c, stx, flow, m, 302, "Moved Temporarily", buf);
}

/* A user of ours exists for user@domain? */
static bool
user_exists(struct core *c, const struct sip_uri *u)
{
	struct store_user su;
	char user[STORE_USER_MAX];

	if (u->user.len == 0 ||
	    sip_uri_unescape(u->user, user, sizeof(user)) < 0)
		return false;
	return store_user_get(c->store, slice_cstr(user), u->host, &su) == 1;
}

static void
handle_initial(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, const char *hash, int npop, bool strict_fix)
{
	struct sip_err err;
	struct arena a;
	struct trunk *from_trunk = trunks_for_flow(c->trunks, flow);

	/* Requests for a domain we do not serve: no open relay (a carrier's
	 * request names its own idea of us and is routed by its DID). */
	bool to_contact =
	    from_trunk == NULL && (c->in_flags & IPC_SIPF_RURI_CONTACT) != 0;
	if (from_trunk == NULL && !to_contact &&
	    !route_is_domain(c->route, m->ruri.host) &&
	    !route_is_me(c->route, m->ruri.host, m->ruri.port)) {
		uint32_t code = c->conf.core.proxy.unknown_domain;
		px_send_response(c, stx, flow, m, (int)code,
		    code == 404 ? "Not Found" : "Domain Not Served", NULL);
		return;
	}
	bool authed = false;
	struct store_user who;
	memset(&who, 0, sizeof(who));
	if (from_trunk == NULL ||
	    from_trunk->cf->inbound.auth == PC_CORE_IN_AUTH_DIGEST) {
		int ar = px_authenticate(c, stx, flow, m, false, &authed, &who);
		if (ar <= 0)
			return; /* answered (challenge or refusal) */
	}
	char aor[512] = "";
	if (from_trunk == NULL && !to_contact &&
	    (reg_make_aor(&m->ruri, aor, sizeof(aor)) < 0 ||
	        m->ruri.user.len == 0)) {
		px_send_response(c, stx, flow, m, 404, "Not Found", NULL);
		return;
	}
	if (from_trunk == NULL && m->method == SIP_M_INVITE &&
	    route_is_redirect(c->route, m->ruri.host)) {
		handle_redirect(c, stx, flow, m, slice_cstr(aor));
		return;
	}
	char caller[STORE_USER_MAX + STORE_DOMAIN_MAX] = "";
	if (authed)
		snprintf(caller, sizeof(caller), "%s@%s", who.user, who.domain);
	struct px_ctx *x = ctx_new(c, stx, m, flow);
	if (x == NULL) {
		px_send_response(c, stx, flow, m, 500, "Out Of Memory", NULL);
		return;
	}
	memcpy(x->caller_user, caller, sizeof(caller));
	int rc = px_route(c, x, m, from_trunk, aor, sizeof(aor));
	if (rc == 0 && m->method == SIP_M_INVITE)
		rc = px_admit(c, x, from_trunk, &who, authed);
	if (rc == 404 && from_trunk != NULL)
		c->st.did_not_found++;
	if (rc != 0) {
		x->is_final_sent = true;
		x->final_code = rc;
		px_send_response(c, stx, flow, m, rc,
		    rc == 404       ? "Not Found"
		        : rc == 486 ? "Busy Here - Call Limit Reached"
		        : rc == 503 ? "Service Unavailable - Call Limit Reached"
		                    : "Server Internal Error",
		    rc == 503 ? "Retry-After: 5\r\n" : NULL);
		ctx_free(x);
		return;
	}
	if (x->ntargets == 0 && targets_from_loc(c, x, slice_cstr(aor)) == 0) {
		x->is_final_sent = true;
		x->final_code = 404;
		if (from_trunk != NULL)
			c->st.did_not_found++;
		if (from_trunk == NULL && user_exists(c, &m->ruri)) {
			x->final_code = 480;
			px_send_response(c, stx, flow, m, 480,
			    "Temporarily Unavailable", NULL);
		} else {
			px_send_response(
			    c, stx, flow, m, 404, "Not Found", NULL);
		}
		ctx_free(x);
		return;
	}
	memcpy(x->loophash, hash, 17);
	x->add_rr = m->method == SIP_M_INVITE || m->method == SIP_M_SUBSCRIBE ||
	    m->method == SIP_M_REFER;
	px_scratch(c, &a);
	struct slice base = make_base(c, m, npop, strict_fix, authed, &a);
	x->base = base.len ? memdup0(base.p, base.len) : NULL;
	x->base_len = base.len;
	px_scratch_done(c, &a);
	if (x->base == NULL) {
		x->is_final_sent = true;
		px_send_response(
		    c, stx, flow, m, 500, "Server Internal Error", NULL);
		ctx_free(x);
		return;
	}
	(void)err;
	start_next_group(x);
	if (pending_branches(x) == 0) {
		group_done(x);
		ctx_maybe_done(x);
	}
}

static void
handle_in_dialog(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, const char *hash, int npop, bool strict_fix)
{
	struct ipc_flow dst;
	struct dialog *d;
	struct arena a;
	uint8_t edge;

	if (!in_dialog_dest(c, m, &dst, &edge, &d)) {
		px_send_response(c, stx, flow, m, 481,
		    "Call/Transaction Does Not Exist", NULL);
		return;
	}
	struct px_ctx *x = ctx_new(c, stx, m, flow);
	if (x == NULL) {
		px_send_response(c, stx, flow, m, 500, "Out Of Memory", NULL);
		return;
	}
	x->is_in_dialog = true;
	x->dst_edge = edge;
	x->cseq_delta = px_dialog_cseq_delta(c, m);
	memcpy(x->loophash, hash, 17);
	px_scratch(c, &a);
	struct slice base = make_base(c, m, npop, strict_fix, false, &a);
	x->base = base.len ? memdup0(base.p, base.len) : NULL;
	x->base_len = base.len;
	px_scratch_done(c, &a);
	if (x->base == NULL ||
	    !px_start_branch(x, -1, NULL, NULL, &dst, NULL)) {
		x->is_final_sent = true;
		px_send_response(
		    c, stx, flow, m, 500, "Server Internal Error", NULL);
		ctx_free(x);
		return;
	}
	if (m->method == SIP_M_BYE && d != NULL) {
		struct sip_err err;
		const struct sip_nameaddr *from = sip_msg_from(m, &err);
		bool by_caller = from != NULL && dlg_is_caller(d, from->tag);
		d->state = DLG_TERMINATED;
		d->end_s = core_now_s(c);
		snprintf(d->end_reason, sizeof(d->end_reason), "bye");
		px_acct_end(c, &d->acct, slice_cstr(d->s[DLG_S_CALL_ID]), 200,
		    by_caller ? "bye caller" : "bye callee");
		dlg_remove(c->dlg, d);
	}
}

static void
handle_cancel(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m)
{
	char key[1024];
	struct tx *inv = NULL;

	if (tx_server_key(m, SIP_M_INVITE, key, sizeof(key)) > 0)
		inv = tx_server_find(c->tx, key);
	if (inv == NULL || tx_kind(inv) != TX_SERVER_INVITE) {
		px_send_response(c, stx, flow, m, 481,
		    "Call/Transaction Does Not Exist", NULL);
		return;
	}
	px_send_response(c, stx, flow, m, 200, "OK", NULL);
	struct px_ctx *x = tx_user(inv);
	if (x == NULL || x->is_final_sent)
		return;
	x->is_cancelled = true;
	cancel_pending(x, NULL);
	if (pending_branches(x) == 0) {
		group_done(x);
		ctx_maybe_done(x);
	}
}

/*
 * §16.4 strict-router compatibility: the Request-URI is the last Route
 * entry, which is removed. The rewritten message lives in m's arena.
 */
static struct sip_msg *
strict_rewrite(struct sip_msg *m, const struct sip_nameaddr *routes, int nr)
{
	struct sip_edit e;
	struct sip_err err;
	struct sip_msg *nm = arena_alloc(m->arena, sizeof(*nm));

	if (nm == NULL || nr < 1)
		return NULL;
	sip_edit_init(&e, m, m->arena);
	sip_edit_set_ruri(&e, routes[nr - 1].uri_text);
	sip_edit_remove_all(&e, SIP_HDR_ROUTE);
	int anchor = m->first[SIP_HDR_ROUTE];
	for (int i = 0; i < nr - 1 && anchor >= 0; i++)
		sip_edit_insert_before(
		    &e, (uint16_t)anchor, "Route", routes[i].raw);
	struct slice out = sip_edit_render(&e);
	if (out.len == 0 ||
	    sip_msg_parse(nm, out.p, out.len, m->arena, &err) < 0)
		return NULL;
	return nm;
}

static void
handle_request(struct core *c, const struct ipc_flow *flow, struct sip_msg *m)
{
	struct sip_err err;
	char key[1024];
	char hash[17];

	c->st.sip_in_requests++;
	if (sip_msg_validate(m, &err) < 0) {
		c->st.sip_in_bad++;
		if (m->method != SIP_M_ACK)
			px_send_response(c, NULL, flow, m,
			    err.code == SIP_E_TOO_MANY_HOPS ? 483 : 400,
			    err.phrase, NULL);
		return;
	}
	if (tx_server_key(m, SIP_M_UNKNOWN, key, sizeof(key)) < 0) {
		if (m->method != SIP_M_ACK)
			px_send_response(c, NULL, flow, m, 400,
			    "Bad Request - Transaction Key", NULL);
		return;
	}
	if (m->method == SIP_M_ACK) {
		struct tx *t = tx_server_find(c->tx, key);
		if (t != NULL && tx_server_absorb(t, m)) {
			c->st.retransmissions_absorbed++;
			return;
		}
		struct ipc_flow dst;
		struct dialog *d;
		uint8_t edge;
		loop_hash(m, hash);
		if (!is_loop(c, m, hash) &&
		    in_dialog_dest(c, m, &dst, &edge, &d) &&
		    px_edge_reaches(c, edge, &dst)) {
			int old = px_edge_enter(c, edge);
			forward_ack(c, m, &dst);
			px_edge_leave(c, old);
		}
		return;
	}
	struct tx *t = tx_server_find(c->tx, key);
	if (t != NULL) {
		tx_server_absorb(t, m);
		c->st.retransmissions_absorbed++;
		return;
	}
	t = tx_server_new(c->tx, key, m, flow);
	if (t == NULL) {
		px_send_response(c, NULL, flow, m, 503, "Service Unavailable",
		    "Retry-After: 5\r\n");
		return;
	}
	if (m->method == SIP_M_INVITE) {
		c->st.invites++;
		px_send_response(c, t, flow, m, 100, "Trying", NULL);
	}
	if (m->method == SIP_M_CANCEL) {
		handle_cancel(c, t, flow, m);
		return;
	}
	loop_hash(m, hash);
	bool for_me_no_user = m->ruri.user.len == 0 &&
	    (route_is_me(c->route, m->ruri.host, m->ruri.port) ||
	        route_is_domain(c->route, m->ruri.host));
	int mf = sip_msg_max_forwards(m, &err);
	if (mf == 0 && !(m->method == SIP_M_OPTIONS && for_me_no_user)) {
		px_send_response(c, t, flow, m, 483, "Too Many Hops", NULL);
		return;
	}
	if (is_loop(c, m, hash)) {
		px_send_response(c, t, flow, m, 482, "Loop Detected", NULL);
		return;
	}
	if (!px_check_require(c, t, flow, m, SIP_HDR_PROXY_REQUIRE, NULL))
		return;

	const struct sip_nameaddr *routes;
	int nr = sip_msg_routes(m, &routes, &err);
	bool strict_fix = false;
	/* §16.4: a strict router put our Record-Route URI in the
	 * Request-URI; the real one is the last Route. */
	if (nr > 0 && m->ruri.user.len == 0 && m->ruri.has_lr &&
	    route_is_me(c->route, m->ruri.host, m->ruri.port))
		strict_fix = true;
	if (strict_fix) {
		struct sip_msg *nm = strict_rewrite(m, routes, nr);
		if (nm == NULL) {
			px_send_response(
			    c, t, flow, m, 500, "Server Internal Error", NULL);
			return;
		}
		m = nm;
		strict_fix = false;
		nr = sip_msg_routes(m, &routes, &err);
		for_me_no_user = m->ruri.user.len == 0 &&
		    (route_is_me(c->route, m->ruri.host, m->ruri.port) ||
		        route_is_domain(c->route, m->ruri.host));
	}
	/* After a core restart, a connection's requests tell its edge. */
	if (flow->conn_id != 0 && m->method != SIP_M_REGISTER)
		px_edge_stamp(c, m, flow);
	int npop = our_routes(c, m);
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	bool in_dialog = to != NULL && to->tag.len > 0;

	if (in_dialog) {
		handle_in_dialog(c, t, flow, m, hash, npop, strict_fix);
		return;
	}
	if (nr > npop && !strict_fix) {
		/* A pre-loaded Route to somewhere else: not our business
		 * (no open relay). */
		px_send_response(c, t, flow, m, 403, "Forbidden - Route", NULL);
		return;
	}
	if (m->method == SIP_M_REGISTER) {
		px_register(c, t, flow, m);
		px_edge_stamp(c, m, flow);
		return;
	}
	if (for_me_no_user) {
		if (m->method == SIP_M_OPTIONS)
			handle_options_here(c, t, flow, m);
		else
			px_send_response(c, t, flow, m, 404, "Not Found", NULL);
		return;
	}
	handle_initial(c, t, flow, m, hash, npop, strict_fix);
}

static void
handle_response(struct core *c, struct sip_msg *m)
{
	struct sip_err err;
	struct arena a;

	c->st.sip_in_responses++;
	if (tx_client_response(c->tx, m))
		return;
	/* No transaction: a 2xx retransmission after ours ended; forward
	 * statelessly if the top Via is ours. */
	const struct sip_via *v;
	int n = sip_msg_vias(m, &v, &err);
	if (n < 2 || !slice_has_prefix_nocase(v[0].branch, BRANCH_PREFIX) ||
	    !route_is_me(c->route, v[0].host, v[0].port))
		return;
	struct ipc_flow dst;
	if (!flow_from_via(c, &v[1], &dst))
		return;
	px_scratch(c, &a);
	struct slice out = strip_our_via(m, &a);
	out = px_cseq_shift(out, -(int64_t)px_dialog_cseq_delta(c, m), &a);
	/* The caller's edge, when the dialog is known. */
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	struct slice cid;
	struct dialog *d =
	    from != NULL && to != NULL && sip_msg_call_id(m, &cid, &err) == 0
	    ? dlg_find(c->dlg, cid, from->tag, to->tag)
	    : NULL;
	int old = px_edge_enter(c, d != NULL ? d->caller_edge : 0);
	if (out.len > 0)
		core_send_sip(c, &dst, out.p, out.len);
	px_edge_leave(c, old);
	px_scratch_done(c, &a);
}

void
proxy_sip_in(
    struct core *c, const struct ipc_flow *flow, const char *buf, uint32_t len)
{
	struct arena local;
	struct sip_msg m;
	struct sip_err err;
	struct proxy *p = c->proxy;
	struct arena *shared = p != NULL ? &p->msg : NULL;
	bool dummy = false, *busy = p != NULL ? &p->msg_busy : &dummy;
	struct arena *a = arena_take(shared, busy, &local, 32768, 1024 * 1024);

	if (sip_msg_parse(&m, buf, len, a, &err) < 0) {
		c->st.sip_in_bad++;
		log_ratelimited(&bad_rl, LOG_LVL_WARN,
		    "proxy: unparsable message from edge: %s",
		    err.phrase ? err.phrase : "?");
		arena_put(a, shared, busy);
		return;
	}
	if (m.is_request)
		handle_request(c, flow, &m);
	else
		handle_response(c, &m);
	arena_put(a, shared, busy);
}
