#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "trunk.h"
#include "trunk_src.h"

struct src_peer {
	uint8_t family;
	uint8_t addr[16];
	int order; /* the trunk's place: the first one wins */
	struct trunk *t;
};

struct src_net {
	struct cidr block;
	struct trunk *t;
};

struct trunk_src {
	struct src_peer *peers;
	int npeers;
	struct src_net *nets; /* in trunk order, each trunk's in its order */
	int nnets;
};

static int
key_cmp(uint8_t fa, const uint8_t *aa, uint8_t fb, const uint8_t *ab)
{
	if (fa != fb)
		return fa < fb ? -1 : 1;
	return memcmp(aa, ab, 16);
}

static int
peer_cmp(const void *x, const void *y)
{
	const struct src_peer *a = x, *b = y;
	int c = key_cmp(a->family, a->addr, b->family, b->addr);

	if (c != 0)
		return c;
	return (a->order > b->order) - (a->order < b->order);
}

struct trunk_src *
trunk_src_build(struct trunk *const *v, int n)
{
	struct trunk_src *s = calloc(1, sizeof(*s));
	size_t np = 0, nn = 0;

	if (s == NULL)
		return NULL;
	for (int k = 0; k < n; k++) {
		np += (size_t)v[k]->npeers;
		nn += v[k]->cf->inbound.nacl;
	}
	s->peers = calloc(np ? np : 1, sizeof(*s->peers));
	s->nets = calloc(nn ? nn : 1, sizeof(*s->nets));
	if (s->peers == NULL || s->nets == NULL) {
		trunk_src_free(s);
		return NULL;
	}
	for (int k = 0; k < n; k++) {
		struct trunk *t = v[k];
		for (int i = 0; i < t->npeers; i++) {
			const struct ipc_addr *a = &t->peers[i].flow.remote;
			if (a->family == 0)
				continue; /* a name that did not resolve */
			struct src_peer *p = &s->peers[s->npeers++];
			p->family = a->family;
			memcpy(p->addr, a->addr, 16);
			p->order = k;
			p->t = t;
		}
		for (size_t i = 0; i < t->cf->inbound.nacl; i++) {
			/* An entry that does not parse holds nothing (config
			 * loading refuses such entries anyway). */
			struct src_net *m = &s->nets[s->nnets];
			if (cidr_parse(t->cf->inbound.acl[i], &m->block) == 0) {
				m->t = t;
				s->nnets++;
			}
		}
	}
	qsort(s->peers, (size_t)s->npeers, sizeof(*s->peers), peer_cmp);
	return s;
}

void
trunk_src_free(struct trunk_src *s)
{
	if (s == NULL)
		return;
	free(s->peers);
	free(s->nets);
	free(s);
}

struct trunk *
trunk_src_find(const struct trunk_src *s, const struct ipc_addr *a)
{
	int lo = 0, hi = s->npeers;

	/* The first entry not below a: the lowest trunk order among equals. */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		const struct src_peer *p = &s->peers[mid];
		if (key_cmp(p->family, p->addr, a->family, a->addr) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->npeers &&
	    key_cmp(s->peers[lo].family, s->peers[lo].addr, a->family,
	        a->addr) == 0)
		return s->peers[lo].t;
	for (int i = 0; i < s->nnets; i++)
		if (cidr_holds(&s->nets[i].block, a))
			return s->nets[i].t;
	return NULL;
}
