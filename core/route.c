/*
 * Domains and own addresses. Why copies of the configuration strings: a
 * reload swaps the configuration, and the route table is rebuilt from the
 * new one at the same time, so it must not point into the old one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc_msgs.h"
#include "route.h"

struct route_listener {
	char *address;
	char *advertise; /* NULL if none */
	uint16_t port;
	int transport; /* enum pc_transport */
	int role; /* enum pc_role */
};

struct route {
	char **domains;
	size_t ndomains;
	char **redirect;
	size_t nredirect;
	struct route_listener *l;
	size_t nl;
};

static char **
dup_list(char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));

	for (size_t i = 0; out != NULL && i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

struct route *
route_new(const struct pc_conf *conf)
{
	struct route *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->nl = conf->nlisten;
	r->l = calloc(r->nl + 1, sizeof(*r->l));
	for (size_t i = 0; r->l != NULL && i < r->nl; i++) {
		const struct pc_listen *pl = &conf->listen[i];
		r->l[i].address =
		    strdup(pl->address ? pl->address : "127.0.0.1");
		r->l[i].advertise = pl->advertise && pl->advertise[0]
		    ? strdup(pl->advertise)
		    : NULL;
		r->l[i].port = (uint16_t)pl->port;
		r->l[i].transport = pl->transport;
		r->l[i].role = pl->role;
	}
	if (conf->ndomains > 0) {
		r->domains = dup_list(conf->domains, conf->ndomains);
		r->ndomains = conf->ndomains;
	} else {
		/* Default: the listen addresses and "localhost". */
		r->domains = calloc(2 * r->nl + 2, sizeof(char *));
		for (size_t i = 0; r->domains != NULL && i < r->nl; i++) {
			r->domains[r->ndomains++] = strdup(r->l[i].address);
			if (r->l[i].advertise != NULL)
				r->domains[r->ndomains++] =
				    strdup(r->l[i].advertise);
		}
		if (r->domains != NULL)
			r->domains[r->ndomains++] = strdup("localhost");
	}
	r->redirect = dup_list(conf->core.proxy.redirect_domains,
	    conf->core.proxy.nredirect_domains);
	r->nredirect = conf->core.proxy.nredirect_domains;
	if (r->l == NULL || r->domains == NULL || r->redirect == NULL) {
		route_free(r);
		return NULL;
	}
	return r;
}

void
route_free(struct route *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->domains && i < r->ndomains; i++)
		free(r->domains[i]);
	free(r->domains);
	for (size_t i = 0; r->redirect && i < r->nredirect; i++)
		free(r->redirect[i]);
	free(r->redirect);
	for (size_t i = 0; r->l && i < r->nl; i++) {
		free(r->l[i].address);
		free(r->l[i].advertise);
	}
	free(r->l);
	free(r);
}

static bool
in_list(char *const *v, size_t n, struct slice s)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL && slice_eq_cstr_nocase(s, v[i]))
			return true;
	return false;
}

bool
route_is_domain(const struct route *r, struct slice host)
{
	return in_list(r->domains, r->ndomains, host);
}

bool
route_is_redirect(const struct route *r, struct slice domain)
{
	return in_list(r->redirect, r->nredirect, domain);
}

static uint16_t
default_port(int transport)
{
	return transport == PC_TP_TLS ? 5061 : 5060;
}

bool
route_is_me(const struct route *r, struct slice host, uint16_t port)
{
	for (size_t i = 0; i < r->nl; i++) {
		const struct route_listener *l = &r->l[i];
		bool host_ok = slice_eq_cstr_nocase(host, l->address) ||
		    (l->advertise != NULL &&
		        slice_eq_cstr_nocase(host, l->advertise)) ||
		    route_is_domain(r, host);
		if (!host_ok)
			continue;
		uint16_t p = port != 0 ? port : default_port(l->transport);
		if (p == l->port)
			return true;
	}
	return false;
}

size_t
route_nlisteners(const struct route *r)
{
	return r->nl;
}

static const char *
tp_name(int transport, bool upper)
{
	switch (transport) {
	case PC_TP_TCP:
		return upper ? "TCP" : "tcp";
	case PC_TP_TLS:
		return upper ? "TLS" : "tls";
	default:
		return upper ? "UDP" : "udp";
	}
}

static const char *
host_of(const struct route_listener *l, char *buf, size_t cap)
{
	const char *h = l->advertise ? l->advertise : l->address;

	if (strchr(h, ':') != NULL) {
		snprintf(buf, cap, "[%s]", h);
		return buf;
	}
	return h;
}

int
route_via(const struct route *r, uint16_t listener, char *buf, size_t cap)
{
	char hb[80];

	if (listener >= r->nl)
		listener = 0;
	if (r->nl == 0)
		return snprintf(buf, cap, "SIP/2.0/UDP 127.0.0.1:5060");
	const struct route_listener *l = &r->l[listener];
	return snprintf(buf, cap, "SIP/2.0/%s %s:%u",
	    tp_name(l->transport, true), host_of(l, hb, sizeof(hb)), l->port);
}

int
route_rr(const struct route *r, uint16_t listener, char *buf, size_t cap)
{
	char hb[80];

	if (listener >= r->nl)
		listener = 0;
	if (r->nl == 0)
		return snprintf(buf, cap, "<sip:127.0.0.1:5060;lr>");
	const struct route_listener *l = &r->l[listener];
	if (l->transport == PC_TP_UDP)
		return snprintf(buf, cap, "<sip:%s:%u;lr>",
		    host_of(l, hb, sizeof(hb)), l->port);
	return snprintf(buf, cap, "<sip:%s:%u;transport=%s;lr>",
	    host_of(l, hb, sizeof(hb)), l->port, tp_name(l->transport, false));
}

uint16_t
route_listener_for(const struct route *r, uint8_t ipc_transport)
{
	int want = ipc_transport == IPC_TP_TCP ? PC_TP_TCP
	    : ipc_transport == IPC_TP_TLS      ? PC_TP_TLS
	                                       : PC_TP_UDP;
	for (size_t i = 0; i < r->nl; i++)
		if (r->l[i].transport == want)
			return (uint16_t)i;
	return 0;
}

const char *
route_first_domain(const struct route *r)
{
	return r->ndomains > 0 ? r->domains[0] : "localhost";
}

uint16_t
route_listener_trunk(const struct route *r, uint8_t ipc_transport)
{
	int want = ipc_transport == IPC_TP_TCP ? PC_TP_TCP
	    : ipc_transport == IPC_TP_TLS      ? PC_TP_TLS
	                                       : PC_TP_UDP;
	for (size_t i = 0; i < r->nl; i++)
		if (r->l[i].transport == want && r->l[i].role == PC_ROLE_TRUNK)
			return (uint16_t)i;
	return route_listener_for(r, ipc_transport);
}

int
route_hostport(const struct route *r, uint16_t listener, char *buf, size_t cap)
{
	char hb[80];

	if (r->nl == 0)
		return snprintf(buf, cap, "127.0.0.1:5060");
	if (listener >= r->nl)
		listener = 0;
	const struct route_listener *l = &r->l[listener];
	return snprintf(buf, cap, "%s:%u", host_of(l, hb, sizeof(hb)), l->port);
}
