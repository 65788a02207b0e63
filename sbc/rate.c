/*
 * Per-source rate limiting (DESIGN §3 step 2). Buckets hold tokens in
 * thousandths so that low rates refill smoothly with integer arithmetic.
 * Entries are found by a keyed hash of the address (a peer cannot aim
 * collisions) and kept on an LRU list so the table stays bounded however
 * many addresses an attacker uses.
 */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rate.h"
#include "sip_msg.h"

#define MILLI 1000u

struct bucket {
	uint64_t tokens; /* in thousandths */
	uint64_t last_ms;
};

struct rate_src {
	struct hnode node;
	struct rate_src *lru_prev, *lru_next; /* head = most recent */
	uint8_t family;
	uint8_t addr[16];
	struct bucket b[RATE_C__COUNT];
	uint64_t seen_ms;
	uint64_t trusted_until_ms;
	uint64_t exempt_until_ms;
	uint64_t flood_start_ms;
	uint32_t flood_drops;
	bool flood_reported;
};

struct rate {
	struct rate_params p;
	struct htable tab;
	struct rate_src *lru_head, *lru_tail;
	size_t count;
	struct bucket global;
	struct cidr *exempt; /* trunk sources from the configuration */
	size_t nexempt;
};

static void
lru_unlink(struct rate *r, struct rate_src *s)
{
	if (s->lru_prev != NULL)
		s->lru_prev->lru_next = s->lru_next;
	else
		r->lru_head = s->lru_next;
	if (s->lru_next != NULL)
		s->lru_next->lru_prev = s->lru_prev;
	else
		r->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
}

static void
lru_push(struct rate *r, struct rate_src *s)
{
	s->lru_prev = NULL;
	s->lru_next = r->lru_head;
	if (r->lru_head != NULL)
		r->lru_head->lru_prev = s;
	r->lru_head = s;
	if (r->lru_tail == NULL)
		r->lru_tail = s;
}

static size_t
addr_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

static uint64_t
addr_hash(const struct ipc_addr *a)
{
	uint8_t k[17];
	k[0] = a->family;
	memcpy(k + 1, a->addr, addr_len(a->family));
	return hash_bytes(k, 1 + addr_len(a->family));
}

static struct rate_src *
find(struct rate *r, const struct ipc_addr *a, uint64_t hv)
{
	for (struct hnode *n = htable_first(&r->tab, hv); n != NULL;
	     n = htable_next(n, hv)) {
		struct rate_src *s = container_of(n, struct rate_src, node);
		if (s->family == a->family &&
		    memcmp(s->addr, a->addr, addr_len(a->family)) == 0)
			return s;
	}
	return NULL;
}

static void
drop_src(struct rate *r, struct rate_src *s)
{
	htable_remove(&r->tab, &s->node);
	lru_unlink(r, s);
	r->count--;
	free(s);
}

static bool
src_kept(const struct rate_src *s, uint64_t now_ms)
{
	return s->trusted_until_ms > now_ms || s->exempt_until_ms > now_ms;
}

/* Evicts the least recently seen entry, preferring untrusted ones: an
 * attacker spraying addresses must not push out the office's trust. */
static void
evict_one(struct rate *r, uint64_t now_ms)
{
	struct rate_src *s = r->lru_tail;
	for (int i = 0; s != NULL && i < 64; i++, s = s->lru_prev) {
		if (!src_kept(s, now_ms)) {
			drop_src(r, s);
			return;
		}
	}
	if (r->lru_tail != NULL)
		drop_src(r, r->lru_tail);
}

static void
bucket_fill(struct bucket *b, uint64_t rate, uint64_t burst, uint64_t now)
{
	uint64_t cap = burst * MILLI;
	if (now > b->last_ms) {
		uint64_t add =
		    (now - b->last_ms) * rate; /* ms * tok/s = milli */
		b->tokens = b->tokens + add > cap ? cap : b->tokens + add;
		b->last_ms = now;
	}
	if (b->tokens > cap)
		b->tokens = cap;
}

static struct rate_src *
get_src(struct rate *r, const struct ipc_addr *a, uint64_t now_ms)
{
	uint64_t hv = addr_hash(a);
	struct rate_src *s = find(r, a, hv);
	if (s != NULL) {
		lru_unlink(r, s);
		lru_push(r, s);
		return s;
	}
	if (r->count >= r->p.max_sources)
		evict_one(r, now_ms);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->family = a->family;
	memcpy(s->addr, a->addr, addr_len(a->family));
	for (int c = 0; c < RATE_C__COUNT; c++) {
		s->b[c].tokens = (uint64_t)r->p.burst[c] * MILLI;
		s->b[c].last_ms = now_ms;
	}
	htable_insert(&r->tab, &s->node, hv);
	lru_push(r, s);
	r->count++;
	return s;
}

static void
params_sanitise(struct rate_params *p)
{
	if (p->trusted_multiplier == 0)
		p->trusted_multiplier = 1;
	if (p->max_sources == 0)
		p->max_sources = 1;
	for (int c = 0; c < RATE_C__COUNT; c++)
		if (p->burst[c] == 0)
			p->burst[c] = 1;
}

struct rate *
rate_new(const struct rate_params *p)
{
	struct rate *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	r->p = *p;
	params_sanitise(&r->p);
	if (htable_init(&r->tab, 1024) != 0) {
		free(r);
		return NULL;
	}
	r->global.tokens = (uint64_t)r->p.global_rate * MILLI;
	return r;
}

