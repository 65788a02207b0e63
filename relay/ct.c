/*
 * Raw ctnetlink: no libnetfilter_conntrack, only libmnl (RELAY-NOTES).
 * Deletes are queued into one buffer and written at once; the kernel
 * answers each inside sendmsg, so the acks are read without waiting.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ct.h"
#include "nlq.h"

struct ct {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *buf;
	size_t cap;
	struct ct_tuple *pend;
	size_t npend, pend_cap;
};

struct ct *
ct_open(char *err, size_t errlen)
{
	struct ct *c = calloc(1, sizeof(*c));
	int one = 1, sz = 8 << 20;

	if (c == NULL)
		return NULL;
	c->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (c->nl == NULL ||
	    mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		if (err != NULL)
			snprintf(err, errlen,
			    "ct: opening the ctnetlink socket: %s",
			    strerror(errno));
		ct_close(c);
		return NULL;
	}
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);
	setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
	    sizeof(sz));
	mnl_socket_setsockopt(c->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	c->cap = 1 << 16;
	c->buf = malloc(c->cap);
	if (c->buf == NULL) {
		ct_close(c);
		return NULL;
	}
	return c;
}

void
ct_close(struct ct *c)
{
	if (c == NULL)
		return;
	if (c->nl != NULL)
		mnl_socket_close(c->nl);
	free(c->buf);
	free(c->pend);
	free(c);
}

/* c->buf holds at least need bytes; -1 if it could not grow. */
static int
buf_reserve(struct ct *c, size_t need)
{
	char *p;

	if (need <= c->cap)
		return 0;
	p = realloc(c->buf, need);
	if (p == NULL)
		return -1;
	c->buf = p;
	c->cap = need;
	return 0;
}

/* Replies still queued from an earlier request that stopped reading
 * early: a new request must not take them for its own. */
static void
drain_stale(int fd)
{
	char stale[1024];

	while (recv(fd, stale, sizeof(stale), MSG_DONTWAIT) > 0)
		;
}

static struct nlmsghdr *
put_hdr(char *p, uint16_t msg, uint16_t flags, uint8_t family, uint32_t seq)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(p);
	struct nfgenmsg *g;

	h->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | msg;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = family == 6 ? AF_INET6 : AF_INET;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	return h;
}

static void
put_tuple(struct nlmsghdr *h, uint16_t type, const struct ct_tuple *t)
{
	struct nlattr *tu = mnl_attr_nest_start(h, type);
	struct nlattr *ip = mnl_attr_nest_start(h, CTA_TUPLE_IP);
	struct nlattr *pr;

	if (t->family == 6) {
		mnl_attr_put(h, CTA_IP_V6_SRC, 16, t->src);
		mnl_attr_put(h, CTA_IP_V6_DST, 16, t->dst);
	} else {
		mnl_attr_put(h, CTA_IP_V4_SRC, 4, t->src);
		mnl_attr_put(h, CTA_IP_V4_DST, 4, t->dst);
	}
	mnl_attr_nest_end(h, ip);
	pr = mnl_attr_nest_start(h, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(h, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_put_u16(h, CTA_PROTO_SRC_PORT, htons(t->sport));
	mnl_attr_put_u16(h, CTA_PROTO_DST_PORT, htons(t->dport));
	mnl_attr_nest_end(h, pr);
	mnl_attr_nest_end(h, tu);
}

static void
count_missing(const struct nlmsghdr *h, void *arg)
{
	int *missing = arg;

	if (h->nlmsg_type == NLMSG_ERROR &&
	    ((struct nlmsgerr *)mnl_nlmsg_get_payload(h))->error != 0)
		(*missing)++;
}

int
ct_delete(struct ct *c, const struct ct_tuple *t, size_t n)
{
	size_t len = 0;
	int missing = 0;

	if (n == 0)
		return 0;
	if (buf_reserve(c, n * 128) < 0)
		return -1;
	/* No NLM_F_ACK: only the tuples that had no entry answer (ENOENT). */
	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *h = put_hdr(c->buf + len, IPCTNL_MSG_CT_DELETE,
		    0, t[i].family, c->seq++);

		put_tuple(h, CTA_TUPLE_ORIG, &t[i]);
		len += NLMSG_ALIGN(h->nlmsg_len);
	}
	if (mnl_socket_sendto(c->nl, c->buf, len) < 0)
		return -1;
	nlq_drain(mnl_socket_get_fd(c->nl), count_missing, &missing);
	return (int)n - missing;
}

void
ct_defer(struct ct *c, const struct ct_tuple *t, size_t n)
{
	if (c->npend + n > c->pend_cap) {
		size_t cap = c->pend_cap ? c->pend_cap * 2 : 256;
		struct ct_tuple *p;

		while (cap < c->npend + n)
			cap *= 2;
		p = realloc(c->pend, cap * sizeof(*p));
		if (p == NULL) {
			ct_delete(c, t, n); /* no room to queue: now */
			return;
		}
		c->pend = p;
		c->pend_cap = cap;
	}
	memcpy(c->pend + c->npend, t, n * sizeof(*t));
	c->npend += n;
	if (c->npend >= 4096)
		ct_flush(c);
}

int
ct_flush(struct ct *c)
{
	int r;

	if (c->npend == 0)
		return 0;
	r = ct_delete(c, c->pend, c->npend);
	c->npend = 0;
	return r;
}

/* ---- lookups ---- */

static int
attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, 32) > 0 && type < 32)
		tb[type] = a;
	return MNL_CB_OK;
}

