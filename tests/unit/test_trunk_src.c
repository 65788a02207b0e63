/*
 * Unit tests of core/trunk_src.c: the index answers exactly as a walk over
 * the trunks in order (peers first, then inbound ACLs) on random trunk
 * sets whose peers and ACLs overlap, IPv4 and IPv6, prefixes of every
 * length, entries that do not parse; and the rules one by one.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/trunk.h"
#include "core/trunk_src.h"
#include "tap.h"

#define NT 12

static struct trunk trunks[NT];
static struct pc_core_trunk confs[NT];
static struct trunk *v[NT];
static char *acls[NT][4];

static void
addr_of(struct ipc_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	a->family = strchr(text, ':') ? 6 : 4;
	if (inet_pton(a->family == 6 ? AF_INET6 : AF_INET, text, a->addr) != 1)
		abort();
}

/* The walk trunk_src replaces, bit by bit. */
static bool
walk_cidr(const char *cidr, const struct ipc_addr *a)
{
	char buf[64];
	uint8_t net[16] = {0};
	const char *slash = strchr(cidr, '/');
	size_t hl = slash ? (size_t)(slash - cidr) : strlen(cidr);
	if (hl >= sizeof(buf))
		return false;
	memcpy(buf, cidr, hl);
	buf[hl] = '\0';
	int fam = strchr(buf, ':') ? 6 : 4;
	if (fam != a->family ||
	    inet_pton(fam == 6 ? AF_INET6 : AF_INET, buf, net) != 1)
		return false;
	int bits = fam == 6 ? 128 : 32;
	int plen = slash ? atoi(slash + 1) : bits;
	if (plen < 0 || plen > bits)
		return false;
	for (int i = 0; i < plen; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if ((net[i / 8] & m) != (a->addr[i / 8] & m))
			return false;
	}
	return true;
}

static struct trunk *
walk(int n, const struct ipc_addr *a)
{
	for (int k = 0; k < n; k++)
		for (int i = 0; i < v[k]->npeers; i++) {
			const struct ipc_addr *p = &v[k]->peers[i].flow.remote;
			if (p->family != 0 && p->family == a->family &&
			    memcmp(p->addr, a->addr, 16) == 0)
				return v[k];
		}
	for (int k = 0; k < n; k++)
		for (size_t i = 0; i < v[k]->cf->inbound.nacl; i++)
			if (walk_cidr(v[k]->cf->inbound.acl[i], a))
				return v[k];
	return NULL;
}

static const char *const pool[] = {"192.0.2.1", "192.0.2.2", "192.0.2.130",
    "198.51.100.7", "10.0.0.1", "10.1.2.3", "2001:db8::1", "2001:db8::2",
    "2001:db8:1::5", "fe80::1", "0.0.0.0", "255.255.255.255"};
#define NPOOL (sizeof(pool) / sizeof(pool[0]))

static void
random_set(int n, unsigned *seed)
{
	for (int k = 0; k < n; k++) {
		struct trunk *t = &trunks[k];
		memset(t, 0, sizeof(*t));
		memset(&confs[k], 0, sizeof(confs[k]));
		t->cf = &confs[k];
		t->npeers = rand_r(seed) % 4;
		for (int i = 0; i < t->npeers; i++) {
			if (rand_r(seed) % 6 == 0)
				continue; /* unresolved: family 0 */
			addr_of(&t->peers[i].flow.remote,
			    pool[rand_r(seed) % NPOOL]);
			t->peers[i].flow.remote.port = (uint16_t)rand_r(seed);
		}
		confs[k].inbound.nacl = (size_t)(rand_r(seed) % 4);
		confs[k].inbound.acl = acls[k];
		for (size_t i = 0; i < confs[k].inbound.nacl; i++) {
			const char *base = pool[rand_r(seed) % NPOOL];
			int bits = strchr(base, ':') ? 128 : 32;
			int r = rand_r(seed) % 10;
			if (r == 0)
				snprintf(acls[k][i], 64, "%s", base);
			else if (r == 1)
				snprintf(acls[k][i], 64, "%s/%d", base,
				    bits + 1); /* does not parse */
			else if (r == 2)
				snprintf(acls[k][i], 64, "not-an-address/8");
			else
				snprintf(acls[k][i], 64, "%s/%d", base,
				    rand_r(seed) % (bits + 1));
		}
		v[k] = t;
	}
}

