/*
 * The proxy's side of trunks: where the dial plan sends a call (trunk
 * peers in failover order, users, ring groups, URIs), number and identity
 * rewriting on the way out (RFC 3325), call admission, answers to the
 * carrier's digest challenges, the per-branch failover timer, and the
 * CDR when a call ends. Why targets carry their own From user and header
 * lines: two trunks of one call may want different caller IDs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proxy_int.h"
#include "reg.h"
#include "sip_edit.h"

#define MAX_RULES 16

static int
add_target(struct px_ctx *x, const char *uri, const struct ipc_flow *flow,
    uint16_t q, const char *path)
{
	if (x->ntargets >= PX_MAX_TARGETS)
		return -1;
	struct px_target *t = &x->targets[x->ntargets];
	memset(t, 0, sizeof(*t));
	t->uri = strdup(uri);
	t->path = path != NULL && path[0] != '\0' ? strdup(path) : NULL;
	if (t->uri == NULL) {
		free(t->path);
		return -1;
	}
	t->flow = *flow;
	t->q = q;
	return x->ntargets++;
}

/* The bindings of user (or user@domain) as targets with priority q. */
static int
add_user(struct core *c, struct px_ctx *x, const char *user, uint16_t q)
{
	char aor[512];
	struct loc_binding *v[PX_MAX_TARGETS];
	int64_t now = core_now_s(c);
	int added = 0;

	if (strchr(user, '@') != NULL)
		snprintf(aor, sizeof(aor), "%s", user);
	else
		snprintf(aor, sizeof(aor), "%s@%s", user,
		    route_first_domain(c->route));
	int n = loc_lookup(c->loc, slice_cstr(aor), v, PX_MAX_TARGETS);
	if (n > PX_MAX_TARGETS)
		n = PX_MAX_TARGETS;
	for (int i = 0; i < n; i++) {
		struct ipc_flow f;
		if (v[i]->expires_at <= now)
			continue;
		loc_flow_to_ipc(&f, &v[i]->flow);
		const char *path = v[i]->str_len[LOC_S_PATH] > 0
		    ? loc_str(v[i], LOC_S_PATH)
		    : NULL;
		if (add_target(x, loc_str(v[i], LOC_S_CONTACT), &f, q, path) >=
		    0)
			added++;
	}
	return added;
}

static const char *
tp_param(uint8_t tp)
{
	return tp == IPC_TP_TCP ? ";transport=tcp"
	    : tp == IPC_TP_TLS  ? ";transport=tls"
	                        : "";
}

/* Header lines a route adds toward a trunk (RFC 3325). */
static char *
route_extra(const struct pc_core_route *r, const char *caller_uri)
{
	char buf[1024];
	size_t o = 0;

	buf[0] = '\0';
	if (r->pai != NULL)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		    "P-Asserted-Identity: <%s>\r\n", r->pai);
	else if (r->privacy && caller_uri[0] != '\0')
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
		    "P-Asserted-Identity: <%s>\r\n", caller_uri);
	if (r->privacy && o < sizeof(buf))
		o += (size_t)snprintf(
		    buf + o, sizeof(buf) - o, "Privacy: id\r\n");
	return o > 0 && o < sizeof(buf) ? strdup(buf) : NULL;
}

static void
target_rewrites(struct px_ctx *x, int ti, const struct pc_core_route *r,
    const char *trunk, const char *caller_uri)
{
	struct px_target *t = &x->targets[ti];

	if (trunk != NULL)
		snprintf(t->trunk, sizeof(t->trunk), "%s", trunk);
	t->from_user = r->caller_id ? strdup(r->caller_id) : NULL;
	t->is_anonymous = r->privacy;
	t->extra = route_extra(r, caller_uri);
}

static int
add_trunk(struct core *c, struct px_ctx *x, const struct pc_core_route *r,
    const char *num, uint16_t *q, const char *caller_uri)
{
	struct trunk *t = trunks_find(c->trunks, r->trunk);
	int order[TRUNK_MAX_PEERS], added = 0;
	char uri[512], peer[64];

	if (t == NULL)
		return 0;
	int n = trunk_peer_order(t, order, TRUNK_MAX_PEERS);
	for (int i = 0; i < n; i++) {
		const struct trunk_peer *pe = &t->peers[order[i]];
		ipc_addr_str(&pe->flow.remote, peer, sizeof(peer));
		snprintf(uri, sizeof(uri), "sip:%s@%s%s", num, peer,
		    tp_param(pe->flow.transport));
		int ti = add_target(x, uri, &pe->flow, *q, NULL);
		if (ti < 0)
			break;
		if (*q > 1)
			(*q)--;
		target_rewrites(x, ti, r, t->name, caller_uri);
		added++;
	}
	if (added > 0)
		x->is_trunk_call = true;
	return added;
}

