/*
 * TCP/TLS connections. A hostile peer must not be able to hold resources:
 * the number of connections is capped per source address and in all, a
 * started message (or TLS handshake) must complete within header_timeout,
 * a connection without traffic closes after idle_timeout, the read buffer
 * never grows past the largest message, and a peer that does not read
 * what we send is dropped when its output passes a bound.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "inbound.h"
#include "log.h"
#include "sip_msg.h"
#include "stream.h"
#include "tls.h"

#define WBUF_MAX (1u << 20)

struct src_count {
	struct hnode node;
	struct ipc_addr addr; /* port 0 */
	uint32_t n;
};

struct conn {
	struct hnode by_id, by_peer;
	struct edge *e;
	struct listener *l;
	uint32_t id;
	int fd;
	uint8_t transport;
	struct ipc_addr remote;
	SSL *ssl;
	bool handshaking;
	bool hs_want_write; /* the handshake waits for the socket to drain */
	bool connecting;
	bool closing;
	bool outbound; /* opened by the edge (failures are worth a log) */
	char *rbuf;
	uint32_t rlen, rcap;
	uint8_t *wbuf;
	uint32_t wlen, wcap;
	struct ev_timer timer;
	uint64_t last_rx_ms, opened_ms;
	uint64_t partial_since_ms; /* 0 = no partial message */
	char tls_peer[64];
	char desc[96]; /* outbound: remote and trunk, for logs */
};

static struct log_rl rl_conn = LOG_RL_INIT(10000, 5);
/* Outbound failures: a carrier whose certificate is wrong is a
 * configuration problem the operator must see, apart from the noise of
 * inbound scanners. */
static struct log_rl rl_out = LOG_RL_INIT(10000, 10);

static uint64_t
peer_hash(uint8_t tp, const struct ipc_addr *a)
{
	uint8_t k[1 + sizeof *a];
	struct ipc_addr c = *a;
	c.pad = 0;
	k[0] = tp;
	memcpy(k + 1, &c, sizeof c);
	return hash_bytes(k, sizeof k);
}

static struct ipc_addr
src_key(const struct ipc_addr *a)
{
	struct ipc_addr k = *a;
	k.port = 0;
	k.pad = 0;
	if (k.family == 4)
		memset(k.addr + 4, 0, 12);
	return k;
}

static struct src_count *
src_find(struct edge *e, const struct ipc_addr *a, bool create)
{
	struct ipc_addr k = src_key(a);
	uint64_t hv = hash_bytes(&k, sizeof k);
	for (struct hnode *n = htable_first(&e->src_counts, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct src_count *s = container_of(n, struct src_count, node);
		if (memcmp(&s->addr, &k, sizeof k) == 0)
			return s;
	}
	if (!create)
		return NULL;
	struct src_count *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->addr = k;
	htable_insert(&e->src_counts, &s->node, hv);
	return s;
}

int
stream_init(struct edge *e)
{
	if (htable_init(&e->conns_by_id, 256) != 0 ||
	    htable_init(&e->conns_by_peer, 256) != 0 ||
	    htable_init(&e->src_counts, 256) != 0)
		return -1;
	e->next_conn_id = 1;
	return 0;
}

uint32_t
stream_conn_id(const struct conn *c)
{
	return c->id;
}

const char *
stream_tls_peer(const struct conn *c)
{
	return c->tls_peer;
}

static void conn_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg);
static void conn_io(struct ev_loop *loop, int fd, uint32_t events, void *arg);

static void
conn_arm_timer(struct conn *c)
{
	const struct pc_edge_limits *lim = &c->e->conf.edge.limits;
	uint64_t now = edge_now(c->e), due;
	if (c->closing)
		due = now;
	else if (c->handshaking || c->connecting)
		due = c->opened_ms + (uint64_t)lim->header_timeout_s * 1000;
	else if (c->partial_since_ms != 0)
		due = c->partial_since_ms +
		    (uint64_t)lim->header_timeout_s * 1000;
	else
		due = c->last_rx_ms + (uint64_t)lim->idle_timeout_s * 1000;
	ev_timer_start(c->e->loop, &c->timer, due > now ? due - now : 0);
}

