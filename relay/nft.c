/*
 * The relay's nftables table. Objects (table, sets, chains, rules) are built
 * with libnftnl once at set-up; the per-call element changes are encoded
 * directly with libmnl (one message per element, as measured in
 * RELAY-NOTES) into one growing batch buffer, sent with one sendmsg. The
 * kernel handles a batch inside sendmsg, so every ack is queued when it
 * returns and is read without waiting.
 *
 * Layout (inet family, both IPv4 and IPv6):
 *   dmap4/6  saddr . sport . dport -> daddr . dport   (nat prerouting)
 *   smap4/6  saddr . sport . ct original dport -> relay addr . port
 *            (nat postrouting), only for forwards whose SNAT the next
 *            rule cannot derive; then, for every flow our dmap DNATed
 *            (ct status dnat, original dport in the range):
 *            snat to <relay addr> . (ct original dport ^ NFT_LEG_XOR),
 *            the port facing the other party when the stream's legs sit
 *            at p and p ^ 2 (struct nft_layout).
 *   pvmap    relay port pair (its even port) -> accept: the pairs user
 *            space must hear; other ports of the range drop (filter
 *            input: only packets the maps did not redirect). One element
 *            per pair, not per port and verdict: a call set-up costs
 *            two elements here instead of twelve.
 *   pqmap    the same for a quad of ports (its port & ~3): both pairs of
 *            a stream whose legs sit at p and p ^ 2, when both are open
 *            (before latching): one element where pvmap needs two.
 *   ban4/6   banned sources (timeouts) dropped toward @guard ports
 *            (filter prerouting, before conntrack: chain pc_ban, one
 *            rule per family, jumps to pc_banned for a banned source)
 *   pc_out   (output, raw priority) what user space sends from the relay
 *            address and a media port is not tracked: see out_rule().
 * NAT chains see only the first packet of a flow; conntrack does the rest.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nft.h"
#include "nlq.h"

#define TAG_PREFIX "portcullis-relay/1"
#define TYPE_BITS 6
#define T_IPV4 7
#define T_IPV6 8
#define T_SERVICE 13
#define CAT2(a, b) (((a) << TYPE_BITS) | (b))
#define CAT3(a, b, c) ((CAT2(a, b) << TYPE_BITS) | (c))

struct nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *buf;
	size_t len, cap;
	size_t nops;
	bool is_open_batch;
	bool is_pending; /* the open batch holds deferred groups */
	size_t *group_off; /* start of each deferred group in buf */
	struct nft_group_cb {
		nft_fail_cb cb;
		uint64_t arg;
		void *ctx;
	} * group_cb;
	size_t ngroups, group_cap;
	/* The last element message, which the next element of the same
	 * set and type joins (one message, one set lookup, many elements)
	 * unless a group or another message began since. */
	bool can_join;
	uint16_t last_type;
	const char *last_set;
	size_t last_off, last_list_off;
	/* The layout's derived SNAT (nft_setup). */
	uint8_t snat_family;
	uint8_t snat_addr[16];
	uint16_t port_lo, port_hi;
};

#define DEFER_MAX_OPS 4096

static void
seterr(char *err, size_t errlen, const char *what)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, strerror(errno));
}

struct nft *
nft_open(char *err, size_t errlen)
{
	struct nft *n = calloc(1, sizeof(*n));
	int one = 1, sz = 16 << 20;

	if (n == NULL) {
		seterr(err, errlen, "nft: allocating");
		return NULL;
	}
	n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (n->nl == NULL ||
	    mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		seterr(
		    err, errlen, "nft: opening the netfilter netlink socket");
		nft_close(n);
		return NULL;
	}
	n->portid = mnl_socket_get_portid(n->nl);
	n->seq = (uint32_t)time(NULL);
	/* Acks of a large batch must fit in the queue at once. */
	setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUFFORCE, &sz,
	    sizeof(sz));
	setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_SNDBUFFORCE, &sz,
	    sizeof(sz));
	mnl_socket_setsockopt(n->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	n->cap = 65536;
	n->buf = malloc(n->cap);
	if (n->buf == NULL) {
		seterr(err, errlen, "nft: allocating");
		nft_close(n);
		return NULL;
	}
	return n;
}

void
nft_close(struct nft *n)
{
	if (n == NULL)
		return;
	if (n->nl != NULL)
		mnl_socket_close(n->nl);
	free(n->buf);
	free(n->group_off);
	free(n->group_cb);
	free(n);
}

/* Room for one more message of at most need bytes. */
static char *
room(struct nft *n, size_t need)
{
	if (n->len + need + MNL_ALIGN(sizeof(struct nlmsghdr)) * 2 + 64 >
	    n->cap) {
		size_t cap = n->cap * 2;
		char *p;

		while (cap < n->len + need + 4096)
			cap *= 2;
		p = realloc(n->buf, cap);
		if (p == NULL)
			return NULL;
		n->buf = p;
		n->cap = cap;
	}
	return n->buf + n->len;
}

static void
batch_reset(struct nft *n)
{
	n->len = 0;
	n->nops = 0;
	room(n, 64);
	nftnl_batch_begin(n->buf, n->seq++);
	n->len = NLMSG_ALIGN(((struct nlmsghdr *)n->buf)->nlmsg_len);
	n->is_open_batch = true;
	n->can_join = false;
}

void
nft_batch_begin(struct nft *n)
{
	if (n->is_pending)
		nft_flush(n);
	batch_reset(n);
}

void
nft_defer_begin(struct nft *n)
{
	nft_defer_begin_cb(n, NULL, 0, NULL);
}

