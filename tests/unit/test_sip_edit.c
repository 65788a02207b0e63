/* Unit tests of sip_edit.c: edit operations, rendering, responses and
 * random tokens. Every rendered message is parsed back. */
#include <stdio.h>

#include "sip_edit.h"
#include "tap.h"

static struct arena ar;

static const char req[] = "INVITE sip:bob@example.com SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n"
                          "Route: <sip:p1;lr>\r\n"
                          "Route: <sip:p2;lr>\r\n"
                          "Max-Forwards: 70\r\n"
                          "f: <sip:alice@example.com>;tag=88\r\n"
                          "To: Bob\r\n <sip:bob@example.com>\r\n"
                          "Call-ID: abc@h\r\n"
                          "CSeq: 7 INVITE\r\n"
                          "Timestamp: 54\r\n"
                          "Content-Type: application/sdp\r\n"
                          "l: 5\r\n"
                          "\r\n"
                          "v=0\r\n";

static void
parse_req(struct sip_msg *m)
{
	struct sip_err err;
	CHECK_EQ_INT(sip_msg_parse(m, req, sizeof req - 1, &ar, &err), 0);
}

static void
test_edit(void)
{
	struct sip_msg m, m2;
	struct sip_err err;
	parse_req(&m);
	struct sip_edit e;
	sip_edit_init(&e, &m, &ar);
	CHECK_EQ_INT(sip_edit_prepend(&e, "Via",
	                 SLICE_LIT("SIP/2.0/UDP edge;branch=z9hG4bKe")),
	    0);
	CHECK_EQ_INT(
	    sip_edit_prepend(&e, "Record-Route", SLICE_LIT("<sip:edge;lr>")),
	    0);
	CHECK_EQ_INT(sip_edit_remove(&e, (uint16_t)m.first[SIP_HDR_ROUTE]), 0);
	CHECK_EQ_INT(
	    sip_edit_replace(
	        &e, (uint16_t)m.first[SIP_HDR_MAX_FORWARDS], SLICE_LIT("69")),
	    0);
	CHECK_EQ_INT(sip_edit_insert_before(&e, (uint16_t)m.first[SIP_HDR_CSEQ],
	                 "X-A", SLICE_LIT("1")),
	    0);
	CHECK_EQ_INT(sip_edit_append(&e, "X-B", SLICE_LIT("2")), 0);
	CHECK_EQ_INT(
	    sip_edit_set_ruri(&e, SLICE_LIT("sip:bob@10.0.0.2:5062")), 0);
	CHECK_EQ_INT(sip_edit_set_body(&e, SLICE_LIT("v=0\r\no=x\r\n"),
	                 SLICE_LIT("application/sdp")),
	    0);
	struct slice out = sip_edit_render(&e);
	CHECK(out.len > 0);
	CHECK_EQ_INT(sip_msg_parse(&m2, out.p, out.len, &ar, &err), 0);
	CHECK_EQ_INT(sip_msg_validate(&m2, &err), 0);
	CHECK(slice_eq_cstr(m2.ruri.host, "10.0.0.2") && m2.ruri.port == 5062);
	CHECK_EQ_INT(m2.first[SIP_HDR_RECORD_ROUTE], 0);
	CHECK_EQ_INT(m2.first[SIP_HDR_VIA], 1);
	const struct sip_via *v;
	CHECK_EQ_INT(sip_msg_vias(&m2, &v, &err), 2);
	CHECK(slice_eq_cstr(v[0].host, "edge"));
	const struct sip_nameaddr *r;
	CHECK_EQ_INT(sip_msg_routes(&m2, &r, &err), 1);
	CHECK(slice_eq_cstr(r[0].uri.host, "p2"));
	CHECK_EQ_INT(sip_msg_max_forwards(&m2, &err), 69);
	CHECK(slice_eq_cstr(m2.body, "v=0\r\no=x\r\n"));
	CHECK_EQ_INT(sip_msg_content_length(&m2, &err), 10);
	int xa = sip_msg_hdr_by_name(&m2, "X-A") - m2.hdrs;
	CHECK_EQ_INT(xa + 1, m2.first[SIP_HDR_CSEQ]);
	CHECK(sip_msg_hdr_by_name(&m2, "X-B") == &m2.hdrs[m2.nhdrs - 1] ||
	    sip_msg_hdr_by_name(&m2, "X-B") == &m2.hdrs[m2.nhdrs - 2]);
	const struct sip_nameaddr *to = sip_msg_to(&m2, &err);
	CHECK(to != NULL && slice_eq_cstr(to->display, "Bob"));

	/* Body removed: Content-Type goes, Content-Length is 0. */
	sip_edit_init(&e, &m, &ar);
	sip_edit_remove_all(&e, SIP_HDR_ROUTE);
	sip_edit_set_body(&e, SLICE_NULL, SLICE_NULL);
	out = sip_edit_render(&e);
	CHECK_EQ_INT(sip_msg_parse(&m2, out.p, out.len, &ar, &err), 0);
	CHECK(
	    m2.first[SIP_HDR_CONTENT_TYPE] < 0 && m2.first[SIP_HDR_ROUTE] < 0);
	CHECK_EQ_INT(sip_msg_content_length(&m2, &err), 0);
	CHECK_EQ_INT(sip_msg_validate(&m2, &err), 0);

	/* No edits: the same message (Content-Length rewritten long). */
	sip_edit_init(&e, &m, &ar);
	out = sip_edit_render(&e);
	CHECK_EQ_INT(sip_msg_parse(&m2, out.p, out.len, &ar, &err), 0);
	CHECK(slice_eq(m2.body, m.body) && m2.nhdrs == m.nhdrs);

	/* Header injection and bad indexes are refused. */
	sip_edit_init(&e, &m, &ar);
	CHECK_EQ_INT(sip_edit_append(&e, "X", SLICE_LIT("a\r\nVia: evil")), -1);
	CHECK(sip_edit_render(&e).len == 0);
	sip_edit_init(&e, &m, &ar);
	CHECK_EQ_INT(sip_edit_remove(&e, 500), -1);
	sip_edit_init(&e, &m, &ar);
	for (int i = 0; i < SIP_EDIT_MAX_OPS; i++)
		CHECK_EQ_INT(sip_edit_append(&e, "X-N", SLICE_LIT("v")), 0);
	CHECK_EQ_INT(sip_edit_append(&e, "X-N", SLICE_LIT("v")), -1);
	CHECK(sip_edit_render(&e).len == 0);
}

