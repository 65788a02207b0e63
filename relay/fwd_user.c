/*
 * User-space forwarding. One batch is read from one ready socket, so every
 * packet of it belongs to the same leg and component; packets are checked
 * by the latch (RTP/RTCP validity, source restrictions) before they move.
 *
 * Why the work waits for the end of the loop turn: with many streams each
 * socket has one packet per wake-up, so a recvmmsg and a sendmmsg per
 * socket were two system calls per packet. With io_uring, the epoll
 * callback only notes the ready socket; before the loop sleeps, one
 * io_uring_enter reads one packet from every noted socket, and one more
 * sends everything the turn forwards. A socket that is ready again in the
 * next turn has a backlog (a busy stream): it is read at once with
 * recvmmsg, as many packets per call as wait. Without io_uring every
 * socket is read at once and the sends of a run of packets to the same
 * socket go in one sendmmsg, as before. Either way no delay is added: the
 * turn's end comes right after the other sockets ready at the same moment.
 *
 * A socket may be closed, or its descriptor number reused, between the
 * callback and the end of the turn (a relay.sock request in the same
 * turn): each noted socket and each queued packet remembers its port's
 * struct rsock and is used only if that port still has the same
 * descriptor. Every io_uring request is complete when uring_submit
 * returns, so none holds a closed socket.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ban.h"
#include "ev.h"
#include "fwd_user.h"
#include "latch.h"
#include "log.h"
#include "stream.h"
#include "uring.h"

#define BATCH 32 /* packets read per recvmmsg */
#define SLOTS 256 /* packets held per loop turn until the flush */
#define READY_MAX 128 /* sockets noted per turn before a flush */
#define PKT_MAX 2048

struct fu_sock {
	struct rsock *k; /* the port */
	int fd; /* its descriptor when noted or queued */
};

static struct {
	struct ev_loop *loop; /* set up for (NULL: not yet) */
	bool is_hooked; /* the before-sleep hook flushes */
	struct uring *ring; /* NULL: recvmmsg and sendmmsg */
	unsigned nslot; /* buffers used this turn */
	unsigned nout; /* packets queued this turn */
	unsigned nready; /* sockets noted this turn */
	unsigned nlatch;
	uint32_t turn; /* counts loop turns with media work */
	bool is_busy_turn; /* this turn has media work */
	/* Per port (index into r->socks): the last turn it was ready. */
	struct relay *r;
	uint32_t *seen;
	size_t nseen;
	uint8_t buf[SLOTS][PKT_MAX];
	struct sockaddr_storage from[SLOTS];
	unsigned len[SLOTS];
	struct iovec iov[SLOTS];
	struct msghdr rmsg[SLOTS]; /* io_uring reads */
	struct mmsghdr in[BATCH]; /* recvmmsg */
	/* Noted sockets; ready_slot[i] their buffer, ready_res[i] the read. */
	struct fu_sock ready[READY_MAX];
	unsigned ready_slot[READY_MAX];
	int ready_res[READY_MAX];
	/* Streams whose component latched this turn, told after the sends. */
	struct {
		struct relay *r;
		struct rstream *s;
		int comp;
	} latch[READY_MAX];
	/* Queued packets: out[i] with its destination dst[i]. */
	struct mmsghdr out[SLOTS];
	struct iovec oiov[SLOTS];
	struct sockaddr_storage dst[SLOTS];
	struct fu_sock meta[SLOTS];
} fu;

static struct log_rl rl_ring = {.interval_ms = 60000, .burst = 1};

static void flush_all(void);

static void
on_before_sleep(struct ev_loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
	fwd_user_flush();
}