static int
add_uri(struct core *c, struct px_ctx *x, const struct pc_core_route *r,
    const char *num, uint16_t q, const char *caller_uri)
{
	struct sip_uri u;
	struct sip_err err;
	struct ipc_flow f;
	char uri[512];

	if (sip_uri_parse(slice_cstr(r->uri), &u, &err) < 0 ||
	    !px_flow_from_uri(c, &u, &f))
		return 0;
	/* The dialled user goes into the configured URI's user part. */
	const char *hp = strchr(r->uri, ':') + 1;
	const char *at = strchr(hp, '@');
	if (at != NULL)
		hp = at + 1;
	snprintf(uri, sizeof(uri), "%.*s:%s@%s",
	    (int)(strchr(r->uri, ':') - r->uri), r->uri, num, hp);
	int ti = add_target(x, uri, &f, q, NULL);
	if (ti < 0)
		return 0;
	target_rewrites(x, ti, r, NULL, caller_uri);
	return 1;
}

static int
add_group(struct core *c, struct px_ctx *x, const char *name, uint16_t *q)
{
	const struct pc_core_conf *cc = &c->conf.core;
	int added = 0;

	for (size_t g = 0; g < cc->ngroups; g++) {
		const struct pc_core_group *gr = &cc->groups[g];
		if (strcmp(gr->name, name) != 0)
			continue;
		for (size_t i = 0; i < gr->nmembers; i++) {
			int first = x->ntargets;
			int n = add_user(c, x, gr->members[i], *q);
			for (int ti = first; ti < x->ntargets; ti++)
				x->targets[ti].ring_ms = gr->ring_s * 1000u;
			added += n;
			if (n > 0 && gr->strategy == PC_CORE_RING_SERIAL &&
			    *q > 1)
				(*q)--;
		}
		if (gr->strategy == PC_CORE_RING_PARALLEL && *q > 1)
			(*q)--;
	}
	return added;
}

/* The current binding a request to a device's Contact u (at address a)
 * reaches, if any: one whose Contact is u (registered as the device wrote
 * it), else one of u's user whose flow comes from a (the edge aliased the
 * Contact of a UA behind NAT to its source); the newest among equals. A Contact's address alone is not enough: a private address may
 * be in use behind many NATs at once, a NAT's address and port is not. */
static struct loc_binding *
contact_binding(
    struct core *c, const struct sip_uri *u, const struct ipc_addr *a)
{
	struct loc_binding *v[2 * PX_MAX_TARGETS], *best = NULL;
	int64_t now = core_now_s(c);
	int best_score = -1;
	int nc = loc_lookup_contact(c->loc, u, v, PX_MAX_TARGETS);
	if (nc > PX_MAX_TARGETS)
		nc = PX_MAX_TARGETS;
	int n = loc_lookup_source(c->loc, a, u->user, v + nc, PX_MAX_TARGETS);
	n = nc + (n > PX_MAX_TARGETS ? PX_MAX_TARGETS : n);
	for (int i = 0; i < n; i++) {
		if (v[i]->expires_at <= now)
			continue;
		int score = i < nc ? 2 : 1; /* its Contact is u: better */
		if (score > best_score ||
		    (score == best_score &&
		        v[i]->registered_at > best->registered_at)) {
			best = v[i];
			best_score = score;
		}
	}
	return best;
}

/* A request the edge found addressed to a Contact it had handed out (one
 * party's device, e.g. the remote target an attended transfer passes on):
 * that device is the one target, whatever its domain; the dial plan and
 * the location service by AoR are not asked. A device with a current
 * binding is reached as a call to its AoR reaches it: on the flow it
 * registered on (its TCP connection, its NAT's address), through its
 * edge and Path; another by its URI. */
static int
contact_target(struct core *c, struct px_ctx *x, struct sip_msg *m)
{
	struct ipc_flow f;
	char uri[1024];

	if (!px_flow_from_uri(c, &m->ruri, &f) ||
	    !slice_copy_cstr(m->ruri_text, uri, sizeof(uri)))
		return 404;
	struct loc_binding *b = contact_binding(c, &m->ruri, &f.remote);
	const char *path = NULL;
	if (b != NULL) {
		loc_flow_to_ipc(&f, &b->flow);
		path =
		    b->str_len[LOC_S_PATH] > 0 ? loc_str(b, LOC_S_PATH) : NULL;
	}
	x->targets = calloc(PX_MAX_TARGETS, sizeof(*x->targets));
	if (x->targets == NULL)
		return 500;
	x->ntargets = 0;
	int ti = add_target(x, uri, &f, 1000, path);
	if (ti < 0)
		return 500;
	if (b != NULL)
		x->targets[ti].edge = b->edge;
	return 0;
}

