/*
 * Unit tests of relay/stream.c, fwd_user.c and timeout.c in user-space
 * mode: offer/answer bookkeeping, port accounting, forwarding and
 * latching of real UDP packets on 127.0.0.1, and media timeouts driven by
 * an injected clock.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ev.h"
#include "hash.h"
#include "stream.h"
#include "tap.h"
#include "udp_fixture.h"

#define LO 47100
#define HI 47139 /* 20 pairs: 10 streams */

static struct ev_loop *loop;
static struct relay r;
static uint64_t now_ms = 1000000;
static int timeouts;

static uint64_t
test_clock(void *arg)
{
	(void)arg;
	return now_ms;
}

static void
on_timeout(struct relay *rr, struct rcall *c, void *arg)
{
	(void)rr;
	(void)c;
	(void)arg;
	timeouts++;
}

static void
req(struct ipc_media_req *q, const char *id, const char *from, const char *to,
    uint16_t port, uint8_t flags)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->call_id, sizeof(q->call_id), "%s", id);
	snprintf(q->from_tag, sizeof(q->from_tag), "%s", from);
	snprintf(q->to_tag, sizeof(q->to_tag), "%s", to);
	q->nstreams = 1;
	ipc_addr_parse(&q->streams[0].rtp, "127.0.0.1", port);
	q->streams[0].flags = flags;
}

static struct ipc_media_ref
ref(const char *id)
{
	struct ipc_media_ref f;

	memset(&f, 0, sizeof(f));
	snprintf(f.call_id, sizeof(f.call_id), "%s", id);
	return f;
}

static void
test_offer_answer(void)
{
	struct ipc_media_req q;
	struct ipc_media_reply o, a, o2;
	struct ipc_media_ref f = ref("c1");
	uint32_t free0 = r.pool.nfree;

	req(&q, "c1", "ta", "", 5000, 0);
	relay_media_update(&r, &q, false, &o);
	CHECK_EQ_INT(o.status, 0);
	CHECK_EQ_INT(o.nstreams, 1);
	CHECK_EQ_INT(o.streams[0].rtp.port % 2, 0);
	CHECK_EQ_INT(o.streams[0].rtcp.port, o.streams[0].rtp.port + 1);
	CHECK_EQ_INT(r.pool.nfree, free0 - 2);
	/* A re-offer keeps the ports. */
	relay_media_update(&r, &q, false, &o2);
	CHECK_EQ_INT(o2.streams[0].rtp.port, o.streams[0].rtp.port);
	req(&q, "c1", "tb", "ta", 6000, IPC_MSF_RTCP_MUX);
	relay_media_update(&r, &q, true, &a);
	CHECK_EQ_INT(a.status, 0);
	CHECK(a.streams[0].rtp.port != o.streams[0].rtp.port);
	CHECK_EQ_INT(a.streams[0].rtcp.port, a.streams[0].rtp.port);
	CHECK_EQ_INT(a.is_kernel, 0);
	/* A third party is refused; so is an answer to no call. */
	req(&q, "c1", "tc", "ta", 6000, 0);
	relay_media_update(&r, &q, false, &o2);
	CHECK_EQ_INT(o2.status, -EPROTO);
	req(&q, "nope", "tb", "ta", 6000, 0);
	relay_media_update(&r, &q, true, &o2);
	CHECK_EQ_INT(o2.status, -ENOENT);
	/* Strings without their NUL are refused. */
	req(&q, "c9", "ta", "", 6000, 0);
	memset(q.from_tag, 'x', sizeof(q.from_tag));
	relay_media_update(&r, &q, false, &o2);
	CHECK_EQ_INT(o2.status, -EINVAL);
	q.from_tag[0] = '\0';
	q.nstreams = 9;
	relay_media_update(&r, &q, false, &o2);
	CHECK_EQ_INT(o2.status, -EINVAL);

	/* A disabled m= line (port 0) gets port 0 back and no ports. */
	req(&q, "c1", "ta", "tb", 5000, 0);
	q.nstreams = 2;
	q.streams[1] = q.streams[0];
	q.streams[1].index = 1;
	q.streams[1].rtp.port = 0;
	relay_media_update(&r, &q, false, &o2);
	CHECK_EQ_INT(o2.status, 0);
	CHECK_EQ_INT(o2.nstreams, 2);
	CHECK_EQ_INT(o2.streams[1].rtp.port, 0);
	CHECK_EQ_INT(o2.streams[0].rtp.port, o.streams[0].rtp.port);
	CHECK_EQ_INT(r.pool.nfree, free0 - 2);

	relay_media_query(&r, &f, &o2);
	CHECK_EQ_INT(o2.status, 0);
	CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	CHECK_EQ_INT(relay_media_delete(&r, &f), -ENOENT);
	relay_media_query(&r, &f, &o2);
	CHECK_EQ_INT(o2.status, -ENOENT);
	CHECK_EQ_INT(r.pool.nfree, free0);
	CHECK_EQ_INT(r.ncalls, 0);
	CHECK_EQ_INT(r.nstreams, 0);
}