const char *
fwd_user_setup(struct ev_loop *loop, bool use_uring)
{
	fwd_user_close();
	if (ev_defer_add(loop, on_before_sleep, NULL) < 0) {
		/* No hook: nothing would flush; send at once instead. */
		log_warn("fwd_user: no before-sleep hook left; sending "
		         "each socket's packets at once");
	} else {
		fu.is_hooked = true;
	}
	fu.loop = loop;
	fu.turn = 2; /* above every seen[] + 1 */
	if (use_uring && fu.is_hooked) {
		fu.ring = uring_new(SLOTS);
		if (fu.ring == NULL)
			log_info("fwd_user: io_uring unusable (%s); "
			         "recvmmsg and sendmmsg per socket",
			    strerror(errno));
	}
	return fu.ring != NULL ? "io_uring" : "sendmmsg";
}

void
fwd_user_close(void)
{
	flush_all();
	if (fu.is_hooked)
		ev_defer_del(fu.loop, on_before_sleep, NULL);
	fu.is_hooked = false;
	fu.loop = NULL;
	uring_free(fu.ring);
	fu.ring = NULL;
	free(fu.seen);
	fu.seen = NULL;
	fu.nseen = 0;
	fu.r = NULL;
	fu.nslot = fu.nout = fu.nready = fu.nlatch = 0;
	fu.is_busy_turn = false;
}

/* Whether the port of a noted socket or queued packet still has the
 * descriptor it had. */
static bool
sock_valid(const struct fu_sock *m)
{
	return m->fd >= 0 && m->k->fd == m->fd;
}

/*
 * Checks and queues the n packets read from port k into buffers
 * base..base+n-1 (lengths in fu.len). Returns 1 if one of them completed
 * a latch (the caller tells the stream once they have been sent).
 */
static int
process(struct rsock *k, unsigned base, int n)
{
	struct relay *r = k->r;
	struct rstream *s = k->s;
	int li = k->leg, comp = k->comp;
	int nq = 0, latched = 0;
	struct ipc_addr dst, sdp;
	struct sockaddr_storage dst_sa;
	struct rsock *ko;
	unsigned dst_len;
	int ofd;

	if (fu.loop != NULL) /* media.user_batch_us counts packets */
		ev_note_work(fu.loop, (unsigned)n);
	if (s == NULL) {
		/* An idle port of the socket pool: nobody's media. */
		r->st.strangers += (uint64_t)n;
		return 0;
	}
	s->has_flows = true; /* these packets made conntrack entries */
	dst = stream_leg_dst(s, !li, comp);
	dst_len = dst.family != 0 ? ipc_addr_to_sa(&dst, &dst_sa) : 0;
	ofd = s->leg[!li].fd[comp];
	ko = ofd >= 0 ? &r->socks[s->leg[!li].port + comp - r->pool.lo] : NULL;
	/* Without an a=rtcp line the RTCP host is the RTP one. */
	sdp = s->leg[li].sdp[comp].family != 0 ? s->leg[li].sdp[comp]
	                                       : s->leg[li].sdp[0];
	for (int i = 0; i < n; i++) {
		unsigned b = base + (unsigned)i, o;
		struct ipc_addr src;
		size_t len = fu.len[b];
		int v;

		ipc_addr_from_sa(&src, (struct sockaddr *)&fu.from[b]);
		if (r->ban != NULL && ban_user_is_banned(r->ban, &src)) {
			r->st.banned_drops++;
			continue;
		}
		v = latch_feed(&s->leg[li].lat[comp], &sdp, s->leg[li].is_nat,
		    &src, fu.buf[b], len);
		if (v < 0) {
			s->strangers++;
			r->st.strangers++;
			continue;
		}
		if (v == 1)
			latched = 1;
		if (dst_len == 0 || ko == NULL)
			continue;
		o = fu.nout++;
		fu.oiov[o].iov_base = fu.buf[b];
		fu.oiov[o].iov_len = len;
		memcpy(&fu.dst[o], &dst_sa, dst_len);
		memset(&fu.out[o].msg_hdr, 0, sizeof(fu.out[o].msg_hdr));
		fu.out[o].msg_hdr.msg_iov = &fu.oiov[o];
		fu.out[o].msg_hdr.msg_iovlen = 1;
		fu.out[o].msg_hdr.msg_name = &fu.dst[o];
		fu.out[o].msg_hdr.msg_namelen = dst_len;
		fu.meta[o].k = ko;
		fu.meta[o].fd = ofd;
		s->upkts++;
		s->ubytes += len;
		nq++;
	}
	if (nq > 0) {
		r->st.upkts += (uint64_t)nq;
		s->active_ms = ev_now_ms(fu.loop);
		if (s->is_kernel[comp])
			stream_user_sent(r, s, comp, !li);
	}
	return latched;
}

