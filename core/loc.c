/*
 * Location service in memory. Why one hash of bindings keyed by AoR
 * rather than AoR records holding lists: most AoRs have one binding, and
 * saving the extra record per AoR is a good share of the memory budget
 * for a million registrations. Bindings of one AoR share a hash value and
 * are told apart by comparing the AoR string. Why User-Agents are
 * interned (one counted copy per distinct text): a phone fleet has a few
 * hundred models and firmware versions, and ~30 bytes of the same text in
 * each of a million bindings is ~6% of their memory.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "loc.h"
#include "sip_uri.h"

/* An interned User-Agent. */
struct loc_ua {
	struct hnode node;
	uint32_t refs;
	uint16_t len;
	char s[]; /* NUL-terminated */
};

struct loc {
	struct htable ht;
	struct htable uas;
	struct htable conns; /* bindings over a TCP/TLS connection, by id */
	/* Bindings by their Contact's address and by their flow's source:
	 * two tables, so that a node's table says which address it is
	 * under. */
	struct htable by_contact, by_remote;
	struct loc_binding *dirty_head, **dirty_tail;
	size_t ndirty;
	uint64_t next_id;
};

struct loc *
loc_new(void)
{
	struct loc *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	if (htable_init(&l->ht, 1024) < 0 || htable_init(&l->uas, 64) < 0 ||
	    htable_init(&l->conns, 64) < 0 ||
	    htable_init(&l->by_contact, 1024) < 0 ||
	    htable_init(&l->by_remote, 1024) < 0) {
		htable_free(&l->ht);
		htable_free(&l->uas);
		htable_free(&l->conns);
		htable_free(&l->by_contact);
		free(l);
		return NULL;
	}
	l->dirty_tail = &l->dirty_head;
	/* Ids must not repeat across restarts: start from the clock-ish random
	 * high bits; restore raises next_id past every stored id anyway. */
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = 0;
	l->next_id = ((uint64_t)(r & 0xffff) << 32) + 1;
	return l;
}

/* The shared copy of a User-Agent, with one more reference; NULL if out
 * of memory. The empty one is not kept (a static ""). */
