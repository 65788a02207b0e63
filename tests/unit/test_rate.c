/* Unit tests of sbc/rate.c with an injected clock (plain numbers). */
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rate.h"
#include "tap.h"

static struct rate_params
params(void)
{
	struct rate_params p = {
	    .rate = {2, 5, 50},
	    .burst = {4, 10, 100},
	    .global_rate = 0,
	    .trusted_multiplier = 10,
	    .flood_drops = 5,
	    .flood_window_ms = 10000,
	    .trust_ttl_ms = 60000,
	    .max_sources = 100,
	};
	return p;
}

static struct ipc_addr
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct ipc_addr x = {.family = 4, .port = 5060};
	x.addr[0] = a;
	x.addr[1] = b;
	x.addr[2] = c;
	x.addr[3] = d;
	return x;
}

static void
test_burst_then_refill(void)
{
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	struct ipc_addr a = v4(10, 0, 0, 1);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 1000), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 1000), RATE_DROP);
	/* Other classes have their own buckets. */
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_OTHER, 1000), RATE_PASS);
	/* 2/s: one token every 500 ms, not before. */
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 1499), RATE_DROP);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 1500), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 1500), RATE_DROP);
	/* A long pause refills only up to the burst. */
	int pass = 0;
	for (int i = 0; i < 10; i++)
		pass += rate_check(r, &a, RATE_C_INVITE, 100000) == RATE_PASS;
	CHECK_EQ_INT(pass, 4);
	rate_free(r);
}

static void
test_sources_independent(void)
{
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	struct ipc_addr a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2);
	struct ipc_addr a6 = {.family = 6};
	a6.addr[15] = 1;
	for (int i = 0; i < 4; i++)
		rate_check(r, &a, RATE_C_INVITE, 0);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 0), RATE_DROP);
	CHECK_EQ_INT(rate_check(r, &b, RATE_C_INVITE, 0), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &a6, RATE_C_INVITE, 0), RATE_PASS);
	CHECK_EQ_INT(rate_count(r), 3);
	rate_free(r);
}

static void
test_flood_reported_once(void)
{
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	struct ipc_addr a = v4(192, 0, 2, 9);
	int flood = 0, drop = 0, pass = 0;
	for (int i = 0; i < 50; i++) {
		enum rate_verdict v = rate_check(r, &a, RATE_C_INVITE, 5);
		flood += v == RATE_FLOOD;
		drop += v == RATE_DROP;
		pass += v == RATE_PASS;
	}
	CHECK_EQ_INT(pass, 4);
	CHECK_EQ_INT(flood, 1);
	CHECK_EQ_INT(drop, 45);
	/* A new window may report again. */
	flood = 0;
	for (int i = 0; i < 50; i++)
		flood += rate_check(r, &a, RATE_C_INVITE, 20005) == RATE_FLOOD;
	CHECK_EQ_INT(flood, 1);
	rate_free(r);
}

static void
test_trusted_higher_limit(void)
{
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	struct ipc_addr a = v4(10, 1, 1, 1);
	rate_trust(r, &a, 0);
	CHECK(rate_is_trusted(r, &a, 1));
	/* The bucket was full at the untrusted depth; refill grows it to
	 * 10x the burst over time. */
	int pass = 0;
	for (int i = 0; i < 100; i++)
		pass += rate_check(r, &a, RATE_C_INVITE, 10000) == RATE_PASS;
	CHECK_EQ_INT(pass, 40);
	CHECK(!rate_is_trusted(r, &a, 60001));
	pass = 0;
	for (int i = 0; i < 100; i++)
		pass += rate_check(r, &a, RATE_C_INVITE, 200000) == RATE_PASS;
	CHECK_EQ_INT(pass, 4);
	rate_free(r);
}

static void
test_responses(void)
{
	/* Rate 0: responses are not limited (the class is off). */
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	struct ipc_addr a = v4(192, 0, 2, 7);
	for (int i = 0; i < 1000; i++)
		CHECK_EQ_INT(rate_check(r, &a, RATE_C_RESPONSE, 0), RATE_PASS);
	rate_free(r);
	/* Limited: a burst passes, the rest is dropped, a stray-response
	 * flood is reported like any other; the global cap (3/s) is not
	 * spent by responses and never answers them 503. */
	p.rate[RATE_C_RESPONSE] = 10;
	p.burst[RATE_C_RESPONSE] = 20;
	p.global_rate = 3;
	r = rate_new(&p);
	int pass = 0, flood = 0;
	for (int i = 0; i < 40; i++) {
		enum rate_verdict v = rate_check(r, &a, RATE_C_RESPONSE, 5);
		CHECK(v != RATE_GLOBAL);
		pass += v == RATE_PASS;
		flood += v == RATE_FLOOD;
	}
	CHECK_EQ_INT(pass, 20);
	CHECK_EQ_INT(flood, 1);
	/* The requests' global bucket is still full. */
	struct ipc_addr b = v4(192, 0, 2, 8);
	CHECK_EQ_INT(rate_check(r, &b, RATE_C_OTHER, 5), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &b, RATE_C_OTHER, 5), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &b, RATE_C_OTHER, 5), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &b, RATE_C_OTHER, 5), RATE_GLOBAL);
	/* A second later, 10 more. */
	pass = 0;
	for (int i = 0; i < 40; i++)
		pass += rate_check(r, &a, RATE_C_RESPONSE, 1005) == RATE_PASS;
	CHECK_EQ_INT(pass, 10);
	rate_free(r);
}