int
px_route(struct core *c, struct px_ctx *x, struct sip_msg *m,
    struct trunk *from_trunk, char *aor, size_t aorcap)
{
	struct sip_err err;
	char user[DIALPLAN_NUM_MAX * 2], number[DIALPLAN_NUM_MAX * 2];
	char did[DIALPLAN_NUM_MAX * 2], caller_uri[256] = "";
	const struct sip_uri *src = &m->ruri;

	if (from_trunk != NULL &&
	    from_trunk->cf->did_source == PC_CORE_DID_TO) {
		const struct sip_nameaddr *to = sip_msg_to(m, &err);
		if (to != NULL)
			src = &to->uri;
	}
	bool to_contact =
	    from_trunk == NULL && (c->in_flags & IPC_SIPF_RURI_CONTACT) != 0;
	if (src->user.len == 0 ||
	    sip_uri_unescape(src->user, user, sizeof(user)) < 0) {
		if (!to_contact && from_trunk == NULL)
			return 0; /* the caller answers as before */
		if (!to_contact)
			return 404;
		user[0] = '\0'; /* a device's Contact may have no user */
	}
	bool is_number = dialplan_normalize(user, number, sizeof(number)) > 0;
	if (!is_number)
		snprintf(number, sizeof(number), "%s", user);
	if (from_trunk != NULL && is_number &&
	    dialplan_rewrite(number, from_trunk->cf->inbound.strip,
	        from_trunk->cf->inbound.prefix, did, sizeof(did)) > 0)
		snprintf(number, sizeof(number), "%s", did);
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	if (from != NULL)
		snprintf(caller_uri, sizeof(caller_uri), "%.*s",
		    (int)from->uri_text.len, from->uri_text.p);
	if (m->method == SIP_M_INVITE) {
		struct call_acct *a = &x->acct;
		memset(a, 0, sizeof(*a));
		a->is_open = true;
		a->start_ms = core_now_ms(c);
		struct slice cid;
		if (sip_msg_call_id(m, &cid, &err) == 0) {
			if (cid.len >= sizeof(a->call_id))
				cid.len = sizeof(a->call_id) - 1;
			slice_copy_cstr(cid, a->call_id, sizeof(a->call_id));
		}
		if (from != NULL)
			snprintf(a->caller, sizeof(a->caller), "%.*s@%.*s",
			    (int)from->uri.user.len, from->uri.user.p,
			    (int)from->uri.host.len, from->uri.host.p);
		snprintf(a->callee, sizeof(a->callee), "%s", number);
		if (from_trunk != NULL) {
			snprintf(a->trunk_in, sizeof(a->trunk_in), "%s",
			    from_trunk->name);
			c->st.trunk_calls_in++;
		}
	}
	if (to_contact)
		return contact_target(c, x, m);
	if (from_trunk != NULL)
		snprintf(
		    aor, aorcap, "%s@%s", number, route_first_domain(c->route));
	if (m->method != SIP_M_INVITE)
		return 0;

	const struct pc_core_route *rules[MAX_RULES];
	int nr = dialplan_match(c->dp, from_trunk ? from_trunk->name : NULL,
	    user, number, rules, MAX_RULES);
	if (nr == 0)
		return 0;
	x->targets = calloc(PX_MAX_TARGETS, sizeof(*x->targets));
	if (x->targets == NULL)
		return 500;
	x->ntargets = 0;
	/* Each matching rule is one step of the order; a trunk's peers are
	 * steps of their own (failover). */
	uint16_t q = 1000;
	bool wants_user = false;
	for (int i = 0; i < nr; i++) {
		const struct pc_core_route *r = rules[i];
		char out[DIALPLAN_NUM_MAX * 2];
		if (dialplan_rewrite(
		        number, r->strip, r->prefix, out, sizeof(out)) < 0)
			continue;
		if (r->trunk != NULL) {
			add_trunk(c, x, r, out, &q, caller_uri);
		} else if (r->uri != NULL) {
			if (add_uri(c, x, r, out, q, caller_uri) > 0 && q > 1)
				q--;
		} else if (r->user != NULL) {
			wants_user = true;
			if (add_user(c, x, r->user, q) > 0 && q > 1)
				q--;
		} else if (r->group != NULL) {
			wants_user = true;
			add_group(c, x, r->group, &q);
		}
	}
	if (x->is_trunk_call && x->ntargets > 0 && x->targets[0].trunk[0])
		c->st.trunk_calls_out++;
	if (x->ntargets == 0)
		return wants_user ? 480 : 503;
	return 0;
}

