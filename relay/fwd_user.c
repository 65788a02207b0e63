/*
 * User-space forwarding. One batch is read from one socket, so every packet
 * of it belongs to the same leg and component and leaves through the same
 * socket: the batch is forwarded with one sendmmsg. Packets are checked by
 * the latch (RTP/RTCP validity, source restrictions) before they move.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "ban.h"
#include "fwd_user.h"
#include "latch.h"
#include "stream.h"

#define BATCH 32
#define PKT_MAX 2048

void
fwd_user_io(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	static uint8_t bufs[BATCH][PKT_MAX];
	static struct sockaddr_storage from[BATCH];
	static struct mmsghdr in[BATCH], out[BATCH];
	static struct iovec iov[BATCH], oiov[BATCH];
	static struct sockaddr_storage dst_sa;
	struct rsock *k = arg;
	struct relay *r = k->r;
	struct rstream *s = k->s;
	int li = k->leg, comp = k->comp;
	int n, nout = 0, latched = 0;
	struct ipc_addr dst, sdp;
	unsigned dst_len;
	int ofd;

	(void)events;
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = PKT_MAX;
		memset(&in[i].msg_hdr, 0, sizeof(in[i].msg_hdr));
		in[i].msg_hdr.msg_iov = &iov[i];
		in[i].msg_hdr.msg_iovlen = 1;
		in[i].msg_hdr.msg_name = &from[i];
		in[i].msg_hdr.msg_namelen = sizeof(from[i]);
	}
	n = recvmmsg(fd, in, BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	if (s == NULL) {
		/* An idle port of the socket pool: nobody's media. */
		r->st.strangers += (uint64_t)n;
		return;
	}
	s->has_flows = true; /* these packets made conntrack entries */
	dst = stream_leg_dst(s, !li, comp);
	dst_len = dst.family != 0 ? ipc_addr_to_sa(&dst, &dst_sa) : 0;
	ofd = s->leg[!li].fd[comp];
	/* Without an a=rtcp line the RTCP host is the RTP one. */
	sdp = s->leg[li].sdp[comp].family != 0 ? s->leg[li].sdp[comp]
	                                       : s->leg[li].sdp[0];
	for (int i = 0; i < n; i++) {
		struct ipc_addr src;
		size_t len = in[i].msg_len;
		int v;

		ipc_addr_from_sa(&src, (struct sockaddr *)&from[i]);
		if (r->ban != NULL && ban_user_is_banned(r->ban, &src)) {
			r->st.banned_drops++;
			continue;
		}
		v = latch_feed(&s->leg[li].lat[comp], &sdp, s->leg[li].is_nat,
		    &src, bufs[i], len);
		if (v < 0) {
			s->strangers++;
			r->st.strangers++;
			continue;
		}
		if (v == 1)
			latched = 1;
		if (dst_len == 0 || ofd < 0)
			continue;
		oiov[nout].iov_base = bufs[i];
		oiov[nout].iov_len = len;
		memset(&out[nout].msg_hdr, 0, sizeof(out[nout].msg_hdr));
		out[nout].msg_hdr.msg_iov = &oiov[nout];
		out[nout].msg_hdr.msg_iovlen = 1;
		out[nout].msg_hdr.msg_name = &dst_sa;
		out[nout].msg_hdr.msg_namelen = dst_len;
		s->upkts++;
		s->ubytes += len;
		nout++;
	}
	if (nout > 0) {
		int sent = 0;

		while (sent < nout) {
			int m = sendmmsg(ofd, out + sent,
			    (unsigned)(nout - sent), MSG_DONTWAIT);

			if (m <= 0)
				break; /* full socket buffer: drop, as UDP */
			sent += m;
		}
		r->st.upkts += (uint64_t)nout;
		s->active_ms = ev_now_ms(loop);
	}
	if (latched)
		stream_on_latch(r, s, comp);
}
