/* Unit tests of ipc and ipc_msgs: framing, catalogue validation, fd
 * passing, the exact reader, HELLO, channels with back-pressure, bundles,
 * and the address helpers. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ev.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "log.h"
#include "tap.h"

static uint8_t buf[IPC_MAX_MSG];

static void
test_send_recv(void)
{
	int sv[2];
	CHECK_EQ_INT(ipc_socketpair(sv), 0);
	struct ipc_sip_in in = {0};
	in.flow.transport = IPC_TP_UDP;
	ipc_addr_parse(&in.flow.remote, "192.0.2.7", 5062);
	const char sip[] = "OPTIONS sip:a@b SIP/2.0\r\n\r\n";
	in.sip_len = sizeof sip - 1;
	CHECK_EQ_INT(
	    ipc_send(sv[0], IPC_SIP_IN, 0, 77, &in, sizeof in, sip, in.sip_len),
	    0);
	struct ipc_msg m;
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	CHECK_EQ_INT(m.hdr.type, IPC_SIP_IN);
	CHECK_EQ_INT(m.hdr.id, 77);
	CHECK_EQ_INT(m.len, sizeof in + sizeof sip - 1);
	CHECK_EQ_INT(m.fd, -1);
	CHECK_STR(m.info->name, "SIP_IN");
	CHECK_STR(ipc_type_name(&ipc_cat_core, IPC_SIP_IN), "SIP_IN");
	CHECK_STR(ipc_type_name(&ipc_cat_core, 0x7777), "unknown");

	struct ipc_reader r;
	struct ipc_sip_in got;
	ipc_reader_init(&r, &m);
	CHECK(ipc_read(&r, &got, sizeof got));
	CHECK(!ipc_reader_done(&r));
	const uint8_t *p = ipc_read_ptr(&r, got.sip_len);
	CHECK(p != NULL && memcmp(p, sip, got.sip_len) == 0);
	CHECK(ipc_reader_done(&r));
	CHECK(ipc_addr_eq(&got.flow.remote, &in.flow.remote));

	/* A decoder that under-reads or over-reads fails. */
	ipc_reader_init(&r, &m);
	CHECK(ipc_read(&r, &got, sizeof got));
	CHECK(ipc_read_ptr(&r, got.sip_len + 1) == NULL);
	CHECK(r.failed);
	CHECK(!ipc_reader_done(&r));
	CHECK(ipc_read_ptr(&r, 0) == NULL); /* failure is sticky */

	/* Nothing more: EAGAIN. Peer gone: 0. */
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), -1);
	CHECK_EQ_INT(errno, EAGAIN);
	close(sv[0]);
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), 0);
	close(sv[1]);
}

static int
raw_send(
    int fd, uint16_t type, uint16_t flags, uint32_t hlen, uint32_t body_len)
{
	uint8_t d[2048] = {0};
	struct ipc_hdr h = {type, flags, hlen, 1};
	memcpy(d, &h, sizeof h);
	return (int)send(fd, d, sizeof h + body_len, 0);
}

static int
recv_errno(int fd, const struct ipc_catalogue *cat, size_t cap)
{
	struct ipc_msg m;
	errno = 0;
	int rc = ipc_recv(fd, cat, buf, cap, &m);
	return rc < 0 ? errno : 1000 + rc;
}