void
rate_free(struct rate *r)
{
	if (r == NULL)
		return;
	while (r->lru_head != NULL)
		drop_src(r, r->lru_head);
	htable_free(&r->tab);
	free(r->exempt);
	free(r);
}

void
rate_set_params(struct rate *r, const struct rate_params *p)
{
	r->p = *p;
	params_sanitise(&r->p);
	while (r->count > r->p.max_sources)
		evict_one(r, 0);
}

static bool
exempt_rule(const struct rate *r, const struct ipc_addr *src)
{
	for (size_t i = 0; i < r->nexempt; i++)
		if (acl_rule_match(&r->exempt[i], src))
			return true;
	return false;
}

/* The global cap alone: a carrier may not take all of it, but it is
 * never limited (let alone banned) as one noisy source. */
static enum rate_verdict
global_only(struct rate *r, enum rate_class c, uint64_t now_ms)
{
	if (r->p.global_rate == 0 || c == RATE_C_RESPONSE)
		return RATE_PASS;
	bucket_fill(&r->global, r->p.global_rate, r->p.global_rate, now_ms);
	if (r->global.tokens < MILLI)
		return RATE_GLOBAL;
	r->global.tokens -= MILLI;
	return RATE_PASS;
}

enum rate_verdict
rate_check(struct rate *r, const struct ipc_addr *src, enum rate_class c,
    uint64_t now_ms)
{
	if ((unsigned)c >= RATE_C__COUNT)
		c = RATE_C_OTHER;
	if (r->nexempt != 0 && exempt_rule(r, src))
		return global_only(r, c, now_ms);
	if (r->p.rate[c] == 0)
		return RATE_PASS;
	struct rate_src *s = get_src(r, src, now_ms);
	if (s == NULL)
		return c == RATE_C_RESPONSE ? RATE_DROP
		                            : RATE_GLOBAL; /* out of memory */
	s->seen_ms = now_ms;
	if (s->exempt_until_ms > now_ms)
		return global_only(r, c, now_ms);
	uint64_t mult =
	    s->trusted_until_ms > now_ms ? r->p.trusted_multiplier : 1;
	struct bucket *b = &s->b[c];
	bucket_fill(b, r->p.rate[c] * mult, r->p.burst[c] * mult, now_ms);
	if (b->tokens < MILLI) {
		if (now_ms - s->flood_start_ms >= r->p.flood_window_ms ||
		    s->flood_drops == 0) {
			s->flood_start_ms = now_ms;
			s->flood_drops = 0;
			s->flood_reported = false;
		}
		s->flood_drops++;
		if (!s->flood_reported && s->flood_drops >= r->p.flood_drops) {
			s->flood_reported = true;
			return RATE_FLOOD;
		}
		return RATE_DROP;
	}
	if (global_only(r, c, now_ms) == RATE_GLOBAL)
		return RATE_GLOBAL;
	b->tokens -= MILLI;
	return RATE_PASS;
}

void
rate_trust(struct rate *r, const struct ipc_addr *src, uint64_t now_ms)
{
	struct rate_src *s = get_src(r, src, now_ms);
	if (s == NULL)
		return;
	s->seen_ms = now_ms;
	s->trusted_until_ms = now_ms + r->p.trust_ttl_ms;
}

bool
rate_is_trusted(struct rate *r, const struct ipc_addr *src, uint64_t now_ms)
{
	struct rate_src *s = find(r, src, addr_hash(src));
	return s != NULL && s->trusted_until_ms > now_ms;
}

int
rate_set_exempt(struct rate *r, const struct cidr *rules, size_t n)
{
	struct cidr *v = NULL;
	if (n != 0) {
		v = calloc(n, sizeof *v);
		if (v == NULL)
			return -1;
		memcpy(v, rules, n * sizeof *v);
	}
	free(r->exempt);
	r->exempt = v;
	r->nexempt = n;
	return 0;
}

void
rate_exempt(struct rate *r, const struct ipc_addr *src, uint64_t now_ms)
{
	struct rate_src *s = get_src(r, src, now_ms);
	if (s == NULL)
		return;
	s->seen_ms = now_ms;
	s->exempt_until_ms = now_ms + r->p.trust_ttl_ms;
}

bool
rate_is_exempt(struct rate *r, const struct ipc_addr *src, uint64_t now_ms)
{
	if (exempt_rule(r, src))
		return true;
	struct rate_src *s = find(r, src, addr_hash(src));
	return s != NULL && s->exempt_until_ms > now_ms;
}

void
rate_expire(struct rate *r, uint64_t now_ms, uint64_t idle_ms)
{
	struct rate_src *s = r->lru_tail;
	while (s != NULL && s->seen_ms + idle_ms <= now_ms) {
		struct rate_src *prev = s->lru_prev;
		if (!src_kept(s, now_ms))
			drop_src(r, s);
		s = prev;
	}
}

size_t
rate_count(const struct rate *r)
{
	return r->count;
}

enum rate_class
rate_class_of_method(int sip_method)
{
	switch (sip_method) {
	case SIP_M_INVITE:
		return RATE_C_INVITE;
	case SIP_M_REGISTER:
		return RATE_C_REGISTER;
	default:
		return RATE_C_OTHER;
	}
}
