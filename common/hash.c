/*
 * hash: SipHash-2-4 (Aumasson & Bernstein) keyed per process, and an
 * intrusive chained table. Keys from outside pick buckets, so the hash must
 * be keyed: otherwise a peer could send thousands of Call-IDs that share a
 * bucket and turn every lookup into a list walk.
 */
#include "config.h"

#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint64_t sip_k0, sip_k1;
static bool sip_seeded;

static uint64_t
load_le64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

void
hash_seed(const uint8_t key[16])
{
	sip_k0 = load_le64(key);
	sip_k1 = load_le64(key + 8);
	sip_seeded = true;
}

void
hash_seed_random(void)
{
	uint8_t key[16];
	size_t got = 0;
	while (got < sizeof key) {
		ssize_t n = getrandom(key + got, sizeof key - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got < sizeof key) {
		/* No entropy source at all: still better than a constant. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t a = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 32;
		uint64_t b = (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&got;
		memcpy(key, &a, 8);
		memcpy(key + 8, &b, 8);
	}
	hash_seed(key);
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; \
		v1 = ROTL(v1, 13); \
		v1 ^= v0; \
		v0 = ROTL(v0, 32); \
		v2 += v3; \
		v3 = ROTL(v3, 16); \
		v3 ^= v2; \
		v0 += v3; \
		v3 = ROTL(v3, 21); \
		v3 ^= v0; \
		v2 += v1; \
		v1 = ROTL(v1, 17); \
		v1 ^= v2; \
		v2 = ROTL(v2, 32); \
	} while (0)

static inline uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static uint64_t
siphash24(const uint8_t *in, size_t len, bool nocase)
{
	if (!sip_seeded)
		hash_seed_random();
	uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ sip_k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0;
	uint64_t v3 = 0x7465646279746573ULL ^ sip_k1;
	uint8_t blk[8];
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8) {
		uint64_t m;
		if (nocase) {
			for (int j = 0; j < 8; j++)
				blk[j] = lower(in[i + (size_t)j]);
			m = load_le64(blk);
		} else {
			m = load_le64(in + i);
		}
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t j = 0; j < (len & 7); j++) {
		uint8_t c = in[full + j];
		b |= (uint64_t)(nocase ? lower(c) : c) << (8 * j);
	}
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
hash_bytes(const void *p, size_t len)
{
	return siphash24(p, len, false);
}

uint64_t
hash_bytes_nocase(const void *p, size_t len)
{
	return siphash24(p, len, true);
}

int
htable_init(struct htable *t, size_t initial_buckets)
{
	size_t n = 16;
	while (n < initial_buckets && n < ((size_t)1 << 30))
		n <<= 1;
	t->buckets = calloc(n, sizeof *t->buckets);
	t->count = 0;
	if (t->buckets == NULL) {
		t->mask = 0;
		return -1;
	}
	t->mask = n - 1;
	return 0;
}

void
htable_free(struct htable *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->mask = 0;
	t->count = 0;
}

static int
htable_grow(struct htable *t)
{
	size_t n = (t->mask + 1) * 2;
	if (n > ((size_t)1 << 31))
		return -1;
	struct hnode **nb = calloc(n, sizeof *nb);
	if (nb == NULL)
		return -1;
	for (size_t i = 0; i <= t->mask; i++) {
		struct hnode *e = t->buckets[i];
		while (e != NULL) {
			struct hnode *next = e->next;
			size_t j = e->hv & (n - 1);
			e->next = nb[j];
			nb[j] = e;
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->mask = n - 1;
	return 0;
}

int
htable_insert(struct htable *t, struct hnode *n, uint64_t hv)
{
	size_t i = hv & t->mask;
	n->hv = hv;
	n->next = t->buckets[i];
	t->buckets[i] = n;
	t->count++;
	if (t->count > t->mask + 1)
		return htable_grow(t);
	return 0;
}

void
htable_remove(struct htable *t, struct hnode *n)
{
	struct hnode **pp = &t->buckets[n->hv & t->mask];
	while (*pp != NULL) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->count--;
			return;
		}
		pp = &(*pp)->next;
	}
}

struct hnode *
htable_first(const struct htable *t, uint64_t hv)
{
	struct hnode *e = t->buckets[hv & t->mask];
	while (e != NULL && e->hv != hv)
		e = e->next;
	return e;
}

struct hnode *
htable_next(const struct hnode *n, uint64_t hv)
{
	struct hnode *e = n->next;
	while (e != NULL && e->hv != hv)
		e = e->next;
	return e;
}

void
htable_walk(struct htable *t, htable_walk_cb cb, void *arg)
{
	for (size_t i = 0; i <= t->mask && t->buckets != NULL; i++) {
		struct hnode *e = t->buckets[i];
		while (e != NULL) {
			/* Read next first: the callback may remove e. */
			struct hnode *next = e->next;
			if (cb(e, arg) != 0)
				return;
			e = next;
		}
	}
}
