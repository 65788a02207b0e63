/*
 * relay.sock: requests from edge (and management tools) to the call table,
 * bans and captures. The catalogue has already checked every body's exact
 * size; strings inside are checked for their NUL here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "ban.h"
#include "capture.h"
#include "dispatch_edge.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "log.h"

static struct log_rl rl_peer = LOG_RL_INIT(10000, 5);

#define MAX_PEERS 64
#define HIGH_WATER (8u << 20)
/* Replies held per peer until the end of the loop iteration. */
#define OUT_MAX 128
#define OUT_BODY_MAX sizeof(struct ipc_media_reply)

/* A reply framed as ipc_send() frames it: header, then body. */
struct out_msg {
	struct ipc_hdr h;
	uint8_t body[OUT_BODY_MAX];
};

struct edge_srv {
	struct relay_app *a;
	int lfd;
	struct ipc_chan *ch[MAX_PEERS];
	/* Replies wait here for edge_flush() (the before-sleep hook): every
	 * request of an iteration is answered after the kernel changes it
	 * asked for are committed, with one sendmmsg per peer. */
	struct out_msg *out[MAX_PEERS];
	unsigned nout[MAX_PEERS];
};

static void edge_flush_peer(struct edge_srv *e, int slot);

/* Queues one reply to the peer in slot; if that peer's channel already
 * has a backlog, the message joins it (order is kept). */
static int
edge_reply(struct edge_srv *e, struct ipc_chan *ch, uint16_t type, uint64_t id,
    const void *body, uint32_t len)
{
	int slot = -1;
	struct out_msg *m;

	for (int i = 0; i < MAX_PEERS && slot < 0; i++)
		if (e->ch[i] == ch)
			slot = i;
	if (slot < 0 || len > OUT_BODY_MAX ||
	    (e->nout[slot] == 0 && ipc_chan_queued(ch) > 0))
		return ipc_chan_send(ch, type, 0, id, body, len, NULL, 0);
	if (e->out[slot] == NULL) {
		e->out[slot] = malloc(OUT_MAX * sizeof(struct out_msg));
		if (e->out[slot] == NULL)
			return ipc_chan_send(
			    ch, type, 0, id, body, len, NULL, 0);
	}
	if (e->nout[slot] == OUT_MAX)
		edge_flush_peer(e, slot);
	m = &e->out[slot][e->nout[slot]++];
	memset(&m->h, 0, sizeof(m->h));
	m->h.type = type;
	m->h.length = len;
	m->h.id = id;
	memcpy(m->body, body, len);
	return 0;
}

static void
edge_flush_peer(struct edge_srv *e, int slot)
{
	struct mmsghdr mm[OUT_MAX];
	struct iovec iov[OUT_MAX];
	struct ipc_chan *ch = e->ch[slot];
	unsigned n = e->nout[slot];
	int sent = 0;

	e->nout[slot] = 0;
	if (ch == NULL || n == 0)
		return;
	memset(mm, 0, n * sizeof(mm[0]));
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = &e->out[slot][i];
		iov[i].iov_len =
		    sizeof(struct ipc_hdr) + e->out[slot][i].h.length;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	if (ipc_chan_queued(ch) == 0) {
		sent = sendmmsg(
		    ipc_chan_fd(ch), mm, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0)
			sent = 0;
	}
	/* What the socket did not take waits in the channel's queue (or
	 * fails there the way a direct send would). */
	for (unsigned i = (unsigned)sent; i < n; i++) {
		struct out_msg *m = &e->out[slot][i];

		if (ipc_chan_send(ch, m->h.type, 0, m->h.id, m->body,
		        m->h.length, NULL, 0) < 0)
			log_ratelimited(&rl_peer, LOG_LVL_WARN,
			    "relay.sock: reply dropped: %s", strerror(errno));
	}
}

void
dispatch_edge_flush(struct edge_srv *e)
{
	if (e == NULL)
		return;
	for (int i = 0; i < MAX_PEERS; i++)
		if (e->nout[i] > 0)
			edge_flush_peer(e, i);
}

static void
send_result(struct edge_srv *e, struct ipc_chan *ch, uint64_t id, int status,
    const char *msg)
{
	struct ipc_result res;

	memset(&res, 0, sizeof(res));
	res.status = status;
	snprintf(res.message, sizeof(res.message), "%s", msg);
	if (edge_reply(e, ch, IPC_RESULT, id, &res, sizeof(res)) < 0)
		log_ratelimited(&rl_peer, LOG_LVL_WARN,
		    "relay.sock: reply dropped: %s", strerror(errno));
}