static void
test_validation(void)
{
	int sv[2];
	ipc_socketpair(sv);
	/* Unknown type; a type of another socket. */
	raw_send(sv[0], 0x0999, 0, 0, 0);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_core, sizeof buf), EPROTO);
	raw_send(sv[0], IPC_BAN_ADD, 0, sizeof(struct ipc_ban),
	    sizeof(struct ipc_ban));
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_core, sizeof buf), EPROTO);
	raw_send(sv[0], IPC_BAN_ADD, 0, sizeof(struct ipc_ban),
	    sizeof(struct ipc_ban));
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, sizeof buf), 1001);
	/* Body length outside the type's bounds. */
	raw_send(sv[0], IPC_BAN_ADD, 0, 10, 10);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, sizeof buf), EPROTO);
	raw_send(sv[0], IPC_SIP_IN, 0, 151, 151);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_core, sizeof buf), EPROTO);
	/* Header length disagreeing with the datagram. */
	raw_send(sv[0], IPC_BAN_ADD, 0, sizeof(struct ipc_ban) + 4,
	    sizeof(struct ipc_ban));
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, sizeof buf), EPROTO);
	/* Shorter than a header. */
	CHECK_EQ_INT(send(sv[0], "abcde", 5, 0), 5);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, sizeof buf), EPROTO);
	/* Unknown flag bits. */
	raw_send(sv[0], IPC_BAN_ADD, 0x8000, sizeof(struct ipc_ban),
	    sizeof(struct ipc_ban));
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, sizeof buf), EPROTO);
	/* A datagram larger than the buffer is truncated: rejected. */
	raw_send(sv[0], IPC_BAN_ADD, 0, sizeof(struct ipc_ban),
	    sizeof(struct ipc_ban));
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, 40), EPROTO);
	/* The socket is still usable afterwards. */
	raw_send(sv[0], IPC_BAN_DEL, IPC_F_MORE, sizeof(struct ipc_ban),
	    sizeof(struct ipc_ban));
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_relay, sizeof buf), 1001);
	/* Too large to send at all. */
	static uint8_t big[IPC_MAX_MSG];
	CHECK_EQ_INT(ipc_send(sv[0], IPC_SIP_IN, 0, 0, big,
	                 sizeof(struct ipc_sip_in), big, IPC_MAX_MSG),
	    -1);
	CHECK_EQ_INT(errno, EMSGSIZE);
	/* The largest body fits. */
	CHECK_EQ_INT(
	    ipc_send(sv[0], IPC_SIP_IN, 0, 0, big, sizeof(struct ipc_sip_in),
	        big, IPC_MAX_MSG - 16 - sizeof(struct ipc_sip_in)),
	    0);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_core, sizeof buf), 1001);

	/* ipc_validate on memory. */
	struct ipc_msg m;
	uint8_t d[16 + 84] = {0};
	struct ipc_hdr h = {IPC_AUTH_FAILED, 0, 84, 9};
	memcpy(d, &h, sizeof h);
	CHECK_EQ_INT(ipc_validate(&ipc_cat_core, d, sizeof d, &m), 0);
	CHECK_EQ_INT(m.len, 84);
	CHECK_EQ_INT(ipc_validate(&ipc_cat_core, d, sizeof d - 1, &m), -1);
	close(sv[0]);
	close(sv[1]);
}

static void
test_fd_passing(void)
{
	int sv[2], p[2];
	ipc_socketpair(sv);
	CHECK_EQ_INT(pipe(p), 0);
	struct ipc_ctl_request req = {.cmd = "users.import"};
	CHECK_EQ_INT(
	    ipc_send_fd(sv[0], IPC_CTL_REQUEST, 5, &req, sizeof req, p[1]), 0);
	close(p[1]);
	struct ipc_msg m;
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_ctl, buf, sizeof buf, &m), 1);
	CHECK(m.fd >= 0);
	CHECK((fcntl(m.fd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK_EQ_INT(write(m.fd, "hi", 2), 2);
	close(m.fd);
	char got[4] = {0};
	CHECK_EQ_INT(read(p[0], got, sizeof got), 2);
	CHECK_STR(got, "hi");
	close(p[0]);

	/* An fd attached to an invalid message is closed, not leaked. */
	CHECK_EQ_INT(pipe(p), 0);
	CHECK_EQ_INT(ipc_send_fd(sv[0], 0x0999, 0, &req, sizeof req, p[1]), 0);
	close(p[1]);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_ctl, sizeof buf), EPROTO);
	/* The only write end is gone: reading gives EOF. */
	CHECK_EQ_INT(read(p[0], got, sizeof got), 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_hello(void)
{
	int sv[2];
	ipc_socketpair(sv);
	CHECK_EQ_INT(ipc_send_hello(sv[0], IPC_ROLE_EDGE,
	                 "portcullis-edge-with-long-name"),
	    0);
	struct ipc_msg m;
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	struct ipc_hello h;
	char err[200];
	CHECK(ipc_check_hello(&m, &h, err, sizeof err));
	CHECK_EQ_INT(h.role, IPC_ROLE_EDGE);
	CHECK_EQ_INT(h.pid, getpid());
	CHECK_STR(h.name, "portcullis-edge");

	struct ipc_hello bad = h;
	bad.version = 99;
	ipc_send(sv[0], IPC_HELLO, 0, 0, &bad, sizeof bad, NULL, 0);
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	CHECK(!ipc_check_hello(&m, &h, err, sizeof err));
	CHECK(strstr(err, "version 99") != NULL);
	bad = h;
	bad.max_msg = 100;
	ipc_send(sv[0], IPC_HELLO, 0, 0, &bad, sizeof bad, NULL, 0);
	ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m);
	CHECK(!ipc_check_hello(&m, &h, err, sizeof err));
	struct ipc_result res = {0};
	ipc_send(sv[0], IPC_RESULT, 0, 0, &res, sizeof res, NULL, 0);
	ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m);
	CHECK(!ipc_check_hello(&m, &h, err, sizeof err));
	CHECK(strstr(err, "not HELLO") != NULL);
	close(sv[0]);
	close(sv[1]);
}

