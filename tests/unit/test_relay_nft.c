/*
 * Unit tests of relay/nft.c against the real kernel, inside a network
 * namespace this test creates (unshare), so the host's nftables are never
 * touched. Without the privilege to do so the tests are skipped.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ct.h"
#include "ev.h"
#include "hash.h"
#include "nft.h"
#include "stream.h"
#include "tap.h"

static struct nft *n;
static const uint16_t sip_ports[] = {5060, 5061};
/* Every forward with its smap element (no derived SNAT). */
static const struct nft_layout layout = {21000, 21099, sip_ports, 2, 0, {0}};
/* SNAT derived for forwards out of 10.9.0.1 at relay port ^ 2. */
static const struct nft_layout layout_x = {
    21000, 21099, sip_ports, 2, 4, {10, 9, 0, 1}};
/* The same for the relay of test_kernel_stream_sockets (127.0.0.1). */
static const struct nft_layout layout_lo = {
    21000, 21099, sip_ports, 2, 4, {127, 0, 0, 1}};

struct count {
	int n;
	struct nft_fwd last;
	uint16_t port;
	bool is_drop;
	uint64_t tmo;
};

static int
count_fwd(const struct nft_fwd *f, void *arg)
{
	struct count *c = arg;

	c->n++;
	c->last = *f;
	return 0;
}

static int
count_port(uint16_t port, bool is_drop, void *arg)
{
	struct count *c = arg;

	c->n++;
	c->port = port;
	c->is_drop = is_drop;
	return 0;
}

static int
count_ban(
    uint8_t family, const uint8_t *addr, uint64_t tmo, uint64_t exp, void *arg)
{
	struct count *c = arg;

	c->n++;
	c->tmo = tmo;
	return 0;
}

static struct nft_fwd
fwd4(const char *src, uint16_t sport, uint16_t rport, const char *dst,
    uint16_t dport)
{
	struct nft_fwd f;

	memset(&f, 0, sizeof(f));
	f.family = 4;
	inet_pton(AF_INET, src, f.src);
	inet_pton(AF_INET, dst, f.dst);
	inet_pton(AF_INET, "10.9.0.1", f.out);
	f.src_port = sport;
	f.relay_port = rport;
	f.dst_port = dport;
	f.out_port = rport + 2;
	return f;
}

static void
test_setup_idempotent(void)
{
	char err[256];
	bool is_kept = true;
	struct nft_layout other = layout;

	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), 0);
	CHECK(!is_kept);
	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), 0);
	CHECK(is_kept);
	other.port_hi = 21199;
	CHECK_EQ_INT(nft_setup(n, &other, &is_kept, err, sizeof(err)), 0);
	CHECK(!is_kept);
	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), 0);
	CHECK(!is_kept);
	/* The rules nft(8) sees: maps drive NAT, the drop policy is there. */
	CHECK_EQ_INT(system("nft list table inet portcullis | grep -q "
	                    "'dnat ip to ip saddr . udp sport . udp dport map "
	                    "@dmap4'"),
	    0);
	CHECK_EQ_INT(system("nft list table inet portcullis | grep -q "
	                    "'udp dport 21000-21099 drop'"),
	    0);
}

