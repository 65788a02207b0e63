/* Unit tests of relay/latch.c (RTP/RTCP validation, latching rules) and
 * relay/port.c (port pair allocation). */
#include <string.h>

#include "latch.h"
#include "port.h"
#include "tap.h"

static size_t
rtp(uint8_t *p, uint32_t ssrc, uint16_t seq)
{
	memset(p, 0, 172);
	p[0] = 0x80;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	return 172;
}

static struct ipc_addr
ad(const char *h, uint16_t port)
{
	struct ipc_addr a;

	ipc_addr_parse(&a, h, port);
	return a;
}

static void
test_rtp_check(void)
{
	uint8_t p[200];
	uint32_t ssrc = 0;
	size_t n = rtp(p, 0xdeadbeef, 1);

	CHECK(latch_rtp_check(p, n, &ssrc));
	CHECK(ssrc == 0xdeadbeef);
	CHECK(!latch_rtp_check(p, 11, &ssrc));
	p[0] = 0x40; /* version 1 */
	CHECK(!latch_rtp_check(p, n, &ssrc));
	p[0] = 0x8f; /* 15 CSRCs need 72 header bytes */
	CHECK(!latch_rtp_check(p, 40, &ssrc));
	CHECK(latch_rtp_check(p, n, &ssrc));
	p[0] = 0x90; /* extension header past the end */
	p[14] = 0xff;
	p[15] = 0xff;
	CHECK(!latch_rtp_check(p, n, &ssrc));
	p[0] = 0xa0; /* padding larger than the payload */
	p[n - 1] = 200;
	CHECK(!latch_rtp_check(p, n, &ssrc));
	p[n - 1] = 4;
	CHECK(latch_rtp_check(p, n, &ssrc));
	/* RTCP SR: length in words must fit. */
	memset(p, 0, sizeof(p));
	p[0] = 0x80;
	p[1] = 200;
	p[3] = 6;
	p[7] = 9;
	CHECK(latch_rtp_check(p, 28, &ssrc));
	CHECK_EQ_INT(ssrc, 9);
	CHECK(!latch_rtp_check(p, 20, &ssrc));
}

static void
test_latch_non_nat(void)
{
	struct latch l;
	struct ipc_addr sdp = ad("10.0.0.2", 4000);
	struct ipc_addr src = ad("10.0.0.2", 4002); /* other port: fine */
	struct ipc_addr other = ad("10.0.0.9", 4000);
	uint8_t p[200];
	size_t n = rtp(p, 1, 1);

	memset(&l, 0, sizeof(l));
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &other, p, n), -1);
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &src, p, n), 0);
	CHECK_EQ_INT(l.peer.family, 0);
	/* A different SSRC restarts the count. */
	rtp(p, 2, 2);
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &src, p, n), 0);
	CHECK_EQ_INT(l.peer.family, 0);
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &src, p, n), 1);
	CHECK(latch_addr_eq(&l.peer, &src));
	/* After latching only the latched source passes. */
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &src, p, n), 0);
	/* Not behind NAT: the latched source never moves, even with its
	 * SSRC. */
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &sdp, p, n), -1);
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &sdp, p, n), -1);
	/* Not RTP before latching: dropped. */
	memset(&l, 0, sizeof(l));
	p[0] = 0;
	CHECK_EQ_INT(latch_feed(&l, &sdp, false, &src, p, n), -1);
}

static void
test_latch_nat(void)
{
	struct latch l;
	struct ipc_addr sdp = ad("192.168.1.5", 4000);
	struct ipc_addr src = ad("203.0.113.7", 31000);
	struct ipc_addr spoof = ad("198.51.100.1", 31000);
	struct ipc_addr moved;
	uint8_t p[200];
	size_t n = rtp(p, 7, 1);

	memset(&l, 0, sizeof(l));
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &src, p, n), 0);
	/* One forged packet from elsewhere does not latch, and resets. */
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &spoof, p, n), 0);
	CHECK_EQ_INT(l.peer.family, 0);
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &src, p, n), 0);
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &src, p, n), 1);
	CHECK(latch_addr_eq(&l.peer, &src));
	/* A prober with another SSRC never moves the latch. */
	rtp(p, 8, 2);
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &spoof, p, n), -1);
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &spoof, p, n), -1);
	CHECK(latch_addr_eq(&l.peer, &src));
	/* The party itself after a NAT rebinding (same SSRC, new port):
	 * re-latched after two packets. */
	moved = ad("203.0.113.7", 31002);
	rtp(p, 7, 3);
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &moved, p, n), 0);
	CHECK(latch_addr_eq(&l.peer, &src));
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &moved, p, n), 1);
	CHECK(latch_addr_eq(&l.peer, &moved));
	CHECK_EQ_INT(latch_feed(&l, &sdp, true, &src, p, n), 0); /* cand */
	CHECK(latch_addr_eq(&l.peer, &moved));
}

static void
test_port_pool(void)
{
	struct port_pool p;
	uint16_t a, b, c;

	CHECK(!port_pool_init(&p, 20001, 20002));
	CHECK(port_pool_init(&p, 20001, 20006));
	CHECK_EQ_INT(p.lo, 20002);
	CHECK_EQ_INT(p.npairs, 2);
	a = port_alloc(&p);
	b = port_alloc(&p);
	CHECK_EQ_INT(a, 20002);
	CHECK_EQ_INT(b, 20004);
	CHECK_EQ_INT(port_alloc(&p), 0);
	port_release(&p, a);
	c = port_alloc(&p);
	CHECK_EQ_INT(c, 20002);
	CHECK(!port_take(&p, 20002));
	port_release(&p, 20002);
	CHECK(port_take(&p, 20002));
	CHECK(!port_take(&p, 20003));
	CHECK(!port_take(&p, 30000));
	CHECK(port_in_range(&p, 20005));
	CHECK(!port_in_range(&p, 20006));
	port_pool_free(&p);
}

int
main(void)
{
	TEST_RUN(test_rtp_check);
	TEST_RUN(test_latch_non_nat);
	TEST_RUN(test_latch_nat);
	TEST_RUN(test_port_pool);
	return tap_done();
}
