/* Unit tests of core/reg.c: registrar rules of RFC 3261 §10.3 and the
 * RFC 5626 instance matching. */
#include <stdio.h>
#include <string.h>

#include "core/reg.h"
#include "tap.h"

static const struct reg_limits lim = {60, 3600, 1800, 3};

static struct reg_request
req(const char *callid, uint32_t cseq, const struct reg_contact_in *c, int n)
{
	struct reg_request r;

	memset(&r, 0, sizeof(r));
	r.aor = SLICE_LIT("alice@example.com");
	r.call_id = slice_cstr(callid);
	r.cseq = cseq;
	r.expires_hdr = -1;
	r.contacts = c;
	r.ncontacts = n;
	r.now = 1000;
	return r;
}

static struct reg_contact_in
ct(const char *uri, int64_t expires)
{
	struct reg_contact_in c;

	memset(&c, 0, sizeof(c));
	c.uri = slice_cstr(uri);
	c.expires = expires;
	c.q = -1;
	return c;
}

static int
nbind(struct loc *l)
{
	struct loc_binding *v[8];

	return loc_lookup(l, SLICE_LIT("alice@example.com"), v, 8);
}

static void
test_add_refresh_remove(void)
{
	struct loc *l = loc_new();
	struct reg_result res;
	struct reg_contact_in c[2] = {
	    ct("sip:a@1.1.1.1", -1), ct("sip:a@2.2.2.2", 7200)};
	struct reg_request r = req("cid1", 1, c, 2);
	struct loc_binding *v[4];

	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	CHECK_EQ_INT(res.code, 200);
	CHECK_EQ_INT(res.added, 2);
	CHECK_EQ_INT(nbind(l), 2);
	loc_lookup(l, SLICE_LIT("alice@example.com"), v, 4);
	for (int i = 0; i < 2; i++) {
		if (strcmp(loc_str(v[i], LOC_S_CONTACT), "sip:a@1.1.1.1") == 0)
			CHECK_EQ_INT(
			    v[i]->expires_at, 1000 + 1800); /* default */
		else
			CHECK_EQ_INT(
			    v[i]->expires_at, 1000 + 3600); /* capped */
	}
	/* Same Call-ID, same CSeq: out of order, nothing changes. */
	c[0].expires = 0;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), -1);
	CHECK_EQ_INT(res.code, 500);
	CHECK_EQ_INT(nbind(l), 2);
	r.cseq = 2;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	CHECK_EQ_INT(res.removed, 1);
	CHECK_EQ_INT(res.refreshed, 1);
	CHECK_EQ_INT(nbind(l), 1);
	/* Another Call-ID with a lower CSeq may update (new UA session). */
	c[1].expires = 120;
	struct reg_request r2 = req("cid2", 1, &c[1], 1);
	CHECK_EQ_INT(reg_apply(l, &lim, &r2, &res), 0);
	loc_lookup(l, SLICE_LIT("alice@example.com"), v, 4);
	CHECK_EQ_INT(v[0]->expires_at, 1120);
	CHECK_STR(loc_str(v[0], LOC_S_CALL_ID), "cid2");
	/* A query (no Contact) changes nothing and lists what is there. */
	struct reg_request q = req("cid3", 1, NULL, 0);
	CHECK_EQ_INT(reg_apply(l, &lim, &q, &res), 0);
	char buf[512];
	CHECK(reg_format_contacts(l, SLICE_LIT("alice@example.com"), 1000, buf,
	          sizeof(buf)) > 0);
	CHECK_STR(buf, "Contact: <sip:a@2.2.2.2>;expires=120\r\n");
	loc_free(l);
}

static void
test_min_expires_and_header(void)
{
	struct loc *l = loc_new();
	struct reg_result res;
	struct reg_contact_in c = ct("sip:a@1.1.1.1", 30);
	struct reg_request r = req("cid", 1, &c, 1);

	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), -1);
	CHECK_EQ_INT(res.code, 423);
	CHECK_EQ_INT(res.min_expires, 60);
	c.expires = -1;
	r.expires_hdr = 20;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), -1);
	CHECK_EQ_INT(res.code, 423);
	r.expires_hdr = 100;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	struct loc_binding *v[2];
	loc_lookup(l, SLICE_LIT("alice@example.com"), v, 2);
	CHECK_EQ_INT(v[0]->expires_at, 1100);
	/* Expires 0 is never "too brief". */
	r.cseq = 2;
	r.expires_hdr = 0;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	CHECK_EQ_INT(nbind(l), 0);
	loc_free(l);
}