void
nft_defer_begin_cb(struct nft *n, nft_fail_cb cb, uint64_t arg, void *ctx)
{
	if (n->is_pending && n->nops >= DEFER_MAX_OPS)
		nft_flush(n);
	if (!n->is_pending) {
		batch_reset(n);
		n->is_pending = true;
		n->ngroups = 0;
	}
	if (n->ngroups == n->group_cap) {
		size_t cap = n->group_cap ? n->group_cap * 2 : 64;
		size_t *g = realloc(n->group_off, cap * sizeof(*g));
		struct nft_group_cb *c;

		if (g == NULL)
			return; /* the group joins the previous one */
		n->group_off = g;
		c = realloc(n->group_cb, cap * sizeof(*c));
		if (c == NULL)
			return;
		n->group_cb = c;
		n->group_cap = cap;
	}
	n->group_cb[n->ngroups].cb = cb;
	n->group_cb[n->ngroups].arg = arg;
	n->group_cb[n->ngroups].ctx = ctx;
	n->group_off[n->ngroups++] = n->len;
	n->can_join = false; /* a failed group is replayed alone */
}

size_t
nft_batch_ops(const struct nft *n)
{
	return n->nops;
}

/* Reads every queued reply, many per syscall; returns the first error
 * (0 if none). */
static void
first_error(const struct nlmsghdr *h, void *arg)
{
	int *first = arg;

	if (h->nlmsg_type != NLMSG_ERROR)
		return;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
	if (e->error != 0 && *first == 0)
		*first = -e->error;
}

static int
read_acks(struct nft *n)
{
	int first = 0;
	int rc = nlq_drain(mnl_socket_get_fd(n->nl), first_error, &first);

	return first != 0 ? first : rc;
}

