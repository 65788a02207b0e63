/*
 * Decoding of management request lines and encoding of replies: what a
 * client can send must either decode exactly or give a JSON error.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mgmt/mgmt_req.h"
#include "tap.h"

static int
decode(const char *s, struct mgmt_req *r, struct mgmt_err *e)
{
	return mgmt_req_decode(s, strlen(s), r, e);
}

static void
test_valid(void)
{
	struct mgmt_req r;
	struct mgmt_err e;
	CHECK_EQ_INT(decode("{\"cmd\":\"registrations.list\",\"args\":"
	                    "{\"aor\":\"alice@x\",\"limit\":5}}",
	                 &r, &e),
	    0);
	CHECK_STR(r.cmd, "registrations.list");
	CHECK_STR(json_string_value(json_object_get(r.args, "aor")), "alice@x");
	CHECK_EQ_INT(json_integer_value(json_object_get(r.args, "limit")), 5);
	CHECK(r.id == NULL);
	mgmt_req_free(&r);

	CHECK_EQ_INT(decode("{\"cmd\":\"status\"}", &r, &e), 0);
	CHECK(json_is_object(r.args));
	CHECK_EQ_INT(json_object_size(r.args), 0);
	mgmt_req_free(&r);

	CHECK_EQ_INT(
	    decode("{\"id\":7,\"cmd\":\"stats\",\"args\":null}", &r, &e), 0);
	CHECK_EQ_INT(json_integer_value(r.id), 7);
	mgmt_req_free(&r);
}

static void
expect_bad(const char *line, const char *code)
{
	struct mgmt_req r;
	struct mgmt_err e;
	e.code = NULL;
	CHECK_EQ_INT(mgmt_req_decode(line, strlen(line), &r, &e), -1);
	CHECK(e.code != NULL && strcmp(e.code, code) == 0);
	CHECK(strlen(e.message) > 0);
}

static void
test_invalid(void)
{
	expect_bad("", "bad_request");
	expect_bad("not json", "bad_request");
	expect_bad("[1,2]", "bad_request");
	expect_bad("{}", "bad_request");
	expect_bad("{\"cmd\":5}", "bad_request");
	expect_bad("{\"cmd\":\"\"}", "bad_request");
	expect_bad("{\"cmd\":\"Status\"}", "bad_request");
	expect_bad("{\"cmd\":\"a b\"}", "bad_request");
	expect_bad("{\"cmd\":\"status\",\"args\":[]}", "bad_request");
	expect_bad("{\"cmd\":\"status\",\"args\":\"x\"}", "bad_request");
	expect_bad("{\"cmd\":\"status\",\"extra\":1}", "bad_request");
	expect_bad("{\"cmd\":\"status\",\"cmd\":\"stats\"}", "bad_request");
	expect_bad("{\"cmd\":\"status\"} trailing", "bad_request");
	expect_bad(
	    "{\"cmd\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x\"}",
	    "bad_request");
	/* A NUL inside the line is not a terminator. */
	struct mgmt_req r;
	struct mgmt_err e;
	CHECK_EQ_INT(mgmt_req_decode("{\"cmd\":\"st\0atus\"}", 17, &r, &e), -1);
}

static void
test_replies(void)
{
	json_t *id = json_integer(3);
	char *ok = mgmt_reply_ok(json_pack("{s:i}", "n", 1), id);
	CHECK_STR(ok, "{\"ok\":true,\"result\":{\"n\":1},\"id\":3}\n");
	json_error_t jerr;
	json_t *v = json_loads(ok, 0, &jerr);
	CHECK(json_is_true(json_object_get(v, "ok")));
	CHECK_EQ_INT(json_integer_value(
	                 json_object_get(json_object_get(v, "result"), "n")),
	    1);
	CHECK_EQ_INT(json_integer_value(json_object_get(v, "id")), 3);
	CHECK(ok[strlen(ok) - 1] == '\n');
	CHECK(strchr(ok, '\n') == ok + strlen(ok) - 1);
	json_decref(v);
	free(ok);

	/* Error text from a child may be anything: still valid JSON, one
	 * line. */
	char *err = mgmt_reply_err("bad_arguments", "bad\xff\nbyte", NULL);
	CHECK(err != NULL);
	CHECK(strchr(err, '\n') == err + strlen(err) - 1);
	v = json_loads(err, 0, &jerr);
	CHECK(json_is_false(json_object_get(v, "ok")));
	json_t *e = json_object_get(v, "error");
	CHECK_STR(
	    json_string_value(json_object_get(e, "code")), "bad_arguments");
	CHECK_STR(
	    json_string_value(json_object_get(e, "message")), "bad?\nbyte");
	json_decref(v);
	free(err);

	char *er = mgmt_reply_err_result(
	    "unavailable", "core down", json_pack("{s:b}", "x", 1), NULL);
	v = json_loads(er, 0, &jerr);
	CHECK(json_is_false(json_object_get(v, "ok")));
	CHECK(json_is_true(json_object_get(json_object_get(v, "result"), "x")));
	json_decref(v);
	free(er);
	json_decref(id);
}

static void
test_json_string(void)
{
	json_t *s = mgmt_json_string("h\xc3\xa9llo", 6);
	CHECK_STR(json_string_value(s), "h\xc3\xa9llo");
	json_decref(s);
	s = mgmt_json_string("\xc3", 1); /* truncated sequence */
	CHECK_STR(json_string_value(s), "?");
	json_decref(s);
	s = mgmt_json_string("\xed\xa0\x80", 3); /* surrogate */
	CHECK_STR(json_string_value(s), "???");
	json_decref(s);
	s = mgmt_json_string("a\0b", 3);
	CHECK_EQ_INT(json_string_length(s), 3);
	CHECK(memcmp(json_string_value(s), "a?b", 3) == 0);
	json_decref(s);
}

int
main(void)
{
	TEST_RUN(test_valid);
	TEST_RUN(test_invalid);
	TEST_RUN(test_replies);
	TEST_RUN(test_json_string);
	return tap_done();
}