static void
test_same_as_walk(void)
{
	unsigned seed = 12345;
	int mismatches = 0, found = 0, queries = 0;

	for (int k = 0; k < NT; k++)
		for (int i = 0; i < 4; i++)
			acls[k][i] = malloc(64);
	for (int round = 0; round < 2000; round++) {
		int n = 1 + rand_r(&seed) % NT;
		random_set(n, &seed);
		struct trunk_src *s = trunk_src_build(v, n);
		CHECK(s != NULL);
		if (s == NULL)
			break;
		for (int q = 0; q < 40; q++) {
			struct ipc_addr a;
			addr_of(&a, pool[rand_r(&seed) % NPOOL]);
			if (q % 4 == 0) /* a neighbour of a pool address */
				a.addr[a.family == 6 ? 15 : 3] ^=
				    (uint8_t)(1u << (rand_r(&seed) % 8));
			struct trunk *want = walk(n, &a),
			             *got = trunk_src_find(s, &a);
			queries++;
			found += want != NULL;
			if (want != got && mismatches++ < 5)
				printf("# round %d: want trunk %ld, got %ld\n",
				    round, want ? (long)(want - trunks) : -1L,
				    got ? (long)(got - trunks) : -1L);
		}
		trunk_src_free(s);
	}
	printf("# %d queries, %d in some trunk, %d mismatches\n", queries,
	    found, mismatches);
	CHECK_EQ_INT(mismatches, 0);
	/* The sets must have exercised both answers. */
	CHECK(found > queries / 10 && found < queries - queries / 10);
	for (int k = 0; k < NT; k++)
		for (int i = 0; i < 4; i++)
			free(acls[k][i]);
}

static void
test_rules(void)
{
	struct ipc_addr a;
	char *acl0[] = {"192.0.2.0/24"}, *acl1[] = {"2001:db8::/32"};

	memset(trunks, 0, sizeof(trunks));
	memset(confs, 0, sizeof(confs));
	for (int k = 0; k < 3; k++) {
		trunks[k].cf = &confs[k];
		v[k] = &trunks[k];
	}
	/* Trunk 0: an ACL over trunk 1's peer; trunk 2 has the same peer. */
	confs[0].inbound.acl = acl0;
	confs[0].inbound.nacl = 1;
	trunks[1].npeers = 1;
	addr_of(&trunks[1].peers[0].flow.remote, "192.0.2.9");
	trunks[2].npeers = 1;
	addr_of(&trunks[2].peers[0].flow.remote, "192.0.2.9");
	confs[2].inbound.acl = acl1;
	confs[2].inbound.nacl = 1;
	struct trunk_src *s = trunk_src_build(v, 3);
	CHECK(s != NULL);
	addr_of(&a, "192.0.2.9");
	a.port = 5099;
	CHECK(trunk_src_find(s, &a) == &trunks[1]); /* peer before ACL */
	addr_of(&a, "192.0.2.10");
	CHECK(trunk_src_find(s, &a) == &trunks[0]);
	addr_of(&a, "2001:db8:ffff::1");
	CHECK(trunk_src_find(s, &a) == &trunks[2]);
	addr_of(&a, "2001:db9::1");
	CHECK(trunk_src_find(s, &a) == NULL);
	addr_of(&a, "192.0.3.1");
	CHECK(trunk_src_find(s, &a) == NULL);
	trunk_src_free(s);
	/* No trunks at all. */
	s = trunk_src_build(v, 0);
	CHECK(s != NULL && trunk_src_find(s, &a) == NULL);
	trunk_src_free(s);
}

int
main(void)
{
	TEST_RUN(test_rules);
	TEST_RUN(test_same_as_walk);
	return tap_done();
}
