/*
 * Listener sockets. A listener binds its configured address and port with
 * SO_REUSEPORT, so running one edge per core spreads datagrams and
 * connections across them (the kernel hashes the 4-tuple).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "stream.h"
#include "tls.h"
#include "udp.h"

static int
open_one(struct listener *l, const struct pc_listen *pl)
{
	struct sockaddr_storage ss;
	if (!ipc_addr_parse(&l->local, pl->address, (uint16_t)pl->port)) {
		log_error("listen[%u]: address \"%s\" is not an IP address",
		    l->idx, pl->address);
		return -1;
	}
	struct ipc_addr noport = l->local;
	noport.port = 0;
	ipc_addr_str(&noport, l->addr, sizeof l->addr);
	socklen_t slen = ipc_addr_to_sa(&l->local, &ss);
	int type = l->transport == IPC_TP_UDP ? SOCK_DGRAM : SOCK_STREAM;
	int fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("listen[%u]: socket", l->idx);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
		log_warn("listen[%u]: SO_REUSEPORT", l->idx);
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (type == SOCK_DGRAM) {
		/* Room for bursts (and the loop's pause under load): the
		 * FORCE options pass net.core.rmem_max/wmem_max (208 KB on a
		 * stock kernel) while we still hold the privilege; otherwise
		 * the kernel caps the plain ones. */
		int sz = 4 << 20;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	}
	if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
		char a[64];
		log_warn("listen[%u]: bind %s %s", l->idx,
		    type == SOCK_DGRAM ? "udp" : "tcp",
		    ipc_addr_str(&l->local, a, sizeof a));
		close(fd);
		return -1;
	}
	if (type == SOCK_STREAM && listen(fd, 1024) < 0) {
		log_warn("listen[%u]: listen", l->idx);
		close(fd);
		return -1;
	}
	l->fd = fd;
	return 0;
}

int
listen_open_all(struct edge *e)
{
	int bad = 0;
	e->nlis = e->conf.nlisten;
	e->lis = calloc(e->nlis ? e->nlis : 1, sizeof *e->lis);
	if (e->lis == NULL)
		fatal("listeners");
	for (size_t i = 0; i < e->nlis; i++) {
		const struct pc_listen *pl = &e->conf.listen[i];
		struct listener *l = &e->lis[i];
		l->e = e;
		l->idx = (uint16_t)i;
		l->fd = -1;
		l->transport = pl->transport == PC_TP_UDP ? IPC_TP_UDP
		    : pl->transport == PC_TP_TCP          ? IPC_TP_TCP
		                                          : IPC_TP_TLS;
		l->role = pl->role == PC_ROLE_TRUNK ? IPC_FLOW_ROLE_TRUNK
		                                    : IPC_FLOW_ROLE_PUBLIC;
		const char *host = pl->advertise != NULL && *pl->advertise
		    ? pl->advertise
		    : pl->address;
		snprintf(l->host, sizeof l->host, "%s", host);
		snprintf(l->host_uri, sizeof l->host_uri,
		    strchr(host, ':') != NULL ? "[%s]" : "%s", l->host);
		if (pl->trunk != NULL)
			snprintf(l->trunk, sizeof l->trunk, "%s", pl->trunk);
		char err[160];
		if (acl_init(&l->acl, pl->acl_allow, pl->nacl_allow,
		        pl->acl_deny, pl->nacl_deny, err, sizeof err) != 0) {
			log_error("listen[%zu]: %s", i, err);
			bad++;
			continue;
		}
		if (open_one(l, pl) != 0) {
			bad++;
			continue;
		}
		if (l->transport == IPC_TP_TLS && tls_listener_init(l, pl) != 0)
			bad++;
	}
	return bad ? -1 : 0;
}

int
listen_start(struct edge *e)
{
	for (size_t i = 0; i < e->nlis; i++) {
		struct listener *l = &e->lis[i];
		ev_io_cb cb =
		    l->transport == IPC_TP_UDP ? udp_on_read : stream_on_accept;
		if (ev_io_add(e->loop, l->fd, EV_READ, cb, l) != 0)
			return -1;
	}
	return 0;
}

void
listen_close_all(struct edge *e)
{
	for (size_t i = 0; i < e->nlis; i++) {
		struct listener *l = &e->lis[i];
		if (l->fd >= 0) {
			ev_io_del(e->loop, l->fd);
			close(l->fd);
		}
		acl_free(&l->acl);
		tls_listener_free(l);
	}
	free(e->lis);
	e->lis = NULL;
	e->nlis = 0;
}

int
listen_reload_acls(struct edge *e)
{
	if (e->conf.nlisten != e->nlis)
		return -1;
	for (size_t i = 0; i < e->nlis; i++) {
		const struct pc_listen *pl = &e->conf.listen[i];
		struct acl a;
		char err[160];
		if (acl_init(&a, pl->acl_allow, pl->nacl_allow, pl->acl_deny,
		        pl->nacl_deny, err, sizeof err) != 0) {
			log_error("listen[%zu]: %s", i, err);
			return -1;
		}
		acl_free(&e->lis[i].acl);
		e->lis[i].acl = a;
		if (pl->trunk != NULL) {
			/* NUL-padded: inbound_flow copies all of it. */
			memset(e->lis[i].trunk, 0, sizeof e->lis[i].trunk);
			snprintf(e->lis[i].trunk, sizeof e->lis[i].trunk, "%s",
			    pl->trunk);
		}
	}
	return 0;
}

struct listener *
listen_pick(struct edge *e, uint8_t tp, uint8_t fam)
{
	struct listener *any = NULL;
	for (size_t i = 0; i < e->nlis; i++) {
		struct listener *l = &e->lis[i];
		if (l->transport != tp)
			continue;
		if (l->local.family == fam)
			return l;
		if (any == NULL)
			any = l;
	}
	return any;
}

bool
listen_is_local(struct edge *e, struct slice host, uint16_t port)
{
	for (size_t i = 0; i < e->nlis; i++) {
		struct listener *l = &e->lis[i];
		/* l->addr is written when the listener opens. */
		bool host_ok = slice_eq_cstr_nocase(host, l->host) ||
		    (l->addr[0] != '\0' && slice_eq_cstr_nocase(host, l->addr));
		uint16_t lp = l->local.port;
		if (host_ok &&
		    (port == 0 || port == lp || (lp == 5060 && port == 0)))
			return true;
	}
	return false;
}
