/* Unit tests of core/auth.c: RFC 7616 §3.9.1 vectors, nonce sealing and
 * expiry (stale), nonce-count replay window, challenge headers. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/auth.h"
#include "tap.h"

static const uint8_t secret[AUTH_SECRET_LEN] = {1, 2, 3, 4, 5};
/* Made by ea0da0d's auth_nonce_make (EVP_MAC seal) under secret, epoch
 * 0x01020304, realm "example.com", time 1000. */
#define KNOWN_NONCE \
	"00000000000003e801020304229d5f0844dfabfa6409e7602d618aca420e2500"

static struct sip_auth
rfc_cred(const char *alg, const char *response)
{
	struct sip_auth c;

	memset(&c, 0, sizeof(c));
	c.scheme = SLICE_LIT("Digest");
	c.username = SLICE_LIT("Mufasa");
	c.realm = SLICE_LIT("http-auth@example.org");
	c.uri = SLICE_LIT("/dir/index.html");
	c.algorithm = slice_cstr(alg);
	c.nonce = SLICE_LIT("7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v");
	c.nc = SLICE_LIT("00000001");
	c.cnonce = SLICE_LIT("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
	c.qop = SLICE_LIT("auth");
	c.response = slice_cstr(response);
	return c;
}

static void
test_rfc7616_vectors(void)
{
	char ha1[DIGEST_HEX_MAX];
	struct sip_auth c;

	digest_ha1(DIGEST_MD5, SLICE_LIT("Mufasa"),
	    SLICE_LIT("http-auth@example.org"), SLICE_LIT("Circle of Life"),
	    ha1);
	c = rfc_cred("MD5", "8ca523f5e9506fed4657c9700eebdbec");
	CHECK(auth_check_response(
	    DIGEST_MD5, slice_cstr(ha1), &c, SLICE_LIT("GET")));
	c.response = SLICE_LIT("8ca523f5e9506fed4657c9700eebdbed");
	CHECK(!auth_check_response(
	    DIGEST_MD5, slice_cstr(ha1), &c, SLICE_LIT("GET")));

	digest_ha1(DIGEST_SHA256, SLICE_LIT("Mufasa"),
	    SLICE_LIT("http-auth@example.org"), SLICE_LIT("Circle of Life"),
	    ha1);
	c = rfc_cred("SHA-256",
	    "753927fa0e85d155564e2e272a28d1802ca10daf"
	    "4496794697cf8db5856cb6c1");
	CHECK(auth_check_response(
	    DIGEST_SHA256, slice_cstr(ha1), &c, SLICE_LIT("GET")));
	CHECK(!auth_check_response(
	    DIGEST_SHA256, slice_cstr(ha1), &c, SLICE_LIT("POST")));
}

static int
hex_digit(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

static void
test_nonce(void)
{
	struct auth *a = auth_new(secret, 300);
	char n1[AUTH_NONCE_LEN + 1], n2[AUTH_NONCE_LEN + 1];
	struct slice realm = SLICE_LIT("example.com");

	auth_nonce_make(a, realm, 1000, n1);
	auth_nonce_make(a, realm, 1000, n2);
	CHECK_EQ_INT(strlen(n1), AUTH_NONCE_LEN);
	CHECK(strcmp(n1, n2) != 0); /* salted */
	CHECK_EQ_INT(
	    auth_nonce_check(a, slice_cstr(n1), realm, 1000), AUTH_NONCE_OK);
	CHECK_EQ_INT(
	    auth_nonce_check(a, slice_cstr(n1), realm, 1300), AUTH_NONCE_OK);
	CHECK_EQ_INT(
	    auth_nonce_check(a, slice_cstr(n1), realm, 1301), AUTH_NONCE_STALE);
	CHECK_EQ_INT(
	    auth_nonce_check(a, slice_cstr(n1), SLICE_LIT("other.com"), 1000),
	    AUTH_NONCE_BAD);
	n1[5] = n1[5] == 'a' ? 'b' : 'a';
	CHECK_EQ_INT(
	    auth_nonce_check(a, slice_cstr(n1), realm, 1000), AUTH_NONCE_BAD);
	CHECK_EQ_INT(auth_nonce_check(a, SLICE_LIT("short"), realm, 1000),
	    AUTH_NONCE_BAD);
	/* A restarted core (same secret, new epoch) forgot the nonce-counts:
	 * the nonce is sealed right but stale, so the client gets a fresh one
	 * and a replay cannot slip through the restart. */
	struct auth *b = auth_new(secret, 300);
	CHECK(auth_epoch(b) != auth_epoch(a));
	CHECK_EQ_INT(
	    auth_nonce_check(b, slice_cstr(n2), realm, 1010), AUTH_NONCE_STALE);
	/* The edge mints with core's epoch: core accepts its nonces, and the
	 * edge's nonces never equal core's (the minter bit). */
	struct auth *edge = auth_new(secret, 300);
	auth_set_epoch(edge, auth_epoch(a), true);
	char ne[AUTH_NONCE_LEN + 1];
	auth_nonce_make(edge, realm, 1000, ne);
	CHECK_EQ_INT(
	    auth_nonce_check(a, slice_cstr(ne), realm, 1010), AUTH_NONCE_OK);
	/* Salt byte 12 (hex 24): the minter bit, set for the edge only. */
	CHECK(hex_digit(ne[24]) >= 8 && hex_digit(n1[24]) < 8);
	CHECK(memcmp(ne + 16, n1 + 16, 8) == 0); /* same epoch */
	CHECK_EQ_INT(
	    auth_nonce_check(b, slice_cstr(ne), realm, 1010), AUTH_NONCE_STALE);
	auth_free(edge);
	uint8_t other[AUTH_SECRET_LEN] = {9};
	struct auth *c = auth_new(other, 300);
	CHECK_EQ_INT(
	    auth_nonce_check(c, slice_cstr(n2), realm, 1010), AUTH_NONCE_BAD);
	auth_free(a);
	auth_free(b);
	auth_free(c);
}

/* The nonce layout does not depend on how the seal is computed: its last
 * 16 bytes are the first 16 of HMAC-SHA256(secret, first 16 | realm cut
 * at 256 bytes), as EVP computes it (the seal's implementation before the
 * common pad-state HMAC). Nonces already handed out stay valid across an
 * upgrade, and an edge and a core of different builds agree. */
static void
test_nonce_seal_evp(void)
{
	struct auth *a = auth_new(secret, 300);
	char realm_buf[300];
	int bad = 0;

	for (size_t i = 0; i < sizeof(realm_buf); i++)
		realm_buf[i] = (char)('a' + i % 26);
	const size_t lens[] = {0, 1, 11, 55, 64, 200, 255, 256, 257, 300};
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		struct slice realm = slice_make(realm_buf, (uint32_t)lens[li]);
		char n[AUTH_NONCE_LEN + 1];
		uint8_t raw[32], want[32];
		size_t wl = 0, rl = lens[li] < 256 ? lens[li] : 256;
		auth_nonce_make(a, realm, 1000 + li, n);
		for (int i = 0; i < 32; i++)
			raw[i] = (uint8_t)(hex_digit(n[2 * i]) << 4 |
			    hex_digit(n[2 * i + 1]));
		uint8_t msg[16 + 256];
		memcpy(msg, raw, 16);
		memcpy(msg + 16, realm_buf, rl);
		if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret,
		        AUTH_SECRET_LEN, msg, 16 + rl, want, sizeof(want),
		        &wl) == NULL ||
		    wl != 32 || memcmp(raw + 16, want, 16) != 0)
			bad++;
		if (auth_nonce_check(a, slice_cstr(n), realm, 1000 + li) !=
		    AUTH_NONCE_OK)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	/* A nonce sealed by the EVP code of commit ea0da0d under this
	 * secret, realm "example.com", time 1000: still valid (not
	 * stale: auth_set_epoch gives it the epoch it was made with). */
	auth_set_epoch(a, 0x01020304u, false);
	CHECK_EQ_INT(auth_nonce_check(a, SLICE_LIT(KNOWN_NONCE),
	                 SLICE_LIT("example.com"), 1000),
	    AUTH_NONCE_OK);
	auth_free(a);
}

