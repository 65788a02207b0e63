/*
 * User-space forwarding. One batch is read from one ready socket, so every
 * packet of it belongs to the same leg and component; packets are checked
 * by the latch (RTP/RTCP validity, source restrictions) before they move.
 *
 * Why the sends wait for the end of the loop turn: with many streams each
 * socket has one packet per wake-up, and a sendmmsg per packet was half of
 * the relay's system calls. Queued packets of every socket of the turn
 * leave together from the before-sleep hook, in one io_uring_enter (or a
 * sendmmsg per run of packets to the same socket without io_uring). That
 * adds no delay: the hook runs before the loop sleeps again, after the
 * other sockets that were ready at the same moment have been read. A
 * socket may be closed, or its descriptor number reused, between the read
 * and the flush (a relay.sock request in the same turn): each queued
 * packet remembers its port's struct rsock and is sent only if that port
 * still has the same descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "ban.h"
#include "ev.h"
#include "fwd_user.h"
#include "latch.h"
#include "log.h"
#include "stream.h"
#include "uring.h"

#define BATCH 32 /* packets read per recvmmsg */
#define SLOTS 256 /* packets held per loop turn until the flush */
#define PKT_MAX 2048

struct fu_out {
	struct rsock *ko; /* the port the packet leaves from */
	int fd; /* its descriptor when queued */
};

static struct {
	struct ev_loop *loop; /* set up for (NULL: not yet) */
	bool is_hooked; /* the before-sleep hook flushes */
	struct uring *ring; /* NULL: sendmmsg */
	unsigned nslot; /* buffers used this turn */
	unsigned nout; /* packets queued this turn */
	uint8_t buf[SLOTS][PKT_MAX];
	struct sockaddr_storage from[SLOTS];
	struct iovec iov[SLOTS];
	struct mmsghdr in[BATCH];
	/* Queued packets: out[i] with its destination dst[i]. */
	struct mmsghdr out[SLOTS];
	struct iovec oiov[SLOTS];
	struct sockaddr_storage dst[SLOTS];
	struct fu_out meta[SLOTS];
} fu;

static struct log_rl rl_ring = {.interval_ms = 60000, .burst = 1};

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
	if (use_uring) {
		fu.ring = uring_new(SLOTS);
		if (fu.ring == NULL)
			log_info("fwd_user: io_uring unusable (%s); "
			         "sendmmsg per socket",
			    strerror(errno));
	}
	return fu.ring != NULL ? "io_uring" : "sendmmsg";
}

void
fwd_user_close(void)
{
	fwd_user_flush();
	if (fu.is_hooked)
		ev_defer_del(fu.loop, on_before_sleep, NULL);
	fu.is_hooked = false;
	fu.loop = NULL;
	uring_free(fu.ring);
	fu.ring = NULL;
	fu.nslot = fu.nout = 0;
}

/* Whether queued packet i may still leave from its port. */
static bool
out_valid(unsigned i)
{
	return fu.meta[i].ko->fd == fu.meta[i].fd && fu.meta[i].fd >= 0;
}

static void
flush_sendmmsg(void)
{
	unsigned i = 0;

	while (i < fu.nout) {
		unsigned j = i + 1;

		if (!out_valid(i)) {
			i++;
			continue;
		}
		while (j < fu.nout && fu.meta[j].fd == fu.meta[i].fd &&
		    fu.meta[j].ko == fu.meta[i].ko)
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

void
fwd_user_flush(void)
{
	if (fu.nout > 0 && fu.ring != NULL) {
		int rc;

		for (unsigned i = 0; i < fu.nout; i++)
			if (out_valid(i))
				uring_sendmsg(fu.ring, fu.meta[i].fd,
				    &fu.out[i].msg_hdr, i);
		/* A send that fails is dropped, as UDP would be. */
		rc = uring_submit(fu.ring, NULL, NULL);
		if (rc < 0) {
			log_ratelimited(&rl_ring, LOG_LVL_WARN,
			    "fwd_user: io_uring failed (%s); sendmmsg from "
			    "now on",
			    strerror(-rc));
			uring_free(fu.ring);
			fu.ring = NULL;
			flush_sendmmsg();
		}
	} else if (fu.nout > 0) {
		flush_sendmmsg();
	}
	fu.nout = 0;
	fu.nslot = 0;
}

void
fwd_user_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct rsock *k = arg;
	struct relay *r = k->r;
	struct rstream *s = k->s;
	int li = k->leg, comp = k->comp;
	int n, nq = 0, latched = 0;
	struct ipc_addr dst, sdp;
	struct sockaddr_storage dst_sa;
	struct rsock *ko;
	unsigned dst_len, base;
	int ofd;

	(void)events;
	if (fu.loop != loop)
		fwd_user_setup(loop, true);
	if (SLOTS - fu.nslot < BATCH)
		fwd_user_flush();
	base = fu.nslot;
	for (int i = 0; i < BATCH; i++) {
		unsigned b = base + (unsigned)i;

		fu.iov[b].iov_base = fu.buf[b];
		fu.iov[b].iov_len = PKT_MAX;
		memset(&fu.in[i].msg_hdr, 0, sizeof(fu.in[i].msg_hdr));
		fu.in[i].msg_hdr.msg_iov = &fu.iov[b];
		fu.in[i].msg_hdr.msg_iovlen = 1;
		fu.in[i].msg_hdr.msg_name = &fu.from[b];
		fu.in[i].msg_hdr.msg_namelen = sizeof(fu.from[b]);
	}
	n = recvmmsg(fd, fu.in, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	if (s == NULL) {
		/* An idle port of the socket pool: nobody's media. */
		r->st.strangers += (uint64_t)n;
		return;
	}
	fu.nslot += (unsigned)n;
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
		size_t len = fu.in[i].msg_len;
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
		fu.meta[o].ko = ko;
		fu.meta[o].fd = ofd;
		s->upkts++;
		s->ubytes += len;
		nq++;
	}
	if (nq > 0) {
		r->st.upkts += (uint64_t)nq;
		s->active_ms = ev_now_ms(loop);
	}
	/* Without the hook nothing else would send them; and a latch may
	 * hand the stream to the kernel and close its sockets, so what was
	 * forwarded before it leaves first, as it always did. */
	if (!fu.is_hooked || latched)
		fwd_user_flush();
	if (latched)
		stream_on_latch(r, s, comp);
}