int
app_capture_start(struct relay_app *a, const char *call_id, const char *path,
    uint32_t max_bytes, uint32_t max_seconds, char *err, size_t errlen)
{
	char filter[1024];
	size_t n = 0;

	if (call_id != NULL && call_id[0] != '\0') {
		struct rcall *c = relay_call_find(&a->r, call_id);

		if (c == NULL) {
			snprintf(err, errlen, "no such call");
			return -ENOENT;
		}
		n = (size_t)snprintf(filter, sizeof(filter), "udp and (");
		for (int i = 0; i < c->ns && n < sizeof(filter) - 64; i++)
			for (int l = 0; l < 2; l++)
				n += (size_t)snprintf(filter + n,
				    sizeof(filter) - n, "%sportrange %u-%u",
				    i || l ? " or " : "", c->s[i]->leg[l].port,
				    c->s[i]->leg[l].port + 1);
		snprintf(filter + n, sizeof(filter) - n, ")");
	} else {
		if (a->conf.nlisten == 0) {
			snprintf(err, errlen, "no SIP listeners configured");
			return -ENOENT;
		}
		for (size_t i = 0;
		     i < a->conf.nlisten && n < sizeof(filter) - 32; i++)
			n += (size_t)snprintf(filter + n, sizeof(filter) - n,
			    "%sport %u", i ? " or " : "",
			    a->conf.listen[i].port);
	}
	return capture_start(
	    a->cap, path, filter, max_bytes, max_seconds, err, errlen);
}

static bool
nul_in(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static void
on_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	struct edge_srv *e = arg;
	struct relay_app *a = e->a;
	char err[160];
	int rc;

	switch (m->hdr.type) {
	case IPC_MEDIA_OFFER:
	case IPC_MEDIA_ANSWER: {
		struct ipc_media_req q;
		struct ipc_media_reply rep;

		memcpy(&q, m->body, sizeof(q));
		relay_media_update(
		    &a->r, &q, m->hdr.type == IPC_MEDIA_ANSWER, &rep);
		edge_reply(
		    e, ch, IPC_MEDIA_REPLY, m->hdr.id, &rep, sizeof(rep));
		break;
	}
	case IPC_MEDIA_QUERY: {
		struct ipc_media_ref ref;
		struct ipc_media_reply rep;

		memcpy(&ref, m->body, sizeof(ref));
		relay_media_query(&a->r, &ref, &rep);
		edge_reply(
		    e, ch, IPC_MEDIA_REPLY, m->hdr.id, &rep, sizeof(rep));
		break;
	}
	case IPC_MEDIA_DELETE: {
		struct ipc_media_ref ref;

		memcpy(&ref, m->body, sizeof(ref));
		rc = relay_media_delete(&a->r, &ref);
		send_result(
		    e, ch, m->hdr.id, rc, rc == 0 ? "deleted" : "no such call");
		break;
	}
	case IPC_BAN_ADD:
	case IPC_BAN_DEL: {
		struct ipc_ban b;

		memcpy(&b, m->body, sizeof(b));
		rc = m->hdr.type == IPC_BAN_ADD
		    ? ban_add(a->ban, &b.addr, b.timeout_s)
		    : ban_del(a->ban, &b.addr);
		if (rc == 0 && m->hdr.type == IPC_BAN_ADD) {
			char as[64];

			b.reason[sizeof(b.reason) - 1] = '\0';
			log_info("ban: %s for %u s (%s)",
			    ipc_addr_str(&b.addr, as, sizeof(as)), b.timeout_s,
			    b.reason);
		}
		send_result(
		    e, ch, m->hdr.id, rc, rc == 0 ? "ok" : strerror(-rc));
		break;
	}
	case IPC_CAPTURE_START:
	case IPC_CAPTURE_STOP: {
		struct ipc_capture c;

		memcpy(&c, m->body, sizeof(c));
		if (!nul_in(c.call_id, sizeof(c.call_id)) ||
		    !nul_in(c.path, sizeof(c.path))) {
			send_result(e, ch, m->hdr.id, -EINVAL, "unterminated");
			break;
		}
		if (m->hdr.type == IPC_CAPTURE_START) {
			rc = app_capture_start(a, c.call_id, c.path,
			    c.max_bytes, c.max_seconds, err, sizeof(err));
			send_result(e, ch, m->hdr.id, rc, rc == 0 ? "ok" : err);
		} else {
			rc = capture_stop(a->cap, c.path);
			send_result(e, ch, m->hdr.id, rc,
			    rc == 0 ? "ok" : "no such capture");
		}
		break;
	}
	default:
		/* A sibling speaking out of turn: refuse, keep serving
		 * the others (relay carries everyone's media). */
		log_warnx("relay.sock: unexpected %s from peer; refused",
		    ipc_type_name(&ipc_cat_relay, m->hdr.type));
		send_result(e, ch, m->hdr.id, -EPROTO, "unexpected message");
		break;
	}
}

