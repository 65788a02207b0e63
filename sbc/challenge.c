/*
 * Requests answered at the edge. Why here: half of every digest
 * registration is the credential-less REGISTER and its 401, and a 401
 * needs no state, only a sealed nonce. Answering it here saves a round
 * trip over core.sock, core's parse, a server transaction and its timers.
 * The rules are core's (core/proxy.c handle_request, proxy_reg.c,
 * proxy_auth.c) restricted to requests where they cannot differ: anything
 * with a Route, Require, Proxy-Require, a To tag, several Vias (a loop
 * check needs core) or any Authorization header goes to core. The same
 * holds for OPTIONS to ourselves.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "challenge.h"
#include "core/auth.h"
#include "core/route.h"
#include "inbound.h"
#include "log.h"

/* Reads exactly n bytes of path into buf; -1 otherwise. */
static int
read_file(const char *path, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n);
	close(fd);
	return r == (ssize_t)n ? 0 : -1;
}

static void
drop(struct edge *e)
{
	auth_free(e->auth);
	e->auth = NULL;
	route_free(e->route);
	e->route = NULL;
}

void
challenge_setup(struct edge *e)
{
	char path[4096], text[9] = {0};
	uint8_t secret[AUTH_SECRET_LEN];

	drop(e);
	e->route = route_new(&e->conf);
	snprintf(path, sizeof path, "%s/nonce.epoch", e->conf.runtime_dir);
	if (read_file(path, text, 8) < 0) {
		log_info("%s unreadable: core answers every challenge", path);
		return;
	}
	char *end;
	unsigned long epoch = strtoul(text, &end, 16);
	snprintf(path, sizeof path, "%s/nonce.key", e->conf.state_dir);
	if (*end != '\0' || read_file(path, secret, sizeof secret) < 0) {
		log_info("%s unreadable: core answers every challenge", path);
		return;
	}
	const struct pc_core_auth *ac = &e->conf.core.auth;
	enum digest_alg algs[DIGEST__COUNT];
	int n = 0;
	for (size_t i = 0; i < ac->nalgorithms && n < DIGEST__COUNT; i++) {
		int a = digest_alg_parse(slice_cstr(ac->algorithms[i]));
		if (a >= 0)
			algs[n++] = (enum digest_alg)a;
	}
	e->auth = auth_new(secret, ac->nonce_ttl_s);
	explicit_bzero(secret, sizeof secret);
	if (e->auth == NULL || n == 0) {
		auth_free(e->auth);
		e->auth = NULL;
		return;
	}
	auth_set_algorithms(e->auth, algs, n);
	auth_set_epoch(e->auth, (uint32_t)epoch, true);
}

void
challenge_free(struct edge *e)
{
	drop(e);
}

static bool
ours(struct edge *e, const struct sip_uri *u)
{
	return route_is_domain(e->route, u->host) ||
	    route_is_me(e->route, u->host, u->port);
}

/* What core's handle_request checks before it looks at the method. */
static bool
plain_request(struct edge *e, const struct ipc_flow *f, struct sip_msg *m,
    const struct sip_nameaddr **to)
{
	struct sip_err err;
	const struct sip_via *v;

	/* m passed sip_msg_validate in sanity_check (challenge.h). */
	if (!m->is_request || f->role == IPC_FLOW_ROLE_TRUNK ||
	    e->route == NULL)
		return false;
	if (m->first[SIP_HDR_ROUTE] >= 0 || m->first[SIP_HDR_REQUIRE] >= 0 ||
	    m->first[SIP_HDR_PROXY_REQUIRE] >= 0)
		return false;
	if (sip_msg_vias(m, &v, &err) != 1)
		return false;
	*to = sip_msg_to(m, &err);
	return *to != NULL && (*to)->tag.len == 0 &&
	    sip_msg_from(m, &err) != NULL;
}

/* proxy_reg.c's checks, then proxy_auth.c's "no credentials" challenge. */
static bool
register_challenge(struct edge *e, const struct ipc_flow *f, struct sip_msg *m,
    const struct sip_nameaddr *to)
{
	const struct pc_core_auth *ac = &e->conf.core.auth;
	struct sip_err err;
	char user[256], domain[STORE_DOMAIN_MAX];

	if (e->auth == NULL || !ac->require ||
	    sip_msg_max_forwards(m, &err) == 0 ||
	    m->first[SIP_HDR_AUTHORIZATION] >= 0 || !ours(e, &m->ruri) ||
	    !ours(e, &to->uri))
		return false;
	/* reg_make_aor()'s limits: an AoR core would refuse is core's. */
	int ul = sip_uri_unescape(to->uri.user, user, sizeof user);
	if (to->uri.user.len == 0 || ul < 0 ||
	    (size_t)ul + 2 + to->uri.host.len > 512 ||
	    !slice_copy_cstr(to->uri.host, domain, sizeof domain))
		return false;
	const char *realm =
	    ac->realm != NULL && ac->realm[0] != '\0' ? ac->realm : domain;
	char extra[2048];
	if (auth_challenge(e->auth, false, slice_cstr(realm), false,
	        (uint64_t)time(NULL), extra, sizeof extra) < 0)
		return false;
	e->st.challenges_here++;
	inbound_reply(e, f, m, 401, "Unauthorized", extra);
	return true;
}

bool
challenge_try(struct edge *e, const struct ipc_flow *f, struct sip_msg *m)
{
	const struct sip_nameaddr *to;

	if ((m->method != SIP_M_REGISTER && m->method != SIP_M_OPTIONS) ||
	    !plain_request(e, f, m, &to))
		return false;
	if (m->method == SIP_M_REGISTER)
		return register_challenge(e, f, m, to);
	/* core's handle_options_here: no user part, our address or domain
	 * (Max-Forwards 0 allowed, as there). */
	if (m->ruri.user.len != 0 || !ours(e, &m->ruri))
		return false;
	e->st.options_here++;
	inbound_reply(e, f, m, 200, "OK",
	    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, "
	    "UPDATE, INFO, MESSAGE, REFER, NOTIFY, SUBSCRIBE\r\n"
	    "Accept: application/sdp\r\n");
	return true;
}