int
nft_batch_commit(struct nft *n)
{
	int err;

	if (!n->is_open_batch || n->nops == 0) {
		n->is_open_batch = false;
		return 0;
	}
	if (room(n, 64) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	nftnl_batch_end(n->buf + n->len, n->seq++);
	n->len +=
	    NLMSG_ALIGN(((struct nlmsghdr *)(n->buf + n->len))->nlmsg_len);
	n->is_open_batch = false;
	n->can_join = false;
	if (mnl_socket_sendto(n->nl, n->buf, n->len) < 0)
		return -1;
	err = read_acks(n);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

int
nft_flush(struct nft *n)
{
	char *all;
	size_t len, ngroups, failed = 0;
	size_t *off;
	struct nft_group_cb *cbs;

	if (!n->is_pending)
		return 0;
	n->is_pending = false;
	if (nft_batch_commit(n) == 0)
		return 0;
	/* Someone's group broke the shared transaction: replay each group
	 * alone so the others still apply. */
	len = n->len;
	ngroups = n->ngroups;
	all = malloc(len);
	off = malloc((ngroups + 1) * sizeof(*off));
	cbs = malloc((ngroups + 1) * sizeof(*cbs));
	if (all == NULL || off == NULL || cbs == NULL) {
		free(all);
		free(off);
		free(cbs);
		return (int)ngroups;
	}
	memcpy(all, n->buf, len);
	memcpy(off, n->group_off, ngroups * sizeof(*off));
	memcpy(cbs, n->group_cb, ngroups * sizeof(*cbs));
	/* The batch-end message closes the last group. */
	off[ngroups] = len -
	    NLMSG_ALIGN(sizeof(struct nlmsghdr) + sizeof(struct nfgenmsg));
	for (size_t g = 0; g < ngroups; g++) {
		size_t a = off[g], b = off[g + 1];
		char *p;

		if (b <= a)
			continue;
		batch_reset(n);
		p = room(n, b - a);
		if (p == NULL)
			break;
		memcpy(p, all + a, b - a);
		n->len += b - a;
		n->nops = 1;
		if (nft_batch_commit(n) < 0) {
			failed++;
			if (cbs[g].cb != NULL)
				cbs[g].cb(cbs[g].arg, cbs[g].ctx);
		}
	}
	free(all);
	free(off);
	free(cbs);
	return (int)failed;
}

/* ---- element messages (raw libmnl) ---- */

static struct nlmsghdr *
elem_msg(struct nft *n, uint16_t type, uint16_t flags, const char *set)
{
	char *p = room(n, 512);
	struct nlmsghdr *h;
	struct nfgenmsg *g;

	if (p == NULL)
		return NULL;
	h = mnl_nlmsg_put_header(p);
	h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
	/* No NLM_F_ACK: the kernel still reports every failure, and a
	 * success costs no reply to read (one recv per ack was most of the
	 * cost of a call set-up). */
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = n->seq++;
	g = mnl_nlmsg_put_extra_header(h, sizeof(*g));
	g->nfgen_family = NFPROTO_INET;
	g->version = NFNETLINK_V0;
	g->res_id = 0;
	mnl_attr_put_strz(h, NFTA_SET_ELEM_LIST_TABLE, NFT_TABLE_NAME);
	mnl_attr_put_strz(h, NFTA_SET_ELEM_LIST_SET, set);
	return h;
}

static void
put_value(struct nlmsghdr *h, uint16_t type, const void *v, size_t len)
{
	struct nlattr *a = mnl_attr_nest_start(h, type);

	mnl_attr_put(h, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(h, a);
}

/*
 * One element: key, optional value or verdict, optional timeout. It joins
 * the previous message when that one is of the same type and set (and of
 * the same deferred group): a call's elements of one map cost the kernel
 * one message to parse and one table and set lookup, not one each. The
 * batch stays all or nothing, as before.
 */
static void
put_elem(struct nft *n, uint16_t type, const char *set, const void *key,
    size_t klen, const void *data, size_t dlen, int verdict, uint64_t tmo_ms)
{
	/* An attribute's length is 16 bits: the element list stays under
	 * it. */
	bool is_join = n->can_join && n->last_type == type &&
	    strcmp(n->last_set, set) == 0 &&
	    n->len - n->last_list_off + 512 < UINT16_MAX;
	struct nlmsghdr *h;
	struct nlattr *list, *el;

	if (is_join) {
		if (room(n, 512) == NULL)
			return;
		h = (struct nlmsghdr *)(n->buf + n->last_off);
		list = (struct nlattr *)(n->buf + n->last_list_off);
	} else {
		h = elem_msg(n, type,
		    type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE | NLM_F_EXCL : 0,
		    set);
		if (h == NULL)
			return;
		list = mnl_attr_nest_start(h, NFTA_SET_ELEM_LIST_ELEMENTS);
	}
	el = mnl_attr_nest_start(h, NFTA_LIST_ELEM);
	put_value(h, NFTA_SET_ELEM_KEY, key, klen);
	if (data != NULL)
		put_value(h, NFTA_SET_ELEM_DATA, data, dlen);
	if (verdict != 0) {
		struct nlattr *d = mnl_attr_nest_start(h, NFTA_SET_ELEM_DATA);
		struct nlattr *v = mnl_attr_nest_start(h, NFTA_DATA_VERDICT);

		mnl_attr_put_u32(h, NFTA_VERDICT_CODE,
		    htonl((uint32_t)(verdict == 1 ? NF_ACCEPT : NF_DROP)));
		mnl_attr_nest_end(h, v);
		mnl_attr_nest_end(h, d);
	}
	if (tmo_ms != 0)
		mnl_attr_put_u64(h, NFTA_SET_ELEM_TIMEOUT, htobe64(tmo_ms));
	mnl_attr_nest_end(h, el);
	mnl_attr_nest_end(h, list);
	n->can_join = true;
	n->last_type = type;
	n->last_set = set;
	n->last_off = (size_t)((char *)h - n->buf);
	n->last_list_off = (size_t)((char *)list - n->buf);
	n->len = n->last_off + NLMSG_ALIGN(h->nlmsg_len);
	n->nops++;
}

static size_t
alen(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

/* Key: addr . port(padded to 4) . port(padded to 4). */
static size_t
fwd_key(const struct nft_fwd *f, uint8_t *k)
{
	size_t a = alen(f->family);
	uint16_t sp = htons(f->src_port), rp = htons(f->relay_port);

	memset(k, 0, a + 8);
	memcpy(k, f->src, a);
	memcpy(k + a, &sp, 2);
	memcpy(k + a + 4, &rp, 2);
	return a + 8;
}

static size_t
addr_port(uint8_t family, const uint8_t *addr, uint16_t port, uint8_t *d)
{
	size_t a = alen(family);
	uint16_t p = htons(port);

	memset(d, 0, a + 4);
	memcpy(d, addr, a);
	memcpy(d + a, &p, 2);
	return a + 4;
}

/* Whether the derived SNAT rule gives f's out address and port (then f
 * has no smap element). */
static bool
snat_derived(const struct nft *n, const struct nft_fwd *f)
{
	return n->snat_family != 0 && f->family == n->snat_family &&
	    f->relay_port >= n->port_lo && f->relay_port <= n->port_hi &&
	    f->out_port == (f->relay_port ^ NFT_LEG_XOR) &&
	    memcmp(f->out, n->snat_addr, alen(f->family)) == 0;
}

void
nft_fwd_add(struct nft *n, const struct nft_fwd *f)
{
	uint8_t k[24], d[20];
	size_t kl = fwd_key(f, k), dl;
	bool v6 = f->family == 6;

	dl = addr_port(f->family, f->dst, f->dst_port, d);
	put_elem(
	    n, NFT_MSG_NEWSETELEM, v6 ? "dmap6" : "dmap4", k, kl, d, dl, 0, 0);
	if (snat_derived(n, f))
		return;
	dl = addr_port(f->family, f->out, f->out_port, d);
	put_elem(
	    n, NFT_MSG_NEWSETELEM, v6 ? "smap6" : "smap4", k, kl, d, dl, 0, 0);
}

void
nft_fwd_del(struct nft *n, const struct nft_fwd *f)
{
	uint8_t k[24];
	size_t kl = fwd_key(f, k);
	bool v6 = f->family == 6;

	put_elem(n, NFT_MSG_DELSETELEM, v6 ? "dmap6" : "dmap4", k, kl, NULL, 0,
	    0, 0);
	if (snat_derived(n, f))
		return;
	put_elem(n, NFT_MSG_DELSETELEM, v6 ? "smap6" : "smap4", k, kl, NULL, 0,
	    0, 0);
}

void
nft_port_add(struct nft *n, uint16_t port, bool is_drop)
{
	uint16_t p = htons((uint16_t)(port & ~1u));

	put_elem(
	    n, NFT_MSG_NEWSETELEM, "pvmap", &p, 2, NULL, 0, is_drop ? 2 : 1, 0);
}

void
nft_port_del(struct nft *n, uint16_t port)
{
	uint16_t p = htons((uint16_t)(port & ~1u));

	put_elem(n, NFT_MSG_DELSETELEM, "pvmap", &p, 2, NULL, 0, 0, 0);
}

void
nft_quad_add(struct nft *n, uint16_t port)
{
	uint16_t p = htons((uint16_t)(port & ~3u));

	put_elem(n, NFT_MSG_NEWSETELEM, "pqmap", &p, 2, NULL, 0, 1, 0);
}

void
nft_quad_del(struct nft *n, uint16_t port)
{
	uint16_t p = htons((uint16_t)(port & ~3u));

	put_elem(n, NFT_MSG_DELSETELEM, "pqmap", &p, 2, NULL, 0, 0, 0);
}

void
nft_ban_add(
    struct nft *n, uint8_t family, const uint8_t *addr, uint32_t timeout_s)
{
	put_elem(n, NFT_MSG_NEWSETELEM, family == 6 ? "ban6" : "ban4", addr,
	    alen(family), NULL, 0, 0, (uint64_t)timeout_s * 1000);
}

void
nft_ban_del(struct nft *n, uint8_t family, const uint8_t *addr)
{
	put_elem(n, NFT_MSG_DELSETELEM, family == 6 ? "ban6" : "ban4", addr,
	    alen(family), NULL, 0, 0, 0);
}

/* ---- set-up with libnftnl objects ---- */

/* Appends a libnftnl-built object message to the open batch. */
static struct nlmsghdr *
obj_hdr(struct nft *n, uint16_t type, uint16_t flags)
{
	char *p = room(n, 8192);

	n->can_join = false;
	if (p == NULL)
		return NULL;
	return nftnl_nlmsg_build_hdr(
	    p, type, NFPROTO_INET, NLM_F_ACK | flags, n->seq++);
}

static void
add_set(struct nft *n, const char *name, uint32_t id, uint32_t flags,
    uint32_t ktype, uint32_t klen, uint32_t dtype, uint32_t dlen)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *h;

	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, ktype);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, klen);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, flags);
	if (flags & NFT_SET_MAP) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, dtype);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, dlen);
	}
	h = obj_hdr(n, NFT_MSG_NEWSET, NLM_F_CREATE);
	if (h != NULL) {
		nftnl_set_nlmsg_build_payload(h, s);
		n->len += NLMSG_ALIGN(h->nlmsg_len);
		n->nops++;
	}
	nftnl_set_free(s);
}

