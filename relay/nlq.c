/* Drains queued netlink replies for nft.c and ct.c (see nlq.h). */
#include "config.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <string.h>
#include <sys/socket.h>

#include "nlq.h"

#define NLQ_BATCH 64
#define NLQ_DGRAM 1024 /* ctnetlink answers with counters fit */

int
nlq_drain(int fd, nlq_cb cb, void *arg)
{
	static char bufs[NLQ_BATCH][NLQ_DGRAM];
	struct mmsghdr m[NLQ_BATCH];
	struct iovec iov[NLQ_BATCH];

	for (int i = 0; i < NLQ_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		memset(&m[i].msg_hdr, 0, sizeof(m[i].msg_hdr));
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int r = recvmmsg(fd, m, NLQ_BATCH, MSG_DONTWAIT, NULL);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0
			                                               : errno;
		}
		for (int i = 0; i < r; i++) {
			int left = (int)m[i].msg_len;

			for (const struct nlmsghdr *h =
			         (const struct nlmsghdr *)bufs[i];
			     mnl_nlmsg_ok(h, left);
			     h = mnl_nlmsg_next(h, &left))
				cb(h, arg);
		}
		if (r < NLQ_BATCH)
			return 0;
	}
}