static void
test_exhaustion(void)
{
	struct ipc_media_req q;
	struct ipc_media_reply o;
	char id[16];
	uint32_t free0 = r.pool.nfree;

	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "x%d", i);
		req(&q, id, "ta", "", 5000, 0);
		relay_media_update(&r, &q, false, &o);
		CHECK_EQ_INT(o.status, 0);
	}
	req(&q, "x10", "ta", "", 5000, 0);
	relay_media_update(&r, &q, false, &o);
	CHECK_EQ_INT(o.status, -ENOSPC);
	CHECK(relay_call_find(&r, "x10") == NULL);
	for (int i = 0; i < 10; i++) {
		struct ipc_media_ref f;

		snprintf(id, sizeof(id), "x%d", i);
		f = ref(id);
		CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	}
	CHECK_EQ_INT(r.pool.nfree, free0);
}

/* Released pairs keep their sockets for later streams (the idle pool),
 * muxed streams bind no RTCP socket, and what reaches an idle port is
 * drained and dropped. */
static void
test_idle_pool(void)
{
	struct ipc_media_req q;
	struct ipc_media_reply o;
	struct ipc_media_ref f;
	uint32_t free0 = r.pool.nfree, socks0 = r.nsocks;
	uint16_t first = 0, me;
	uint64_t strangers;
	char id[16];
	int fd = udp_fixture_socket(&me, 0);

	CHECK(relay_set_idle_max(&r, 4));
	req(&q, "m1", "ta", "", 5000, IPC_MSF_RTCP_MUX);
	relay_media_update(&r, &q, false, &o);
	CHECK_EQ_INT(o.status, 0);
	CHECK_EQ_INT(o.streams[0].rtcp.port, o.streams[0].rtp.port);
	CHECK_EQ_INT(r.nsocks, socks0 + 2);
	/* The answer stops muxing: RTCP sockets now. */
	req(&q, "m1", "tb", "ta", 6000, 0);
	relay_media_update(&r, &q, true, &o);
	CHECK_EQ_INT(o.status, 0);
	CHECK_EQ_INT(r.nsocks, socks0 + 4);
	f = ref("m1");
	CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	/* Both pairs wait in the pool, bound. */
	CHECK_EQ_INT(r.nidle, 2);
	CHECK_EQ_INT(r.nsocks, socks0 + 4);
	CHECK_EQ_INT(r.pool.nfree, free0 - 2);
	first = r.idle[r.idle_head];
	udp_fixture_rtp(fd, first, 7, 1);
	strangers = r.st.strangers;
	udp_fixture_drain(loop, fd);
	CHECK_EQ_INT(r.st.strangers, strangers + 1);

	/* Not reused while at most half the pool waits... */
	req(&q, "m2", "ta", "", 5000, 0);
	relay_media_update(&r, &q, false, &o);
	CHECK(o.streams[0].rtp.port != first);
	f = ref("m2");
	CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	CHECK_EQ_INT(r.nidle, 4);
	/* ...then the oldest goes first, with no new socket. */
	socks0 = r.nsocks;
	req(&q, "m3", "ta", "", 5000, 0);
	relay_media_update(&r, &q, false, &o);
	CHECK_EQ_INT(o.status, 0);
	CHECK_EQ_INT(relay_call_find(&r, "m3")->s[0]->leg[0].port, first);
	CHECK_EQ_INT(r.nsocks, socks0);
	f = ref("m3");
	CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	/* A full pool closes what does not fit; shrinking it too. */
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "m%d", 10 + i);
		req(&q, id, "ta", "", 5000, 0);
		relay_media_update(&r, &q, false, &o);
		CHECK_EQ_INT(o.status, 0);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "m%d", 10 + i);
		f = ref(id);
		CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	}
	CHECK_EQ_INT(r.nidle, 4);
	CHECK(relay_set_idle_max(&r, 0));
	CHECK_EQ_INT(r.nidle, 0);
	CHECK_EQ_INT(r.pool.nfree, free0);
	close(fd);
}