/* A base chain of type at hook and prio; with type NULL a regular chain,
 * reached only by a jump. */
static void
add_chain(struct nft *n, const char *name, const char *type, uint32_t hook,
    int32_t prio)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *h;

	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, NFT_TABLE_NAME);
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFPROTO_INET);
	if (type != NULL) { /* a base chain; without: a jump target */
		nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, type);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hook);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	h = obj_hdr(n, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
	if (h != NULL) {
		nftnl_chain_nlmsg_build_payload(h, c);
		n->len += NLMSG_ALIGN(h->nlmsg_len);
		n->nops++;
	}
	nftnl_chain_free(c);
}

static void
e_meta(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void
e_cmp(struct nftnl_rule *r, uint32_t sreg, uint32_t op, const void *d,
    uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, d, len);
	nftnl_rule_add_expr(r, e);
}

static void
e_cmp8(struct nftnl_rule *r, uint8_t v)
{
	e_cmp(r, NFT_REG_1, NFT_CMP_EQ, &v, 1);
}

static void
e_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len,
    uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

static void
e_lookup(struct nftnl_rule *r, const char *set, uint32_t id, uint32_t sreg,
    int64_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, id);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
	if (dreg >= 0)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, (uint32_t)dreg);
	nftnl_rule_add_expr(r, e);
}

static void
e_nat(struct nftnl_rule *r, uint32_t type, uint32_t family, uint32_t areg,
    uint32_t preg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("nat");

	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, type);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, family);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, areg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MAX, areg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, preg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MAX, preg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FLAGS,
	    NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED);
	nftnl_rule_add_expr(r, e);
}

/* The rule's verdict; chain only for NFT_JUMP/NFT_GOTO. */
static void
e_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain != NULL)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	nftnl_rule_add_expr(r, e);
}

static void
e_drop(struct nftnl_rule *r)
{
	e_verdict(r, NF_DROP, NULL);
}

/* Counts what the rule's verdict applies to (nft "counter"). */
static void
e_counter(struct nftnl_rule *r)
{
	nftnl_rule_add_expr(r, nftnl_expr_alloc("counter"));
}

static struct nftnl_rule *
rule_new(const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, NFT_TABLE_NAME);
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_set_u32(r, NFTNL_RULE_FAMILY, NFPROTO_INET);
	return r;
}

static void
rule_put(struct nft *n, struct nftnl_rule *r)
{
	struct nlmsghdr *h =
	    obj_hdr(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);

	if (h != NULL) {
		nftnl_rule_nlmsg_build_payload(h, r);
		n->len += NLMSG_ALIGN(h->nlmsg_len);
		n->nops++;
	}
	nftnl_rule_free(r);
}

enum {
	ID_DMAP4 = 1,
	ID_SMAP4,
	ID_DMAP6,
	ID_SMAP6,
	ID_PV,
	ID_BAN4,
	ID_BAN6,
	ID_GUARD,
	ID_PQ
};

/* UDP of one family, its source address loaded into register 1. */
static void
e_udp_saddr(struct nftnl_rule *r, bool v6)
{
	e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp8(r, IPPROTO_UDP);
	e_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	e_cmp8(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	e_payload(
	    r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1);
}

/* dnat/snat rule for one family (see the layout at the top). */
static void
nat_rule(struct nft *n, bool is_snat, bool v6)
{
	struct nftnl_rule *r = rule_new(is_snat ? "pc_post" : "pc_pre");
	uint32_t preg_s = v6 ? NFT_REG32_04 : NFT_REG32_01;
	uint32_t preg_d = v6 ? NFT_REG32_05 : NFT_REG32_02;
	const char *set;
	uint32_t id;

	e_udp_saddr(r, v6);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, preg_s);
	if (is_snat) {
		struct nftnl_expr *e = nftnl_expr_alloc("ct");

		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, NFT_CT_PROTO_DST);
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
		nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, preg_d);
		nftnl_rule_add_expr(r, e);
		set = v6 ? "smap6" : "smap4";
		id = v6 ? ID_SMAP6 : ID_SMAP4;
	} else {
		e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, preg_d);
		set = v6 ? "dmap6" : "dmap4";
		id = v6 ? ID_DMAP6 : ID_DMAP4;
	}
	e_lookup(r, set, id, NFT_REG_1, NFT_REG_1);
	e_nat(r, is_snat ? NFT_NAT_SNAT : NFT_NAT_DNAT,
	    v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, NFT_REG_1, preg_s);
	rule_put(n, r);
}

static void
e_ct(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	if (key == NFT_CT_PROTO_DST)
		nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, IP_CT_DIR_ORIGINAL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, dreg);
	nftnl_rule_add_expr(r, e);
}

/* reg = (reg & mask) ^ xor over len bytes. */
static void
e_bitwise(struct nftnl_rule *r, uint32_t reg, const void *mask,
    const void * xor, uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, len);
	nftnl_rule_add_expr(r, e);
}

/*
 * The derived SNAT (after the smap rule): a UDP flow our dmap DNATed to
 * the other party (ct status dnat, original destination port in the media
 * range) leaves from the relay address and the port facing that party,
 * the original port ^ NFT_LEG_XOR. Packets user space sends are not
 * DNATed; strangers were not DNATed either (dmap keys carry the latched
 * source).
 */