static struct conn *
conn_new(
    struct edge *e, struct listener *l, int fd, const struct ipc_addr *remote)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->e = e;
	c->l = l;
	c->fd = fd;
	c->transport = l->transport;
	c->remote = *remote;
	do {
		c->id = e->next_conn_id++;
	} while (c->id == 0);
	c->opened_ms = c->last_rx_ms = edge_now(e);
	ev_timer_init(&c->timer, conn_timer_cb, c);
	htable_insert(&e->conns_by_id, &c->by_id, hash_bytes(&c->id, 4));
	htable_insert(&e->conns_by_peer, &c->by_peer,
	    peer_hash(c->transport, &c->remote));
	struct src_count *s = src_find(e, remote, true);
	if (s != NULL)
		s->n++;
	e->nconns++;
	return c;
}

void
stream_close(struct conn *c, const char *why)
{
	struct edge *e = c->e;
	char a[64];
	log_debug("conn %u %s closed: %s", c->id,
	    ipc_addr_str(&c->remote, a, sizeof a), why);
	ev_timer_stop(e->loop, &c->timer);
	ev_io_del(e->loop, c->fd);
	if (c->ssl != NULL) {
		if (!c->handshaking)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	htable_remove(&e->conns_by_id, &c->by_id);
	htable_remove(&e->conns_by_peer, &c->by_peer);
	struct src_count *s = src_find(e, &c->remote, false);
	if (s != NULL && --s->n == 0) {
		htable_remove(&e->src_counts, &s->node);
		free(s);
	}
	e->nconns--;
	e->st.conns_closed++;
	if (!e->stopping)
		inbound_flow_closed(e, c->l, c->id, &c->remote);
	free(c->rbuf);
	free(c->wbuf);
	free(c);
}

static int
update_events(struct conn *c)
{
	uint32_t ev = EV_READ;
	if (c->connecting)
		ev |= EV_WRITE;
	else if (c->handshaking)
		ev |= c->hs_want_write ? EV_WRITE : 0; /* queued data waits */
	else if (c->wlen > 0)
		ev |= EV_WRITE;
	return ev_io_mod(c->e->loop, c->fd, ev);
}

/* Writes what is queued; -1 when the connection broke. */
static int
conn_flush(struct conn *c)
{
	while (c->wlen > 0) {
		ssize_t n;
		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, c->wbuf, (int)c->wlen);
			if (r <= 0) {
				int err = SSL_get_error(c->ssl, r);
				if (err == SSL_ERROR_WANT_WRITE ||
				    err == SSL_ERROR_WANT_READ)
					break;
				ERR_clear_error();
				return -1;
			}
			n = r;
		} else {
			n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				return -1;
			}
		}
		memmove(c->wbuf, c->wbuf + n, c->wlen - (uint32_t)n);
		c->wlen -= (uint32_t)n;
	}
	return update_events(c);
}

static int
conn_write(struct conn *c, const void *buf, uint32_t len)
{
	if (c->wlen + len > WBUF_MAX)
		return -1;
	if (c->wlen + len > c->wcap) {
		uint32_t cap = c->wcap ? c->wcap : 4096;
		while (cap < c->wlen + len)
			cap *= 2;
		uint8_t *nb = realloc(c->wbuf, cap);
		if (nb == NULL)
			return -1;
		c->wbuf = nb;
		c->wcap = cap;
	}
	memcpy(c->wbuf + c->wlen, buf, len);
	c->wlen += len;
	if (c->handshaking || c->connecting)
		return 0; /* flushed once established */
	return conn_flush(c);
}

/* Takes every complete message out of the read buffer. Returns -1 when
 * the connection was closed. */