/* ---- channels ---- */

struct chan_ctx {
	int msgs;
	uint64_t last_id;
	bool is_in_order;
	int closed;
	bool free_on_close;
	struct ipc_chan *ch;
};

static void
on_msg(struct ipc_chan *ch, const struct ipc_msg *m, void *arg)
{
	(void)ch;
	struct chan_ctx *c = arg;
	if (m->hdr.id != c->last_id + 1)
		c->is_in_order = false;
	c->last_id = m->hdr.id;
	c->msgs++;
	if (m->fd >= 0)
		close(m->fd);
}

static void
on_close(struct ipc_chan *ch, void *arg)
{
	struct chan_ctx *c = arg;
	c->closed++;
	if (c->free_on_close) {
		ipc_chan_free(ch);
		c->ch = NULL;
	}
}

static void
spin(struct ev_loop *l, int n)
{
	for (int i = 0; i < n; i++)
		ev_run_once(l, 0);
}

static void
test_chan(void)
{
	struct ev_loop *l = ev_loop_new();
	int sv[2];
	ipc_socketpair(sv);
	struct chan_ctx ca = {.is_in_order = true}, cb = {.is_in_order = true};
	struct ipc_chan *a = ipc_chan_new(l, sv[0], &ipc_cat_relay, 0,
	    IPC_ROLE_EDGE, "edge", on_msg, on_close, &ca);
	struct ipc_chan *b = ipc_chan_new(l, sv[1], &ipc_cat_relay, 0,
	    IPC_ROLE_RELAY, "relay", on_msg, on_close, &cb);
	CHECK(a != NULL && b != NULL);
	CHECK(ipc_chan_peer(a) == NULL);
	spin(l, 3);
	CHECK(ipc_chan_peer(a) != NULL);
	CHECK_EQ_INT(ipc_chan_peer(a)->role, IPC_ROLE_RELAY);
	CHECK_STR(ipc_chan_peer(b)->name, "edge");
	struct ipc_ban ban = {.timeout_s = 60};
	for (uint64_t i = 1; i <= 5; i++)
		CHECK_EQ_INT(ipc_chan_send(a, IPC_BAN_ADD, 0, i, &ban,
		                 sizeof ban, NULL, 0),
		    0);
	spin(l, 3);
	CHECK_EQ_INT(cb.msgs, 5);
	CHECK(cb.is_in_order);
	CHECK_EQ_INT(ca.msgs, 0); /* HELLO is not passed up */
	CHECK_EQ_INT(ipc_chan_fd(a), sv[0]);

	ipc_chan_free(a);
	spin(l, 3);
	CHECK_EQ_INT(cb.closed, 1);
	CHECK_EQ_INT(ca.closed, 0);
	ipc_chan_free(b);
	ev_loop_free(l);
}

