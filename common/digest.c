/*
 * digest: the hashes of HTTP Digest (RFC 7616) as SIP uses them, through
 * OpenSSL EVP so the same code serves MD5, SHA-256 and SHA-512/256. Inputs
 * are fed piecewise ("a" ":" "b" ...) so no joined copy of a password is
 * ever built.
 */
#include "config.h"

#include "digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static const struct {
	const char *name;
	const char *evp;
	size_t hexlen;
} algs[DIGEST__COUNT] = {
    [DIGEST_MD5] = {"MD5", "MD5", 32},
    [DIGEST_SHA256] = {"SHA-256", "SHA256", 64},
    [DIGEST_SHA512_256] = {"SHA-512-256", "SHA512-256", 64},
};

int
digest_alg_parse(struct slice name)
{
	if (name.len == 0)
		return DIGEST_MD5;
	for (int i = 0; i < DIGEST__COUNT; i++)
		if (slice_eq_cstr_nocase(name, algs[i].name))
			return i;
	return -1;
}

const char *
digest_alg_name(enum digest_alg alg)
{
	return (unsigned)alg < DIGEST__COUNT ? algs[alg].name : "unknown";
}

size_t
digest_hex_len(enum digest_alg alg)
{
	return (unsigned)alg < DIGEST__COUNT ? algs[alg].hexlen : 0;
}

static void
to_hex(const unsigned char *md, unsigned n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

/* H(p[0] ":" p[1] ":" ... p[n-1]) as hex into out. */
static void
hash_parts(enum digest_alg alg, const struct slice *p, size_t n, char *out)
{
	out[0] = '\0';
	if ((unsigned)alg >= DIGEST__COUNT)
		fatalx("digest: unknown algorithm %d", (int)alg);
	/* Fetched once: a lookup by name per hash cost as much as hashing.
	 * Kept for the life of the process. */
	static EVP_MD *mds[DIGEST__COUNT];
	if (mds[alg] == NULL)
		mds[alg] = EVP_MD_fetch(NULL, algs[alg].evp, NULL);
	const EVP_MD *md = mds[alg];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	/* A missing digest is a broken OpenSSL install, not bad input. */
	if (md == NULL || ctx == NULL || !EVP_DigestInit_ex(ctx, md, NULL))
		fatalx("digest: OpenSSL cannot compute %s", algs[alg].name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			EVP_DigestUpdate(ctx, ":", 1);
		if (p[i].len)
			EVP_DigestUpdate(ctx, p[i].p, p[i].len);
	}
	if (!EVP_DigestFinal_ex(ctx, buf, &len))
		fatalx("digest: %s failed", algs[alg].name);
	EVP_MD_CTX_free(ctx);
	to_hex(buf, len, out);
	OPENSSL_cleanse(buf, sizeof buf);
}

void
digest_hash_hex(enum digest_alg alg, const void *data, size_t len, char *out)
{
	/* One part, so no separator; slices hold 32-bit lengths. */
	if (len > UINT32_MAX)
		fatalx("digest: input too long");
	struct slice s = {data, (uint32_t)len};
	hash_parts(alg, &s, 1, out);
}

void
digest_ha1(enum digest_alg alg, struct slice user, struct slice realm,
    struct slice password, char *out)
{
	struct slice p[3] = {user, realm, password};
	hash_parts(alg, p, 3, out);
}

void
digest_ha2(
    enum digest_alg alg, struct slice method, struct slice uri, char *out)
{
	struct slice p[2] = {method, uri};
	hash_parts(alg, p, 2, out);
}

void
digest_response(enum digest_alg alg, struct slice ha1, struct slice nonce,
    struct slice nc, struct slice cnonce, struct slice qop, struct slice ha2,
    char *out)
{
	if (qop.len == 0) {
		struct slice p[3] = {ha1, nonce, ha2};
		hash_parts(alg, p, 3, out);
		return;
	}
	struct slice p[6] = {ha1, nonce, nc, cnonce, qop, ha2};
	hash_parts(alg, p, 6, out);
}

bool
digest_hex_equal(struct slice a, struct slice b)
{
	if (a.len != b.len)
		return false;
	unsigned char diff = 0;
	for (uint32_t i = 0; i < a.len; i++) {
		unsigned char x = (unsigned char)a.p[i];
		unsigned char y = (unsigned char)b.p[i];
		/* Hex is compared case-insensitively: fold letters. */
		if (x >= 'A' && x <= 'F')
			x = (unsigned char)(x + 32);
		if (y >= 'A' && y <= 'F')
			y = (unsigned char)(y + 32);
		diff |= (unsigned char)(x ^ y);
	}
	return diff == 0;
}