static bool
parse_tuple(const struct nlattr *nest, uint8_t family, struct ct_tuple *t)
{
	const struct nlattr *tb[32] = {0}, *ip[32] = {0}, *pr[32] = {0};
	size_t al = family == 6 ? 16 : 4;
	int s = family == 6 ? CTA_IP_V6_SRC : CTA_IP_V4_SRC;
	int d = family == 6 ? CTA_IP_V6_DST : CTA_IP_V4_DST;

	memset(t, 0, sizeof(*t));
	t->family = family;
	if (mnl_attr_parse_nested(nest, attr_cb, tb) < 0 ||
	    tb[CTA_TUPLE_IP] == NULL || tb[CTA_TUPLE_PROTO] == NULL)
		return false;
	if (mnl_attr_parse_nested(tb[CTA_TUPLE_IP], attr_cb, ip) < 0 ||
	    mnl_attr_parse_nested(tb[CTA_TUPLE_PROTO], attr_cb, pr) < 0)
		return false;
	if (ip[s] == NULL || ip[d] == NULL ||
	    mnl_attr_get_payload_len(ip[s]) != al ||
	    mnl_attr_get_payload_len(ip[d]) != al || pr[CTA_PROTO_NUM] == NULL)
		return false;
	if (mnl_attr_get_u8(pr[CTA_PROTO_NUM]) != IPPROTO_UDP ||
	    pr[CTA_PROTO_SRC_PORT] == NULL || pr[CTA_PROTO_DST_PORT] == NULL)
		return false;
	memcpy(t->src, mnl_attr_get_payload(ip[s]), al);
	memcpy(t->dst, mnl_attr_get_payload(ip[d]), al);
	t->sport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_SRC_PORT]));
	t->dport = ntohs(mnl_attr_get_u16(pr[CTA_PROTO_DST_PORT]));
	return true;
}

static void
parse_counters(const struct nlattr *nest, uint64_t *pk, uint64_t *by)
{
	const struct nlattr *tb[32] = {0};

	if (nest == NULL || mnl_attr_parse_nested(nest, attr_cb, tb) < 0)
		return;
	if (tb[CTA_COUNTERS_PACKETS] != NULL &&
	    mnl_attr_get_payload_len(tb[CTA_COUNTERS_PACKETS]) == 8)
		*pk = be64toh(mnl_attr_get_u64(tb[CTA_COUNTERS_PACKETS]));
	if (tb[CTA_COUNTERS_BYTES] != NULL &&
	    mnl_attr_get_payload_len(tb[CTA_COUNTERS_BYTES]) == 8)
		*by = be64toh(mnl_attr_get_u64(tb[CTA_COUNTERS_BYTES]));
}

static bool
entry_parse(const struct nlmsghdr *h, uint8_t family, struct ct_entry *e)
{
	const struct nlattr *tb[32] = {0};

	if (mnl_attr_parse(h, sizeof(struct nfgenmsg), attr_cb, tb) < 0)
		return false;
	memset(e, 0, sizeof(*e));
	if (tb[CTA_TUPLE_ORIG] == NULL || tb[CTA_TUPLE_REPLY] == NULL ||
	    !parse_tuple(tb[CTA_TUPLE_ORIG], family, &e->orig) ||
	    !parse_tuple(tb[CTA_TUPLE_REPLY], family, &e->reply))
		return false;
	parse_counters(tb[CTA_COUNTERS_ORIG], &e->pkts_orig, &e->bytes_orig);
	parse_counters(tb[CTA_COUNTERS_REPLY], &e->pkts_reply, &e->bytes_reply);
	return true;
}

struct get_ctx {
	const struct ct_tuple *t;
	size_t n;
	uint32_t seq0;
	struct ct_entry *out;
	bool *found;
};

static void
take_entry(const struct nlmsghdr *h, void *arg)
{
	struct get_ctx *g = arg;
	uint32_t k = h->nlmsg_seq - g->seq0;

	if (h->nlmsg_type == NLMSG_ERROR || k >= g->n)
		return;
	if (entry_parse(h, g->t[k].family, &g->out[k]))
		g->found[k] = true;
}