static void
snat_derived_rule(struct nft *n, const struct nft_layout *l)
{
	struct nftnl_rule *r = rule_new("pc_post");
	bool v6 = l->snat_family == 6;
	/* ct status is a host-order word. */
	uint32_t st = IPS_DST_NAT, zero = 0;
	uint16_t lo = htons(l->port_lo), hi = htons(l->port_hi);
	uint8_t pmask[2] = {0xff, 0xff}, pxor[2] = {0, NFT_LEG_XOR};
	struct nftnl_expr *e;

	e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp8(r, IPPROTO_UDP);
	e_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	e_cmp8(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	e_ct(r, NFT_CT_STATUS, NFT_REG_1);
	e_bitwise(r, NFT_REG_1, &st, &zero, 4);
	e_cmp(r, NFT_REG_1, NFT_CMP_NEQ, &zero, 4);
	e_ct(r, NFT_CT_PROTO_DST, NFT_REG32_04);
	e_cmp(r, NFT_REG32_04, NFT_CMP_GTE, &lo, 2);
	e_cmp(r, NFT_REG32_04, NFT_CMP_LTE, &hi, 2);
	e_bitwise(r, NFT_REG32_04, pmask, pxor, 2);
	e = nftnl_expr_alloc("immediate");
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, l->snat_addr, v6 ? 16 : 4);
	nftnl_rule_add_expr(r, e);
	e_nat(r, NFT_NAT_SNAT, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4, NFT_REG_1,
	    NFT_REG32_04);
	rule_put(n, r);
}

/*
 * Every packet the host receives or forwards meets pc_ban, so it holds
 * one rule per family, and its first lookup is the ban set (usually
 * empty): an unbanned IPv4 packet costs two comparisons, a payload load
 * and one lookup (the four protocol-by-family rules before cost thirteen
 * expressions). Only a banned source jumps to pc_banned, which checks the
 * protocol and the guarded port.
 */
static void
ban_rule(struct nft *n, bool v6)
{
	struct nftnl_rule *r = rule_new("pc_ban");

	e_meta(r, NFT_META_NFPROTO, NFT_REG_1);
	e_cmp8(r, v6 ? NFPROTO_IPV6 : NFPROTO_IPV4);
	e_payload(
	    r, NFT_PAYLOAD_NETWORK_HEADER, v6 ? 8 : 12, v6 ? 16 : 4, NFT_REG_1);
	e_lookup(
	    r, v6 ? "ban6" : "ban4", v6 ? ID_BAN6 : ID_BAN4, NFT_REG_1, -1);
	e_verdict(r, NFT_JUMP, "pc_banned");
	rule_put(n, r);
}

/* In pc_banned: l4 to a guarded port (SIP or media) is dropped. */
static void
banned_rule(struct nft *n, uint8_t l4)
{
	struct nftnl_rule *r = rule_new("pc_banned");

	e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp8(r, l4);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	e_lookup(r, "guard", ID_GUARD, NFT_REG_1, -1);
	/* Kernel drops of banned sources would be invisible otherwise:
	 * nft_ban_counters() sums these. */
	e_counter(r);
	e_drop(r);
	rule_put(n, r);
}

/* reg &= ~1 (~3 with is_quad) on a port in network order: the even port
 * of its pair (the first of its quad). */
static void
e_pair(struct nftnl_rule *r, uint32_t reg, bool is_quad)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint8_t mask[2] = {0xff, is_quad ? 0xfc : 0xfe},
	        xor[2] = {
	            0, 0};

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 2);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, xor, sizeof(xor));
	nftnl_rule_add_expr(r, e);
}

/* udp dport & ~1 (~3 with is_quad) vmap @set: the pairs (quads) user
 * space must hear. */
static void
verdict_rule(struct nft *n, const char *set, uint32_t id, bool is_quad)
{
	struct nftnl_rule *r = rule_new("pc_in");

	e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp8(r, IPPROTO_UDP);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	e_pair(r, NFT_REG_1, is_quad);
	e_lookup(r, set, id, NFT_REG_1, NFT_REG_VERDICT);
	rule_put(n, r);
}