static void
test_chan_backpressure(void)
{
	struct ev_loop *l = ev_loop_new();
	int sv[2];
	ipc_socketpair(sv);
	struct chan_ctx ca = {.is_in_order = true};
	struct ipc_chan *a = ipc_chan_new(l, sv[0], &ipc_cat_core, 256 * 1024,
	    IPC_ROLE_CORE, "core", on_msg, on_close, &ca);
	/* The peer does not read: the socket fills, then the queue, then
	 * ENOBUFS. */
	static uint8_t sip[8000];
	struct ipc_sip_out out = {.sip_len = sizeof sip};
	int sent = 0, err = 0;
	for (int i = 1; i <= 10000; i++) {
		if (ipc_chan_send(a, IPC_SIP_OUT, 0, (uint64_t)i, &out,
		        sizeof out, sip, sizeof sip) < 0) {
			err = errno;
			break;
		}
		sent++;
	}
	CHECK_EQ_INT(err, ENOBUFS);
	CHECK(ipc_chan_queued(a) > 0);
	CHECK(ipc_chan_queued(a) <= 256 * 1024);

	/* The peer drains; the queue flushes on EPOLLOUT, in order. */
	int got = 0;
	uint64_t expect = 1;
	bool is_in_order = true;
	struct ipc_msg m;
	for (int round = 0; round < 10000 && got < sent + 1; round++) {
		int rc;
		while ((rc = ipc_recv(
		            sv[1], &ipc_cat_core, buf, sizeof buf, &m)) == 1) {
			if (m.hdr.type == IPC_HELLO)
				continue;
			if (m.hdr.id != expect)
				is_in_order = false;
			expect++;
			got++;
		}
		ev_run_once(l, 0);
	}
	CHECK_EQ_INT(got, sent);
	CHECK(is_in_order);
	CHECK_EQ_INT(ipc_chan_queued(a), 0);
	ipc_chan_free(a);
	close(sv[1]);
	ev_loop_free(l);
}

/* A batching channel holds its messages until the loop is about to sleep,
 * sends them in order (a run as one bundle datagram, a lone message as
 * itself), moves what a full socket refuses to its queue, and sends what is
 * left when freed. */