static void
test_fwd_elements(void)
{
	struct nft_fwd f = fwd4("10.9.1.2", 4000, 21000, "10.9.2.2", 6000);
	struct nft_fwd g = fwd4("10.9.1.3", 4002, 21002, "10.9.2.3", 6002);
	struct count c = {0};

	nft_batch_begin(n);
	nft_fwd_add(n, &f);
	CHECK_EQ_INT(nft_batch_ops(n), 2);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	CHECK_EQ_INT(nft_fwd_dump(n, count_fwd, &c), 0);
	CHECK_EQ_INT(c.n, 1);
	CHECK_EQ_INT(c.last.src_port, 4000);
	CHECK_EQ_INT(c.last.relay_port, 21000);
	CHECK_EQ_INT(c.last.dst_port, 6000);
	CHECK(memcmp(c.last.dst, f.dst, 4) == 0);

	/* Adding an existing key fails, and takes the whole batch with it. */
	nft_batch_begin(n);
	nft_fwd_add(n, &g);
	nft_fwd_add(n, &f);
	CHECK_EQ_INT(nft_batch_commit(n), -1);
	CHECK_EQ_INT(errno, EEXIST);
	c.n = 0;
	CHECK_EQ_INT(nft_fwd_dump(n, count_fwd, &c), 0);
	CHECK_EQ_INT(c.n, 1);

	/* Replace = delete + add in one batch. */
	f.dst_port = 6100;
	nft_batch_begin(n);
	nft_fwd_del(n, &f);
	nft_fwd_add(n, &f);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	c.n = 0;
	CHECK_EQ_INT(nft_fwd_dump(n, count_fwd, &c), 0);
	CHECK_EQ_INT(c.n, 1);
	CHECK_EQ_INT(c.last.dst_port, 6100);

	nft_batch_begin(n);
	nft_fwd_del(n, &f);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	c.n = 0;
	CHECK_EQ_INT(nft_fwd_dump(n, count_fwd, &c), 0);
	CHECK_EQ_INT(c.n, 0);
	/* Deleting what is not there is an error the caller sees. */
	nft_batch_begin(n);
	nft_fwd_del(n, &f);
	CHECK_EQ_INT(nft_batch_commit(n), -1);
	CHECK_EQ_INT(errno, ENOENT);
}

/* Elements in one of our maps, as nft(8) lists them. */
static int
map_elems(const char *map)
{
	char cmd[256];
	FILE *p;
	int k = -1;

	snprintf(cmd, sizeof(cmd),
	    "nft -j list map inet portcullis %s | grep -o '\\[{\"concat\"' | "
	    "wc -l",
	    map);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	if (fscanf(p, "%d", &k) != 1)
		k = -1;
	pclose(p);
	return k;
}

/* With a derived SNAT, a forward out of the layout's address at its
 * relay port ^ 2 has no smap element; any other forward keeps one. The
 * dump gives both their out address and port, and deletes touch exactly
 * the elements the adds made. */
static void
test_fwd_derived(void)
{
	char err[256];
	bool is_kept;
	struct nft_fwd f = fwd4("10.9.1.2", 4000, 21000, "10.9.2.2", 6000);
	struct nft_fwd g = fwd4("10.9.1.3", 4002, 21004, "10.9.2.3", 6002);
	struct nft_fwd h = fwd4("10.9.1.4", 4004, 21002, "10.9.2.4", 6004);
	struct count c = {0};

	CHECK_EQ_INT(nft_setup(n, &layout_x, &is_kept, err, sizeof(err)), 0);
	CHECK(!is_kept);
	CHECK_EQ_INT(system("nft list chain inet portcullis pc_post | grep -q "
	                    "'ct status dnat .*21000-21099.*snat ip to "
	                    "10.9.0.1'"),
	    0);
	/* What user space sends from the address and a media port is not
	 * tracked (nft.c, out_rule()). */
	CHECK_EQ_INT(
	    system("nft list chain inet portcullis pc_out | grep -q "
	           "'ip saddr 10.9.0.1 udp sport 21000-21099 notrack'"),
	    0);
	g.out_port = 21010; /* legs not at ^ 2: needs its element */
	h.out_port = 21000; /* 21002 ^ 2 */
	nft_batch_begin(n);
	nft_fwd_add(n, &f);
	nft_fwd_add(n, &g);
	nft_fwd_add(n, &h);
	CHECK_EQ_INT(nft_batch_ops(n), 4);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	CHECK_EQ_INT(map_elems("dmap4"), 3);
	CHECK_EQ_INT(map_elems("smap4"), 1);
	CHECK_EQ_INT(nft_fwd_dump(n, count_fwd, &c), 0);
	CHECK_EQ_INT(c.n, 3);
	nft_batch_begin(n);
	nft_fwd_del(n, &f);
	nft_fwd_del(n, &g);
	nft_fwd_del(n, &h);
	CHECK_EQ_INT(nft_batch_ops(n), 4);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	CHECK_EQ_INT(map_elems("dmap4"), 0);
	CHECK_EQ_INT(map_elems("smap4"), 0);
	/* Back to the plain layout for the next tests. */
	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), 0);
	CHECK(!is_kept);
}

