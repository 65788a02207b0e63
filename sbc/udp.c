/*
 * UDP transport. Keep-alive packets without SIP (CRLF, a few bytes, STUN
 * bindings) are ignored, as RFC 5626 §4.4.2 lets UAs send them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "inbound.h"
#include "log.h"
#include "udp.h"

#define BATCH 32
#define DGRAM_MAX 65536
#define QMAX 64

static uint8_t (*rxbufs)[DGRAM_MAX];

struct qmsg {
	struct listener *l;
	struct sockaddr_storage ss;
	socklen_t slen;
	uint32_t len;
	uint8_t *buf;
};

static struct qmsg q[QMAX];
static size_t nq;
/* The queued datagrams' bytes, back to back: one copy per datagram into
 * memory that stays, instead of a malloc and free each. */
#define QBYTES (4 * DGRAM_MAX)
static uint8_t *qbuf;
static size_t qused;
static struct log_rl rl_send = LOG_RL_INIT(10000, 5);

static bool
is_keepalive(const uint8_t *p, size_t n)
{
	if (n <= 4) {
		for (size_t i = 0; i < n; i++)
			if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' &&
			    p[i] != 0)
				return false;
		return true;
	}
	/* STUN (RFC 5389): first two bits zero, magic cookie at 4..7. */
	if (n >= 20 && (p[0] & 0xc0) == 0 && p[4] == 0x21 && p[5] == 0x12 &&
	    p[6] == 0xa4 && p[7] == 0x42)
		return true;
	return false;
}

void
udp_on_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct listener *l = arg;
	(void)events;
	if (rxbufs == NULL) {
		rxbufs = malloc(sizeof *rxbufs * BATCH);
		if (rxbufs == NULL)
			fatal("udp buffers");
	}
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_storage src[BATCH];
	/* Bounded work per wake-up so TCP and core traffic get their turn. */
	for (int round = 0; round < 8; round++) {
		memset(mm, 0, sizeof mm);
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = rxbufs[i];
			iov[i].iov_len = DGRAM_MAX - 1;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &src[i];
			mm[i].msg_hdr.msg_namelen = sizeof src[i];
		}
		int n = recvmmsg(fd, mm, BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				log_ratelimited(&rl_send, LOG_LVL_WARN,
				    "udp recvmmsg: %s", strerror(errno));
			return;
		}
		ev_note_work(loop, (unsigned)n);
		for (int i = 0; i < n; i++) {
			uint32_t len = mm[i].msg_len;
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC)
				continue;
			if (is_keepalive(rxbufs[i], len)) {
				l->e->st.keepalives++;
				continue;
			}
			struct ipc_addr ra;
			if (ipc_addr_from_sa(&ra, (struct sockaddr *)&src[i]) !=
			    0)
				continue;
			acl_addr_normalise(&ra);
			inbound_msg(
			    l->e, l, NULL, &ra, (const char *)rxbufs[i], len);
		}
		if (n < BATCH)
			return;
	}
}

int
udp_send(struct listener *l, const struct ipc_addr *dst, const void *buf,
    uint32_t len)
{
	if (len > DGRAM_MAX || dst->family == 0 || dst->port == 0)
		return -1;
	if (nq == QMAX || QBYTES - qused < len)
		udp_flush(l->e);
	if (qbuf == NULL && (qbuf = malloc(QBYTES)) == NULL)
		return -1;
	struct qmsg *m = &q[nq];
	struct ipc_addr d = *dst;
	if (l->local.family == 6 && d.family == 4) {
		/* An IPv6 listener reaches IPv4 peers v4-mapped. */
		uint8_t v4[4];
		memcpy(v4, d.addr, 4);
		memset(d.addr, 0, 10);
		d.addr[10] = d.addr[11] = 0xff;
		memcpy(d.addr + 12, v4, 4);
		d.family = 6;
	}
	m->slen = ipc_addr_to_sa(&d, &m->ss);
	if (m->slen == 0)
		return -1;
	m->buf = qbuf + qused;
	memcpy(m->buf, buf, len);
	qused += len;
	m->len = len;
	m->l = l;
	nq++;
	l->e->st.tx_msgs++;
	return 0;
}

void
udp_flush(struct edge *e)
{
	size_t i = 0;
	while (i < nq) {
		/* Consecutive messages of one listener go in one sendmmsg. */
		struct mmsghdr mm[QMAX];
		struct iovec iov[QMAX];
		size_t j = i, k = 0;
		for (; j < nq && q[j].l == q[i].l; j++, k++) {
			memset(&mm[k], 0, sizeof mm[k]);
			iov[k].iov_base = q[j].buf;
			iov[k].iov_len = q[j].len;
			mm[k].msg_hdr.msg_iov = &iov[k];
			mm[k].msg_hdr.msg_iovlen = 1;
			mm[k].msg_hdr.msg_name = &q[j].ss;
			mm[k].msg_hdr.msg_namelen = q[j].slen;
		}
		size_t done = 0;
		while (done < k) {
			int n = sendmmsg(q[i].l->fd, mm + done,
			    (unsigned)(k - done), MSG_DONTWAIT);
			if (n <= 0) {
				/* A datagram the kernel refuses (unreachable,
				 * buffer full) is lost, as UDP allows; the
				 * transaction layer retransmits. */
				e->st.tx_errors++;
				log_ratelimited(&rl_send, LOG_LVL_WARN,
				    "udp sendmmsg: %s", strerror(errno));
				done++;
				continue;
			}
			done += (size_t)n;
		}
		i = j;
	}
	nq = 0;
	qused = 0;
}

void
udp_free(void)
{
	nq = 0;
	qused = 0;
	free(qbuf);
	qbuf = NULL;
	free(rxbufs);
	rxbufs = NULL;
}