static void
on_close(struct ipc_chan *ch, void *arg)
{
	struct edge_srv *e = arg;

	for (int i = 0; i < MAX_PEERS; i++)
		if (e->ch[i] == ch) {
			e->ch[i] = NULL;
			e->nout[i] = 0;
		}
	ipc_chan_free(ch);
}

static void
on_accept(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct edge_srv *e = arg;

	(void)events;
	for (;;) {
		int cfd = ipc_accept(fd);
		int slot = -1;

		if (cfd < 0)
			return;
		for (int i = 0; i < MAX_PEERS && slot < 0; i++)
			if (e->ch[i] == NULL)
				slot = i;
		if (slot < 0) {
			log_ratelimited(&rl_peer, LOG_LVL_WARN,
			    "relay.sock: %d peers connected; refusing more",
			    MAX_PEERS);
			close(cfd);
			continue;
		}
		e->ch[slot] = ipc_chan_new(loop, cfd, &ipc_cat_relay,
		    HIGH_WATER, IPC_ROLE_RELAY, "relay", on_msg, on_close, e);
		if (e->ch[slot] == NULL)
			close(cfd);
		else
			/* Edges pipeline their requests: several per
			 * syscall (a fifth of a set-up was one recvmsg
			 * per request). */
			ipc_chan_read_many(e->ch[slot]);
	}
}

static void
on_timeout(struct relay *r, struct rcall *c, void *arg)
{
	struct edge_srv *e = arg;
	struct ipc_media_ref ref;

	(void)r;
	memset(&ref, 0, sizeof(ref));
	snprintf(ref.call_id, sizeof(ref.call_id), "%s", c->call_id);
	snprintf(ref.from_tag, sizeof(ref.from_tag), "%s", c->tag[0]);
	snprintf(ref.to_tag, sizeof(ref.to_tag), "%s", c->tag[1]);
	for (int i = 0; i < MAX_PEERS; i++) {
		const struct ipc_hello *h;

		if (e->ch[i] == NULL)
			continue;
		h = ipc_chan_peer(e->ch[i]);
		if (h != NULL && h->role != IPC_ROLE_EDGE &&
		    h->role != IPC_ROLE_TEST)
			continue;
		ipc_chan_send(e->ch[i], IPC_MEDIA_TIMEOUT, 0, 0, &ref,
		    sizeof(ref), NULL, 0);
	}
}

struct edge_srv *
dispatch_edge_listen(
    struct relay_app *a, const char *path, char *err, size_t errlen)
{
	struct edge_srv *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->a = a;
	e->lfd = ipc_listen(path, 0660);
	if (e->lfd < 0) {
		snprintf(
		    err, errlen, "listening on %s: %s", path, strerror(errno));
		free(e);
		return NULL;
	}
	if (ev_io_add(a->loop, e->lfd, EV_READ, on_accept, e) < 0) {
		snprintf(err, errlen, "event loop: %s", strerror(errno));
		close(e->lfd);
		free(e);
		return NULL;
	}
	a->r.on_timeout = on_timeout;
	a->r.on_timeout_arg = e;
	return e;
}

void
dispatch_edge_free(struct edge_srv *e)
{
	if (e == NULL)
		return;
	dispatch_edge_flush(e);
	for (int i = 0; i < MAX_PEERS; i++) {
		if (e->ch[i] != NULL)
			ipc_chan_free(e->ch[i]);
		free(e->out[i]);
	}
	ev_io_del(e->a->loop, e->lfd);
	close(e->lfd);
	free(e);
}

size_t
dispatch_edge_peers(const struct edge_srv *e)
{
	size_t n = 0;

	for (int i = 0; i < MAX_PEERS; i++)
		n += e->ch[i] != NULL;
	return n;
}
