/*
 * Authentication in front of the registrar and the proxy (RFC 3261 §22.2,
 * §22.3; RFC 7616; RFC 8760). Why failures are reported and then
 * challenged again rather than refused: a phone with a wrong password
 * should see the prompt again, while edge counts the failures per source
 * (AUTH_FAILED) and bans a guesser.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "proxy_int.h"

static void
challenge(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, bool is_register, struct slice realm, bool stale)
{
	char extra[2048];

	c->st.auth_challenges++;
	if (auth_challenge(c->auth, !is_register, realm, stale,
	        (uint64_t)core_now_s(c), extra, sizeof(extra)) < 0) {
		px_send_response(
		    c, stx, flow, m, 500, "Server Internal Error", NULL);
		return;
	}
	if (is_register)
		px_send_response(c, stx, flow, m, 401, "Unauthorized", extra);
	else
		px_send_response(c, stx, flow, m, 407,
		    "Proxy Authentication Required", extra);
}

static void
report_failure(struct core *c, const struct ipc_flow *flow, struct slice user)
{
	c->st.auth_failures++;
	core_report_source(c, IPC_AUTH_FAILED, &flow->remote, user);
}

int
px_authenticate(struct core *c, struct tx *stx, const struct ipc_flow *flow,
    struct sip_msg *m, bool is_register, bool *authed, struct store_user *who)
{
	struct sip_err err;
	const struct pc_core_auth *ac = &c->conf.core.auth;

	*authed = false;
	if (!ac->require || flow->role == IPC_FLOW_ROLE_TRUNK)
		return 1;
	const struct sip_nameaddr *from = sip_msg_from(m, &err);
	const struct sip_nameaddr *to = sip_msg_to(m, &err);
	if (from == NULL || to == NULL) {
		px_send_response(c, stx, flow, m, 400, "Bad Request", NULL);
		return 0;
	}
	const struct sip_uri *id = is_register ? &to->uri : &from->uri;
	/* Calls from other domains to our users are not ours to
	 * authenticate; calls from our domains are. */
	if (!is_register && !route_is_domain(c->route, id->host) &&
	    !route_is_me(c->route, id->host, id->port))
		return 1;
	char domain[STORE_DOMAIN_MAX];
	if (!slice_copy_cstr(id->host, domain, sizeof(domain))) {
		px_send_response(
		    c, stx, flow, m, 400, "Bad Request - Domain", NULL);
		return 0;
	}
	struct slice realm = slice_cstr(users_realm(c, domain));
	const struct sip_auth *creds;
	int n = sip_msg_auths(m,
	    is_register ? SIP_HDR_AUTHORIZATION : SIP_HDR_PROXY_AUTHORIZATION,
	    &creds, &err);
	const struct sip_auth *cred =
	    n > 0 ? auth_find_cred(creds, n, realm) : NULL;
	if (cred == NULL) {
		challenge(c, stx, flow, m, is_register, realm, false);
		return 0;
	}
	struct store_user u;
	int found = store_user_get(c->store, cred->username, id->host, &u);
	if (found < 0) {
		px_send_response(
		    c, stx, flow, m, 500, "Server Internal Error", NULL);
		return 0;
	}
	if (found == 0 || !slice_eq_cstr(realm, u.realm)) {
		report_failure(c, flow, cred->username);
		challenge(c, stx, flow, m, is_register, realm, false);
		return 0;
	}
	enum auth_result r = auth_verify(
	    c->auth, cred, m->method_name, &u, realm, (uint64_t)core_now_s(c));
	switch (r) {
	case AUTH_OK:
		break;
	case AUTH_STALE:
		challenge(c, stx, flow, m, is_register, realm, true);
		return 0;
	case AUTH_MALFORMED:
		challenge(c, stx, flow, m, is_register, realm, false);
		return 0;
	default:
		report_failure(c, flow, cred->username);
		challenge(c, stx, flow, m, is_register, realm, false);
		return 0;
	}
	if (ac->match_from) {
		char fu[STORE_USER_MAX] = "", tu[STORE_USER_MAX] = "";
		int fl = sip_uri_unescape(from->uri.user, fu, sizeof(fu));
		int tl = sip_uri_unescape(to->uri.user, tu, sizeof(tu));
		bool ok = fl >= 0 && strcmp(fu, u.user) == 0 &&
		    slice_eq_nocase(from->uri.host, id->host);
		if (is_register)
			ok = fl >= 0 && strcmp(fu, u.user) == 0 && tl >= 0 &&
			    strcmp(tu, u.user) == 0;
		if (!ok) {
			px_send_response(c, stx, flow, m, 403,
			    "Forbidden - Identity Mismatch", NULL);
			return 0;
		}
	}
	*authed = true;
	if (who != NULL)
		*who = u;
	return 1;
}
