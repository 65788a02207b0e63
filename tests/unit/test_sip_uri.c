/* Unit tests of sip_uri.c: parsing, parameters, comparison, unescaping. */
#include "sip_msg.h"
#include "sip_uri.h"
#include "tap.h"

static struct sip_uri u;
static struct sip_err err;

static int
p(const char *s)
{
	return sip_uri_parse(slice_cstr(s), &u, &err);
}

static bool
eq(struct slice s, const char *c)
{
	return slice_eq_cstr(s, c);
}

static void
test_parse(void)
{
	CHECK_EQ_INT(p("sip:alice:secret@Example.COM:5070;transport=TCP;lr;"
	               "maddr=239.1.1.1;user=phone;ob?subject=x&priority=y"),
	    0);
	CHECK_EQ_INT(u.scheme, SIP_URI_SIP);
	CHECK(eq(u.user, "alice") && eq(u.password, "secret"));
	CHECK(eq(u.host, "Example.COM") && u.port == 5070 && !u.is_ipv6);
	CHECK(eq(u.transport, "TCP") && u.has_lr && eq(u.maddr, "239.1.1.1"));
	CHECK(eq(u.user_param, "phone") && u.ob.p != NULL && u.ob.len == 0);
	CHECK(eq(u.headers, "subject=x&priority=y"));
	CHECK(eq(u.params, "transport=TCP;lr;maddr=239.1.1.1;user=phone;ob"));

	CHECK_EQ_INT(p("sips:[2001:db8::10]:5061"), 0);
	CHECK(u.scheme == SIP_URI_SIPS && u.is_ipv6 && u.port == 5061);
	CHECK(eq(u.host, "2001:db8::10") && u.user.len == 0);
	CHECK_EQ_INT(sip_uri_port_or_default(&u), 5061);
	CHECK_EQ_INT(p("sip:[2001:db8::10:5070]"), 0);
	CHECK(u.port == 0 && eq(u.host, "2001:db8::10:5070"));
	CHECK_EQ_INT(sip_uri_port_or_default(&u), 5060);
	CHECK_EQ_INT(p("SIP:%61lice;x=%3b@h;transport=tls"), 0);
	CHECK(eq(u.user, "%61lice;x=%3b"));
	CHECK_EQ_INT(sip_uri_port_or_default(&u), 5061);
	CHECK_EQ_INT(p("sip:h"), 0);
	CHECK(eq(u.host, "h") && u.params.len == 0);
	CHECK_EQ_INT(p("tel:+1-201-555-0123;phone-context=example.com"), 0);
	CHECK(u.scheme == SIP_URI_TEL && eq(u.host, "+1-201-555-0123"));
	struct slice v;
	CHECK(sip_uri_param(&u, "Phone-Context", &v) && eq(v, "example.com"));
	CHECK(!sip_uri_param(&u, "phone", &v));
}

static void
test_bad(void)
{
	const char *bad[] = {"sip:", "sip:@h", "sip:a@", "sip:2001:db8::1",
	    "sip:[2001:db8::1", "sip:[::1]x", "sip:[1.2.3.4]", "sip:h:99999",
	    "sip:h:", "sip:a%zz@h", "sip:a b@h", "sip:h;a b", "sip:h:5060x",
	    "tel:", "sip:-h", "noscheme", ":x", "sip:h;=x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = p(bad[i]);
		if (rc != -1)
			tap_check(false, bad[i], __FILE__, __LINE__);
		CHECK(err.code == SIP_E_BAD_REQUEST && err.phrase != NULL);
	}
	CHECK_EQ_INT(p("sip:[2001:db8::1"), -1);
	CHECK_STR(err.phrase, "Bad IPv6 reference");
	CHECK_EQ_INT(p("mailto:a@b"), -1);
	CHECK_EQ_INT(err.code, SIP_E_UNSUPPORTED_URI);
}