static void
test_chan_batch(void)
{
	struct ev_loop *l = ev_loop_new();
	int sv[2];
	ipc_socketpair(sv);
	struct chan_ctx ca = {.is_in_order = true};
	struct ipc_chan *a = ipc_chan_new(l, sv[0], &ipc_cat_core, 0,
	    IPC_ROLE_CORE, "core", on_msg, on_close, &ca);
	CHECK_EQ_INT(ipc_chan_batch(a), 0);
	struct ipc_msg m;
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	CHECK_EQ_INT(m.hdr.type, IPC_HELLO); /* sent before batching began */
	static uint8_t sip[8000];
	struct ipc_sip_out out = {.sip_len = 100};
	for (uint64_t i = 1; i <= 3; i++)
		CHECK_EQ_INT(ipc_chan_send(a, IPC_SIP_OUT, 0, i, &out,
		                 sizeof out, sip, 100),
		    0);
	CHECK(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m) < 0 &&
	    errno == EAGAIN);
	ev_run_once(l, 0);
	/* One datagram: a bundle of the three, in order. */
	size_t one = sizeof(struct ipc_hdr) + sizeof out + 100;
	ssize_t n = recv(sv[1], buf, sizeof buf, 0);
	CHECK_EQ_INT(n, (ssize_t)(sizeof(struct ipc_hdr) + 3 * one));
	struct ipc_hdr bh;
	memcpy(&bh, buf, sizeof bh);
	CHECK_EQ_INT(bh.type, IPC_BUNDLE);
	const uint8_t *p = buf + sizeof bh;
	size_t left = (size_t)n - sizeof bh;
	for (uint64_t i = 1; i <= 3; i++) {
		CHECK_EQ_INT(ipc_bundle_next(&ipc_cat_core, &p, &left, &m), 1);
		CHECK_EQ_INT(m.hdr.id, i);
		CHECK_EQ_INT(m.len, sizeof out + 100);
	}
	CHECK_EQ_INT(ipc_bundle_next(&ipc_cat_core, &p, &left, &m), 0);
	CHECK(
	    recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN);
	/* More than the socket takes: the rest waits in the queue. Bundles
	 * stay within IPC_MAX_MSG. */
	out.sip_len = sizeof sip;
	int sent = 0;
	for (int i = 1; i <= 100; i++)
		if (ipc_chan_send(a, IPC_SIP_OUT, 0, (uint64_t)i, &out,
		        sizeof out, sip, sizeof sip) == 0)
			sent++;
	CHECK_EQ_INT(sent, 100);
	CHECK(ipc_chan_queued(a) > 0); /* past the socket's room */
	int got = 0;
	uint64_t expect = 1;
	bool is_in_order = true;
	struct ipc_rx rx = {0};
	for (int round = 0; round < 1000 && got < sent; round++) {
		ev_run_once(l, 0);
		while (ipc_rx_recv(&rx, sv[1], &ipc_cat_core, buf, sizeof buf,
		           &m) == 1) {
			if (m.hdr.id != expect)
				is_in_order = false;
			expect++;
			got++;
		}
	}
	CHECK_EQ_INT(got, sent);
	CHECK(is_in_order);
	/* Freed with one message waiting: it is sent, as itself. */
	out.sip_len = 10;
	CHECK_EQ_INT(
	    ipc_chan_send(a, IPC_SIP_OUT, 0, 77, &out, sizeof out, sip, 10), 0);
	ipc_chan_free(a);
	CHECK_EQ_INT(ipc_recv(sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	CHECK_EQ_INT(m.hdr.id, 77);
	close(sv[1]);
	ev_loop_free(l);
}

/* Appends one message (header + zero body) to a bundle being built. */
static size_t
put_msg(uint8_t *d, size_t at, uint16_t type, uint64_t id, uint32_t len)
{
	struct ipc_hdr h = {.type = type, .length = len, .id = id};
	memcpy(d + at, &h, sizeof h);
	memset(d + at + sizeof h, 0, len);
	return at + sizeof h + len;
}

/* Sends d[16..n) as a bundle, with outer flags/id as given. */
static void
send_bundle(int fd, uint8_t *d, size_t n, uint16_t flags, uint64_t id)
{
	struct ipc_hdr h = {.type = IPC_BUNDLE,
	    .flags = flags,
	    .length = (uint32_t)(n - sizeof h),
	    .id = id};
	memcpy(d, &h, sizeof h);
	CHECK_EQ_INT(send(fd, d, n, 0), (ssize_t)n);
}

/* A channel on sv[0] that has the peer's HELLO; spins the loop. */
static struct ipc_chan *
hello_chan(struct ev_loop *l, int sv[2], struct chan_ctx *c)
{
	ipc_socketpair(sv);
	c->is_in_order = true;
	c->free_on_close = true;
	c->ch = ipc_chan_new(l, sv[0], &ipc_cat_core, 0, IPC_ROLE_CORE, "core",
	    on_msg, on_close, c);
	ipc_send_hello(sv[1], IPC_ROLE_EDGE, "edge");
	spin(l, 2);
	return c->ch;
}

static void
test_bundle(void)
{
	static uint8_t d[IPC_MAX_MSG];
	struct ev_loop *l = ev_loop_new();
	int sv[2];
	size_t n;
	struct ipc_msg m;
	uint32_t res = sizeof(struct ipc_result);

	/* The strict reader refuses a bundle; ipc_rx takes it apart. */
	ipc_socketpair(sv);
	n = put_msg(d, sizeof(struct ipc_hdr), IPC_RESULT, 1, res);
	n = put_msg(d, n, IPC_RESULT, 2, res);
	send_bundle(sv[0], d, n, 0, 0);
	CHECK_EQ_INT(recv_errno(sv[1], &ipc_cat_core, sizeof buf), EPROTO);
	send_bundle(sv[0], d, n, 0, 0);
	struct ipc_rx rx = {0};
	CHECK_EQ_INT(
	    ipc_rx_recv(&rx, sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	CHECK_EQ_INT(m.hdr.id, 1);
	CHECK_EQ_INT(
	    ipc_rx_recv(&rx, sv[1], &ipc_cat_core, buf, sizeof buf, &m), 1);
	CHECK_EQ_INT(m.hdr.id, 2);
	CHECK(ipc_rx_recv(&rx, sv[1], &ipc_cat_core, buf, sizeof buf, &m) < 0 &&
	    errno == EAGAIN);
	close(sv[0]);
	close(sv[1]);

	/* A channel delivers a bundle's messages in order, between others. */
	struct chan_ctx c = {0};
	CHECK(hello_chan(l, sv, &c) != NULL);
	raw_send(sv[1], IPC_FLOW_CLOSED, 0, sizeof(struct ipc_flow_closed),
	    sizeof(struct ipc_flow_closed)); /* id 1 */
	n = sizeof(struct ipc_hdr);
	for (uint64_t i = 2; i <= 4; i++)
		n = put_msg(d, n, IPC_RESULT, i, res);
	send_bundle(sv[1], d, n, 0, 0);
	n = put_msg(d, sizeof(struct ipc_hdr), IPC_RESULT, 5, res);
	send_bundle(sv[1], d, n, 0, 0); /* a bundle of one is fine */
	spin(l, 3);
	CHECK_EQ_INT(c.msgs, 5);
	CHECK(c.is_in_order);
	CHECK_EQ_INT(c.closed, 0);
	ipc_chan_free(c.ch);
	close(sv[1]);

	/* Each malformed bundle closes the channel, after the messages
	 * before the fault. */
	struct {
		const char *what;
		int delivered;
	} bad[] = {{"cut", 1}, {"nested", 1}, {"hello", 1}, {"unknown", 1},
	    {"flags", 0}, {"id", 0}, {"empty", 0}, {"short header", 1}};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct chan_ctx cc = {0};
		uint16_t fl = 0;
		uint64_t id = 0;
		CHECK(hello_chan(l, sv, &cc) != NULL);
		n = put_msg(d, sizeof(struct ipc_hdr), IPC_RESULT, 1, res);
		if (strcmp(bad[k].what, "cut") == 0) {
			n = put_msg(d, n, IPC_RESULT, 2, res);
			n -= 1;
		} else if (strcmp(bad[k].what, "nested") == 0) {
			n = put_msg(d, n, IPC_BUNDLE, 0, 0);
		} else if (strcmp(bad[k].what, "hello") == 0) {
			n = put_msg(
			    d, n, IPC_HELLO, 2, sizeof(struct ipc_hello));
		} else if (strcmp(bad[k].what, "unknown") == 0) {
			n = put_msg(d, n, 0x0999, 2, 0);
		} else if (strcmp(bad[k].what, "flags") == 0) {
			fl = 0x8000;
		} else if (strcmp(bad[k].what, "id") == 0) {
			id = 9;
		} else if (strcmp(bad[k].what, "empty") == 0) {
			n = sizeof(struct ipc_hdr);
		} else {
			memset(d + n, 0, 8);
			n += 8; /* a tail shorter than a header */
		}
		send_bundle(sv[1], d, n, fl, id);
		spin(l, 3);
		if (cc.closed != 1 || cc.msgs != bad[k].delivered)
			printf("# bundle %s: closed %d, delivered %d\n",
			    bad[k].what, cc.closed, cc.msgs);
		CHECK_EQ_INT(cc.closed, 1);
		CHECK_EQ_INT(cc.msgs, bad[k].delivered);
		CHECK(cc.ch == NULL);
		close(sv[1]);
	}

	/* A bundle before the peer's HELLO, and a bundle carrying a
	 * descriptor: closed, nothing delivered. */
	for (int k = 0; k < 2; k++) {
		struct chan_ctx cc = {
		    .is_in_order = true, .free_on_close = true};
		ipc_socketpair(sv);
		cc.ch = ipc_chan_new(l, sv[0], &ipc_cat_core, 0, IPC_ROLE_CORE,
		    "core", on_msg, on_close, &cc);
		n = put_msg(d, sizeof(struct ipc_hdr), IPC_RESULT, 1, res);
		if (k == 0) {
			send_bundle(sv[1], d, n, 0, 0);
		} else {
			ipc_send_hello(sv[1], IPC_ROLE_EDGE, "edge");
			struct ipc_hdr h = {.type = IPC_BUNDLE,
			    .length = (uint32_t)(n - sizeof h)};
			memcpy(d, &h, sizeof h);
			int pfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
			CHECK_EQ_INT(
			    ipc_send_fd(sv[1], IPC_BUNDLE, 0, d + sizeof h,
			        (uint32_t)(n - sizeof h), pfd),
			    0);
			close(pfd);
		}
		spin(l, 3);
		CHECK_EQ_INT(cc.closed, 1);
		CHECK_EQ_INT(cc.msgs, 0);
		close(sv[1]);
	}
	ev_loop_free(l);
}

static void
test_chan_bad_peer(void)
{
	struct ev_loop *l = ev_loop_new();
	int sv[2];
	ipc_socketpair(sv);
	struct chan_ctx ca = {.is_in_order = true, .free_on_close = true};
	ca.ch = ipc_chan_new(l, sv[0], &ipc_cat_core, 0, IPC_ROLE_CORE, "core",
	    on_msg, on_close, &ca);
	/* The peer's first message is not a HELLO: closed, and freed from
	 * inside on_close. */
	struct ipc_result res = {0};
	ipc_send(sv[1], IPC_RESULT, 0, 1, &res, sizeof res, NULL, 0);
	spin(l, 3);
	CHECK_EQ_INT(ca.closed, 1);
	CHECK(ca.ch == NULL);
	CHECK_EQ_INT(ca.msgs, 0);
	close(sv[1]);

	/* Garbage after a good HELLO. */
	ipc_socketpair(sv);
	struct chan_ctx cb = {.is_in_order = true, .free_on_close = true};
	cb.ch = ipc_chan_new(l, sv[0], &ipc_cat_core, 0, IPC_ROLE_CORE, "core",
	    on_msg, on_close, &cb);
	ipc_send_hello(sv[1], IPC_ROLE_EDGE, "edge");
	raw_send(sv[1], 0x0999, 0, 0, 0);
	spin(l, 3);
	CHECK_EQ_INT(cb.closed, 1);
	CHECK(cb.ch == NULL);
	close(sv[1]);
	ev_loop_free(l);
}

static void
test_listen_connect(void)
{
	char dir[] = "/tmp/pc-ipc-test-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[128];
	snprintf(path, sizeof path, "%s/core.sock", dir);
	int lfd = ipc_listen(path, 0660);
	CHECK(lfd >= 0);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0660);
	/* A second listen replaces the stale socket file. */
	int lfd2 = ipc_listen(path, 0600);
	CHECK(lfd2 >= 0);
	close(lfd);
	int c = ipc_connect(path);
	CHECK(c >= 0);
	int s = ipc_accept(lfd2);
	CHECK(s >= 0);
	CHECK_EQ_INT(ipc_send_hello(c, IPC_ROLE_TEST, "t"), 0);
	struct ipc_msg m;
	CHECK_EQ_INT(ipc_recv(s, &ipc_cat_ctl, buf, sizeof buf, &m), 1);
	CHECK_EQ_INT(m.hdr.type, IPC_HELLO);
	close(c);
	close(s);
	close(lfd2);
	unlink(path);
	CHECK_EQ_INT(ipc_connect(path), -1);
	char longp[200];
	memset(longp, 'x', sizeof longp - 1);
	longp[sizeof longp - 1] = '\0';
	CHECK_EQ_INT(ipc_listen(longp, 0600), -1);
	CHECK_EQ_INT(errno, ENAMETOOLONG);
	rmdir(dir);
}

static void
test_addr(void)
{
	struct ipc_addr a, b;
	char s[64];
	CHECK(ipc_addr_parse(&a, "192.0.2.1", 5060));
	CHECK_STR(ipc_addr_str(&a, s, sizeof s), "192.0.2.1:5060");
	CHECK(ipc_addr_parse(&b, "2001:db8::1", 0));
	CHECK_STR(ipc_addr_str(&b, s, sizeof s), "2001:db8::1");
	b.port = 5061;
	CHECK_STR(ipc_addr_str(&b, s, sizeof s), "[2001:db8::1]:5061");
	CHECK(ipc_addr_parse(&b, "[::1]", 7));
	CHECK_STR(ipc_addr_str(&b, s, sizeof s), "[::1]:7");
	CHECK(!ipc_addr_parse(&b, "example.com", 1));
	CHECK_EQ_INT(b.family, 0);
	CHECK(!ipc_addr_parse(&b, "1.2.3.256", 1));
	CHECK(!ipc_addr_parse(&b, "", 1));
	CHECK_STR(ipc_addr_str(&b, s, sizeof s), "(none)");

	struct sockaddr_storage ss;
	CHECK_EQ_INT(ipc_addr_to_sa(&a, &ss), sizeof(struct sockaddr_in));
	CHECK_EQ_INT(ipc_addr_from_sa(&b, (struct sockaddr *)&ss), 0);
	CHECK(ipc_addr_eq(&a, &b));
	b.port++;
	CHECK(!ipc_addr_eq(&a, &b));
	ipc_addr_parse(&a, "fe80::1:2", 9);
	CHECK_EQ_INT(ipc_addr_to_sa(&a, &ss), sizeof(struct sockaddr_in6));
	CHECK_EQ_INT(ipc_addr_from_sa(&b, (struct sockaddr *)&ss), 0);
	CHECK(ipc_addr_eq(&a, &b));
	struct ipc_addr none = {0};
	CHECK_EQ_INT(ipc_addr_to_sa(&none, &ss), 0);
	ss.ss_family = AF_UNIX;
	CHECK_EQ_INT(ipc_addr_from_sa(&b, (struct sockaddr *)&ss), -1);
}

static bool
cat_has(const struct ipc_catalogue *c, uint16_t type, uint32_t min)
{
	for (size_t i = 0; i < c->ntypes; i++)
		if (c->types[i].type == type)
			return c->types[i].min_len == min &&
			    c->types[i].max_len >= min &&
			    c->types[i].max_len <= IPC_MAX_MSG - 16;
	return false;
}

static void
test_catalogues(void)
{
	CHECK(cat_has(&ipc_cat_core, IPC_HELLO, 32));
	CHECK(cat_has(&ipc_cat_core, IPC_SIP_IN, 152));
	CHECK(cat_has(&ipc_cat_core, IPC_SIP_OUT, 152));
	CHECK(cat_has(&ipc_cat_core, IPC_FLOW_CLOSED, 144));
	CHECK(cat_has(&ipc_cat_core, IPC_AUTH_FAILED, 84));
	CHECK(cat_has(&ipc_cat_core, IPC_SOURCE_TRUSTED, 84));
	CHECK(cat_has(&ipc_cat_core, IPC_CALL_RELEASE, 320));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_MEDIA_OFFER, sizeof(struct ipc_media_req)));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_MEDIA_ANSWER, sizeof(struct ipc_media_req)));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_MEDIA_DELETE, sizeof(struct ipc_media_ref)));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_MEDIA_QUERY, sizeof(struct ipc_media_ref)));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_MEDIA_TIMEOUT, sizeof(struct ipc_media_ref)));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_MEDIA_REPLY, sizeof(struct ipc_media_reply)));
	CHECK(cat_has(&ipc_cat_relay, IPC_BAN_ADD, 56));
	CHECK(cat_has(&ipc_cat_relay, IPC_BAN_DEL, 56));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_CAPTURE_START, sizeof(struct ipc_capture)));
	CHECK(cat_has(
	    &ipc_cat_relay, IPC_CAPTURE_STOP, sizeof(struct ipc_capture)));
	CHECK(cat_has(&ipc_cat_relay, IPC_RESULT, 128));
	CHECK(cat_has(&ipc_cat_ctl, IPC_CTL_REQUEST, 40));
	CHECK(cat_has(&ipc_cat_ctl, IPC_CTL_REPLY, 200));
	CHECK(!cat_has(&ipc_cat_ctl, IPC_SIP_IN, 152));
}

int
main(void)
{
	log_init("test_ipc", LOG_LVL_ERROR); /* channel warnings are expected */
	TEST_RUN(test_send_recv);
	TEST_RUN(test_validation);
	TEST_RUN(test_fd_passing);
	TEST_RUN(test_hello);
	TEST_RUN(test_chan);
	TEST_RUN(test_chan_backpressure);
	TEST_RUN(test_chan_batch);
	TEST_RUN(test_bundle);
	TEST_RUN(test_chan_bad_peer);
	TEST_RUN(test_listen_connect);
	TEST_RUN(test_addr);
	TEST_RUN(test_catalogues);
	return tap_done();
}
