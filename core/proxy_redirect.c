/*
 * Recursion on 3xx (RFC 3261 §16.5, §16.7 step 4): the Contacts of a
 * branch's redirect become targets of the same server transaction. Why
 * here rather than passing the 3xx on: most phones do not follow a 302
 * themselves, and a callee forwarding to voicemail or another device
 * expects the proxy to reach it. Bounded by proxy.max_redirects per
 * request; a target already in the set, one of our own addresses, a
 * scheme or host we cannot reach is skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "proxy_int.h"
#include "reg.h"

static bool
is_target(const struct px_ctx *x, const struct sip_uri *u)
{
	for (int i = 0; i < x->ntargets; i++) {
		struct sip_uri t;
		struct sip_err err;
		if (sip_uri_parse(slice_cstr(x->targets[i].uri), &t, &err) ==
		        0 &&
		    sip_uri_equal(&t, u))
			return true;
	}
	return false;
}

/* Room for n more targets; false when out of memory. */
static bool
grow(struct px_ctx *x, int n)
{
	struct px_target *t =
	    realloc(x->targets, (size_t)(x->ntargets + n) * sizeof(*t));

	if (t == NULL)
		return false;
	x->targets = t;
	return true;
}

/* Adds one target at position `at` (the ones from `at` on move up). */
static bool
insert(struct px_ctx *x, int at, const char *uri, const char *path,
    const struct ipc_flow *flow, uint16_t q)
{
	if (!grow(x, 1))
		return false;
	struct px_target t;
	memset(&t, 0, sizeof(t));
	t.uri = strdup(uri);
	t.path = path != NULL && path[0] != '\0' ? strdup(path) : NULL;
	if (t.uri == NULL || (path != NULL && path[0] != '\0' && !t.path)) {
		free(t.uri);
		free(t.path);
		return false;
	}
	t.flow = *flow;
	t.q = q;
	memmove(&x->targets[at + 1], &x->targets[at],
	    (size_t)(x->ntargets - at) * sizeof(t));
	x->targets[at] = t;
	x->ntargets++;
	return true;
}

/* Where the new targets go: after the started ones, ordered by q among
 * the targets added by this 3xx (`first` is where they begin). */
static int
slot_for(const struct px_ctx *x, int first, int added, uint16_t q)
{
	int i = first;

	while (i < first + added && x->targets[i].q >= q)
		i++;
	return i;
}

/* The bindings of one of our AoRs named by a Contact. */
static int
add_local(struct px_ctx *x, const struct sip_uri *u, uint16_t q, int first,
    int added, int room)
{
	struct core *c = x->c;
	char aor[512];
	struct loc_binding *v[PX_MAX_TARGETS];
	int n = 0;

	if (reg_make_aor(u, aor, sizeof(aor)) < 0)
		return 0;
	int nb = loc_lookup(c->loc, slice_cstr(aor), v, PX_MAX_TARGETS);
	if (nb > PX_MAX_TARGETS)
		nb = PX_MAX_TARGETS;
	int64_t now = core_now_s(c);
	for (int i = 0; i < nb && n < room; i++) {
		struct sip_uri bu;
		struct sip_err err;
		struct ipc_flow f;
		if (v[i]->expires_at <= now ||
		    sip_uri_parse(loc_slice(v[i], LOC_S_CONTACT), &bu, &err) <
		        0 ||
		    is_target(x, &bu))
			continue;
		loc_flow_to_ipc(&f, &v[i]->flow);
		int at = slot_for(x, first, added + n, q);
		if (insert(x, at, loc_str(v[i], LOC_S_CONTACT),
		        loc_str(v[i], LOC_S_PATH), &f, q)) {
			x->targets[at].edge = v[i]->edge;
			n++;
		}
	}
	return n;
}

int
px_recurse(
    struct px_ctx *x, struct px_branch *b, struct sip_msg *resp, bool *covered)
{
	struct core *c = x->c;
	const struct pc_core_proxy *pc = &c->conf.core.proxy;
	const struct sip_contact *ct;
	struct sip_err err;

	*covered = false;
	if (!pc->recurse_redirects || x->is_cancelled || x->is_final_sent ||
	    x->method == SIP_M_CANCEL || x->is_in_dialog)
		return 0;
	/* A carrier's redirect is its business: no recursion from trunks. */
	if (b->target < 0 || b->target >= x->ntargets ||
	    x->targets[b->target].trunk[0] != '\0' || x->is_trunk_call)
		return 0;
	int nc = sip_msg_contacts(resp, &ct, &err);
	if (nc <= 0)
		return 0;
	int room = (int)pc->max_redirects - x->nredirects;
	if (room > PX_MAX_BRANCHES - x->nbranches)
		room = PX_MAX_BRANCHES - x->nbranches;
	int first = x->next_target, added = 0;
	for (int i = 0; i < nc; i++) {
		const struct sip_uri *u = &ct[i].na.uri;
		uint16_t q = ct[i].q >= 0 ? (uint16_t)ct[i].q : 1000;
		struct ipc_flow f;
		if (ct[i].is_star || u->scheme != SIP_URI_SIP)
			continue;
		if (is_target(x, u)) {
			*covered = true; /* tried, or about to be */
			continue;
		}
		if (added >= room)
			continue;
		/* One of our AoRs: its bindings. An address of ours with
		 * another port is a device that happens to share our IP. */
		if (u->user.len > 0 && route_is_domain(c->route, u->host) &&
		    (u->port == 0 || route_is_me(c->route, u->host, u->port))) {
			added += add_local(x, u, q, first, added, room - added);
			continue;
		}
		/* Our own address would loop through edge back to us; a
		 * host name is not resolved by core. */
		if (route_is_me(c->route, u->host, u->port) ||
		    !px_flow_from_uri(c, u, &f))
			continue;
		char *uri = strndup(ct[i].na.uri_text.p, ct[i].na.uri_text.len);
		if (uri == NULL)
			break;
		int at = slot_for(x, first, added, q);
		if (insert(x, at, uri, NULL, &f, q))
			added++;
		free(uri);
	}
	x->nredirects += added;
	if (added > 0)
		*covered = true;
	return added;
}
