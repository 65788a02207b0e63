/* Unit tests of slice.c: comparisons, trimming and number conversion. */
#include "slice.h"
#include "tap.h"

static void
test_eq(void)
{
	CHECK(slice_eq(SLICE_LIT("abc"), slice_cstr("abc")));
	CHECK(!slice_eq(SLICE_LIT("abc"), SLICE_LIT("abd")));
	CHECK(!slice_eq(SLICE_LIT("abc"), SLICE_LIT("ab")));
	CHECK(slice_eq(SLICE_NULL, SLICE_LIT("")));
	CHECK(slice_eq_nocase(SLICE_LIT("Call-ID"), SLICE_LIT("call-id")));
	CHECK(!slice_eq_nocase(SLICE_LIT("Call-IE"), SLICE_LIT("call-id")));
	CHECK(slice_eq_cstr(SLICE_LIT("x"), "x"));
	CHECK(slice_eq_cstr_nocase(SLICE_LIT("INVITE"), "invite"));
	CHECK(slice_has_prefix_nocase(SLICE_LIT("Digest x"), "digest"));
	CHECK(!slice_has_prefix_nocase(SLICE_LIT("Dig"), "digest"));
}

static void
test_trim_find(void)
{
	struct slice t = slice_trim(SLICE_LIT(" \t a b\r\n "));
	CHECK(slice_eq_cstr(t, "a b"));
	CHECK(slice_trim(SLICE_LIT("   ")).len == 0);
	CHECK(slice_trim(SLICE_NULL).p == NULL);
	CHECK_EQ_INT(slice_find(SLICE_LIT("a;b"), ';'), 1);
	CHECK_EQ_INT(slice_find(SLICE_LIT("ab"), ';'), -1);
	CHECK_EQ_INT(slice_find(SLICE_NULL, ';'), -1);
}

static void
test_u32(void)
{
	uint32_t v = 7;
	CHECK(slice_to_u32(SLICE_LIT("0"), 10, &v) && v == 0);
	CHECK(slice_to_u32(SLICE_LIT("4294967295"), UINT32_MAX, &v) &&
	    v == UINT32_MAX);
	CHECK(!slice_to_u32(SLICE_LIT("4294967296"), UINT32_MAX, &v));
	CHECK(!slice_to_u32(SLICE_LIT("99999999999999999999"), UINT32_MAX, &v));
	CHECK(!slice_to_u32(SLICE_LIT("256"), 255, &v));
	CHECK(slice_to_u32(SLICE_LIT("255"), 255, &v) && v == 255);
	CHECK(!slice_to_u32(SLICE_LIT(""), 255, &v));
	CHECK(!slice_to_u32(SLICE_LIT("-1"), 255, &v));
	CHECK(!slice_to_u32(SLICE_LIT("1 "), 255, &v));
}

static void
test_copy(void)
{
	char buf[4];
	CHECK(slice_copy_cstr(SLICE_LIT("abc"), buf, sizeof buf));
	CHECK_STR(buf, "abc");
	CHECK(!slice_copy_cstr(SLICE_LIT("abcd"), buf, sizeof buf));
	CHECK_STR(buf, "");
	CHECK(slice_copy_cstr(SLICE_NULL, buf, sizeof buf));
	CHECK_STR(buf, "");
}

int
main(void)
{
	TEST_RUN(test_eq);
	TEST_RUN(test_trim_find);
	TEST_RUN(test_u32);
	TEST_RUN(test_copy);
	return tap_done();
}