static int
find_fwd(const struct nft_fwd *f, void *arg)
{
	struct nft_fwd *want = arg;

	if (f->relay_port == want->relay_port) {
		CHECK_EQ_INT(f->out_port, want->out_port);
		CHECK(memcmp(f->out, want->out, 4) == 0);
		want->family = 0; /* found */
	}
	return 0;
}

/* The dump fills out from smap, or from the derived rule. */
static void
test_fwd_derived_dump(void)
{
	char err[256];
	bool is_kept;
	struct nft_fwd f = fwd4("10.9.1.2", 4000, 21000, "10.9.2.2", 6000);
	struct nft_fwd g = fwd4("10.9.1.3", 4002, 21004, "10.9.2.3", 6002);
	struct nft_fwd w;

	g.out_port = 21010;
	CHECK_EQ_INT(nft_setup(n, &layout_x, &is_kept, err, sizeof(err)), 0);
	nft_batch_begin(n);
	nft_fwd_add(n, &f);
	nft_fwd_add(n, &g);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	w = f;
	CHECK_EQ_INT(nft_fwd_dump(n, find_fwd, &w), 0);
	CHECK_EQ_INT(w.family, 0);
	w = g;
	CHECK_EQ_INT(nft_fwd_dump(n, find_fwd, &w), 0);
	CHECK_EQ_INT(w.family, 0);
	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), 0);
}

static void
test_fwd_ipv6(void)
{
	struct nft_fwd f;
	struct count c = {0};

	memset(&f, 0, sizeof(f));
	f.family = 6;
	inet_pton(AF_INET6, "fd00::2", f.src);
	inet_pton(AF_INET6, "fd00:1::2", f.dst);
	inet_pton(AF_INET6, "fd00::1", f.out);
	f.src_port = 7000;
	f.relay_port = 21010;
	f.dst_port = 7002;
	f.out_port = 21012;
	nft_batch_begin(n);
	nft_fwd_add(n, &f);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	CHECK_EQ_INT(nft_fwd_dump(n, count_fwd, &c), 0);
	CHECK_EQ_INT(c.n, 1);
	CHECK_EQ_INT(c.last.family, 6);
	CHECK(memcmp(c.last.dst, f.dst, 16) == 0);
	CHECK_EQ_INT(c.last.dst_port, 7002);
	nft_batch_begin(n);
	nft_fwd_del(n, &f);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
}

static void
test_ports_and_bans(void)
{
	struct count c = {0};
	uint8_t a4[4], a6[16];

	nft_batch_begin(n);
	nft_port_add(n, 21020, false);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	CHECK_EQ_INT(nft_port_dump(n, count_port, &c), 0);
	CHECK_EQ_INT(c.n, 1);
	CHECK_EQ_INT(c.port, 21020);
	CHECK(!c.is_drop);
	nft_batch_begin(n);
	nft_port_del(n, 21020);
	nft_port_add(n, 21020, true);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	c.n = 0;
	CHECK_EQ_INT(nft_port_dump(n, count_port, &c), 0);
	CHECK_EQ_INT(c.n, 1);
	CHECK(c.is_drop);

	inet_pton(AF_INET, "192.0.2.7", a4);
	inet_pton(AF_INET6, "2001:db8::7", a6);
	nft_batch_begin(n);
	nft_ban_add(n, 4, a4, 600);
	nft_ban_add(n, 6, a6, 0);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	c.n = 0;
	CHECK_EQ_INT(nft_ban_dump(n, count_ban, &c), 0);
	CHECK_EQ_INT(c.n, 2);
	CHECK_EQ_INT(system("nft list set inet portcullis ban4 | grep -q "
	                    "'192.0.2.7 timeout 10m'"),
	    0);
	nft_batch_begin(n);
	nft_ban_del(n, 4, a4);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	c.n = 0;
	CHECK_EQ_INT(nft_ban_dump(n, count_ban, &c), 0);
	CHECK_EQ_INT(c.n, 1);
}