static void
input_rules(struct nft *n, const struct nft_layout *l)
{
	struct nftnl_rule *r;
	uint16_t lo = htons(l->port_lo), hi = htons(l->port_hi);

	verdict_rule(n, "pvmap", ID_PV, false);
	verdict_rule(n, "pqmap", ID_PQ, true);

	/* The media drop policy: ports of the range that no stream owns. */
	r = rule_new("pc_in");
	e_meta(r, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp8(r, IPPROTO_UDP);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	e_cmp(r, NFT_REG_1, NFT_CMP_GTE, &lo, 2);
	e_cmp(r, NFT_REG_1, NFT_CMP_LTE, &hi, 2);
	e_drop(r);
	rule_put(n, r);
}

/*
 * In pc_out: UDP from the relay address and a port of the range (what
 * user space forwards) gets no conntrack entry. A tracked send from relay
 * port p to party B made the entry p -> B, whose reply side B -> p is the
 * very tuple the kernel's NAT entry of the stream needs (A's packets
 * DNATed to B leave from p): while it lived, the other party's packets
 * were dropped as a conntrack clash, or B's went to user space. A packet
 * that reached a socket between the switch's drain and its conntrack
 * deletes is forwarded after them, and such an entry lived until the
 * relay's next conntrack flush: on a loaded host, as long as the relay
 * waited for the CPU (an entry like it held for 0.5 s dropped 54 of A's
 * packets). Untracked, user-space sends never touch the flows the kernel
 * forwards.
 */
static void
out_rule(struct nft *n, const struct nft_layout *l)
{
	struct nftnl_rule *r = rule_new("pc_out");
	bool v6 = l->snat_family == 6;
	uint16_t lo = htons(l->port_lo), hi = htons(l->port_hi);

	e_udp_saddr(r, v6);
	e_cmp(r, NFT_REG_1, NFT_CMP_EQ, l->snat_addr, v6 ? 16 : 4);
	e_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
	e_cmp(r, NFT_REG_1, NFT_CMP_GTE, &lo, 2);
	e_cmp(r, NFT_REG_1, NFT_CMP_LTE, &hi, 2);
	nftnl_rule_add_expr(r, nftnl_expr_alloc("notrack"));
	rule_put(n, r);
}

static void
make_tag(const struct nft_layout *l, char *tag, size_t cap)
{
	size_t off;

	/* "ban-counted": tables made before the ban rules had counters
	 * carry another tag and are replaced at set-up; so do those from
	 * before "pair-verdicts" (one pvmap element per port) and
	 * "ban-jump" (four ban rules in pc_ban). */
	off = (size_t)snprintf(tag, cap,
	    "%s ban-counted pair-verdicts quad-verdicts ban-jump ports=%u-%u "
	    "sip=",
	    TAG_PREFIX, l->port_lo, l->port_hi);
	for (size_t i = 0; i < l->nsip_ports && off + 8 < cap; i++)
		off += (size_t)snprintf(tag + off, cap - off, "%s%u",
		    i ? "," : "", l->sip_ports[i]);
	/* The derived SNAT's address is part of the rules. */
	if ((l->snat_family == 4 || l->snat_family == 6) && off + 48 < cap) {
		/* "out-notrack": tables from before pc_out are
		 * replaced. */
		off += (size_t)snprintf(tag + off, cap - off,
		    " out-notrack snat-xor%d=", NFT_LEG_XOR);
		for (size_t i = 0; i < alen(l->snat_family); i++)
			off += (size_t)snprintf(
			    tag + off, cap - off, "%02x", l->snat_addr[i]);
	}
}

/* ---- reading the table back ---- */

struct tbl_get {
	bool is_found;
	char tag[256];
};

static int
table_cb(const struct nlmsghdr *h, void *arg)
{
	struct tbl_get *g = arg;
	struct nftnl_table *t = nftnl_table_alloc();
	uint32_t len = 0;
	const void *ud;

	if (t == NULL || nftnl_table_nlmsg_parse(h, t) < 0) {
		nftnl_table_free(t);
		return MNL_CB_ERROR;
	}
	g->is_found = true;
	ud = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
	if (ud != NULL && len > 0) {
		if (len >= sizeof(g->tag))
			len = sizeof(g->tag) - 1;
		memcpy(g->tag, ud, len);
		g->tag[len] = '\0';
		/* userdata may carry the NUL. */
	}
	nftnl_table_free(t);
	return MNL_CB_OK;
}

/* Runs one request and feeds every reply to cb; 0, or -1 with errno. */
static int
talk(struct nft *n, struct nlmsghdr *h, mnl_cb_t cb, void *arg)
{
	char rbuf[1 << 16];
	uint32_t seq = h->nlmsg_seq;
	int ret;

	if (mnl_socket_sendto(n->nl, h, h->nlmsg_len) < 0)
		return -1;
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(n->nl, rbuf, sizeof(rbuf));

		if (r < 0)
			return -1;
		ret = mnl_cb_run(rbuf, (size_t)r, seq, n->portid, cb, arg);
		if (ret < 0)
			return -1;
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int
get_table(struct nft *n, struct tbl_get *g)
{
	char buf[512];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *h;
	int ret;

	memset(g, 0, sizeof(*g));
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	h = nftnl_nlmsg_build_hdr(
	    buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_ACK, n->seq++);
	nftnl_table_nlmsg_build_payload(h, t);
	nftnl_table_free(t);
	ret = talk(n, h, table_cb, g);
	if (ret < 0 && errno == ENOENT)
		return 0;
	return ret;
}

int
nft_setup(struct nft *n, const struct nft_layout *l, bool *is_kept, char *err,
    size_t errlen)
{
	struct tbl_get g;
	char tag[256];
	struct nftnl_table *t;
	struct nlmsghdr *h;
	uint32_t kt4 = CAT3(T_IPV4, T_SERVICE, T_SERVICE);
	uint32_t kt6 = CAT3(T_IPV6, T_SERVICE, T_SERVICE);

	*is_kept = false;
	n->snat_family =
	    l->snat_family == 4 || l->snat_family == 6 ? l->snat_family : 0;
	memcpy(n->snat_addr, l->snat_addr, sizeof(n->snat_addr));
	n->port_lo = l->port_lo;
	n->port_hi = l->port_hi;
	make_tag(l, tag, sizeof(tag));
	if (get_table(n, &g) < 0) {
		seterr(err, errlen, "nft: reading table inet " NFT_TABLE_NAME);
		return -1;
	}
	if (g.is_found && strncmp(g.tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0) {
		if (err != NULL)
			snprintf(err, errlen,
			    "nft: table inet %s exists and is not ours (tag "
			    "\"%s\"); not touching it",
			    NFT_TABLE_NAME, g.tag);
		return -1;
	}
	if (g.is_found && strcmp(g.tag, tag) == 0) {
		*is_kept = true;
		return 0;
	}

	nft_batch_begin(n);
	t = nftnl_table_alloc();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (g.is_found) {
		/* Ours, from another layout: replace it in the same batch. */
		h = obj_hdr(n, NFT_MSG_DELTABLE, 0);
		nftnl_table_nlmsg_build_payload(h, t);
		n->len += NLMSG_ALIGN(h->nlmsg_len);
		n->nops++;
	}
	nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, tag, strlen(tag) + 1);
	h = obj_hdr(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	nftnl_table_nlmsg_build_payload(h, t);
	n->len += NLMSG_ALIGN(h->nlmsg_len);
	n->nops++;
	nftnl_table_free(t);

	add_set(n, "dmap4", ID_DMAP4, NFT_SET_MAP, kt4, 12,
	    CAT2(T_IPV4, T_SERVICE), 8);
	add_set(n, "smap4", ID_SMAP4, NFT_SET_MAP, kt4, 12,
	    CAT2(T_IPV4, T_SERVICE), 8);
	add_set(n, "dmap6", ID_DMAP6, NFT_SET_MAP, kt6, 24,
	    CAT2(T_IPV6, T_SERVICE), 20);
	add_set(n, "smap6", ID_SMAP6, NFT_SET_MAP, kt6, 24,
	    CAT2(T_IPV6, T_SERVICE), 20);
	add_set(
	    n, "pvmap", ID_PV, NFT_SET_MAP, T_SERVICE, 2, NFT_DATA_VERDICT, 0);
	add_set(
	    n, "pqmap", ID_PQ, NFT_SET_MAP, T_SERVICE, 2, NFT_DATA_VERDICT, 0);
	add_set(n, "ban4", ID_BAN4, NFT_SET_TIMEOUT, T_IPV4, 4, 0, 0);
	add_set(n, "ban6", ID_BAN6, NFT_SET_TIMEOUT, T_IPV6, 16, 0, 0);
	add_set(n, "guard", ID_GUARD, 0, T_SERVICE, 2, 0, 0);

	add_chain(n, "pc_ban", "filter", NF_INET_PRE_ROUTING, -300);
	add_chain(n, "pc_pre", "nat", NF_INET_PRE_ROUTING, -100);
	add_chain(n, "pc_post", "nat", NF_INET_POST_ROUTING, 100);
	add_chain(n, "pc_in", "filter", NF_INET_LOCAL_IN, 0);
	add_chain(n, "pc_banned", NULL, 0, 0);
	/* Raw priority: before conntrack sees the packet. */
	if (l->snat_family == 4 || l->snat_family == 6)
		add_chain(n, "pc_out", "filter", NF_INET_LOCAL_OUT, -300);

	banned_rule(n, IPPROTO_UDP);
	banned_rule(n, IPPROTO_TCP);
	ban_rule(n, false);
	ban_rule(n, true);
	nat_rule(n, false, false);
	nat_rule(n, false, true);
	nat_rule(n, true, false);
	nat_rule(n, true, true);
	if (l->snat_family == 4 || l->snat_family == 6) {
		snat_derived_rule(n, l);
		out_rule(n, l);
	}
	input_rules(n, l);

	for (uint32_t p = l->port_lo; p <= l->port_hi; p++) {
		uint16_t k = htons((uint16_t)p);

		put_elem(n, NFT_MSG_NEWSETELEM, "guard", &k, 2, NULL, 0, 0, 0);
	}
	for (size_t i = 0; i < l->nsip_ports; i++) {
		uint16_t k = htons(l->sip_ports[i]);
		bool is_dup = l->sip_ports[i] >= l->port_lo &&
		    l->sip_ports[i] <= l->port_hi;

		for (size_t j = 0; j < i; j++)
			is_dup |= l->sip_ports[j] == l->sip_ports[i];
		if (!is_dup)
			put_elem(n, NFT_MSG_NEWSETELEM, "guard", &k, 2, NULL, 0,
			    0, 0);
	}
	if (nft_batch_commit(n) < 0) {
		seterr(err, errlen, "nft: creating table inet " NFT_TABLE_NAME);
		return -1;
	}
	return 0;
}

int
nft_teardown(struct nft *n, char *err, size_t errlen)
{
	struct tbl_get g;
	struct nftnl_table *t;
	struct nlmsghdr *h;

	if (get_table(n, &g) < 0) {
		seterr(err, errlen, "nft: reading table inet " NFT_TABLE_NAME);
		return -1;
	}
	if (!g.is_found)
		return 0;
	if (strncmp(g.tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0) {
		if (err != NULL)
			snprintf(err, errlen,
			    "nft: table inet %s is not ours; not deleting it",
			    NFT_TABLE_NAME);
		return -1;
	}
	nft_batch_begin(n);
	t = nftnl_table_alloc();
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, NFT_TABLE_NAME);
	h = obj_hdr(n, NFT_MSG_DELTABLE, 0);
	nftnl_table_nlmsg_build_payload(h, t);
	n->len += NLMSG_ALIGN(h->nlmsg_len);
	n->nops++;
	nftnl_table_free(t);
	if (nft_batch_commit(n) < 0) {
		seterr(err, errlen, "nft: deleting table inet " NFT_TABLE_NAME);
		return -1;
	}
	return 0;
}

/* ---- element dumps ---- */

typedef int (*elem_fn)(struct nftnl_set_elem *e, void *arg);

struct dump_ctx {
	elem_fn fn;
	void *arg;
	bool is_stopped;
};

static int
elems_cb(const struct nlmsghdr *h, void *arg)
{
	struct dump_ctx *d = arg;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (s == NULL || nftnl_set_elems_nlmsg_parse(h, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	it = nftnl_set_elems_iter_create(s);
	while (it != NULL && !d->is_stopped &&
	    (e = nftnl_set_elems_iter_next(it)) != NULL)
		if (d->fn(e, d->arg) != 0)
			d->is_stopped = true;
	nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static int
dump_set(struct nft *n, const char *set, elem_fn fn, void *arg)
{
	char buf[512];
	struct nftnl_set *s;
	struct nlmsghdr *h;
	struct dump_ctx d = {fn, arg, false};

	if (n->is_pending)
		nft_flush(n);
	s = nftnl_set_alloc();
	nftnl_set_set_str(s, NFTNL_SET_TABLE, NFT_TABLE_NAME);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
	    NLM_F_DUMP | NLM_F_ACK, n->seq++);
	nftnl_set_elems_nlmsg_build_payload(h, s);
	nftnl_set_free(s);
	return talk(n, h, elems_cb, &d);
}

/* smap elements (the forwards whose SNAT is not derived), sorted by
 * key, so that a dmap element finds its out address and port. */
struct smap_ent {
	uint8_t k[24];
	uint8_t d[20];
};

struct smap_list {
	uint8_t family;
	struct smap_ent *e;
	size_t n, cap;
	bool is_failed;
};

static int
smap_elem(struct nftnl_set_elem *e, void *arg)
{
	struct smap_list *l = arg;
	uint32_t kl = 0, dl = 0;
	const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	const uint8_t *v = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dl);
	size_t a = alen(l->family);

	if (k == NULL || v == NULL || kl != a + 8 || dl != a + 4)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct smap_ent *x = realloc(l->e, cap * sizeof(*x));

		if (x == NULL) {
			l->is_failed = true;
			return 1;
		}
		l->e = x;
		l->cap = cap;
	}
	memset(&l->e[l->n], 0, sizeof(l->e[l->n]));
	memcpy(l->e[l->n].k, k, kl);
	memcpy(l->e[l->n].d, v, dl);
	l->n++;
	return 0;
}

static int
smap_cmp(const void *a, const void *b)
{
	return memcmp(((const struct smap_ent *)a)->k,
	    ((const struct smap_ent *)b)->k, sizeof(((struct smap_ent *)0)->k));
}

struct fwd_dump {
	struct nft *n;
	uint8_t family;
	struct smap_list *smap;
	nft_fwd_cb cb;
	void *arg;
};

static int
fwd_elem(struct nftnl_set_elem *e, void *arg)
{
	struct fwd_dump *d = arg;
	struct nft_fwd f;
	uint32_t kl = 0, dl = 0;
	const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	const uint8_t *v = nftnl_set_elem_get(e, NFTNL_SET_ELEM_DATA, &dl);
	size_t a = alen(d->family);
	struct smap_ent key, *s;
	uint16_t p;

	if (k == NULL || v == NULL || kl != a + 8 || dl != a + 4)
		return 0;
	memset(&f, 0, sizeof(f));
	f.family = d->family;
	memcpy(f.src, k, a);
	memcpy(&p, k + a, 2);
	f.src_port = ntohs(p);
	memcpy(&p, k + a + 4, 2);
	f.relay_port = ntohs(p);
	memcpy(f.dst, v, a);
	memcpy(&p, v + a, 2);
	f.dst_port = ntohs(p);
	memset(&key, 0, sizeof(key));
	memcpy(key.k, k, kl);
	s = d->smap->n > 0
	    ? bsearch(&key, d->smap->e, d->smap->n, sizeof(*s), smap_cmp)
	    : NULL;
	if (s != NULL) {
		memcpy(f.out, s->d, a);
		memcpy(&p, s->d + a, 2);
		f.out_port = ntohs(p);
	} else if (d->n->snat_family == d->family) {
		memcpy(f.out, d->n->snat_addr, a);
		f.out_port = (uint16_t)(f.relay_port ^ NFT_LEG_XOR);
	}
	return d->cb(&f, d->arg);
}

int
nft_fwd_dump(struct nft *n, nft_fwd_cb cb, void *arg)
{
	struct smap_list sl;
	struct fwd_dump d = {n, 4, &sl, cb, arg};
	int rc = 0;

	for (int i = 0; i < 2 && rc == 0; i++) {
		memset(&sl, 0, sizeof(sl));
		sl.family = d.family = i == 0 ? 4 : 6;
		rc = dump_set(n, i == 0 ? "smap4" : "smap6", smap_elem, &sl);
		if (rc == 0 && sl.is_failed) {
			errno = ENOMEM;
			rc = -1;
		}
		if (rc == 0) {
			if (sl.n > 1)
				qsort(sl.e, sl.n, sizeof(*sl.e), smap_cmp);
			rc = dump_set(
			    n, i == 0 ? "dmap4" : "dmap6", fwd_elem, &d);
		}
		free(sl.e);
	}
	return rc;
}

struct port_dump {
	nft_port_cb cb;
	void *arg;
};

static int
port_elem(struct nftnl_set_elem *e, void *arg)
{
	struct port_dump *d = arg;
	uint32_t kl = 0;
	const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	uint16_t p;

	if (k == NULL || kl != 2)
		return 0;
	memcpy(&p, k, 2);
	return d->cb(ntohs(p),
	    nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_VERDICT) == NF_DROP,
	    d->arg);
}

int
nft_port_dump(struct nft *n, nft_port_cb cb, void *arg)
{
	struct port_dump d = {cb, arg};

	return dump_set(n, "pvmap", port_elem, &d);
}

int
nft_quad_dump(struct nft *n, nft_port_cb cb, void *arg)
{
	struct port_dump d = {cb, arg};

	return dump_set(n, "pqmap", port_elem, &d);
}

struct ban_dump {
	uint8_t family;
	nft_ban_cb cb;
	void *arg;
};

static int
ban_elem(struct nftnl_set_elem *e, void *arg)
{
	struct ban_dump *d = arg;
	uint32_t kl = 0;
	const uint8_t *k = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &kl);
	uint64_t tmo = 0, exp = 0;

	if (k == NULL || kl != alen(d->family))
		return 0;
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_TIMEOUT))
		tmo = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_TIMEOUT);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		exp = nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	return d->cb(d->family, k, tmo, exp, d->arg);
}

