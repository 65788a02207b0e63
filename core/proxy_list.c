/*
 * Calls being set up, for calls.list: the INVITEs the proxy is still
 * working on. Why from the proxy contexts rather than early dialogs in
 * the dialog table: until a final answer a call is exactly its server
 * transaction and branches, and those live here (a restart loses them
 * anyway: the caller's INVITE transaction is gone with the process).
 * Also the count of a user's calls for call admission.
 */
#include <string.h>

#include "proxy.h"
#include "proxy_int.h"

static const char *
branch_uri(const struct px_ctx *x, const struct px_branch *b)
{
	if (b->target >= 0 && b->target < x->ntargets)
		return x->targets[b->target].uri;
	return "";
}

static int
one(struct px_ctx *x, proxy_setup_cb cb, void *arg)
{
	struct arena a;
	struct sip_msg m;
	struct sip_err err;
	struct proxy_setup s;
	const struct px_branch *ring = NULL, *first = NULL;
	char cid[256], from[512], to[512];

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < x->nbranches; i++) {
		const struct px_branch *b = x->br[i];
		if (b->code != 0)
			continue;
		s.branches++;
		if (first == NULL)
			first = b;
		if (b->prov_code > 100 &&
		    (ring == NULL || b->prov_code < ring->prov_code))
			ring = b; /* a 180 speaks louder than a 183 */
	}
	s.state = ring == NULL      ? "trying"
	    : ring->prov_code < 183 ? "ringing"
	                            : "early";
	const struct px_branch *b = ring ? ring : first;
	s.branch = b ? branch_uri(x, b) : "";
	if (b != NULL)
		s.callee = b->flow.remote;
	s.caller = x->in_flow.remote;
	s.start_s = x->start_s;
	struct slice r = tx_request(x->stx);
	arena_init(&a, 8192, 256 * 1024);
	int rc = 0;
	if (sip_msg_parse(&m, r.p, r.len, &a, &err) == 0) {
		struct slice c = SLICE_NULL;
		const struct sip_hdr *fh = sip_msg_hdr(&m, SIP_HDR_FROM);
		const struct sip_hdr *th = sip_msg_hdr(&m, SIP_HDR_TO);
		sip_msg_call_id(&m, &c, &err);
		if (!slice_copy_cstr(c, cid, sizeof(cid)))
			cid[0] = '\0';
		if (fh == NULL ||
		    !slice_copy_cstr(fh->value, from, sizeof(from)))
			from[0] = '\0';
		if (th == NULL || !slice_copy_cstr(th->value, to, sizeof(to)))
			to[0] = '\0';
		s.call_id = cid;
		s.from = from;
		s.to = to;
		rc = cb(&s, arg);
	}
	arena_free(&a);
	return rc;
}

struct count_ctx {
	const char *user;
	uint32_t n;
};

static int
count_cb(struct dialog *d, void *arg)
{
	struct count_ctx *k = arg;

	if (d->state != DLG_TERMINATED &&
	    strcmp(d->s[DLG_S_CALLER_USER], k->user) == 0)
		k->n++;
	return 0;
}

/*
 * Calls a user places now: established dialogs plus INVITEs still being
 * proxied. Walks the tables, so it is asked only for users with a limit.
 */
uint32_t
px_calls_of(struct core *c, const char *user)
{
	struct count_ctx k = {user, 0};

	dlg_walk(c->dlg, count_cb, &k);
	for (struct px_ctx *x = px_first(c); x != NULL; x = x->next)
		if (x->method == SIP_M_INVITE && !x->is_final_sent &&
		    strcmp(x->caller_user, user) == 0)
			k.n++;
	return k.n;
}

void
proxy_walk_setup(struct core *c, proxy_setup_cb cb, void *arg)
{
	for (struct px_ctx *x = px_first(c); x != NULL; x = x->next) {
		if (x->method != SIP_M_INVITE || x->is_in_dialog ||
		    x->is_final_sent || x->stx == NULL)
			continue;
		if (one(x, cb, arg) != 0)
			return;
	}
}