/* Packets from a banned source to a guarded port are dropped in the kernel
 * and counted by the ban rules (loopback of this namespace). */
static void
test_ban_counters(void)
{
	uint64_t pk = 1, by = 1;
	uint8_t lo4[4];
	char payload[72] = "banned";
	struct sockaddr_in to = {.sin_family = AF_INET};
	int fd;

	CHECK_EQ_INT(nft_ban_counters(n, &pk, &by), 0);
	CHECK(pk == 0 && by == 0);
	CHECK_EQ_INT(system("ip link set lo up"), 0);
	inet_pton(AF_INET, "127.0.0.1", lo4);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(21050); /* a media port: guarded */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	/* Not banned yet: passes, not counted. */
	sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
	    sizeof(to));
	nft_batch_begin(n);
	nft_ban_add(n, 4, lo4, 600);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	for (int i = 0; i < 3; i++)
		sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
		    sizeof(to));
	CHECK_EQ_INT(nft_ban_counters(n, &pk, &by), 0);
	CHECK(pk == 3);
	CHECK(by == 3 * (20 + 8 + sizeof(payload)));
	/* A SIP port is guarded too; a port outside both is not. */
	to.sin_port = htons(5060);
	sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
	    sizeof(to));
	to.sin_port = htons(22000);
	sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to,
	    sizeof(to));
	close(fd);
	CHECK_EQ_INT(nft_ban_counters(n, &pk, &by), 0);
	CHECK(pk == 4);
	nft_batch_begin(n);
	nft_ban_del(n, 4, lo4);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
}

/* The ban covers TCP and IPv6 as well (pc_ban's rule per family jumps to
 * pc_banned, which checks the protocol and the port). */
static void
test_ban_tcp_v6(void)
{
	uint64_t pk0 = 0, pk = 0, by = 0;
	uint8_t lo4[4], lo6[16];
	char payload[8] = "banned6";
	struct sockaddr_in to = {.sin_family = AF_INET};
	struct sockaddr_in6 to6 = {.sin6_family = AF_INET6};
	int fd;

	CHECK_EQ_INT(nft_ban_counters(n, &pk0, &by), 0);
	inet_pton(AF_INET, "127.0.0.1", lo4);
	inet_pton(AF_INET6, "::1", lo6);
	nft_batch_begin(n);
	nft_ban_add(n, 4, lo4, 600);
	nft_ban_add(n, 6, lo6, 600);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	/* A TCP SYN to a media port: dropped, so the connect cannot
	 * complete (non-blocking: it stays in progress). */
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(21051);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(fd >= 0);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 &&
	    errno == EINPROGRESS);
	close(fd);
	CHECK_EQ_INT(nft_ban_counters(n, &pk, &by), 0);
	CHECK(pk == pk0 + 1);
	/* IPv6 UDP to a media port. */
	inet_pton(AF_INET6, "::1", &to6.sin6_addr);
	to6.sin6_port = htons(21052);
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	CHECK(sendto(fd, payload, sizeof(payload), 0, (struct sockaddr *)&to6,
	          sizeof(to6)) == sizeof(payload));
	close(fd);
	CHECK_EQ_INT(nft_ban_counters(n, &pk, &by), 0);
	CHECK(pk == pk0 + 2);
	nft_batch_begin(n);
	nft_ban_del(n, 4, lo4);
	nft_ban_del(n, 6, lo6);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
}

