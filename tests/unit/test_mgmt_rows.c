/*
 * ctl_rows <-> JSON conversion (what portcullisd shows of the children's
 * replies and sends as their arguments) and the Prometheus rendering.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mgmt/prom.h"
#include "mgmt/rows_json.h"
#include "tap.h"

static void
test_rows_to_json(void)
{
	uint8_t buf[512];
	struct ctl_rows r;
	ctl_rows_init(&r, buf, sizeof(buf));
	ctl_rows_str(&r, "aor", "alice@example.com");
	ctl_rows_u64(&r, "expires", 3600);
	ctl_rows_bool(&r, "nat", true);
	ctl_rows_end_row(&r);
	ctl_rows_str(&r, "aor", "bob@example.com");
	ctl_rows_i64(&r, "delta", -5);
	ctl_rows_u64(&r, "big", UINT64_MAX);
	ctl_rows_end_row(&r);
	CHECK(!r.overflow);

	json_t *a = rows_json_array(buf, r.len);
	CHECK(json_is_array(a));
	CHECK_EQ_INT(json_array_size(a), 2);
	json_t *r0 = json_array_get(a, 0);
	CHECK_STR(
	    json_string_value(json_object_get(r0, "aor")), "alice@example.com");
	CHECK_EQ_INT(json_integer_value(json_object_get(r0, "expires")), 3600);
	CHECK(json_is_true(json_object_get(r0, "nat")));
	json_t *r1 = json_array_get(a, 1);
	CHECK_EQ_INT(json_integer_value(json_object_get(r1, "delta")), -5);
	CHECK(json_is_real(json_object_get(r1, "big")));
	json_decref(a);

	json_t *o = rows_json_object(buf, r.len);
	CHECK_STR(
	    json_string_value(json_object_get(o, "aor")), "alice@example.com");
	json_decref(o);

	/* No rows: an empty array / object. */
	a = rows_json_array(buf, 0);
	CHECK_EQ_INT(json_array_size(a), 0);
	json_decref(a);
	o = rows_json_object(NULL, 0);
	CHECK(json_is_object(o) && json_object_size(o) == 0);
	json_decref(o);
}

static void
test_malformed(void)
{
	uint8_t buf[64];
	struct ctl_rows r;
	ctl_rows_init(&r, buf, sizeof(buf));
	ctl_rows_str(&r, "name", "value");
	ctl_rows_end_row(&r);
	/* Truncated in the middle of a field. */
	CHECK(rows_json_array(buf, 5) == NULL);
	/* An unknown type byte. */
	uint8_t bad[] = {9, 1, 1, 0, 'x', 'y'};
	CHECK(rows_json_array(bad, sizeof(bad)) == NULL);
	/* Invalid UTF-8 in a value becomes '?', never a failure. */
	ctl_rows_init(&r, buf, sizeof(buf));
	ctl_rows_strn(&r, "ua", "a\xff", 2);
	ctl_rows_end_row(&r);
	json_t *a = rows_json_array(buf, r.len);
	CHECK_STR(
	    json_string_value(json_object_get(json_array_get(a, 0), "ua")),
	    "a?");
	json_decref(a);
}

static void
test_args(void)
{
	uint8_t buf[256];
	struct ctl_rows r;
	char err[128];
	json_t *args = json_pack("{s:s, s:i, s:i, s:b, s:n}", "aor", "a@b",
	    "limit", 10, "neg", -3, "flag", 1, "skip");
	ctl_rows_init(&r, buf, sizeof(buf));
	CHECK_EQ_INT(rows_json_args(args, &r, err, sizeof(err)), 0);
	struct slice s;
	uint64_t u;
	CHECK(ctl_rows_get_str(buf, r.len, "aor", &s));
	CHECK(slice_eq_cstr(s, "a@b"));
	CHECK(ctl_rows_get_u64(buf, r.len, "limit", &u));
	CHECK_EQ_INT(u, 10);
	CHECK(!ctl_rows_get_str(buf, r.len, "skip", &s));
	/* And back. */
	json_t *back = rows_json_object(buf, r.len);
	CHECK_EQ_INT(json_integer_value(json_object_get(back, "neg")), -3);
	CHECK(json_is_true(json_object_get(back, "flag")));
	json_decref(back);
	json_decref(args);

	/* An empty name would be unreadable by the child. */
	args = json_pack("{s:i}", "", 1);
	ctl_rows_init(&r, buf, sizeof(buf));
	CHECK_EQ_INT(rows_json_args(args, &r, err, sizeof(err)), -1);
	json_decref(args);

	args = json_pack("{s:[i]}", "list", 1);
	ctl_rows_init(&r, buf, sizeof(buf));
	CHECK_EQ_INT(rows_json_args(args, &r, err, sizeof(err)), -1);
	CHECK(strstr(err, "list") != NULL);
	json_decref(args);

	/* Too large for the buffer: an error, not a truncated request. */
	char big[300];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	args = json_pack("{s:s}", "v", big);
	ctl_rows_init(&r, buf, sizeof(buf));
	CHECK_EQ_INT(rows_json_args(args, &r, err, sizeof(err)), -1);
	json_decref(args);
}

static void
test_prom(void)
{
	json_t *st = json_pack("{s:{s:{s:b, s:i}, s:{s:b, s:i}}, "
	                       "s:{s:i, s:i}, s:{s:i, s:s}, s:n}",
	    "processes", "edge", "up", 1, "restarts", 2, "core", "up", 0,
	    "restarts", 0, "edge", "sip_in_invite", 7, "drops_ratelimit", 1,
	    "core", "sip_in_invite", 3, "version", "x", "relay");
	char *t = prom_render(st);
	CHECK(t != NULL);
	CHECK(strstr(t, "portcullis_up{process=\"edge\"} 1\n") != NULL);
	CHECK(strstr(t, "portcullis_up{process=\"core\"} 0\n") != NULL);
	CHECK(strstr(t, "portcullis_restarts_total{process=\"edge\"} 2\n") !=
	    NULL);
	CHECK(strstr(t, "portcullis_sip_in_invite{process=\"edge\"} 7\n") !=
	    NULL);
	CHECK(strstr(t, "portcullis_sip_in_invite{process=\"core\"} 3\n") !=
	    NULL);
	/* One TYPE line per metric name, strings skipped. */
	const char *first = strstr(t, "# TYPE portcullis_sip_in_invite");
	CHECK(first != NULL &&
	    strstr(first + 1, "# TYPE portcullis_sip_in_invite") == NULL);
	CHECK(strstr(t, "version") == NULL);
	free(t);
	json_decref(st);
}

int
main(void)
{
	TEST_RUN(test_rows_to_json);
	TEST_RUN(test_malformed);
	TEST_RUN(test_args);
	TEST_RUN(test_prom);
	return tap_done();
}