static int
conn_frame(struct conn *c)
{
	struct edge *e = c->e;
	uint32_t off = 0;
	int rc = 0;
	while (off < c->rlen) {
		uint32_t skip = 0;
		struct sip_err err = {0};
		int32_t n =
		    sip_msg_frame(c->rbuf + off, c->rlen - off, &skip, &err);
		if (skip > 0) {
			/* Keep-alive: a CRLFCRLF ping gets a CRLF pong. */
			uint32_t crlf = 0;
			for (uint32_t i = 0; i + 1 < skip; i++)
				if (c->rbuf[off + i] == '\r' &&
				    c->rbuf[off + i + 1] == '\n')
					crlf++;
			if (crlf >= 2) {
				e->st.keepalives++;
				if (conn_write(c, "\r\n", 2) != 0) {
					stream_close(c, "write failed");
					return -1;
				}
			}
			off += skip;
			continue;
		}
		if (n < 0) {
			e->st.framing_errors++;
			log_ratelimited(&rl_conn, LOG_LVL_INFO,
			    "conn %u: closing: %s", c->id,
			    err.phrase ? err.phrase : "bad framing");
			stream_close(c, "bad framing");
			return -1;
		}
		if (n == 0) {
			if (c->rlen - off >
			    e->conf.edge.limits.max_message_size + 4) {
				e->st.framing_errors++;
				stream_close(c, "message too large");
				return -1;
			}
			break;
		}
		ev_note_work(e->loop, 1);
		inbound_msg(e, c->l, c, &c->remote, c->rbuf + off, (uint32_t)n);
		off += (uint32_t)n;
		/* inbound_msg may have asked to close this connection. */
		if (c->closing) {
			stream_close(c, "closed after a fatal message");
			return -1;
		}
	}
	if (off > 0) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	c->partial_since_ms = c->rlen > 0
	    ? (c->partial_since_ms ? c->partial_since_ms : edge_now(e))
	    : 0;
	return rc;
}

static int
conn_read(struct conn *c)
{
	struct edge *e = c->e;
	uint32_t max = e->conf.edge.limits.max_message_size + 64;
	if (c->rbuf == NULL) {
		c->rcap = max;
		c->rbuf = malloc(c->rcap);
		if (c->rbuf == NULL) {
			stream_close(c, "out of memory");
			return -1;
		}
	}
	for (int round = 0; round < 16; round++) {
		if (c->rlen >= c->rcap) {
			e->st.framing_errors++;
			stream_close(c, "message too large");
			return -1;
		}
		ssize_t n;
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, c->rbuf + c->rlen,
			    (int)(c->rcap - c->rlen));
			if (r <= 0) {
				int err = SSL_get_error(c->ssl, r);
				if (err == SSL_ERROR_WANT_READ ||
				    err == SSL_ERROR_WANT_WRITE)
					return 0;
				ERR_clear_error();
				stream_close(c,
				    err == SSL_ERROR_ZERO_RETURN ? "peer closed"
				                                 : "tls error");
				return -1;
			}
			n = r;
		} else {
			n = recv(
			    c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
			if (n < 0) {
				if (errno == EAGAIN || errno == EINTR)
					return 0;
				stream_close(c, "read error");
				return -1;
			}
			if (n == 0) {
				stream_close(c, "peer closed");
				return -1;
			}
		}
		c->rlen += (uint32_t)n;
		c->last_rx_ms = edge_now(e);
		if (conn_frame(c) != 0)
			return -1;
	}
	return 0;
}

static int
conn_handshake(struct conn *c)
{
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->handshaking = false;
		c->hs_want_write = false;
		tls_peer_identity(c->ssl, c->tls_peer, sizeof c->tls_peer);
		if (c->outbound)
			log_debug("conn %u: TLS to %s up (%s, peer %s)", c->id,
			    c->desc, SSL_get_version(c->ssl),
			    c->tls_peer[0] ? c->tls_peer : "not verified");
		conn_arm_timer(c);
		if (conn_flush(c) != 0) {
			stream_close(c, "write failed");
			return -1;
		}
		return 0;
	}
	int err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->hs_want_write = err == SSL_ERROR_WANT_WRITE;
		if (update_events(c) != 0) {
			stream_close(c, "event loop");
			return -1;
		}
		return 0;
	}
	char buf[320];
	if (c->outbound)
		log_ratelimited(&rl_out, LOG_LVL_WARN,
		    "conn %u: TLS to %s refused: %s", c->id, c->desc,
		    tls_handshake_error(c->ssl, buf, sizeof buf));
	else
		log_ratelimited(&rl_conn, LOG_LVL_INFO,
		    "conn %u: TLS handshake: %s", c->id,
		    tls_error(buf, sizeof buf));
	stream_close(c, "tls handshake failed");
	return -1;
}