static void
send_sendmmsg(void)
{
	unsigned i = 0;

	while (i < fu.nout) {
		unsigned j = i + 1;

		if (!sock_valid(&fu.meta[i])) {
			i++;
			continue;
		}
		while (j < fu.nout && fu.meta[j].fd == fu.meta[i].fd &&
		    fu.meta[j].k == fu.meta[i].k)
			j++;
		while (i < j) {
			int m = sendmmsg(
			    fu.meta[i].fd, fu.out + i, j - i, MSG_DONTWAIT);

			if (m <= 0)
				break; /* full socket buffer: drop, as UDP */
			i += (unsigned)m;
		}
		i = j;
	}
}

static void
ring_failed(int rc)
{
	log_ratelimited(&rl_ring, LOG_LVL_WARN,
	    "fwd_user: io_uring failed (%s); recvmmsg and sendmmsg from now "
	    "on",
	    strerror(-rc));
	uring_free(fu.ring);
	fu.ring = NULL;
}

static void
send_queued(void)
{
	if (fu.nout > 0 && fu.ring != NULL) {
		int rc;

		for (unsigned i = 0; i < fu.nout; i++)
			if (sock_valid(&fu.meta[i]))
				uring_sendmsg(fu.ring, fu.meta[i].fd,
				    &fu.out[i].msg_hdr, i);
		/* A send that fails is dropped, as UDP would be. */
		rc = uring_submit(fu.ring, NULL, NULL);
		if (rc < 0) {
			ring_failed(rc);
			send_sendmmsg();
		}
	} else if (fu.nout > 0) {
		send_sendmmsg();
	}
	fu.nout = 0;
	fu.nslot = 0;
}

/* Points m at buffer slot b (one datagram and its source address). */
static void
slot_msg(unsigned b, struct msghdr *m)
{
	fu.iov[b].iov_base = fu.buf[b];
	fu.iov[b].iov_len = PKT_MAX;
	memset(m, 0, sizeof(*m));
	m->msg_iov = &fu.iov[b];
	m->msg_iovlen = 1;
	m->msg_name = &fu.from[b];
	m->msg_namelen = sizeof(fu.from[b]);
}

/* Reads what waits at port k with recvmmsg and queues it; returns as
 * process(). */
static int
read_now(struct rsock *k, int fd)
{
	unsigned base = fu.nslot;
	int n;

	for (int i = 0; i < BATCH; i++)
		slot_msg(base + (unsigned)i, &fu.in[i].msg_hdr);
	n = recvmmsg(fd, fu.in, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++)
		fu.len[base + (unsigned)i] = fu.in[i].msg_len;
	fu.nslot += (unsigned)n;
	return process(k, base, n);
}

static void
on_read(void *arg, uint64_t tag, int res, uint32_t flags)
{
	(void)arg;
	(void)flags;
	fu.ready_res[tag] = res;
}

static void
note_latch(struct rsock *k)
{
	/* At most one per noted socket between two tell_latched(). */
	fu.latch[fu.nlatch].r = k->r;
	fu.latch[fu.nlatch].s = k->s;
	fu.latch[fu.nlatch++].comp = k->comp;
}

/* Tells the streams that latched; their packets have been sent. */
static void
tell_latched(void)
{
	unsigned n = fu.nlatch;

	fu.nlatch = 0;
	for (unsigned i = 0; i < n; i++)
		stream_on_latch(fu.latch[i].r, fu.latch[i].s, fu.latch[i].comp);
}

/* One io_uring_enter reads one packet from every noted socket. Followed
 * by send_queued() and tell_latched(). */
