/*
 * Ending a call from core itself (ctl calls.hangup, CALL_RELEASE from
 * edge on media timeout): a BYE to each party, as the other party would
 * send it, along the dialog's route set.
 */
#include <stdio.h>
#include <string.h>

#include "proxy.h"
#include "proxy_int.h"

/*
 * The Route lines of a BYE we originate (§12.2.1.1 from our place in the
 * route set): toward the callee, the Record-Route entries above ours,
 * nearest first; toward the caller, those below ours, in order.
 */
static void
bye_routes(struct core *c, const struct dialog *d, bool to_caller, char *out,
    size_t cap)
{
	struct slice e[SIP_MAX_ROUTES];
	int n = 0, first = -1, last = -1;
	const char *p = d->s[DLG_S_ROUTE_SET];

	out[0] = '\0';
	while (*p != '\0' && n < SIP_MAX_ROUTES) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct sip_nameaddr na;
		struct sip_err err;
		e[n] = slice_make(p, (uint32_t)len);
		if (sip_nameaddr_parse(e[n], &na, &err) == 0 &&
		    route_is_me(c->route, na.uri.host, na.uri.port)) {
			if (first < 0)
				first = n;
			last = n;
		}
		n++;
		p += len + (nl ? 1 : 0);
	}
	if (first < 0)
		return; /* we did not record-route: nothing to add */
	size_t off = 0;
	if (to_caller) {
		for (int i = last + 1; i < n; i++) {
			int w = snprintf(out + off, cap - off,
			    "Route: %.*s\r\n", (int)e[i].len, e[i].p);
			if (w < 0 || (size_t)w >= cap - off)
				break;
			off += (size_t)w;
		}
	} else {
		for (int i = first - 1; i >= 0; i--) {
			int w = snprintf(out + off, cap - off,
			    "Route: %.*s\r\n", (int)e[i].len, e[i].p);
			if (w < 0 || (size_t)w >= cap - off)
				break;
			off += (size_t)w;
		}
	}
	out[off] = '\0';
}

static void
send_bye(struct core *c, const struct dialog *d, bool to_caller)
{
	char branch[48], via[256], hash[17];
	char buf[8192];
	const char *ruri =
	    to_caller ? d->s[DLG_S_CALLER_CONTACT] : d->s[DLG_S_CALLEE_CONTACT];
	const struct ipc_flow *f =
	    to_caller ? &d->caller_flow : &d->callee_flow;

	if (ruri[0] == '\0')
		return;
	snprintf(hash, sizeof(hash), "%016llx",
	    (unsigned long long)hash_bytes(ruri, strlen(ruri)));
	px_make_branch(hash, branch, sizeof(branch));
	int n = route_via(c->route, f->listener, via, sizeof(via));
	snprintf(via + n, sizeof(via) - (size_t)n, ";branch=%s", branch);
	char routes[4096];
	bye_routes(c, d, to_caller, routes, sizeof(routes));
	/* Toward the caller we speak as the callee, and the other way. */
	n = snprintf(buf, sizeof(buf),
	    "BYE %s SIP/2.0\r\nVia: %s\r\nMax-Forwards: 70\r\n%s"
	    "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u BYE\r\n"
	    "Reason: SIP;cause=200;text=\"%s\"\r\nContent-Length: 0\r\n\r\n",
	    ruri, via, routes, to_caller ? d->s[DLG_S_TO] : d->s[DLG_S_FROM],
	    to_caller ? d->s[DLG_S_FROM] : d->s[DLG_S_TO], d->s[DLG_S_CALL_ID],
	    (to_caller ? d->callee_cseq
	               : d->caller_cseq + d->callee_cseq_delta) +
	        1,
	    d->end_reason);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return;
	uint8_t edge = to_caller ? d->caller_edge : d->callee_edge;
	if (!px_edge_reaches(c, edge, f))
		return; /* its connection went with its edge */
	int old = px_edge_enter(c, edge);
	tx_client_new(
	    c->tx, f, SIP_M_BYE, branch, buf, (uint32_t)n, NULL, NULL);
	px_edge_leave(c, old);
}

int
proxy_hangup(struct core *c, struct slice call_id, const char *reason)
{
	struct dialog *d = dlg_find(c->dlg, call_id, SLICE_NULL, SLICE_NULL);

	if (d == NULL)
		return -1;
	d->state = DLG_TERMINATED;
	d->end_s = core_now_s(c);
	snprintf(d->end_reason, sizeof(d->end_reason), "%s",
	    reason && reason[0] ? reason : "hangup");
	for (char *p = d->end_reason; *p; p++)
		if (*p == '"' || *p == '\\' || *p < ' ')
			*p = ' ';
	send_bye(c, d, true);
	send_bye(c, d, false);
	px_acct_end(
	    c, &d->acct, slice_cstr(d->s[DLG_S_CALL_ID]), 200, d->end_reason);
	dlg_remove(c->dlg, d);
	return 0;
}