static void
test_global_cap(void)
{
	struct rate_params p = params();
	p.global_rate = 3;
	struct rate *r = rate_new(&p);
	int glob = 0;
	for (uint8_t i = 1; i <= 10; i++) {
		struct ipc_addr a = v4(10, 2, 0, i);
		glob += rate_check(r, &a, RATE_C_OTHER, 0) == RATE_GLOBAL;
	}
	CHECK_EQ_INT(glob, 7);
	struct ipc_addr a = v4(10, 2, 0, 1);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_OTHER, 1000), RATE_PASS);
	rate_free(r);
}

static void
test_bounded_table(void)
{
	struct rate_params p = params();
	p.max_sources = 16;
	struct rate *r = rate_new(&p);
	struct ipc_addr office = v4(10, 9, 9, 9);
	rate_trust(r, &office, 0);
	for (int i = 0; i < 1000; i++) {
		struct ipc_addr a = v4(172, 16, (uint8_t)(i >> 8), (uint8_t)i);
		rate_check(r, &a, RATE_C_OTHER, 1);
	}
	CHECK(rate_count(r) <= 16);
	CHECK(rate_is_trusted(r, &office, 2));
	rate_expire(r, 50000, 1000);
	CHECK_EQ_INT(rate_count(r), 1);
	rate_free(r);
}

static void
test_reload(void)
{
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	struct ipc_addr a = v4(10, 3, 3, 3);
	p.burst[RATE_C_INVITE] = 1;
	rate_set_params(r, &p);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 0), RATE_PASS);
	CHECK_EQ_INT(rate_check(r, &a, RATE_C_INVITE, 0), RATE_DROP);
	rate_free(r);
}

/* How many of n messages of class c from a at now pass, and whether any
 * was reported as a flood. */
static int
passes(struct rate *r, const struct ipc_addr *a, enum rate_class c, int n,
    uint64_t now, bool *flood)
{
	int pass = 0;
	for (int i = 0; i < n; i++) {
		enum rate_verdict v = rate_check(r, a, c, now);
		pass += v == RATE_PASS;
		*flood |= v == RATE_FLOOD;
	}
	return pass;
}

static void
test_exempt_rules(void)
{
	struct rate_params p = params();
	p.rate[RATE_C_RESPONSE] = 10;
	p.burst[RATE_C_RESPONSE] = 10;
	struct rate *r = rate_new(&p);
	struct cidr rules[2];
	CHECK_EQ_INT(cidr_parse("203.0.113.0/24", &rules[0]), 0);
	CHECK_EQ_INT(cidr_parse("2001:db8::5", &rules[1]), 0);
	CHECK_EQ_INT(rate_set_exempt(r, rules, 2), 0);
	struct ipc_addr carrier = v4(203, 0, 113, 7);
	struct ipc_addr other = v4(198, 51, 100, 1);
	struct ipc_addr c6;
	ipc_addr_parse(&c6, "2001:db8::5", 5060);
	struct ipc_addr mapped;
	ipc_addr_parse(&mapped, "::ffff:203.0.113.9", 5060);
	bool flood = false;
	/* 1,000 INVITEs at once against a bucket of 4: all pass, no flood. */
	CHECK_EQ_INT(passes(r, &carrier, RATE_C_INVITE, 1000, 0, &flood), 1000);
	CHECK_EQ_INT(
	    passes(r, &carrier, RATE_C_RESPONSE, 1000, 0, &flood), 1000);
	CHECK_EQ_INT(passes(r, &c6, RATE_C_INVITE, 1000, 0, &flood), 1000);
	CHECK_EQ_INT(passes(r, &mapped, RATE_C_OTHER, 1000, 0, &flood), 1000);
	CHECK(!flood);
	CHECK(rate_is_exempt(r, &carrier, 0));
	/* Another source at the same rate is still limited and reported. */
	CHECK_EQ_INT(passes(r, &other, RATE_C_INVITE, 1000, 0, &flood), 4);
	CHECK(flood);
	CHECK(!rate_is_exempt(r, &other, 0));
	/* A reload without trunks: the carrier is an ordinary source again. */
	CHECK_EQ_INT(rate_set_exempt(r, NULL, 0), 0);
	flood = false;
	CHECK_EQ_INT(passes(r, &carrier, RATE_C_INVITE, 100, 0, &flood), 4);
	CHECK(flood);
	rate_free(r);
}

