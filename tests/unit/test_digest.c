/* Unit tests of digest against the RFC 2617 and RFC 7616 examples. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "tap.h"

static void
test_alg_names(void)
{
	CHECK_EQ_INT(digest_alg_parse(SLICE_LIT("MD5")), DIGEST_MD5);
	CHECK_EQ_INT(digest_alg_parse(SLICE_LIT("")), DIGEST_MD5);
	CHECK_EQ_INT(digest_alg_parse(SLICE_LIT("sha-256")), DIGEST_SHA256);
	CHECK_EQ_INT(
	    digest_alg_parse(SLICE_LIT("SHA-512-256")), DIGEST_SHA512_256);
	CHECK_EQ_INT(digest_alg_parse(SLICE_LIT("MD5-sess")), -1);
	CHECK_EQ_INT(digest_alg_parse(SLICE_LIT("SHA-512")), -1);
	CHECK_STR(digest_alg_name(DIGEST_SHA256), "SHA-256");
	CHECK_EQ_INT(digest_hex_len(DIGEST_MD5), 32);
	CHECK_EQ_INT(digest_hex_len(DIGEST_SHA512_256), 64);
}

static void
test_hashes(void)
{
	char out[DIGEST_HEX_MAX];
	digest_hash_hex(DIGEST_MD5, "abc", 3, out);
	CHECK_STR(out, "900150983cd24fb0d6963f7d28e17f72");
	digest_hash_hex(DIGEST_SHA256, "abc", 3, out);
	CHECK_STR(out,
	    "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	/* FIPS 180-4 SHA-512/256 example. */
	digest_hash_hex(DIGEST_SHA512_256, "abc", 3, out);
	CHECK_STR(out,
	    "53048e2681941ef99b2e29b76b4c7dab"
	    "e4c2d0c634fc6d46e0e2f13107e7af23");
	digest_hash_hex(DIGEST_MD5, "", 0, out);
	CHECK_STR(out, "d41d8cd98f00b204e9800998ecf8427e");
}

static void
test_rfc2617(void)
{
	/* RFC 2617 section 3.5. */
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	digest_ha1(DIGEST_MD5, SLICE_LIT("Mufasa"),
	    SLICE_LIT("testrealm@host.com"), SLICE_LIT("Circle Of Life"), ha1);
	CHECK_STR(ha1, "939e7578ed9e3c518a452acee763bce9");
	digest_ha2(
	    DIGEST_MD5, SLICE_LIT("GET"), SLICE_LIT("/dir/index.html"), ha2);
	CHECK_STR(ha2, "39aff3a2bab6126f332b942af96d3366");
	digest_response(DIGEST_MD5, slice_cstr(ha1),
	    SLICE_LIT("dcd98b7102dd2f0e8b11d0f600bfb0c093"),
	    SLICE_LIT("00000001"), SLICE_LIT("0a4f113b"), SLICE_LIT("auth"),
	    slice_cstr(ha2), resp);
	CHECK_STR(resp, "6629fae49393a05397450978507c4ef1");
}

static void
rfc7616_example(enum digest_alg alg, const char *want)
{
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	digest_ha1(alg, SLICE_LIT("Mufasa"), SLICE_LIT("http-auth@example.org"),
	    SLICE_LIT("Circle of Life"), ha1);
	digest_ha2(alg, SLICE_LIT("GET"), SLICE_LIT("/dir/index.html"), ha2);
	digest_response(alg, slice_cstr(ha1),
	    SLICE_LIT("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"),
	    SLICE_LIT("00000001"),
	    SLICE_LIT("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"),
	    SLICE_LIT("auth"), slice_cstr(ha2), resp);
	CHECK_STR(resp, want);
}