static void
test_forwarding(void)
{
	uint16_t pa, pb, px;
	int fa = udp_fixture_socket(&pa, 0), fb = udp_fixture_socket(&pb, 0),
	    fx = udp_fixture_socket(&px, 0);
	struct ipc_media_req q;
	struct ipc_media_reply o, a;
	struct ipc_media_ref f = ref("fw");
	struct rcall *c;

	req(&q, "fw", "ta", "", pa, 0);
	relay_media_update(&r, &q, false, &o);
	req(&q, "fw", "tb", "ta", pb, 0);
	relay_media_update(&r, &q, true, &a);
	/* a sends to the port it was given (in the answer's reply). */
	for (uint16_t s = 0; s < 3; s++)
		udp_fixture_rtp(fa, a.streams[0].rtp.port, 0xa, s);
	CHECK_EQ_INT(udp_fixture_drain(loop, fb), 3);
	for (uint16_t s = 0; s < 4; s++)
		udp_fixture_rtp(fb, o.streams[0].rtp.port, 0xb, s);
	CHECK_EQ_INT(udp_fixture_drain(loop, fa), 4);
	c = relay_call_find(&r, "fw");
	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK(c->s[0]->leg[0].lat[0].peer.family == 4);
	CHECK(c->s[0]->leg[1].lat[0].peer.family == 4);
	CHECK_EQ_INT(c->s[0]->upkts, 7);
	/* Another port of the same host after latching: a stranger. */
	udp_fixture_rtp(fx, a.streams[0].rtp.port, 0xa, 9);
	CHECK_EQ_INT(udp_fixture_drain(loop, fb), 0);
	CHECK_EQ_INT(c->s[0]->strangers, 1);
	CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	close(fa);
	close(fb);
	close(fx);
}

static void
test_timeouts(void)
{
	struct ipc_media_req q;
	struct ipc_media_reply o;
	struct ipc_media_ref f1 = ref("t1"), f2 = ref("t2"), f3 = ref("t3");

	timeouts = 0;
	req(&q, "t1", "ta", "", 5000, 0);
	relay_media_update(&r, &q, false, &o);
	req(&q, "t1", "tb", "ta", 5002, 0);
	relay_media_update(&r, &q, true, &o);
	req(&q, "t2", "ta", "", 5000, IPC_MSF_HOLD);
	relay_media_update(&r, &q, false, &o);
	req(&q, "t2", "tb", "ta", 5002, IPC_MSF_HOLD);
	relay_media_update(&r, &q, true, &o);
	/* Still ringing (no answer): never a media timeout. */
	req(&q, "t3", "ta", "", 5000, 0);
	relay_media_update(&r, &q, false, &o);
	now_ms += r.timeout_ms - 1;
	ev_run_timers(loop);
	relay_tick_run(&r);
	CHECK_EQ_INT(timeouts, 0);
	now_ms += 2;
	ev_run_timers(loop);
	relay_tick_run(&r);
	CHECK_EQ_INT(timeouts, 1); /* t1; t2 is on hold */
	relay_tick_run(&r);
	CHECK_EQ_INT(timeouts, 1); /* reported once */
	CHECK(relay_call_find(&r, "t1")->is_timed_out);
	now_ms += r.hold_timeout_ms;
	ev_run_timers(loop);
	relay_tick_run(&r);
	CHECK_EQ_INT(timeouts, 2);
	/* New SDP re-arms it. */
	req(&q, "t1", "ta", "", 5004, 0);
	relay_media_update(&r, &q, false, &o);
	CHECK(!relay_call_find(&r, "t1")->is_timed_out);
	CHECK(!relay_call_find(&r, "t3")->is_timed_out);
	relay_media_delete(&r, &f1);
	relay_media_delete(&r, &f2);
	relay_media_delete(&r, &f3);
}

int
main(void)
{
	struct ipc_addr a;

	hash_seed_random();
	loop = ev_loop_new();
	ipc_addr_parse(&a, "127.0.0.1", 0);
	if (!relay_init(&r, loop, &a, NULL, LO, HI)) {
		printf("not ok 1 - relay_init\n");
		return 1;
	}
	r.on_timeout = on_timeout;
	r.timeout_ms = 5000;
	r.hold_timeout_ms = 60000;
	TEST_RUN(test_offer_answer);
	TEST_RUN(test_exhaustion);
	TEST_RUN(test_forwarding);
	TEST_RUN(test_idle_pool);
	ev_set_clock(loop, test_clock, NULL);
	TEST_RUN(test_timeouts);
	relay_free(&r);
	ev_loop_free(loop);
	return tap_done();
}