/* Exempt sources still count toward (and are held to) the global cap. */
static void
test_exempt_global_cap(void)
{
	struct rate_params p = params();
	p.global_rate = 50;
	struct rate *r = rate_new(&p);
	struct cidr rule;
	CHECK_EQ_INT(cidr_parse("203.0.113.7", &rule), 0);
	CHECK_EQ_INT(rate_set_exempt(r, &rule, 1), 0);
	struct ipc_addr carrier = v4(203, 0, 113, 7);
	struct ipc_addr other = v4(198, 51, 100, 1);
	int glob = 0;
	for (int i = 0; i < 100; i++)
		glob +=
		    rate_check(r, &carrier, RATE_C_INVITE, 0) == RATE_GLOBAL;
	CHECK_EQ_INT(glob, 50);
	/* The carrier took the whole cap: others get 503s too. */
	CHECK_EQ_INT(rate_check(r, &other, RATE_C_OTHER, 0), RATE_GLOBAL);
	CHECK_EQ_INT(rate_check(r, &carrier, RATE_C_INVITE, 1000), RATE_PASS);
	rate_free(r);
}

/* A peer core resolved from a name: exempt until trust_ttl, kept through
 * address spraying and idle expiry meanwhile. */
static void
test_exempt_mark(void)
{
	struct rate_params p = params();
	p.max_sources = 16;
	struct rate *r = rate_new(&p);
	struct ipc_addr peer = v4(192, 0, 2, 50);
	rate_exempt(r, &peer, 0);
	bool flood = false;
	CHECK_EQ_INT(passes(r, &peer, RATE_C_INVITE, 500, 10, &flood), 500);
	CHECK(!flood);
	for (int i = 0; i < 1000; i++) {
		struct ipc_addr a = v4(172, 16, (uint8_t)(i >> 8), (uint8_t)i);
		rate_check(r, &a, RATE_C_OTHER, 20);
	}
	rate_expire(r, 50000, 1000);
	CHECK(rate_is_exempt(r, &peer, 50000));
	CHECK(!rate_is_trusted(r, &peer, 50000));
	CHECK_EQ_INT(passes(r, &peer, RATE_C_INVITE, 500, 50000, &flood), 500);
	CHECK(!flood);
	/* Not repeated within trust_ttl: limited again. */
	CHECK(!rate_is_exempt(r, &peer, 60001));
	CHECK_EQ_INT(passes(r, &peer, RATE_C_INVITE, 100, 60001, &flood), 4);
	rate_free(r);
}

/* The trunk sources from a configuration: ACL CIDRs and literal peers;
 * a peer by host name is left to core. */
static void
test_trunk_rules(void)
{
	char *acl1[] = {"198.51.100.0/28", "not-a-cidr"};
	struct pc_core_peer peers1[] = {
	    {.address = "203.0.113.7", .port = 5060},
	    {.address = "sip.carrier.example", .port = 5060},
	};
	struct pc_core_peer peers2[] = {{.address = "2001:db8::7"}};
	struct pc_core_trunk trunks[2];
	memset(trunks, 0, sizeof trunks);
	trunks[0].name = "a";
	trunks[0].peers = peers1;
	trunks[0].npeers = 2;
	trunks[0].inbound.acl = acl1;
	trunks[0].inbound.nacl = 2;
	trunks[1].name = "b";
	trunks[1].peers = peers2;
	trunks[1].npeers = 1;
	struct pc_core_conf cc;
	memset(&cc, 0, sizeof cc);
	cc.trunks = trunks;
	cc.ntrunks = 2;
	struct cidr *v;
	size_t n;
	CHECK_EQ_INT(acl_trunk_rules(&cc, &v, &n), 0);
	CHECK_EQ_INT((int)n, 3);
	struct rate_params p = params();
	struct rate *r = rate_new(&p);
	CHECK_EQ_INT(rate_set_exempt(r, v, n), 0);
	free(v);
	struct ipc_addr in_acl = v4(198, 51, 100, 15);
	struct ipc_addr past_acl = v4(198, 51, 100, 16);
	struct ipc_addr peer = v4(203, 0, 113, 7);
	struct ipc_addr peer6;
	ipc_addr_parse(&peer6, "2001:db8::7", 5060);
	CHECK(rate_is_exempt(r, &in_acl, 0));
	CHECK(!rate_is_exempt(r, &past_acl, 0));
	CHECK(rate_is_exempt(r, &peer, 0));
	CHECK(rate_is_exempt(r, &peer6, 0));
	rate_free(r);
	cc.ntrunks = 0;
	CHECK_EQ_INT(acl_trunk_rules(&cc, &v, &n), 0);
	CHECK(n == 0 && v == NULL);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_burst_then_refill);
	TEST_RUN(test_sources_independent);
	TEST_RUN(test_flood_reported_once);
	TEST_RUN(test_trusted_higher_limit);
	TEST_RUN(test_responses);
	TEST_RUN(test_global_cap);
	TEST_RUN(test_bounded_table);
	TEST_RUN(test_reload);
	TEST_RUN(test_exempt_rules);
	TEST_RUN(test_exempt_global_cap);
	TEST_RUN(test_exempt_mark);
	TEST_RUN(test_trunk_rules);
	return tap_done();
}