static bool
ueq(const char *a, const char *b)
{
	struct sip_uri ua, ub;
	struct sip_err e;
	if (sip_uri_parse(slice_cstr(a), &ua, &e) < 0 ||
	    sip_uri_parse(slice_cstr(b), &ub, &e) < 0)
		return false;
	bool r1 = sip_uri_equal(&ua, &ub), r2 = sip_uri_equal(&ub, &ua);
	CHECK(r1 == r2);
	return r1;
}

static void
test_equal(void)
{
	/* RFC 3261 §19.1.4 examples. */
	CHECK(ueq("sip:%61lice@atlanta.com;transport=TCP",
	    "sip:alice@AtLanTa.CoM;Transport=tcp"));
	CHECK(ueq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
	CHECK(ueq("sip:carol@chicago.com;security=on",
	    "sip:carol@chicago.com;newparam=5"));
	CHECK(ueq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%"
	          "40biloxi.com",
	    "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi."
	    "com"));
	CHECK(ueq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
	    "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
	CHECK(!ueq("SIP:ALICE@AtLanTa.CoM;Transport=udp",
	    "sip:alice@AtLanTa.CoM;Transport=UDP"));
	CHECK(!ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
	CHECK(!ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
	CHECK(!ueq("sip:bob@biloxi.com", "sips:bob@biloxi.com"));
	CHECK(!ueq("sip:carol@chicago.com;security=on",
	    "sip:carol@chicago.com;security=off"));
	CHECK(!ueq("sip:carol@chicago.com",
	    "sip:carol@chicago.com?Subject=next%20meeting"));
	CHECK(ueq("sip:[2001:db8::1]", "sip:[2001:DB8:0::1]"));
	CHECK(ueq("tel:+1-201-555-0123", "tel:+12015550123"));
}

static void
test_unescape(void)
{
	char buf[8];
	CHECK_EQ_INT(
	    sip_uri_unescape(SLICE_LIT("%41b%3B"), buf, sizeof buf), 3);
	CHECK_STR(buf, "Ab;");
	CHECK_EQ_INT(sip_uri_unescape(SLICE_LIT("%4"), buf, sizeof buf), -1);
	CHECK_EQ_INT(sip_uri_unescape(SLICE_LIT("%g1"), buf, sizeof buf), -1);
	CHECK_EQ_INT(
	    sip_uri_unescape(SLICE_LIT("12345678"), buf, sizeof buf), -1);
	CHECK_EQ_INT(
	    sip_uri_unescape(SLICE_LIT("1234567"), buf, sizeof buf), 7);
}

static void
test_params(void)
{
	struct slice v;
	struct slice ps = SLICE_LIT("a=1; B = \"x;y\" ;flag;c=");
	CHECK(sip_param_find(ps, "b", &v) && eq(v, "\"x;y\""));
	CHECK(sip_param_find(ps, "flag", &v) && v.len == 0);
	CHECK(sip_param_find(ps, "c", &v) && v.len == 0);
	CHECK(!sip_param_find(ps, "fla", &v));
	CHECK(!sip_param_find(SLICE_NULL, "a", &v));
	struct slice host;
	uint16_t port;
	bool v6;
	CHECK(sip_hostport_parse(SLICE_LIT("[::1]:5"), &host, &port, &v6) &&
	    v6 && port == 5 && eq(host, "::1"));
	CHECK(!sip_hostport_parse(SLICE_LIT("[::1]5"), &host, &port, &v6));
	CHECK(sip_host_is_ipv6(SLICE_LIT("::ffff:1.2.3.4")));
	CHECK(!sip_host_is_ipv6(SLICE_LIT("1.2.3.4")));
}

int
main(void)
{
	TEST_RUN(test_parse);
	TEST_RUN(test_bad);
	TEST_RUN(test_equal);
	TEST_RUN(test_unescape);
	TEST_RUN(test_params);
	return tap_done();
}