static void
acct_release(struct core *c, struct call_acct *a)
{
	struct trunk *t;

	if (!a->is_counted)
		return;
	a->is_counted = false;
	if (c->calls_total > 0)
		c->calls_total--;
	if (a->trunk_in[0] && (t = trunks_find(c->trunks, a->trunk_in)))
		trunk_release(t);
	if (a->trunk_out[0] && (t = trunks_find(c->trunks, a->trunk_out)))
		trunk_release(t);
}

int
px_admit(struct core *c, struct px_ctx *x, struct trunk *from_trunk,
    const struct store_user *who, bool authed)
{
	const struct pc_core_call_limits *cl = &c->conf.core.call_limits;
	struct call_acct *a = &x->acct;
	uint64_t now = ev_now_ms(c->loop);
	int code = 0;
	const char *why = "";

	if (cl->max_total > 0 && c->calls_total >= cl->max_total) {
		c->st.calls_rejected_total++;
		code = 503;
		why = "limit total";
	}
	uint32_t ulim =
	    authed ? (who->max_calls ? who->max_calls : cl->max_per_user) : 0;
	/* x itself is already among the user's calls. */
	if (code == 0 && ulim > 0 && px_calls_of(c, x->caller_user) > ulim) {
		c->st.calls_rejected_user++;
		code = 486;
		why = "limit user";
	}
	struct trunk *out = NULL;
	if (x->is_trunk_call && x->ntargets > 0)
		out = trunks_find(c->trunks, x->targets[0].trunk);
	if (code == 0 && from_trunk != NULL &&
	    trunk_admit(from_trunk, now) != 0) {
		c->st.calls_rejected_trunk++;
		code = 503;
		why = "limit trunk";
	}
	if (code == 0 && out != NULL && trunk_admit(out, now) != 0) {
		if (from_trunk != NULL)
			trunk_release(from_trunk);
		c->st.calls_rejected_trunk++;
		code = 503;
		why = "limit trunk";
	}
	if (out != NULL)
		snprintf(a->trunk_out, sizeof(a->trunk_out), "%s", out->name);
	if (code != 0) {
		if (a->is_open)
			px_acct_end(c, a, SLICE_NULL, code, why);
		return code;
	}
	if (a->is_open) { /* INVITEs only */
		a->is_counted = true;
		c->calls_total++;
	}
	return 0;
}

void
px_acct_move_out(struct core *c, struct call_acct *a, const char *name)
{
	struct trunk *t;

	if (name[0] == '\0' || strcmp(a->trunk_out, name) == 0)
		return;
	if (a->is_counted) {
		if (a->trunk_out[0] &&
		    (t = trunks_find(c->trunks, a->trunk_out)) != NULL)
			trunk_release(t);
		/* Already answered: counted even beyond its limit. */
		if ((t = trunks_find(c->trunks, name)) != NULL)
			t->calls++;
	}
	snprintf(a->trunk_out, sizeof(a->trunk_out), "%s", name);
}

void
px_acct_end(struct core *c, struct call_acct *a, struct slice call_id,
    int status, const char *reason)
{
	struct store_cdr r;

	acct_release(c, a);
	if (!a->is_open)
		return;
	a->is_open = false;
	if (!c->conf.core.cdr.enabled || c->cdr == NULL)
		return;
	memset(&r, 0, sizeof(r));
	if (call_id.len > 0)
		slice_copy_cstr(call_id, r.call_id, sizeof(r.call_id));
	else
		snprintf(r.call_id, sizeof(r.call_id), "%s", a->call_id);
	r.start_ms = a->start_ms;
	r.answer_ms = a->answer_ms;
	r.end_ms = core_now_ms(c);
	r.duration_ms = a->answer_ms > 0 ? r.end_ms - a->answer_ms : 0;
	snprintf(r.caller, sizeof(r.caller), "%s", a->caller);
	snprintf(r.callee, sizeof(r.callee), "%s", a->callee);
	snprintf(r.trunk, sizeof(r.trunk), "%s",
	    a->trunk_in[0] ? a->trunk_in : a->trunk_out);
	snprintf(r.direction, sizeof(r.direction), "%s",
	    a->trunk_in[0]        ? "inbound"
	        : a->trunk_out[0] ? "outbound"
	                          : "internal");
	r.status = status;
	snprintf(r.reason, sizeof(r.reason), "%s", reason ? reason : "");
	cdr_add(c->cdr, &r);
}

