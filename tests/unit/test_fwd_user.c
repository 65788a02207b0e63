/*
 * Unit tests of relay/fwd_user.c and uring.c: real UDP packets on
 * 127.0.0.1 through the user-space path, with io_uring and with the
 * sendmmsg fallback (chosen, and forced by a seccomp filter that refuses
 * io_uring_setup as a locked-down host would); more packets in one loop
 * turn than the path holds; and a port closed between the read and the
 * end of the turn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ev.h"
#include "fwd_user.h"
#include "hash.h"
#include "stream.h"
#include "tap.h"
#include "udp_fixture.h"
#include "uring.h"

#define LO 47300
#define HI 47379 /* 40 pairs: 20 streams */
#define NCALLS 10

static struct ev_loop *loop;
static struct relay r;

static void
req(struct ipc_media_req *q, const char *id, const char *from, const char *to,
    uint16_t port)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->call_id, sizeof(q->call_id), "%s", id);
	snprintf(q->from_tag, sizeof(q->from_tag), "%s", from);
	snprintf(q->to_tag, sizeof(q->to_tag), "%s", to);
	q->nstreams = 1;
	ipc_addr_parse(&q->streams[0].rtp, "127.0.0.1", port);
}

/* Sets up call id between a (port pa) and b (pb); returns the relay port
 * a sends to. */
static uint16_t
call(const char *id, uint16_t pa, uint16_t pb)
{
	struct ipc_media_req q;
	struct ipc_media_reply o, a;

	req(&q, id, "ta", "", pa);
	relay_media_update(&r, &q, false, &o);
	req(&q, id, "tb", "ta", pb);
	relay_media_update(&r, &q, true, &a);
	return a.status == 0 ? a.streams[0].rtp.port : 0;
}

static void
hangup(const char *id)
{
	struct ipc_media_ref f;

	memset(&f, 0, sizeof(f));
	snprintf(f.call_id, sizeof(f.call_id), "%s", id);
	relay_media_delete(&r, &f);
}

/* NCALLS calls, 30 packets each sent before the loop runs: 300 packets
 * in one turn, more than the path holds (it flushes early), all
 * forwarded and counted. */
static void
forward_many(void)
{
	uint16_t pa, pb, port[NCALLS];
	int fa = udp_fixture_socket(&pa, 4 << 20),
	    fb = udp_fixture_socket(&pb, 4 << 20);
	uint64_t u0 = r.st.upkts;
	char id[16];

	for (int i = 0; i < NCALLS; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		port[i] = call(id, pa, pb);
		CHECK(port[i] != 0);
	}
	for (uint16_t s = 0; s < 30; s++)
		for (int i = 0; i < NCALLS; i++)
			udp_fixture_rtp(fa, port[i], 0x100u + (uint32_t)i, s);
	CHECK_EQ_INT(udp_fixture_drain(loop, fb), 30 * NCALLS);
	CHECK_EQ_INT(r.st.upkts - u0, 30 * NCALLS);
	for (int i = 0; i < NCALLS; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		CHECK_EQ_INT(relay_call_find(&r, id)->s[0]->upkts, 30);
		hangup(id);
	}
	close(fa);
	close(fb);
}

static void
test_uring(void)
{
	CHECK_STR(fwd_user_setup(loop, true), "io_uring");
	forward_many();
}

static void
test_sendmmsg(void)
{
	CHECK_STR(fwd_user_setup(loop, false), "sendmmsg");
	forward_many();
	CHECK_STR(fwd_user_setup(loop, true), "io_uring");
}

/* Closes the sockets of call cl and opens new ones until one has the
 * number of descriptor fd; returns how many (closed by the caller). */
static int
reuse_fd(int fd, int *fds, uint16_t *ports)
{
	int n = 0;

	CHECK(relay_set_idle_max(&r, 0));
	hangup("cl");
	while (n < 8) {
		fds[n] = udp_fixture_socket(&ports[n], 4 << 20);
		if (fds[n++] == fd)
			break;
	}
	CHECK_EQ_INT(fds[n - 1], fd);
	return n;
}

/* Without io_uring: a packet read, then its way out closed in the same
 * turn (the call deleted, the descriptor number taken by a new socket):
 * nothing leaves, through the new socket either. */
