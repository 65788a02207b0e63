/*
 * The registrar behind the proxy (RFC 3261 §10.3): domain and Require
 * checks, authentication, then reg.c's rules on the parsed REGISTER, and
 * the 200 listing every binding (with Path echoed, RFC 3327).
 */
#include <stdio.h>
#include <string.h>

#include "proxy_int.h"
#include "reg.h"

void
px_register(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m)
{
	static const char *const reg_ok[] = {"path", "outbound", NULL};
	struct sip_err err;
	char aor[512];

	if (!route_is_domain(c->route, m->ruri.host) &&
	    !route_is_me(c->route, m->ruri.host, m->ruri.port)) {
		uint32_t code = c->conf.core.proxy.unknown_domain;
		px_send_response(c, stx, flow, m, (int)code,
		    code == 404 ? "Not Found" : "Domain Not Served", NULL);
		c->st.register_refused++;
		return;
	}
	if (!px_check_require(c, stx, flow, m, SIP_HDR_REQUIRE, reg_ok))
		return;
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	if (to == NULL || reg_make_aor(&to->uri, aor, sizeof(aor)) < 0 ||
	    to->uri.user.len == 0) {
		px_send_response(
		    c, stx, flow, m, 400, "Bad Request - To", NULL);
		return;
	}
	if (!route_is_domain(c->route, to->uri.host) &&
	    !route_is_me(c->route, to->uri.host, to->uri.port)) {
		uint32_t code = c->conf.core.proxy.unknown_domain;
		px_send_response(c, stx, flow, m, (int)code,
		    code == 404 ? "Not Found" : "Domain Not Served", NULL);
		c->st.register_refused++;
		return;
	}
	bool authed = false;
	if (px_authenticate(c, stx, flow, m, true, &authed, NULL) <= 0) {
		c->st.register_refused++;
		return;
	}
	const struct sip_contact *ct;
	int nct = sip_msg_contacts(m, &ct, &err);
	if (nct < 0) {
		px_send_response(c, stx, flow, m, 400,
		    err.phrase ? err.phrase : "Bad Request - Contact", NULL);
		return;
	}
	struct reg_contact_in in[SIP_MAX_CONTACTS];
	bool is_star;
	int n = reg_contacts_from_msg(ct, nct, in, SIP_MAX_CONTACTS, &is_star);
	if (n < 0 || (is_star && nct != 1)) {
		px_send_response(
		    c, stx, flow, m, 400, "Bad Request - Contact", NULL);
		return;
	}
	struct reg_request r;
	memset(&r, 0, sizeof(r));
	struct slice cid;
	const struct sip_cseq *cs = sip_msg_cseq(m, &err);
	if (sip_msg_call_id(m, &cid, &err) < 0 || cs == NULL) {
		px_send_response(c, stx, flow, m, 400, "Bad Request", NULL);
		return;
	}
	char path[2048];
	size_t poff = 0;
	for (int i = m->first[SIP_HDR_PATH]; i >= 0;
	     i = sip_msg_hdr_next(m, i)) {
		int w = snprintf(path + poff, sizeof(path) - poff, "%s%.*s",
		    poff ? ", " : "", (int)m->hdrs[i].value.len,
		    m->hdrs[i].value.p);
		if (w < 0 || (size_t)w >= sizeof(path) - poff) {
			px_send_response(c, stx, flow, m, 400,
			    "Bad Request - Path Too Long", NULL);
			return;
		}
		poff += (size_t)w;
	}
	r.aor = slice_cstr(aor);
	r.call_id = cid;
	r.cseq = cs->num;
	r.expires_hdr = sip_msg_expires(m, &err);
	r.is_star = is_star;
	r.contacts = in;
	r.ncontacts = n;
	r.path = slice_make(path, (uint32_t)poff);
	r.user_agent = sip_msg_user_agent(m);
	loc_flow_from_ipc(&r.flow, flow);
	r.now = core_now_s(c);
	const struct pc_core_registrar *rc = &c->conf.core.registrar;
	struct reg_limits lim = {rc->min_expires, rc->max_expires,
	    rc->default_expires, rc->max_contacts};
	struct reg_result res;
	char extra[8192 + 2048];
	if (reg_apply(c->loc, &lim, &r, &res) < 0) {
		c->st.register_refused++;
		if (res.code == 423)
			snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n",
			    res.min_expires);
		px_send_response(c, stx, flow, m, res.code, res.reason,
		    res.code == 423 ? extra : NULL);
		return;
	}
	int w = reg_format_contacts(
	    c->loc, r.aor, r.now, extra, sizeof(extra) - 2100);
	if (w < 0)
		w = 0;
	if (poff > 0)
		snprintf(
		    extra + w, sizeof(extra) - (size_t)w, "Path: %s\r\n", path);
	c->st.register_ok++;
	/* Trusted before the 200 leaves: edge raises the source's limits
	 * before the phone's next burst. */
	if (authed)
		core_report_source(
		    c, IPC_SOURCE_TRUSTED, &flow->remote, to->uri.user);
	px_send_response(c, stx, flow, m, 200, "OK", extra);
}