static void
test_response(void)
{
	struct sip_msg m, r;
	struct sip_err err;
	parse_req(&m);
	struct slice out = sip_build_response(&m, 180, NULL, SLICE_LIT("tt1"),
	    SLICE_LIT("Contact: <sip:b@h>\r\n"), &ar);
	CHECK(out.len > 0);
	CHECK_EQ_INT(sip_msg_parse(&r, out.p, out.len, &ar, &err), 0);
	CHECK(!r.is_request && r.status == 180);
	CHECK(slice_eq_cstr(r.reason, "Ringing"));
	CHECK_EQ_INT(sip_msg_validate(&r, &err), 0);
	const struct sip_nameaddr *to = sip_msg_to(&r, &err);
	CHECK(to != NULL && slice_eq_cstr(to->tag, "tt1"));
	const struct sip_nameaddr *from = sip_msg_from(&r, &err);
	CHECK(from != NULL && slice_eq_cstr(from->tag, "88"));
	const struct sip_cseq *cs = sip_msg_cseq(&r, &err);
	CHECK(cs != NULL && cs->num == 7 && cs->method == SIP_M_INVITE);
	CHECK(r.first[SIP_HDR_ROUTE] < 0 && r.first[SIP_HDR_CONTACT] >= 0);
	CHECK(r.first[SIP_HDR_TIMESTAMP] < 0);
	CHECK_EQ_INT(sip_msg_content_length(&r, &err), 0);

	out = sip_build_response(
	    &m, 100, "Trying", SLICE_LIT("x"), SLICE_NULL, &ar);
	CHECK_EQ_INT(sip_msg_parse(&r, out.p, out.len, &ar, &err), 0);
	to = sip_msg_to(&r, &err);
	CHECK(to != NULL && to->tag.len == 0);
	CHECK(r.first[SIP_HDR_TIMESTAMP] >= 0);

	out = sip_build_response(
	    &m, 400, "Missing Call-ID", SLICE_NULL, SLICE_NULL, &ar);
	CHECK(out.len > 0 &&
	    memcmp(out.p, "SIP/2.0 400 Missing Call-ID\r\n", 29) == 0);
	CHECK(
	    sip_build_response(&m, 99, NULL, SLICE_NULL, SLICE_NULL, &ar).len ==
	    0);
	CHECK(sip_build_response(&m, 400, "a\r\nb", SLICE_NULL, SLICE_NULL, &ar)
	          .len == 0);
	CHECK(sip_build_response(&r, 400, NULL, SLICE_NULL, SLICE_NULL, &ar)
	          .len == 0);
}

static void
test_token(void)
{
	char a[33] = {0}, b[33] = {0};
	sip_random_token(a, 32);
	sip_random_token(b, 32);
	CHECK(strlen(a) == 32 && strcmp(a, b) != 0);
	for (int i = 0; i < 32; i++)
		CHECK((a[i] >= 'a' && a[i] <= 'z') ||
		    (a[i] >= 'A' && a[i] <= 'Z') ||
		    (a[i] >= '0' && a[i] <= '9'));
	char one[2] = {0, 'Z'};
	sip_random_token(one, 1);
	CHECK(one[0] != 0 && one[1] == 'Z');
}

int
main(void)
{
	arena_init(&ar, 4096, 1 << 20);
	TEST_RUN(test_edit);
	TEST_RUN(test_response);
	TEST_RUN(test_token);
	arena_free(&ar);
	return tap_done();
}