static void
conn_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	(void)loop;
	(void)fd;
	if (c->connecting) {
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr != 0 || (events & EV_ERROR)) {
			log_ratelimited(&rl_out, LOG_LVL_WARN,
			    "conn %u: connect to %s: %s", c->id, c->desc,
			    strerror(soerr != 0 ? soerr : ECONNREFUSED));
			stream_close(c, "connect failed");
			return;
		}
		c->connecting = false;
		conn_arm_timer(c);
		if (c->handshaking) {
			conn_handshake(c); /* sends the ClientHello */
			return;
		}
		if (conn_flush(c) != 0)
			stream_close(c, "write failed");
		return;
	}
	if (c->handshaking) {
		conn_handshake(c);
		return;
	}
	if (c->closing)
		return;
	if (events & (EV_READ | EV_ERROR)) {
		if (conn_read(c) != 0)
			return;
	}
	if ((events & EV_WRITE) || c->wlen > 0) {
		if (conn_flush(c) != 0) {
			stream_close(c, "write failed");
			return;
		}
	}
	conn_arm_timer(c);
}

static void
conn_timer_cb(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct conn *c = arg;
	(void)loop;
	(void)t;
	const struct pc_edge_limits *lim = &c->e->conf.edge.limits;
	uint64_t now = edge_now(c->e);
	if (c->closing) {
		stream_close(c, "closed after an error");
		return;
	}
	if (c->handshaking || c->connecting) {
		if (now >=
		    c->opened_ms + (uint64_t)lim->header_timeout_s * 1000) {
			if (c->outbound)
				log_ratelimited(&rl_out, LOG_LVL_WARN,
				    "conn %u: %s to %s timed out", c->id,
				    c->connecting ? "connect" : "TLS handshake",
				    c->desc);
			stream_close(c, "handshake timeout");
			return;
		}
	} else if (c->partial_since_ms != 0) {
		if (now >= c->partial_since_ms +
		        (uint64_t)lim->header_timeout_s * 1000) {
			stream_close(c, "incomplete message timeout");
			return;
		}
	} else if (now >=
	    c->last_rx_ms + (uint64_t)lim->idle_timeout_s * 1000) {
		stream_close(c, "idle");
		return;
	}
	conn_arm_timer(c);
}

void
stream_on_accept(struct ev_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct listener *l = arg;
	struct edge *e = l->e;
	(void)loop;
	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_ratelimited(&rl_conn, LOG_LVL_WARN,
				    "accept: %s", strerror(errno));
			return;
		}
		struct ipc_addr ra;
		ipc_addr_from_sa(&ra, (struct sockaddr *)&ss);
		acl_addr_normalise(&ra);
		const struct pc_edge_limits *lim = &e->conf.edge.limits;
		struct src_count *s = src_find(e, &ra, false);
		uint64_t now = edge_now(e);
		if (!acl_permits(&l->acl, &ra) ||
		    ban_is_banned(e->ban, &ra, now) ||
		    e->nconns >= lim->max_connections ||
		    (s != NULL && s->n >= lim->max_connections_per_source)) {
			e->st.conns_refused++;
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = conn_new(e, l, fd, &ra);
		if (c == NULL) {
			close(fd);
			continue;
		}
		e->st.conns_accepted++;
		if (l->transport == IPC_TP_TLS) {
			c->ssl = SSL_new(l->tls);
			if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
				stream_close(c, "tls setup failed");
				continue;
			}
			SSL_set_accept_state(c->ssl);
			c->handshaking = true;
		}
		if (ev_io_add(e->loop, fd, EV_READ, conn_io, c) != 0) {
			stream_close(c, "event loop");
			continue;
		}
		conn_arm_timer(c);
	}
}

