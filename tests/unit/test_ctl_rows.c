/* Unit tests of ctl_rows: building, reading back, and rejecting
 * malformed buffers. */
#include "config.h"

#include <string.h>

#include "ctl_rows.h"
#include "tap.h"

static void
test_roundtrip(void)
{
	uint8_t buf[512];
	struct ctl_rows r;
	ctl_rows_init(&r, buf, sizeof buf);
	ctl_rows_str(&r, "aor", "alice@example.com");
	ctl_rows_u64(&r, "expires", 3600);
	ctl_rows_i64(&r, "delta", -42);
	ctl_rows_bool(&r, "kernel", true);
	ctl_rows_strn(&r, "raw", "a\0b", 3);
	ctl_rows_end_row(&r);
	ctl_rows_str(&r, "aor", "bob@example.com");
	ctl_rows_end_row(&r);
	CHECK(!r.overflow);

	struct ctl_reader rd;
	struct ctl_field f;
	ctl_reader_init(&rd, buf, r.len);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK_EQ_INT(f.type, CTL_T_STR);
	CHECK(slice_eq_cstr(f.name, "aor"));
	CHECK(slice_eq_cstr(f.str, "alice@example.com"));
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK(f.type == CTL_T_U64 && f.u64 == 3600);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK(f.type == CTL_T_I64 && f.i64 == -42);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK(f.type == CTL_T_BOOL && f.u64 == 1);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK(f.str.len == 3 && memcmp(f.str.p, "a\0b", 3) == 0);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK_EQ_INT(f.type, CTL_T_END);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK(slice_eq_cstr(f.str, "bob@example.com"));
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 1);
	CHECK_EQ_INT(f.type, CTL_T_END);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), 0);

	/* Wire form: little-endian lengths and numbers. */
	CHECK_EQ_INT(buf[0], CTL_T_STR);
	CHECK_EQ_INT(buf[1], 3);
	CHECK_EQ_INT(buf[2], 17);
	CHECK_EQ_INT(buf[3], 0);

	struct slice s;
	uint64_t u;
	CHECK(ctl_rows_get_str(buf, r.len, "aor", &s));
	CHECK(slice_eq_cstr(s, "alice@example.com"));
	CHECK(ctl_rows_get_u64(buf, r.len, "expires", &u) && u == 3600);
	CHECK(ctl_rows_get_u64(buf, r.len, "kernel", &u) && u == 1);
	CHECK(!ctl_rows_get_u64(buf, r.len, "delta", &u));
	CHECK(!ctl_rows_get_u64(buf, r.len, "aor", &u));
	CHECK(!ctl_rows_get_str(buf, r.len, "expires", &s));
	CHECK(!ctl_rows_get_str(buf, r.len, "missing", &s));
	CHECK(!ctl_rows_get_str(NULL, 0, "aor", &s));
}

static void
test_overflow(void)
{
	uint8_t buf[20];
	struct ctl_rows r;
	ctl_rows_init(&r, buf, sizeof buf);
	ctl_rows_u64(&r, "a", 1); /* 13 bytes */
	CHECK(!r.overflow);
	ctl_rows_u64(&r, "b", 2); /* does not fit */
	CHECK(r.overflow);
	size_t len = r.len;
	ctl_rows_end_row(&r); /* would fit, but the builder stopped */
	CHECK_EQ_INT(r.len, len);
	CHECK_EQ_INT(len, 13);

	char big[70000];
	memset(big, 'x', sizeof big);
	uint8_t b2[100000];
	ctl_rows_init(&r, b2, sizeof b2);
	ctl_rows_strn(&r, "big", big, sizeof big);
	CHECK(r.overflow);
	ctl_rows_init(&r, b2, sizeof b2);
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	ctl_rows_u64(&r, longname, 1);
	CHECK(r.overflow);
}

static int
read_all(const uint8_t *b, size_t n)
{
	struct ctl_reader rd;
	struct ctl_field f;
	int rc;
	ctl_reader_init(&rd, b, n);
	while ((rc = ctl_reader_next(&rd, &f)) == 1)
		;
	return rc;
}

static void
test_malformed(void)
{
	/* Truncated header, truncated value, bad lengths, unknown type. */
	const uint8_t t1[] = {1, 1};
	CHECK_EQ_INT(read_all(t1, sizeof t1), -1);
	const uint8_t t2[] = {1, 1, 5, 0, 'a', 'x'};
	CHECK_EQ_INT(read_all(t2, sizeof t2), -1);
	const uint8_t t3[] = {2, 1, 4, 0, 'a', 1, 2, 3, 4};
	CHECK_EQ_INT(read_all(t3, sizeof t3), -1);
	const uint8_t t4[] = {9, 1, 0, 0, 'a'};
	CHECK_EQ_INT(read_all(t4, sizeof t4), -1);
	const uint8_t t5[] = {0, 1, 0, 0, 'a'};
	CHECK_EQ_INT(read_all(t5, sizeof t5), -1);
	const uint8_t t6[] = {4, 1, 1, 0, 'a', 2};
	CHECK_EQ_INT(read_all(t6, sizeof t6), -1);
	const uint8_t t7[] = {1, 0, 1, 0, 'x'};
	CHECK_EQ_INT(read_all(t7, sizeof t7), -1);
	const uint8_t ok[] = {1, 1, 1, 0, 'a', 'b', 0, 0, 0, 0};
	CHECK_EQ_INT(read_all(ok, sizeof ok), 0);
	CHECK_EQ_INT(read_all(NULL, 0), 0);

	/* Failure is sticky. */
	struct ctl_reader rd;
	struct ctl_field f;
	ctl_reader_init(&rd, t1, sizeof t1);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), -1);
	CHECK(rd.failed);
	CHECK_EQ_INT(ctl_reader_next(&rd, &f), -1);
}

int
main(void)
{
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_overflow);
	TEST_RUN(test_malformed);
	return tap_done();
}