static void
test_rfc7616(void)
{
	/* RFC 7616 section 3.9.1. */
	rfc7616_example(DIGEST_MD5, "8ca523f5e9506fed4657c9700eebdbec");
	rfc7616_example(DIGEST_SHA256,
	    "753927fa0e85d155564e2e272a28d180"
	    "2ca10daf4496794697cf8db5856cb6c1");

	/* Section 3.9.2 (SHA-512-256): the response as corrected by the
	 * RFC's errata (the printed value was computed differently). */
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	digest_ha1(DIGEST_SHA512_256, SLICE_LIT("J\xc3\xa4s\xc3\xb8n Doe"),
	    SLICE_LIT("api@example.org"), SLICE_LIT("Secret, or not?"), ha1);
	digest_ha2(
	    DIGEST_SHA512_256, SLICE_LIT("GET"), SLICE_LIT("/doe.json"), ha2);
	digest_response(DIGEST_SHA512_256, slice_cstr(ha1),
	    SLICE_LIT("5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK"),
	    SLICE_LIT("00000001"),
	    SLICE_LIT("NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v"),
	    SLICE_LIT("auth"), slice_cstr(ha2), resp);
	CHECK_STR(resp,
	    "3798d4131c277846293534c3edc11bd8"
	    "a5e4cdcbff78b05db9d95eeb1cec68a5");
	/* The userhash of that example: H(user ":" realm). */
	struct slice parts[2] = {
	    SLICE_LIT("J\xc3\xa4s\xc3\xb8n Doe"), SLICE_LIT("api@example.org")};
	digest_ha2(DIGEST_SHA512_256, parts[0], parts[1], resp);
	CHECK_STR(resp,
	    "793263caabb707a56211940d90411ea4"
	    "a575adeccb7e360aeb624ed06ece9b0b");
}

static void
test_rfc2069_and_compare(void)
{
	/* Without qop: H(HA1:nonce:HA2). */
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];
	char want[DIGEST_HEX_MAX], joined[256];
	digest_ha1(
	    DIGEST_MD5, SLICE_LIT("u"), SLICE_LIT("r"), SLICE_LIT("p"), ha1);
	digest_ha2(DIGEST_MD5, SLICE_LIT("REGISTER"), SLICE_LIT("sip:r"), ha2);
	digest_response(DIGEST_MD5, slice_cstr(ha1), SLICE_LIT("n"), SLICE_NULL,
	    SLICE_NULL, SLICE_NULL, slice_cstr(ha2), resp);
	int n = snprintf(joined, sizeof joined, "%s:n:%s", ha1, ha2);
	digest_hash_hex(DIGEST_MD5, joined, (size_t)n, want);
	CHECK_STR(resp, want);

	CHECK(digest_hex_equal(SLICE_LIT("abc123"), SLICE_LIT("ABC123")));
	CHECK(!digest_hex_equal(SLICE_LIT("abc123"), SLICE_LIT("abc124")));
	CHECK(!digest_hex_equal(SLICE_LIT("abc"), SLICE_LIT("abc1")));
	CHECK(digest_hex_equal(SLICE_NULL, SLICE_NULL));
}

/* Inputs up to 512 bytes are hashed joined, longer ones piecewise, and
 * the contexts are reused: every length around the switch, in every
 * algorithm, must give the hash of the joined text. */
static void
test_long_and_reuse(void)
{
	static char pw[700], joined[720];
	char got[DIGEST_HEX_MAX], want[DIGEST_HEX_MAX];
	memset(pw, 'x', sizeof pw);
	digest_ha1(DIGEST_MD5, SLICE_LIT("u"), SLICE_LIT("r"),
	    (struct slice){pw, 600}, got);
	CHECK_STR(got, "a068a9cd04d665ae6ac76c7e1582f129");
	memset(pw, 'y', sizeof pw);
	/* "u:r:" and 508 bytes: 512, joined; 509: piecewise. */
	digest_ha1(DIGEST_SHA256, SLICE_LIT("u"), SLICE_LIT("r"),
	    (struct slice){pw, 508}, got);
	CHECK_STR(got,
	    "e7583a4d943b04c2ae1006da79f00d32"
	    "1b54c6f4af8d3234b7794da4a001b18d");
	digest_ha1(DIGEST_SHA256, SLICE_LIT("u"), SLICE_LIT("r"),
	    (struct slice){pw, 509}, got);
	CHECK_STR(got,
	    "09543bc3c220c0253c8042874cfffa3f"
	    "be7a03ed047691e433d6fd381042f296");
	int bad = 0;
	for (int alg = 0; alg < DIGEST__COUNT; alg++) {
		for (uint32_t len = 480; len <= 540; len++) {
			digest_ha1((enum digest_alg)alg, SLICE_LIT("user"),
			    SLICE_LIT("realm"), (struct slice){pw, len}, got);
			int n = snprintf(joined, sizeof joined,
			    "user:realm:%.*s", (int)len, pw);
			digest_hash_hex(
			    (enum digest_alg)alg, joined, (size_t)n, want);
			bad += strcmp(got, want) != 0;
		}
	}
	CHECK_EQ_INT(bad, 0);
}

int
main(void)
{
	TEST_RUN(test_alg_names);
	TEST_RUN(test_hashes);
	TEST_RUN(test_rfc2617);
	TEST_RUN(test_rfc7616);
	TEST_RUN(test_rfc2069_and_compare);
	TEST_RUN(test_long_and_reuse);
	return tap_done();
}