static void
test_nc_replay(void)
{
	struct auth *a = auth_new(secret, 300);
	char n[AUTH_NONCE_LEN + 1];

	auth_nonce_make(a, SLICE_LIT("r"), 1000, n);
	CHECK(auth_nc_accept(a, slice_cstr(n), 1, 1000));
	CHECK(!auth_nc_accept(a, slice_cstr(n), 1, 1000));
	CHECK(auth_nc_accept(a, slice_cstr(n), 3, 1000));
	CHECK(auth_nc_accept(a, slice_cstr(n), 2, 1000)); /* out of order */
	CHECK(!auth_nc_accept(a, slice_cstr(n), 2, 1000));
	CHECK(!auth_nc_accept(a, slice_cstr(n), 3, 1000));
	CHECK(auth_nc_accept(a, slice_cstr(n), 100, 1000));
	CHECK(!auth_nc_accept(a, slice_cstr(n), 4, 1000)); /* out of window */
	CHECK(!auth_nc_accept(a, slice_cstr(n), 0, 1000));
	CHECK_EQ_INT(auth_tracked_nonces(a), 1);
	/* Records go once the nonce has expired. */
	char m[AUTH_NONCE_LEN + 1];
	auth_nonce_make(a, SLICE_LIT("r"), 2000, m);
	CHECK(auth_nc_accept(a, slice_cstr(m), 1, 2000));
	CHECK_EQ_INT(auth_tracked_nonces(a), 1);
	auth_free(a);
}