bool
px_trunk_auth_retry(struct px_ctx *x, struct px_branch *b, struct sip_msg *resp)
{
	struct core *c = x->c;
	char line[2048];

	if (b->target < 0 || b->target >= x->ntargets)
		return false;
	struct px_target *tg = &x->targets[b->target];
	struct trunk *t =
	    tg->trunk[0] ? trunks_find(c->trunks, tg->trunk) : NULL;
	if (t == NULL ||
	    trunk_auth_line(t, resp, sip_method_name(x->method), tg->uri, line,
	        sizeof(line)) < 0)
		return false;
	/* The answer is a new request: the next CSeq (§8.1.3.5, §22.2); the
	 * caller's own CSeq comes back on the responses. */
	x->cseq_delta = b->cseq_delta + 1;
	px_early_cseq_track(x);
	if (!px_start_branch(x, b->target, tg->uri, tg->path, &tg->flow, line))
		return false;
	x->br[x->nbranches - 1]->is_auth_retry = true;
	c->st.trunk_auth_answers++;
	return true;
}

static void
fo_cb(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct px_branch *b = arg;
	struct px_ctx *x = b->ctx;

	(void)loop;
	(void)tm;
	b->has_fo_timer = false;
	if (b->got_response || b->code != 0 || b->tx == NULL)
		return;
	if (b->target >= 0 && b->target < x->ntargets) {
		struct px_target *tg = &x->targets[b->target];
		struct trunk *t = trunks_find(x->c->trunks, tg->trunk);
		for (int i = 0; t != NULL && i < t->npeers; i++)
			if (ipc_addr_eq(
			        &t->peers[i].flow.remote, &tg->flow.remote) &&
			    t->peers[i].is_up) {
				log_info("trunk %s: peer %d silent; down",
				    t->name, i);
				t->peers[i].is_up = false;
			}
	}
	/* Ends the branch as a timeout (408) and moves on; b may be gone
	 * after this. */
	tx_destroy(b->tx);
}

void
px_trunk_branch_started(struct px_ctx *x, struct px_branch *b)
{
	const struct px_target *tg = &x->targets[b->target];
	struct trunk *t = trunks_find(x->c->trunks, tg->trunk);

	if (t == NULL || x->method != SIP_M_INVITE || b->tx == NULL)
		return;
	ev_timer_init(&b->fo_timer, fo_cb, b);
	ev_timer_start(x->c->loop, &b->fo_timer, t->cf->failover_timeout_ms);
	b->has_fo_timer = true;
}

void
px_trunk_branch_stop(struct px_ctx *x, struct px_branch *b)
{
	if (b->has_fo_timer) {
		ev_timer_stop(x->c->loop, &b->fo_timer);
		b->has_fo_timer = false;
	}
}

bool
px_rewrite_from(struct sip_edit *e, struct sip_msg *m,
    const struct px_target *tg, struct arena *a)
{
	struct sip_err err;
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	int idx = m->first[SIP_HDR_FROM];

	if (from == NULL || idx < 0)
		return false;
	char *v = arena_alloc(a, 512);
	if (v == NULL)
		return false;
	int n;
	if (tg->is_anonymous)
		n = snprintf(v, 512,
		    "\"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=%.*s",
		    (int)from->tag.len, from->tag.p);
	else
		n = snprintf(v, 512, "<sip:%s@%.*s>;tag=%.*s", tg->from_user,
		    (int)from->uri.host.len, from->uri.host.p,
		    (int)from->tag.len, from->tag.p);
	if (n < 0 || n >= 512)
		return false;
	return sip_edit_replace(e, (uint16_t)idx, slice_make(v, (uint32_t)n)) ==
	    0;
}

void
px_append_lines(struct sip_edit *e, const char *lines, struct arena *a)
{
	const char *p = lines;

	while (*p != '\0') {
		const char *eol = strstr(p, "\r\n");
		if (eol == NULL)
			eol = p + strlen(p);
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL) {
			size_t nl = (size_t)(colon - p);
			char *name = arena_alloc(a, nl + 1);
			const char *val = colon + 1;
			while (val < eol && *val == ' ')
				val++;
			if (name != NULL) {
				memcpy(name, p, nl);
				name[nl] = '\0';
				sip_edit_append(e, name,
				    slice_make(val, (uint32_t)(eol - val)));
			}
		}
		p = *eol ? eol + 2 : eol;
	}
}