void
stream_mark_close(struct conn *c)
{
	c->closing = true;
	ev_timer_start(c->e->loop, &c->timer, 0);
}

static struct conn *
find_by_id(struct edge *e, uint32_t id)
{
	uint64_t hv = hash_bytes(&id, 4);
	for (struct hnode *n = htable_first(&e->conns_by_id, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct conn *c = container_of(n, struct conn, by_id);
		if (c->id == id)
			return c;
	}
	return NULL;
}

static struct conn *
find_by_peer(struct edge *e, uint8_t tp, const struct ipc_addr *a)
{
	struct ipc_addr k = *a;
	acl_addr_normalise(&k);
	uint64_t hv = peer_hash(tp, &k);
	for (struct hnode *n = htable_first(&e->conns_by_peer, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct conn *c = container_of(n, struct conn, by_peer);
		if (c->transport == tp && !c->closing &&
		    ipc_addr_eq(&c->remote, &k))
			return c;
	}
	return NULL;
}

/* Binds an outbound socket to its listener's address (any port), so the
 * remote sees the address Via and Record-Route name; a wildcard listener
 * or one of the other family leaves the choice to the kernel. */
static int
bind_from(int fd, const struct listener *l, const struct ipc_addr *remote)
{
	struct ipc_addr a = l->local;
	static const uint8_t zero[16];
	if (a.family != remote->family ||
	    memcmp(a.addr, zero, a.family == 4 ? 4 : 16) == 0)
		return 0;
	a.port = 0;
	struct sockaddr_storage ss;
	socklen_t sl = ipc_addr_to_sa(&a, &ss);
	int one = 1;
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	return sl == 0 ? -1 : bind(fd, (struct sockaddr *)&ss, sl);
}

static struct conn *
connect_to(struct edge *e, struct listener *l, const struct ipc_addr *remote_,
    const char *trunk)
{
	const struct pc_edge_limits *lim = &e->conf.edge.limits;
	struct sockaddr_storage ss;
	char a[64];
	struct ipc_addr rn = *remote_;
	acl_addr_normalise(&rn);
	const struct ipc_addr *remote = &rn;
	socklen_t sl = ipc_addr_to_sa(remote, &ss);
	if (sl == 0)
		return NULL;
	struct src_count *s = src_find(e, remote, false);
	if (e->nconns >= lim->max_connections ||
	    (s != NULL && s->n >= lim->max_connections_per_source)) {
		e->st.conns_refused++;
		log_ratelimited(&rl_out, LOG_LVL_WARN,
		    "no connection to %s: connection limit reached",
		    ipc_addr_str(remote, a, sizeof a));
		return NULL;
	}
	int fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (bind_from(fd, l, remote) != 0 ||
	    (connect(fd, (struct sockaddr *)&ss, sl) < 0 &&
	        errno != EINPROGRESS)) {
		log_ratelimited(&rl_out, LOG_LVL_WARN, "connect to %s: %s",
		    ipc_addr_str(remote, a, sizeof a), strerror(errno));
		close(fd);
		return NULL;
	}
	SSL *ssl = NULL;
	char desc[sizeof((struct conn *)0)->desc];
	if (l->transport == IPC_TP_TLS) {
		ssl = tls_client_new(l, remote, trunk, desc, sizeof desc);
		if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
			SSL_free(ssl);
			close(fd);
			return NULL;
		}
	} else {
		ipc_addr_str(remote, desc, sizeof desc);
	}
	struct conn *c = conn_new(e, l, fd, remote);
	if (c == NULL) {
		SSL_free(ssl);
		close(fd);
		return NULL;
	}
	c->ssl = ssl;
	c->handshaking = ssl != NULL; /* once connected */
	c->outbound = true;
	snprintf(c->desc, sizeof c->desc, "%s", desc);
	c->connecting = true;
	if (ev_io_add(e->loop, fd, EV_READ | EV_WRITE, conn_io, c) != 0) {
		stream_close(c, "event loop");
		return NULL;
	}
	conn_arm_timer(c);
	return c;
}

bool
stream_exists(
    struct edge *e, uint32_t conn_id, uint8_t tp, const struct ipc_addr *remote)
{
	struct conn *c = conn_id != 0 ? find_by_id(e, conn_id) : NULL;
	if (c != NULL && !c->closing)
		return true;
	return find_by_peer(e, tp, remote) != NULL;
}

int
stream_send(struct edge *e, uint32_t conn_id, uint8_t tp, struct listener *l,
    const struct ipc_addr *remote, const void *buf, uint32_t len)
{
	return stream_send_trunk(e, conn_id, tp, l, remote, NULL, buf, len);
}

int
stream_send_trunk(struct edge *e, uint32_t conn_id, uint8_t tp,
    struct listener *l, const struct ipc_addr *remote, const char *trunk,
    const void *buf, uint32_t len)
{
	struct conn *c = conn_id != 0 ? find_by_id(e, conn_id) : NULL;
	if (c == NULL || c->closing)
		c = find_by_peer(e, tp, remote);
	if (c == NULL && (tp == IPC_TP_TCP || tp == IPC_TP_TLS) && l != NULL &&
	    l->transport == tp && (tp != IPC_TP_TLS || l->tls != NULL))
		c = connect_to(e, l, remote, trunk);
	if (c == NULL)
		return -1;
	if (conn_write(c, buf, len) != 0) {
		/* The connection may be the one whose message is being
		 * handled: close it from the loop, not from here. */
		stream_mark_close(c);
		return -1;
	}
	e->st.tx_msgs++;
	return 0;
}

struct close_ctx {
	struct conn **v;
	size_t n, cap;
};

static int
collect_cb(struct hnode *n, void *arg)
{
	struct close_ctx *cc = arg;
	if (cc->n < cc->cap)
		cc->v[cc->n++] = container_of(n, struct conn, by_id);
	return 0;
}

void
stream_close_all(struct edge *e)
{
	struct close_ctx cc = {
	    calloc(e->nconns + 1, sizeof(struct conn *)), 0, e->nconns};
	if (cc.v == NULL)
		return;
	htable_walk(&e->conns_by_id, collect_cb, &cc);
	for (size_t i = 0; i < cc.n; i++)
		stream_close(cc.v[i], "shutdown");
	free(cc.v);
	htable_free(&e->conns_by_id);
	htable_free(&e->conns_by_peer);
	htable_free(&e->src_counts);
}

struct list_ctx {
	struct edge *e;
	struct ctl_rows *rows;
};

static int
list_cb(struct hnode *n, void *arg)
{
	struct list_ctx *lc = arg;
	struct conn *c = container_of(n, struct conn, by_id);
	char a[64];
	uint64_t now = edge_now(lc->e);
	ctl_rows_str(lc->rows, "kind", "connection");
	ctl_rows_u64(lc->rows, "conn_id", c->id);
	ctl_rows_str(
	    lc->rows, "transport", c->transport == IPC_TP_TLS ? "tls" : "tcp");
	ctl_rows_str(lc->rows, "remote", ipc_addr_str(&c->remote, a, sizeof a));
	ctl_rows_u64(lc->rows, "listener", c->l->idx);
	ctl_rows_u64(lc->rows, "age_s", (now - c->opened_ms) / 1000);
	ctl_rows_u64(lc->rows, "idle_s", (now - c->last_rx_ms) / 1000);
	ctl_rows_str(lc->rows, "tls_peer", c->tls_peer);
	ctl_rows_end_row(lc->rows);
	return lc->rows->overflow ? 1 : 0;
}

void
stream_list(struct edge *e, struct ctl_rows *rows)
{
	struct list_ctx lc = {e, rows};
	htable_walk(&e->conns_by_id, list_cb, &lc);
}

size_t
stream_count(struct edge *e)
{
	return e->nconns;
}