static void
test_star(void)
{
	struct loc *l = loc_new();
	struct reg_result res;
	struct reg_contact_in c[2] = {ct("sip:a@1", -1), ct("sip:a@2", -1)};
	struct reg_request r = req("cid", 5, c, 2);

	reg_apply(l, &lim, &r, &res);
	CHECK_EQ_INT(nbind(l), 2);
	struct reg_request s = req("cid", 5, NULL, 0);
	s.is_star = true;
	s.expires_hdr = 3600;
	CHECK_EQ_INT(reg_apply(l, &lim, &s, &res), -1);
	CHECK_EQ_INT(res.code, 400);
	s.expires_hdr = 0;
	CHECK_EQ_INT(reg_apply(l, &lim, &s, &res), -1); /* CSeq not higher */
	CHECK_EQ_INT(res.code, 500);
	s.cseq = 6;
	s.ncontacts = 1;
	s.contacts = c;
	CHECK_EQ_INT(reg_apply(l, &lim, &s, &res), -1); /* * with others */
	s.ncontacts = 0;
	CHECK_EQ_INT(reg_apply(l, &lim, &s, &res), 0);
	CHECK_EQ_INT(res.removed, 2);
	CHECK_EQ_INT(nbind(l), 0);
	loc_free(l);
}

static void
test_max_contacts(void)
{
	struct loc *l = loc_new();
	struct reg_result res;
	struct reg_contact_in c[4] = {ct("sip:a@1", -1), ct("sip:a@2", -1),
	    ct("sip:a@3", -1), ct("sip:a@4", -1)};
	struct reg_request r = req("cid", 1, c, 4);

	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), -1);
	CHECK_EQ_INT(res.code, 403);
	CHECK_EQ_INT(nbind(l), 0); /* atomic: nothing added */
	r.ncontacts = 3;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	/* Replacing one while adding one stays within the limit. */
	c[0].expires = 0;
	r.contacts = c;
	r.ncontacts = 4;
	r.cseq = 2;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	CHECK_EQ_INT(nbind(l), 3);
	loc_free(l);
}

static void
test_instance(void)
{
	struct loc *l = loc_new();
	struct reg_result res;
	struct reg_contact_in c = ct("sip:a@10.0.0.1:5060", -1);
	struct loc_binding *v[4];

	c.instance =
	    SLICE_LIT("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>");
	c.reg_id = 1;
	c.q = 500;
	struct reg_request r = req("cid", 1, &c, 1);
	r.flow.conn_id = 7;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	/* After a reboot the UA registers a new contact with the same
	 * instance and another Call-ID: the old binding is replaced. */
	c.uri = SLICE_LIT("sip:a@10.0.0.99:5060");
	r = req("cid-after-reboot", 1, &c, 1);
	r.flow.conn_id = 8;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	CHECK_EQ_INT(res.refreshed, 1);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("alice@example.com"), v, 4), 1);
	CHECK_STR(loc_str(v[0], LOC_S_CONTACT), "sip:a@10.0.0.99:5060");
	CHECK_EQ_INT(v[0]->flow.conn_id, 8);
	CHECK_EQ_INT(v[0]->q, 500);
	/* A second flow (reg-id 2) is another binding. */
	c.reg_id = 2;
	r.cseq = 2;
	CHECK_EQ_INT(reg_apply(l, &lim, &r, &res), 0);
	CHECK_EQ_INT(nbind(l), 2);
	char buf[1024];
	CHECK(reg_format_contacts(l, SLICE_LIT("alice@example.com"), 1000, buf,
	          sizeof(buf)) > 0);
	CHECK(strstr(buf, ";q=0.500;+sip.instance=\"<urn:uuid:") != NULL);
	CHECK(strstr(buf, ";reg-id=2") != NULL);
	loc_free(l);
}