static void
test_verify(void)
{
	struct auth *a = auth_new(secret, 300);
	struct store_user u;
	struct slice realm = SLICE_LIT("example.com");
	char nonce[AUTH_NONCE_LEN + 1], ha2[DIGEST_HEX_MAX],
	    resp[DIGEST_HEX_MAX];
	struct sip_auth c;

	memset(&u, 0, sizeof(u));
	snprintf(u.user, sizeof(u.user), "alice");
	digest_ha1(DIGEST_SHA256, SLICE_LIT("alice"), realm,
	    SLICE_LIT("secret"), u.ha1[DIGEST_SHA256]);
	auth_nonce_make(a, realm, 1000, nonce);
	memset(&c, 0, sizeof(c));
	c.scheme = SLICE_LIT("Digest");
	c.username = SLICE_LIT("alice");
	c.realm = realm;
	c.nonce = slice_cstr(nonce);
	c.uri = SLICE_LIT("sip:example.com");
	c.algorithm = SLICE_LIT("SHA-256");
	c.qop = SLICE_LIT("auth");
	c.nc = SLICE_LIT("00000001");
	c.cnonce = SLICE_LIT("abc");
	digest_ha2(DIGEST_SHA256, SLICE_LIT("REGISTER"), c.uri, ha2);
	digest_response(DIGEST_SHA256, slice_cstr(u.ha1[DIGEST_SHA256]),
	    c.nonce, c.nc, c.cnonce, c.qop, slice_cstr(ha2), resp);
	c.response = slice_cstr(resp);
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("REGISTER"), &u, realm, 1001),
	    AUTH_OK);
	/* After a restart the replay is not accepted: stale, challenge anew. */
	struct auth *restarted = auth_new(secret, 300);
	CHECK_EQ_INT(
	    auth_verify(restarted, &c, SLICE_LIT("REGISTER"), &u, realm, 1002),
	    AUTH_STALE);
	auth_free(restarted);
	/* The same nc again is a replay. */
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("REGISTER"), &u, realm, 1002),
	    AUTH_STALE);
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("INVITE"), &u, realm, 1002),
	    AUTH_FAILED);
	/* Good response with an old nonce: stale, not a failure. */
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("REGISTER"), &u, realm, 1400),
	    AUTH_STALE);
	c.algorithm = SLICE_LIT("MD5");
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("REGISTER"), &u, realm, 1001),
	    AUTH_NO_HA1);
	enum digest_alg only = DIGEST_SHA256;
	auth_set_algorithms(a, &only, 1);
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("REGISTER"), &u, realm, 1001),
	    AUTH_MALFORMED);
	c.algorithm = SLICE_LIT("SHA-256");
	c.realm = SLICE_LIT("other");
	CHECK_EQ_INT(auth_verify(a, &c, SLICE_LIT("REGISTER"), &u, realm, 1001),
	    AUTH_FAILED);
	auth_free(a);
}