static void
test_deferred_groups(void)
{
	struct count c = {0};

	/* Three groups share one transaction; the middle one fails (the
	 * port already has a verdict), so each is replayed alone. */
	nft_defer_begin(n);
	nft_port_add(n, 21030, false);
	nft_defer_begin(n);
	nft_port_add(n, 21020, false);
	nft_defer_begin(n);
	nft_port_add(n, 21032, false);
	CHECK_EQ_INT(nft_flush(n), 1);
	CHECK_EQ_INT(nft_port_dump(n, count_port, &c), 0);
	CHECK_EQ_INT(c.n, 3); /* 21020 (from before), 21030, 21032 */
	/* A synchronous batch sees deferred groups applied first. */
	nft_defer_begin(n);
	nft_port_del(n, 21030);
	nft_batch_begin(n);
	nft_port_add(n, 21030, true);
	CHECK_EQ_INT(nft_batch_commit(n), 0);
	CHECK_EQ_INT(nft_flush(n), 0);
	c.n = 0;
	CHECK_EQ_INT(nft_port_dump(n, count_port, &c), 0);
	CHECK_EQ_INT(c.n, 3);
}

static void
test_teardown_and_foreign(void)
{
	char err[256];
	bool is_kept;

	CHECK_EQ_INT(nft_teardown(n, err, sizeof(err)), 0);
	CHECK(system("nft list table inet portcullis >/dev/null 2>&1") != 0);
	CHECK_EQ_INT(nft_teardown(n, err, sizeof(err)), 0);
	/* Someone else's table of the same name is never touched. */
	CHECK_EQ_INT(system("nft add table inet portcullis && nft add chain "
	                    "inet portcullis theirs"),
	    0);
	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), -1);
	CHECK(strstr(err, "not ours") != NULL);
	CHECK_EQ_INT(nft_teardown(n, err, sizeof(err)), -1);
	CHECK_EQ_INT(system("nft list chain inet portcullis theirs "
	                    ">/dev/null"),
	    0);
	/* And other tables survive our set-up and tear-down. */
	CHECK_EQ_INT(system("nft delete table inet portcullis && nft add "
	                    "table ip operator"),
	    0);
	CHECK_EQ_INT(nft_setup(n, &layout, &is_kept, err, sizeof(err)), 0);
	CHECK_EQ_INT(nft_teardown(n, err, sizeof(err)), 0);
	CHECK_EQ_INT(system("nft list table ip operator >/dev/null"), 0);
}

static void
media_req(struct ipc_media_req *q, const char *from, const char *to,
    uint16_t port, uint8_t flags)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->call_id, sizeof(q->call_id), "k1");
	snprintf(q->from_tag, sizeof(q->from_tag), "%s", from);
	snprintf(q->to_tag, sizeof(q->to_tag), "%s", to);
	q->nstreams = 1;
	ipc_addr_parse(&q->streams[0].rtp, "127.0.0.1", port);
	q->streams[0].flags = flags;
}

/* The elements in the table now: forwarding ones (fwd) or port ones. */
static int
nft_count(bool fwd)
{
	struct count c = {0};
	CHECK_EQ_INT(fwd ? nft_fwd_dump(n, count_fwd, &c)
	                 : nft_port_dump(n, count_port, &c),
	    0);
	if (!fwd)
		CHECK_EQ_INT(nft_quad_dump(n, count_port, &c), 0);
	return c.n;
}

/* One media update of call k1 (media_req), applied and flushed. */
static void
media_update(struct relay *r, const char *from, const char *to, uint16_t port,
    uint8_t flags, bool is_answer)
{
	struct ipc_media_req q;
	struct ipc_media_reply o;
	media_req(&q, from, to, port, flags);
	relay_media_update(r, &q, is_answer, &o);
	CHECK_EQ_INT(o.status, 0);
	relay_flush(r);
}

/* A stream in the kernel: its pairs close (no pvmap element), and with
 * descriptors short their sockets go; a change that brings it back to
 * user space reopens and re-binds them. */