int
ct_get(struct ct *c, const struct ct_tuple *t, size_t n, struct ct_entry *out,
    bool *found)
{
	size_t len = 0;
	struct get_ctx g = {t, n, c->seq, out, found};
	int fd = mnl_socket_get_fd(c->nl);

	if (n == 0)
		return 0;
	if (buf_reserve(c, n * 128) < 0)
		return -1;
	drain_stale(fd);
	for (size_t i = 0; i < n; i++) {
		struct nlmsghdr *h = put_hdr(
		    c->buf + len, IPCTNL_MSG_CT_GET, 0, t[i].family, c->seq++);

		found[i] = false;
		put_tuple(h, CTA_TUPLE_ORIG, &t[i]);
		len += NLMSG_ALIGN(h->nlmsg_len);
	}
	if (mnl_socket_sendto(c->nl, c->buf, len) < 0)
		return -1;
	/* Answered inside sendmsg: every reply is queued already. */
	nlq_drain(fd, take_entry, &g);
	return 0;
}

/* Tuple filter flags of nf_conntrack_netlink.c (not in the uapi
 * headers). */
#define CT_FILTER_IP_DST (1u << 1)
#define CT_FILTER_PROTO_NUM (1u << 3)

struct dump_ctx {
	uint8_t family;
	const uint8_t *dst;
	ct_entry_cb cb;
	void *arg;
	bool is_unfiltered;
};

static int
dump_entry(const struct nlmsghdr *h, void *arg)
{
	struct dump_ctx *d = arg;
	struct ct_entry e;

	if (!entry_parse(h, d->family, &e))
		return MNL_CB_OK; /* not UDP, or not this family */
	/* A kernel without CTA_FILTER dumps everything: notice, and let
	 * the caller fall back to lookups by tuple. */
	if (memcmp(e.orig.dst, d->dst, d->family == 6 ? 16 : 4) != 0) {
		d->is_unfiltered = true;
		return MNL_CB_OK;
	}
	d->cb(&e, d->arg);
	return MNL_CB_OK;
}

int
ct_dump_to(
    struct ct *c, uint8_t family, const uint8_t *dst, ct_entry_cb cb, void *arg)
{
	char req[512];
	struct nlmsghdr *h;
	struct nlattr *tu, *nest;
	struct dump_ctx d = {family, dst, cb, arg, false};
	int fd = mnl_socket_get_fd(c->nl), ret;
	uint32_t seq = c->seq++;

	drain_stale(fd);
	h = put_hdr(req, IPCTNL_MSG_CT_GET, NLM_F_DUMP, family, seq);
	tu = mnl_attr_nest_start(h, CTA_TUPLE_ORIG);
	nest = mnl_attr_nest_start(h, CTA_TUPLE_IP);
	if (family == 6)
		mnl_attr_put(h, CTA_IP_V6_DST, 16, dst);
	else
		mnl_attr_put(h, CTA_IP_V4_DST, 4, dst);
	mnl_attr_nest_end(h, nest);
	nest = mnl_attr_nest_start(h, CTA_TUPLE_PROTO);
	mnl_attr_put_u8(h, CTA_PROTO_NUM, IPPROTO_UDP);
	mnl_attr_nest_end(h, nest);
	mnl_attr_nest_end(h, tu);
	nest = mnl_attr_nest_start(h, CTA_FILTER);
	mnl_attr_put_u32(
	    h, CTA_FILTER_ORIG_FLAGS, CT_FILTER_IP_DST | CT_FILTER_PROTO_NUM);
	mnl_attr_put_u32(h, CTA_FILTER_REPLY_FLAGS, 0);
	mnl_attr_nest_end(h, nest);
	if (mnl_socket_sendto(c->nl, h, h->nlmsg_len) < 0)
		return -1;
	/* The kernel fills each datagram when it is read, up to 32 KiB. */
	if (buf_reserve(c, 32768) < 0)
		return -1;
	do {
		ssize_t r = recv(fd, c->buf, 32768, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		ret = mnl_cb_run(
		    c->buf, (size_t)r, seq, c->portid, dump_entry, &d);
	} while (ret > MNL_CB_STOP);
	if (ret < 0) {
		/* An old kernel refuses the filter's attributes. */
		if (errno == EINVAL)
			errno = EOPNOTSUPP;
		return -1;
	}
	if (d.is_unfiltered) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return 0;
}

static int
write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = write(fd, val, strlen(val));
	close(fd);
	return r == (ssize_t)strlen(val) ? 0 : -1;
}

int
ct_enable_acct(void)
{
	FILE *f;
	int v = 0;

	write_sysctl("/proc/sys/net/netfilter/nf_conntrack_acct", "1");
	f = fopen("/proc/sys/net/netfilter/nf_conntrack_acct", "re");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	if (v != 1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

uint64_t
ct_max_entries(void)
{
	FILE *f = fopen("/proc/sys/net/netfilter/nf_conntrack_max", "re");
	unsigned long long v = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}
