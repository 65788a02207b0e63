/* Unit tests of sbc/acl.c (CIDR lists) and sbc/ban.c (offender list). */
#include <arpa/inet.h>
#include <string.h>

#include "acl.h"
#include "ban.h"
#include "hash.h"
#include "tap.h"

static struct ipc_addr
A(const char *text) {
	struct ipc_addr a = {0};
	if (inet_pton(AF_INET, text, a.addr) == 1)
		a.family = 4;
	else if (inet_pton(AF_INET6, text, a.addr) == 1)
		a.family = 6;
	a.port = 5060;
	return a;
}

static void
test_rule_parse(void)
{
	struct cidr r;
	CHECK_EQ_INT(cidr_parse("10.0.0.0/8", &r), 0);
	CHECK_EQ_INT(r.family, 4);
	CHECK_EQ_INT(r.prefix, 8);
	CHECK_EQ_INT(cidr_parse("10.1.2.3/8", &r), 0);
	CHECK_EQ_INT(r.addr[1], 0); /* host bits cleared */
	CHECK_EQ_INT(cidr_parse("192.0.2.1", &r), 0);
	CHECK_EQ_INT(r.prefix, 32);
	CHECK_EQ_INT(cidr_parse("2001:db8::/32", &r), 0);
	CHECK_EQ_INT(r.family, 6);
	CHECK(cidr_parse("10.0.0.0/33", &r) < 0);
	CHECK(cidr_parse("10.0.0.0/", &r) < 0);
	CHECK(cidr_parse("10.0.0/8", &r) < 0);
	CHECK(cidr_parse("/8", &r) < 0);
	CHECK(cidr_parse("2001:db8::/129", &r) < 0);
	CHECK(cidr_parse("10.0.0.0/8x", &r) < 0);
	CHECK(cidr_parse("", &r) < 0);
}

static void
test_acl_match(void)
{
	char *allow[] = {"10.0.0.0/8", "2001:db8::/32", "192.168.1.0/25"};
	char *deny[] = {"10.66.0.0/16"};
	struct acl a;
	char err[128];
	CHECK_EQ_INT(acl_init(&a, allow, 3, deny, 1, err, sizeof err), 0);
	struct ipc_addr x = A("10.1.2.3");
	CHECK(acl_permits(&a, &x));
	x = A("10.66.1.1");
	CHECK(!acl_permits(&a, &x));
	x = A("11.0.0.1");
	CHECK(!acl_permits(&a, &x));
	x = A("192.168.1.127");
	CHECK(acl_permits(&a, &x));
	x = A("192.168.1.128");
	CHECK(!acl_permits(&a, &x));
	x = A("2001:db8:1::5");
	CHECK(acl_permits(&a, &x));
	x = A("2001:db9::5");
	CHECK(!acl_permits(&a, &x));
	x = A("::ffff:10.9.9.9"); /* v4-mapped from a dual-stack socket */
	CHECK(acl_permits(&a, &x));
	x = A("::ffff:10.66.9.9");
	CHECK(!acl_permits(&a, &x));
	acl_free(&a);

	/* Empty lists let everything in; deny-only lists refuse only. */
	CHECK_EQ_INT(acl_init(&a, NULL, 0, deny, 1, err, sizeof err), 0);
	x = A("203.0.113.7");
	CHECK(acl_permits(&a, &x));
	x = A("10.66.0.1");
	CHECK(!acl_permits(&a, &x));
	acl_free(&a);
	char *bad[] = {"10.0.0.0/8", "nonsense"};
	CHECK(acl_init(&a, bad, 2, NULL, 0, err, sizeof err) < 0);
	CHECK(strstr(err, "acl_allow[1]") != NULL);
}

static struct ban_params
bparams(void)
{
	struct ban_params p = {.timeout_s = 10,
	    .max_timeout_s = 35,
	    .auth_fail_max = 3,
	    .auth_fail_window_ms = 60000,
	    .max_entries = 8};
	return p;
}

static void
test_ban_grows(void)
{
	struct ban_params p = bparams();
	struct ban *b = ban_new(&p);
	struct ipc_addr a = A("198.51.100.4");
	CHECK(!ban_is_banned(b, &a, 0));
	CHECK_EQ_INT(ban_add(b, &a, "flood", 0), 10);
	CHECK(ban_is_banned(b, &a, 9999));
	a.port = 1234; /* the port does not matter */
	CHECK(ban_is_banned(b, &a, 9999));
	CHECK(!ban_is_banned(b, &a, 10000));
	CHECK_EQ_INT(ban_add(b, &a, "flood", 20000), 20);
	CHECK_EQ_INT(ban_add(b, &a, "flood", 50000), 35); /* capped */
	CHECK_EQ_INT(ban_count_active(b, 50001), 1);
	/* Long after, the count starts over. */
	CHECK_EQ_INT(ban_add(b, &a, "scanner", 50000 + 35000 + 36000), 10);
	CHECK(ban_remove(b, &a));
	CHECK(!ban_is_banned(b, &a, 121001));
	ban_free(b);
}

static void
test_auth_fail(void)
{
	struct ban_params p = bparams();
	struct ban *b = ban_new(&p);
	struct ipc_addr a = A("2001:db8::66");
	CHECK(!ban_auth_failed(b, &a, 0));
	CHECK(!ban_auth_failed(b, &a, 1000));
	/* The window passed: counting starts again. */
	CHECK(!ban_auth_failed(b, &a, 70000));
	CHECK(!ban_auth_failed(b, &a, 70001));
	CHECK(ban_auth_failed(b, &a, 70002));
	CHECK(!ban_is_banned(b, &a, 70002)); /* the caller decides */
	ban_free(b);
}

static void
count_cb(const struct ban_info *bi, void *arg)
{
	(void)bi;
	(*(int *)arg)++;
}

static void
test_bounded_walk(void)
{
	struct ban_params p = bparams();
	struct ban *b = ban_new(&p);
	for (int i = 0; i < 100; i++) {
		struct ipc_addr a = A("203.0.113.0");
		a.addr[3] = (uint8_t)i;
		ban_add(b, &a, "scanner", 0);
	}
	int n = 0;
	ban_walk(b, 1, count_cb, &n);
	CHECK_EQ_INT(n, 8);
	ban_free(b);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_rule_parse);
	TEST_RUN(test_acl_match);
	TEST_RUN(test_ban_grows);
	TEST_RUN(test_auth_fail);
	TEST_RUN(test_bounded_walk);
	return tap_done();
}