static void
test_kernel_stream_sockets(void)
{
	struct ev_loop *loop = ev_loop_new();
	struct relay r;
	struct ipc_addr a;
	struct ipc_media_ref f;
	int base;
	char err[256];
	bool is_kept;
	struct rstream *s;

	CHECK_EQ_INT(system("ip link set lo up"), 0);
	CHECK_EQ_INT(nft_setup(n, &layout_lo, &is_kept, err, sizeof(err)), 0);
	ipc_addr_parse(&a, "127.0.0.1", 0);
	CHECK(relay_init(&r, loop, &a, NULL, 21000, 21099));
	r.nft = n;
	r.ct = ct_open(err, sizeof(err));
	r.is_kernel = true;
	r.latch_wait_ms = 0;
	r.sock_budget = 2;
	/* Earlier tests left elements of their own ports. */
	base = nft_count(false);
	media_update(&r, "ta", "", 5000, 0, false);
	CHECK_EQ_INT(r.nsocks, 4);
	/* Both pairs open, legs at p and p ^ 2: one quad element. */
	CHECK_EQ_INT(nft_count(false) - base, 1);
	media_update(&r, "tb", "ta", 6000, 0, true);
	s = relay_call_find(&r, "k1")->s[0];
	CHECK(s->is_kernel[0] && s->is_kernel[1]);
	CHECK_EQ_INT(s->vopen, 0);
	CHECK(s->leg[0].is_sockless && s->leg[1].is_sockless);
	CHECK_EQ_INT(r.nsocks, 0);
	CHECK_EQ_INT(nft_count(false) - base, 0);
	CHECK_EQ_INT(nft_count(true), 4);
	/* Legs at p and p ^ 2: the kernel derives their SNAT. */
	CHECK_EQ_INT(s->leg[1].port, s->leg[0].port ^ 2);
	CHECK_EQ_INT(map_elems("smap4"), 0);
	/* Party a moves behind NAT: not latched yet, back to user space. */
	media_update(&r, "ta", "tb", 5002, IPC_MSF_NAT, false);
	CHECK(!s->is_kernel[0] && !s->is_kernel[1]);
	CHECK_EQ_INT(s->vopen, 3);
	CHECK(!s->leg[0].is_sockless && !s->leg[1].is_sockless);
	CHECK_EQ_INT(r.nsocks, 4);
	CHECK_EQ_INT(nft_count(false) - base, 1);
	f = (struct ipc_media_ref){0};
	snprintf(f.call_id, sizeof(f.call_id), "k1");
	CHECK_EQ_INT(relay_media_delete(&r, &f), 0);
	relay_flush(&r);
	CHECK_EQ_INT(r.nsocks, 0);
	CHECK_EQ_INT(nft_count(false) - base, 0);
	CHECK_EQ_INT(nft_count(true), 0);
	relay_free(&r);
	ct_close(r.ct);
	ev_loop_free(loop);
}

int
main(void)
{
	char err[256];

	if (unshare(CLONE_NEWNET) < 0) {
		printf("# skipped: cannot create a network namespace (%s)\n",
		    strerror(errno));
		return tap_done();
	}
	n = nft_open(err, sizeof(err));
	if (n == NULL) {
		printf("# skipped: %s\n", err);
		return tap_done();
	}
	TEST_RUN(test_setup_idempotent);
	TEST_RUN(test_fwd_elements);
	TEST_RUN(test_fwd_derived);
	TEST_RUN(test_fwd_derived_dump);
	TEST_RUN(test_fwd_ipv6);
	TEST_RUN(test_ports_and_bans);
	TEST_RUN(test_ban_counters);
	TEST_RUN(test_ban_tcp_v6);
	TEST_RUN(test_deferred_groups);
	hash_seed_random();
	TEST_RUN(test_kernel_stream_sockets);
	TEST_RUN(test_teardown_and_foreign);
	nft_close(n);
	return tap_done();
}