/* reg_format_contacts writes by copies what its snprintf formats gave:
 * the same text for every q (three digits, also out of range), with
 * and without instance and reg-id, expiries past 32 bits; and -1 exactly
 * when a line and its NUL do not fit. */
static void
test_format_exact(void)
{
	const uint16_t qs[] = {0, 1, 10, 500, 999, 1000, 65535};
	const uint32_t ids[] = {0, 7, 4294967295u};
	const int64_t lefts[] = {1, 3600, 4294967295LL, 5000000000LL};
	int bad = 0, cases = 0;

	for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++)
		for (size_t ii = 0; ii < 2; ii++)
			for (size_t ri = 0; ri < 3; ri++)
				for (size_t li = 0; li < 4; li++) {
					struct loc *l = loc_new();
					struct loc_binding_in in;
					memset(&in, 0, sizeof(in));
					in.s[LOC_S_AOR] =
					    SLICE_LIT("f@example.com");
					in.s[LOC_S_CONTACT] =
					    SLICE_LIT("sip:f@192.0.2.1:5062");
					in.s[LOC_S_CALL_ID] = SLICE_LIT("cid");
					if (ii)
						in.s[LOC_S_INSTANCE] =
						    SLICE_LIT(
						        "<urn:uuid:1-2-3>");
					in.q = qs[qi];
					in.reg_id = ids[ri];
					in.expires_at = 1000 + lefts[li];
					in.registered_at = 1000;
					if (loc_add(l, &in, false) == NULL) {
						bad++;
						loc_free(l);
						continue;
					}
					char want[512], got[512];
					int k = snprintf(want, sizeof(want),
					    "Contact: <%s>;expires=%lld",
					    "sip:f@192.0.2.1:5062",
					    (long long)lefts[li]);
					if (qs[qi] != 1000)
						k += snprintf(want + k,
						    sizeof(want) - (size_t)k,
						    ";q=%u.%03u", qs[qi] / 1000,
						    qs[qi] % 1000);
					if (ii) {
						k += snprintf(want + k,
						    sizeof(want) - (size_t)k,
						    ";+sip.instance=\"%s\"",
						    "<urn:uuid:1-2-3>");
						if (ids[ri] != 0)
							k += snprintf(want + k,
							    sizeof(want) -
							        (size_t)k,
							    ";reg-id=%u",
							    ids[ri]);
					}
					k += snprintf(want + k,
					    sizeof(want) - (size_t)k, "\r\n");
					int n = reg_format_contacts(l,
					    SLICE_LIT("f@example.com"), 1000,
					    got, sizeof(got));
					if (n != k || strcmp(got, want) != 0)
						bad++;
					if (reg_format_contacts(l,
					        SLICE_LIT("f@example.com"),
					        1000, got, (size_t)k) != -1 ||
					    reg_format_contacts(l,
					        SLICE_LIT("f@example.com"),
					        1000, got, (size_t)k + 1) != k)
						bad++;
					cases++;
					loc_free(l);
				}
	CHECK_EQ_INT(cases, 7 * 2 * 3 * 4);
	CHECK_EQ_INT(bad, 0);
}

static void
test_aor(void)
{
	struct sip_uri u;
	struct sip_err err;
	char buf[64];

	CHECK_EQ_INT(sip_uri_parse(SLICE_LIT("sip:Al%69ce@Example.COM:5070;"
	                                     "transport=tcp"),
	                 &u, &err),
	    0);
	CHECK_EQ_INT(reg_make_aor(&u, buf, sizeof(buf)), 17);
	CHECK_STR(buf, "Alice@example.com");
	CHECK_EQ_INT(sip_uri_parse(SLICE_LIT("sip:example.com"), &u, &err), 0);
	CHECK_EQ_INT(reg_make_aor(&u, buf, sizeof(buf)), 11);
	CHECK_STR(buf, "example.com");
	CHECK_EQ_INT(reg_make_aor(&u, buf, 5), -1);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_add_refresh_remove);
	TEST_RUN(test_min_expires_and_header);
	TEST_RUN(test_star);
	TEST_RUN(test_max_contacts);
	TEST_RUN(test_instance);
	TEST_RUN(test_aor);
	TEST_RUN(test_format_exact);
	return tap_done();
}