int
nft_ban_dump(struct nft *n, nft_ban_cb cb, void *arg)
{
	struct ban_dump d = {4, cb, arg};

	if (dump_set(n, "ban4", ban_elem, &d) < 0)
		return -1;
	d.family = 6;
	return dump_set(n, "ban6", ban_elem, &d);
}

/* ---- rule counters ---- */

struct ctr_sum {
	uint64_t packets, bytes;
};

static int
ctr_expr(struct nftnl_expr *e, void *arg)
{
	struct ctr_sum *c = arg;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name != NULL && strcmp(name, "counter") == 0) {
		c->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		c->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
	}
	return 0;
}

static int
ban_rule_cb(const struct nlmsghdr *h, void *arg)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	const char *chain;

	if (r == NULL || nftnl_rule_nlmsg_parse(h, r) < 0) {
		nftnl_rule_free(r);
		return MNL_CB_ERROR;
	}
	/* The dump is filtered by chain; older kernels ignore the filter. */
	chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
	if (chain != NULL && strcmp(chain, "pc_banned") == 0)
		nftnl_expr_foreach(r, ctr_expr, arg);
	nftnl_rule_free(r);
	return MNL_CB_OK;
}

int
nft_ban_counters(struct nft *n, uint64_t *packets, uint64_t *bytes)
{
	char buf[512];
	struct nftnl_rule *r;
	struct nlmsghdr *h;
	struct ctr_sum c = {0, 0};

	*packets = *bytes = 0;
	if (n->is_pending)
		nft_flush(n);
	r = rule_new("pc_banned");
	h = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET,
	    NLM_F_DUMP | NLM_F_ACK, n->seq++);
	nftnl_rule_nlmsg_build_payload(h, r);
	nftnl_rule_free(r);
	if (talk(n, h, ban_rule_cb, &c) < 0)
		return -1;
	*packets = c.packets;
	*bytes = c.bytes;
	return 0;
}