static void
test_out_closed_before_flush(void)
{
	uint16_t pa, pb, pn[8];
	int fa = udp_fixture_socket(&pa, 4 << 20),
	    fb = udp_fixture_socket(&pb, 4 << 20), fd_new[8], nnew;
	uint16_t port;
	struct rsock *k;
	uint64_t u0 = r.st.upkts;
	uint8_t b[2048];

	CHECK_STR(fwd_user_setup(loop, false), "sendmmsg");
	port = call("cl", pa, pb);
	k = &r.socks[port - r.pool.lo];
	/* Loopback delivers within sendto: the packet waits at the port. */
	udp_fixture_rtp(fa, port, 0x77, 1);
	/* The read half only: the turn's flush has not run. */
	fwd_user_io(loop, k->fd, EV_READ, k);
	CHECK_EQ_INT(r.st.upkts, u0 + 1);
	nnew =
	    reuse_fd(relay_call_find(&r, "cl")->s[0]->leg[1].fd[0], fd_new, pn);
	fwd_user_flush();
	CHECK_EQ_INT(recv(fb, b, sizeof(b), MSG_DONTWAIT), -1);
	CHECK_EQ_INT(udp_fixture_drain(loop, fb), 0);
	for (int i = 0; i < nnew; i++)
		close(fd_new[i]);
	close(fa);
	close(fb);
	CHECK_STR(fwd_user_setup(loop, true), "io_uring");
}

/* With io_uring: a socket noted ready, then closed in the same turn and
 * its number reused: the new socket is not read. */
static void
test_in_closed_before_flush(void)
{
	uint16_t pa, pb, pn[8];
	int fa = udp_fixture_socket(&pa, 4 << 20),
	    fb = udp_fixture_socket(&pb, 4 << 20), fd_new[8], nnew, fd;
	uint16_t port = call("cl", pa, pb);
	struct rsock *k = &r.socks[port - r.pool.lo];
	uint64_t u0 = r.st.upkts;
	uint8_t b[2048];

	udp_fixture_rtp(fa, port, 0x77, 1);
	fd = k->fd;
	fwd_user_io(loop, fd, EV_READ, k);
	CHECK_EQ_INT(r.st.upkts, u0); /* noted, not read */
	nnew = reuse_fd(fd, fd_new, pn);
	/* A packet for the new socket that takes the number. */
	udp_fixture_rtp(fa, pn[nnew - 1], 0x78, 1);
	fwd_user_flush();
	CHECK_EQ_INT(r.st.upkts, u0);
	CHECK_EQ_INT(recv(fd_new[nnew - 1], b, sizeof(b), MSG_DONTWAIT), 172);
	CHECK_EQ_INT(udp_fixture_drain(loop, fb), 0);
	for (int i = 0; i < nnew; i++)
		close(fd_new[i]);
	close(fa);
	close(fb);
}

/* A host that refuses io_uring (seccomp, as a container runtime may):
 * the path falls back to sendmmsg and still forwards. In a child, since
 * a filter cannot be removed. */
static void
test_seccomp_fallback(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(
	        BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = 4, .filter = f};
	int st = -1;
	pid_t pid = fork();

	if (pid == 0) {
		uint16_t pa, pb, port;
		int fa, fb, n, code = 0;

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(10);
		if (uring_new(8) != NULL || errno != EPERM)
			_exit(11);
		if (strcmp(fwd_user_setup(loop, true), "sendmmsg") != 0)
			_exit(12);
		fa = udp_fixture_socket(&pa, 4 << 20);
		fb = udp_fixture_socket(&pb, 4 << 20);
		port = call("sc", pa, pb);
		for (uint16_t s = 0; s < 5; s++)
			udp_fixture_rtp(fa, port, 0x55, s);
		n = udp_fixture_drain(loop, fb);
		if (n != 5)
			code = 20 + n;
		hangup("sc");
		_exit(code);
	}
	CHECK(pid > 0);
	if (pid > 0)
		waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

/* uring_submit never leaves a request behind: a receive on an empty
 * socket completes with EAGAIN. */
static void
test_uring_recv_empty(void)
{
	struct uring *u = uring_new(4);
	uint16_t p;
	int fd = udp_fixture_socket(&p, 4 << 20);
	uint8_t b[64];
	struct iovec iov = {b, sizeof(b)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	CHECK(u != NULL);
	if (u == NULL)
		return;
	CHECK_EQ_INT(uring_space(u), 4);
	CHECK(uring_recvmsg(u, fd, &m, 1));
	CHECK_EQ_INT(uring_submit(u, NULL, NULL), 1);
	CHECK_EQ_INT(uring_space(u), 4);
	uring_free(u);
	close(fd);
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
	r.timeout_ms = 60000;
	r.hold_timeout_ms = 60000;
	TEST_RUN(test_uring);
	TEST_RUN(test_sendmmsg);
	TEST_RUN(test_out_closed_before_flush);
	TEST_RUN(test_in_closed_before_flush);
	TEST_RUN(test_seccomp_fallback);
	TEST_RUN(test_uring_recv_empty);
	fwd_user_close();
	relay_free(&r);
	ev_loop_free(loop);
	return tap_done();
}