static void
test_challenge(void)
{
	struct auth *a = auth_new(secret, 300);
	char buf[1024];
	enum digest_alg algs[2] = {DIGEST_SHA256, DIGEST_MD5};

	auth_set_algorithms(a, algs, 2);
	int n = auth_challenge(
	    a, false, SLICE_LIT("example.com"), true, 5, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strncmp(buf, "WWW-Authenticate: Digest realm=\"example.com\"",
	          44) == 0);
	char *second = strstr(buf, "\r\nWWW-Authenticate:");
	CHECK(second != NULL);
	CHECK(strstr(buf, "algorithm=SHA-256") < strstr(buf, "algorithm=MD5"));
	CHECK(strstr(buf, "stale=true") != NULL);
	CHECK(strstr(buf, "qop=\"auth\"") != NULL);
	n = auth_challenge(
	    a, true, SLICE_LIT("example.com"), false, 5, buf, sizeof(buf));
	CHECK(strncmp(buf, "Proxy-Authenticate:", 19) == 0);
	CHECK(strstr(buf, "stale") == NULL);
	CHECK_EQ_INT(auth_challenge(
	                 a, true, SLICE_LIT("example.com"), false, 5, buf, 50),
	    -1);
	/* The exact text of the snprintf format it replaced, for several
	 * realms (empty, long, with a NUL that %.*s stopped at), and the
	 * same room rule: the text plus its NUL must fit. */
	char lrealm[300];
	memset(lrealm, 'r', sizeof(lrealm));
	const struct slice realms[] = {SLICE_LIT("example.com"),
	    slice_make("", 0), slice_make(lrealm, sizeof(lrealm)),
	    slice_make("ab\0cd", 5)};
	static char big[4096], want[4096];
	int bad = 0;
	for (size_t r = 0; r < sizeof(realms) / sizeof(realms[0]); r++) {
		for (int v = 0; v < 4; v++) {
			bool proxy = v & 1, stale = v & 2;
			n = auth_challenge(
			    a, proxy, realms[r], stale, 5, big, sizeof(big));
			if (n <= 0) {
				bad++;
				continue;
			}
			size_t off = 0;
			const char *p = big;
			for (int i = 0; i < 2; i++) {
				const char *nv = strstr(p, "nonce=\"");
				if (nv == NULL) {
					bad++;
					break;
				}
				nv += 7;
				off += (size_t)snprintf(want + off,
				    sizeof(want) - off,
				    "%s: Digest realm=\"%.*s\", "
				    "nonce=\"%.*s\", "
				    "algorithm=%s, qop=\"auth\"%s\r\n",
				    proxy ? "Proxy-Authenticate"
				          : "WWW-Authenticate",
				    (int)realms[r].len, realms[r].p,
				    AUTH_NONCE_LEN, nv,
				    i == 0 ? "SHA-256" : "MD5",
				    stale ? ", stale=true" : "");
				p = nv + AUTH_NONCE_LEN;
			}
			if ((size_t)n != off || strcmp(big, want) != 0)
				bad++;
			if (auth_challenge(a, proxy, realms[r], stale, 5, big,
			        (size_t)n) != -1 ||
			    auth_challenge(a, proxy, realms[r], stale, 5, big,
			        (size_t)n + 1) != n ||
			    strlen(big) != (size_t)n)
				bad++;
		}
	}
	CHECK_EQ_INT(bad, 0);
	auth_free(a);
}

static void
test_secret_file(void)
{
	char dir[] = "/tmp/pc-test-auth.XXXXXX", path[256], err[256];
	uint8_t s1[AUTH_SECRET_LEN], s2[AUTH_SECRET_LEN];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/nonce.key", dir);
	CHECK_EQ_INT(auth_secret_load(path, s1, err, sizeof(err)), 0);
	CHECK_EQ_INT(auth_secret_load(path, s2, err, sizeof(err)), 0);
	CHECK(memcmp(s1, s2, sizeof(s1)) == 0);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_rfc7616_vectors);
	TEST_RUN(test_nonce);
	TEST_RUN(test_nonce_seal_evp);
	TEST_RUN(test_nc_replay);
	TEST_RUN(test_verify);
	TEST_RUN(test_challenge);
	TEST_RUN(test_secret_file);
	return tap_done();
}