static void
read_noted(void)
{
	unsigned n = fu.nready;
	int rc;

	fu.nready = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned b = fu.nslot++;

		fu.ready_slot[i] = b;
		fu.ready_res[i] = -EAGAIN;
		if (!sock_valid(&fu.ready[i]))
			continue;
		slot_msg(b, &fu.rmsg[b]);
		uring_recvmsg(fu.ring, fu.ready[i].fd, &fu.rmsg[b], i);
	}
	rc = uring_submit(fu.ring, on_read, NULL);
	if (rc < 0) {
		ring_failed(rc);
		for (unsigned i = 0; i < n; i++) {
			if (!sock_valid(&fu.ready[i]))
				continue;
			if (SLOTS - fu.nslot < BATCH) {
				send_queued();
				tell_latched();
			}
			if (read_now(fu.ready[i].k, fu.ready[i].fd))
				note_latch(fu.ready[i].k);
		}
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		struct fu_sock *q = &fu.ready[i];

		if (fu.ready_res[i] < 0)
			continue;
		fu.len[fu.ready_slot[i]] = (unsigned)fu.ready_res[i];
		if (process(q->k, fu.ready_slot[i], 1))
			note_latch(q->k);
	}
}

/* Everything of the turn so far: reads, sends, then latches. */
static void
flush_all(void)
{
	if (fu.nready > 0)
		read_noted();
	send_queued();
	/* A latch may hand the stream to the kernel and close its sockets:
	 * what it forwarded has left first. */
	tell_latched();
}

void
fwd_user_drain(struct rsock *k)
{
	int fd = k->fd;

	if (fu.loop != k->r->loop)
		fwd_user_setup(k->r->loop, true);
	flush_all();
	/* Bounded: a socket that never empties is not drained for ever. */
	for (int i = 0; i < 8 && fd >= 0 && k->fd == fd && k->s != NULL; i++) {
		unsigned before = fu.nslot;
		int latched = read_now(k, fd);

		if (fu.nslot == before)
			break;
		flush_all();
		if (latched)
			stream_on_latch(k->r, k->s, k->comp);
	}
}

void
fwd_user_flush(void)
{
	if (!fu.is_busy_turn)
		return;
	flush_all();
	fu.is_busy_turn = false;
	fu.turn++;
}

/* The per-port turn table follows the relay's port range. */
static bool
seen_fit(struct relay *r)
{
	size_t n = (size_t)(r->pool.hi - r->pool.lo) + 1;
	uint32_t *p;

	if (fu.r == r && fu.nseen == n)
		return true;
	p = calloc(n, sizeof(*p));
	if (p == NULL)
		return false;
	free(fu.seen);
	fu.seen = p;
	fu.nseen = n;
	fu.r = r;
	return true;
}

void
fwd_user_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct rsock *k = arg;
	size_t idx;
	bool is_busy;

	(void)events;
	if (fu.loop != loop)
		fwd_user_setup(loop, true);
	fu.is_busy_turn = true;
	if (fu.ring != NULL && k->s != NULL && seen_fit(k->r)) {
		/* Ready in the turn before too: a backlog, read it all. */
		idx = (size_t)(k - k->r->socks);
		is_busy = fu.seen[idx] + 1 >= fu.turn;
		fu.seen[idx] = fu.turn;
		if (!is_busy) {
			if (fu.nready == READY_MAX ||
			    fu.nslot + fu.nready + 1 > SLOTS)
				flush_all();
			fu.ready[fu.nready].k = k;
			fu.ready[fu.nready++].fd = fd;
			return;
		}
	}
	if (SLOTS - fu.nslot - fu.nready < BATCH)
		flush_all();
	if (read_now(k, fd)) {
		/* What was forwarded before the latch leaves first. */
		flush_all();
		stream_on_latch(k->r, k->s, k->comp);
	} else if (!fu.is_hooked) {
		/* Without the hook nothing else would send them. */
		flush_all();
	}
}