static const char *
ua_get(struct loc *l, struct slice ua)
{
	if (ua.len == 0)
		return "";
	uint64_t hv = hash_bytes(ua.p, ua.len);
	for (struct hnode *h = htable_first(&l->uas, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct loc_ua *u = container_of(h, struct loc_ua, node);
		if (u->len == ua.len && memcmp(u->s, ua.p, ua.len) == 0) {
			u->refs++;
			return u->s;
		}
	}
	struct loc_ua *u = malloc(sizeof(*u) + ua.len + 1);
	if (u == NULL)
		return NULL;
	u->refs = 1;
	u->len = (uint16_t)ua.len;
	memcpy(u->s, ua.p, ua.len);
	u->s[ua.len] = '\0';
	htable_insert(&l->uas, &u->node, hv);
	return u->s;
}

static void
ua_put(struct loc *l, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return;
	struct loc_ua *u = container_of(s, struct loc_ua, s);
	if (--u->refs == 0) {
		htable_remove(&l->uas, &u->node);
		free(u);
	}
}

static void
binding_free(struct loc *l, struct loc_binding *b)
{
	ua_put(l, b->ua);
	free(b);
}

static uint64_t
conn_hash(uint32_t conn_id)
{
	return hash_bytes(&conn_id, sizeof(conn_id));
}

/* An address as the index compares it: an IPv4-mapped IPv6 address is
 * the IPv4 one (an edge on a dual-stack socket reports those), the pad
 * byte is ignored. False for no address. */
static bool
addr_norm(const struct ipc_addr *a, struct ipc_addr *out)
{
	static const uint8_t mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memset(out, 0, sizeof(*out));
	if (a->family == 4) {
		out->family = 4;
		memcpy(out->addr, a->addr, 4);
	} else if (a->family == 6 && memcmp(a->addr, mapped, 12) == 0) {
		out->family = 4;
		memcpy(out->addr, a->addr + 12, 4);
	} else if (a->family == 6) {
		out->family = 6;
		memcpy(out->addr, a->addr, 16);
	} else {
		return false;
	}
	out->port = a->port;
	return true;
}

bool
loc_addr_same(const struct ipc_addr *a, const struct ipc_addr *b)
{
	struct ipc_addr na, nb;
	return addr_norm(a, &na) && addr_norm(b, &nb) &&
	    memcmp(&na, &nb, sizeof(na)) == 0;
}

/* The key of a Contact in by_contact: its user, host (any case) and port
 * (the default one when absent), what equal URIs (RFC 3261 §19.1.4)
 * share. By user too, not by address alone: a private address such as
 * 192.168.1.2:5060 is the Contact of phones behind thousands of NATs, and
 * one chain of them would be walked at every refresh. */
static uint64_t
uri_key(const struct sip_uri *u)
{
	char k[512];
	size_t n = 0;
	uint16_t port = sip_uri_port_or_default(u);

	for (uint32_t i = 0; i < u->user.len && n < sizeof(k) - 8; i++)
		k[n++] = u->user.p[i];
	k[n++] = '@';
	for (uint32_t i = 0; i < u->host.len && n < sizeof(k) - 3; i++) {
		char ch = u->host.p[i];
		k[n++] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	k[n++] = (char)(port >> 8);
	k[n++] = (char)(port & 0xff);
	return hash_bytes(k, n);
}

/* The key in by_remote: the flow's source and the Contact's user. The
 * user too: one source may register thousands of AoRs (a PBX, an
 * office's NAT port, a load generator), and one chain of them would be
 * walked at every refresh. */
static uint64_t
source_key(const struct ipc_addr *norm, struct slice user)
{
	char k[sizeof(*norm) + 256];
	size_t n = user.len < 256 ? user.len : 256;

	memcpy(k, norm, sizeof(*norm));
	if (n > 0)
		memcpy(k + sizeof(*norm), user.p, n);
	return hash_bytes(k, sizeof(*norm) + n);
}

/* b's Contact parsed, for both keys; false for a tel: URI or one that
 * does not parse (it was checked when registered). */
static bool
contact_uri(const struct loc_binding *b, struct sip_uri *u)
{
	struct sip_err err;
	return sip_uri_parse(loc_slice(b, LOC_S_CONTACT), u, &err) == 0 &&
	    u->scheme != SIP_URI_TEL;
}

/* The other indexes follow the AoR table: a binding is in all or in none
 * (and in conns only while it has a connection, in by_contact while
 * its Contact parses, in by_remote while its flow has an address). */
static void
table_insert(struct loc *l, struct loc_binding *b, uint64_t aor_hv)
{
	htable_insert(&l->ht, &b->node, aor_hv);
	if (b->flow.conn_id != 0)
		htable_insert(&l->conns, &b->cnode, conn_hash(b->flow.conn_id));
	struct sip_uri u;
	struct ipc_addr ra;
	if (!contact_uri(b, &u))
		return;
	htable_insert(&l->by_contact, &b->anode, uri_key(&u));
	b->flags |= LOC_F_BY_CONTACT;
	if (addr_norm(&b->flow.remote, &ra)) {
		htable_insert(
		    &l->by_remote, &b->rnode, source_key(&ra, u.user));
		b->flags |= LOC_F_BY_REMOTE;
	}
}

static void
table_remove(struct loc *l, struct loc_binding *b)
{
	htable_remove(&l->ht, &b->node);
	if (b->flow.conn_id != 0)
		htable_remove(&l->conns, &b->cnode);
	if (b->flags & LOC_F_BY_CONTACT)
		htable_remove(&l->by_contact, &b->anode);
	if (b->flags & LOC_F_BY_REMOTE)
		htable_remove(&l->by_remote, &b->rnode);
	b->flags &= (uint8_t) ~(LOC_F_BY_CONTACT | LOC_F_BY_REMOTE);
}

static int
free_cb(struct hnode *n, void *arg)
{
	struct loc *l = arg;
	struct loc_binding *b = container_of(n, struct loc_binding, node);

	table_remove(l, b);
	if (!(b->flags & LOC_F_DIRTY))
		binding_free(l, b);
	return 0;
}

void
loc_free(struct loc *l)
{
	if (l == NULL)
		return;
	htable_walk(&l->ht, free_cb, l);
	struct loc_binding *b = l->dirty_head;
	while (b != NULL) {
		struct loc_binding *next = b->dirty_next;
		binding_free(l, b);
		b = next;
	}
	htable_free(&l->ht);
	htable_free(&l->uas);
	htable_free(&l->conns);
	htable_free(&l->by_contact);
	htable_free(&l->by_remote);
	free(l);
}

static size_t
str_off(const struct loc_binding *b, enum loc_str i)
{
	size_t off = 0;

	for (int k = 0; k < (int)i; k++)
		off += (size_t)b->str_len[k] + 1;
	return off;
}

const char *
loc_str(const struct loc_binding *b, enum loc_str i)
{
	return i == LOC_S_UA ? b->ua : b->strs + str_off(b, i);
}

struct slice
loc_slice(const struct loc_binding *b, enum loc_str i)
{
	return slice_make(loc_str(b, i), b->str_len[i]);
}

static uint64_t
aor_hash(struct slice aor)
{
	return hash_bytes_nocase(aor.p, aor.len);
}

static void
mark_dirty(struct loc *l, struct loc_binding *b)
{
	if (b->flags & LOC_F_DIRTY)
		return;
	b->flags |= LOC_F_DIRTY;
	b->dirty_next = NULL;
	*l->dirty_tail = b;
	l->dirty_tail = &b->dirty_next;
	l->ndirty++;
}

int
loc_lookup(struct loc *l, struct slice aor, struct loc_binding **out, int max)
{
	uint64_t hv = aor_hash(aor);
	int n = 0;

	for (struct hnode *h = htable_first(&l->ht, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct loc_binding *b =
		    container_of(h, struct loc_binding, node);
		if (!slice_eq_nocase(loc_slice(b, LOC_S_AOR), aor))
			continue;
		if (n < max)
			out[n] = b;
		n++;
	}
	return n;
}

int
loc_lookup_contact(
    struct loc *l, const struct sip_uri *u, struct loc_binding **out, int max)
{
	struct sip_uri bu;
	struct sip_err err;
	int n = 0;

	if (u->scheme == SIP_URI_TEL)
		return 0;
	uint64_t hv = uri_key(u);
	for (struct hnode *h = htable_first(&l->by_contact, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct loc_binding *b =
		    container_of(h, struct loc_binding, anode);
		if (sip_uri_parse(loc_slice(b, LOC_S_CONTACT), &bu, &err) !=
		        0 ||
		    !sip_uri_equal(&bu, u))
			continue;
		if (n < max)
			out[n] = b;
		n++;
	}
	return n;
}

int
loc_lookup_source(struct loc *l, const struct ipc_addr *a, struct slice user,
    struct loc_binding **out, int max)
{
	struct ipc_addr want, have;
	struct sip_uri bu;
	int n = 0;

	if (!addr_norm(a, &want))
		return 0;
	uint64_t hv = source_key(&want, user);
	for (struct hnode *h = htable_first(&l->by_remote, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct loc_binding *b =
		    container_of(h, struct loc_binding, rnode);
		if (!addr_norm(&b->flow.remote, &have) ||
		    memcmp(&have, &want, sizeof(have)) != 0 ||
		    !contact_uri(b, &bu) || !slice_eq(bu.user, user))
			continue;
		if (n < max)
			out[n] = b;
		n++;
	}
	return n;
}

_Static_assert(LOC_S_UA == LOC_S__COUNT - 1, "the UA is not in strs: last");

static struct loc_binding *
make_binding(struct loc *l, const struct loc_binding_in *in)
{
	size_t total = 0;

	for (int i = 0; i < LOC_S__COUNT; i++) {
		if (in->s[i].len > 65535)
			return NULL;
		if (i != LOC_S_UA)
			total += (size_t)in->s[i].len + 1;
	}
	struct loc_binding *b = malloc(sizeof(*b) + total);
	if (b == NULL)
		return NULL;
	memset(b, 0, sizeof(*b));
	b->ua = ua_get(l, in->s[LOC_S_UA]);
	if (b->ua == NULL) {
		free(b);
		return NULL;
	}
	char *p = b->strs;
	for (int i = 0; i < LOC_S__COUNT; i++) {
		b->str_len[i] = (uint16_t)in->s[i].len;
		if (i == LOC_S_UA)
			continue;
		if (in->s[i].len > 0)
			memcpy(p, in->s[i].p, in->s[i].len);
		p[in->s[i].len] = '\0';
		p += in->s[i].len + 1;
	}
	b->expires_at = in->expires_at;
	b->registered_at = in->registered_at;
	b->cseq = in->cseq;
	b->reg_id = in->reg_id;
	b->q = in->q;
	b->flow = in->flow;
	return b;
}

struct loc_binding *
loc_add(struct loc *l, const struct loc_binding_in *in, bool is_restore)
{
	struct loc_binding *b = make_binding(l, in);

	if (b == NULL)
		return NULL;
	if (in->id != 0) {
		b->id = in->id;
		if (in->id >= l->next_id)
			l->next_id = in->id + 1;
	} else {
		b->id = l->next_id++;
	}
	table_insert(l, b, aor_hash(in->s[LOC_S_AOR]));
	if (!is_restore)
		mark_dirty(l, b);
	else
		b->flags |= LOC_F_STORED;
	return b;
}

static void
retire(struct loc *l, struct loc_binding *b, uint8_t why)
{
	table_remove(l, b);
	if (b->flags & LOC_F_DIRTY) {
		/* Already queued: the flush decides by the flags. A queued
		 * upsert that is now retired must not be written. */
		b->flags |= why;
		return;
	}
	if (why == LOC_F_RETIRED) {
		binding_free(l, b);
		return;
	}
	b->flags |= why;
	mark_dirty(l, b);
}

struct loc_binding *
loc_update(
    struct loc *l, struct loc_binding *b, const struct loc_binding_in *in)
{
	struct loc_binding_in copy = *in;

	copy.id = b->id;
	struct loc_binding *nb = make_binding(l, &copy);
	if (nb == NULL)
		return NULL;
	nb->id = b->id;
	nb->flags |= b->flags & LOC_F_STORED;
	retire(l, b, LOC_F_RETIRED);
	table_insert(l, nb, aor_hash(copy.s[LOC_S_AOR]));
	mark_dirty(l, nb);
	return nb;
}

void
loc_remove(struct loc *l, struct loc_binding *b)
{
	retire(l, b, LOC_F_DELETED);
}

struct expire_ctx {
	struct loc *l;
	int64_t now;
	size_t n;
};

static int
expire_cb(struct hnode *h, void *arg)
{
	struct expire_ctx *c = arg;
	struct loc_binding *b = container_of(h, struct loc_binding, node);

	if (b->expires_at <= c->now) {
		loc_remove(c->l, b);
		c->n++;
	}
	return 0;
}

size_t
loc_expire(struct loc *l, int64_t now)
{
	struct expire_ctx c = {l, now, 0};

	htable_walk(&l->ht, expire_cb, &c);
	return c.n;
}

size_t
loc_remove_aor(struct loc *l, struct slice aor, struct slice contact)
{
	struct loc_binding *v[64];
	size_t removed = 0;
	int n;

	/* Lookups are bounded, so remove in rounds until none match. */
	do {
		n = loc_lookup(l, aor, v, 64);
		int lim = n < 64 ? n : 64, hit = 0;
		for (int i = 0; i < lim; i++) {
			if (contact.len > 0 &&
			    !slice_eq(loc_slice(v[i], LOC_S_CONTACT), contact))
				continue;
			loc_remove(l, v[i]);
			removed++;
			hit++;
		}
		if (hit == 0)
			break;
	} while (n > 0);
	return removed;
}

size_t
loc_flow_closed(struct loc *l, const struct loc_flow *f)
{
	uint64_t hv = conn_hash(f->conn_id);
	size_t n = 0;
	struct hnode *h, *next;

	if (f->conn_id == 0)
		return 0;
	for (h = htable_first(&l->conns, hv); h != NULL; h = next) {
		struct loc_binding *b =
		    container_of(h, struct loc_binding, cnode);
		next = htable_next(h, hv);
		if (b->flow.conn_id != f->conn_id ||
		    b->flow.transport != f->transport ||
		    b->flow.listener != f->listener ||
		    memcmp(&b->flow.remote, &f->remote,
		        sizeof(b->flow.remote)) != 0)
			continue;
		/* Only a field changes: in place, then written behind. */
		htable_remove(&l->conns, h);
		b->flow.conn_id = 0;
		mark_dirty(l, b);
		n++;
	}
	return n;
}

size_t
loc_count(const struct loc *l)
{
	return l->ht.count;
}

size_t
loc_dirty_count(const struct loc *l)
{
	return l->ndirty;
}

struct walk_ctx {
	loc_walk_cb cb;
	void *arg;
};

static int
walk_cb(struct hnode *h, void *arg)
{
	struct walk_ctx *w = arg;

	return w->cb(container_of(h, struct loc_binding, node), w->arg);
}

void
loc_walk(struct loc *l, loc_walk_cb cb, void *arg)
{
	struct walk_ctx w = {cb, arg};

	htable_walk(&l->ht, walk_cb, &w);
}

int
loc_flush(struct loc *l, size_t max, loc_flush_cb cb, void *arg)
{
	size_t n = 0;
	struct loc_binding *b;

	for (b = l->dirty_head; b != NULL && (max == 0 || n < max);
	     b = b->dirty_next, n++) {
		if (b->flags & LOC_F_RETIRED)
			continue;
		if (cb(b, (b->flags & LOC_F_DELETED) != 0, arg) < 0)
			return -1;
	}
	struct loc_binding *stop = b;
	b = l->dirty_head;
	while (b != stop) {
		struct loc_binding *next = b->dirty_next;
		if (b->flags & (LOC_F_DELETED | LOC_F_RETIRED)) {
			binding_free(l, b);
		} else {
			b->flags &= (uint8_t)~LOC_F_DIRTY;
			b->flags |= LOC_F_STORED;
			b->dirty_next = NULL;
		}
		b = next;
	}
	l->dirty_head = stop;
	if (stop == NULL)
		l->dirty_tail = &l->dirty_head;
	l->ndirty -= n;
	return 0;
}

void
loc_flow_from_ipc(struct loc_flow *lf, const struct ipc_flow *f)
{
	memset(lf, 0, sizeof(*lf));
	lf->transport = f->transport;
	lf->role = f->role;
	lf->listener = f->listener;
	lf->conn_id = f->conn_id;
	lf->local = f->local;
	lf->remote = f->remote;
}

void
loc_flow_to_ipc(struct ipc_flow *f, const struct loc_flow *lf)
{
	memset(f, 0, sizeof(*f));
	f->transport = lf->transport;
	f->role = lf->role;
	f->listener = lf->listener;
	f->conn_id = lf->conn_id;
	f->local = lf->local;
	f->remote = lf->remote;
}
