/*
 * digest: the hashes of HTTP Digest (RFC 7616) as SIP uses them, through
 * OpenSSL EVP so the same code serves MD5, SHA-256 and SHA-512/256. Inputs
 * are joined on the stack and wiped after hashing (or fed piecewise when
 * long), so no joined copy of a password outlives the hash.
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

/* One context per algorithm and thread, made on first use and kept for
 * the life of the thread: creating and freeing an EVP_MD_CTX per hash cost
 * more than hashing the ~100 bytes of a digest response. Thread-local so
 * that any thread may hash; a thread that exits leaves its (small)
 * contexts behind, and the daemons' threads live as long as the process. */
static _Thread_local struct {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
} hashers[DIGEST__COUNT];

/* Parts joined up to this size go to OpenSSL in one update: each update
 * is an indirect call through the provider, and a response has 11 parts. */
#define JOIN_MAX 512

/* H(p[0] ":" p[1] ":" ... p[n-1]) as hex into out. */
static void
hash_parts(enum digest_alg alg, const struct slice *p, size_t n, char *out)
{
	out[0] = '\0';
	if ((unsigned)alg >= DIGEST__COUNT)
		fatalx("digest: unknown algorithm %d", (int)alg);
	if (hashers[alg].ctx == NULL) {
		/* Fetched once: a lookup by name per hash cost as much as
		 * hashing. */
		hashers[alg].md = EVP_MD_fetch(NULL, algs[alg].evp, NULL);
		hashers[alg].ctx = EVP_MD_CTX_new();
	}
	EVP_MD_CTX *ctx = hashers[alg].ctx;
	/* A missing digest is a broken OpenSSL install, not bad input. */
	if (hashers[alg].md == NULL || ctx == NULL ||
	    !EVP_DigestInit_ex2(ctx, hashers[alg].md, NULL))
		fatalx("digest: OpenSSL cannot compute %s", algs[alg].name);
	size_t total = n ? n - 1 : 0;
	for (size_t i = 0; i < n; i++)
		total += p[i].len;
	if (total <= JOIN_MAX) {
		/* The joined copy may hold a password or an HA1: wiped below. */
		char join[JOIN_MAX];
		size_t off = 0;
		for (size_t i = 0; i < n; i++) {
			if (i)
				join[off++] = ':';
			if (p[i].len)
				memcpy(join + off, p[i].p, p[i].len);
			off += p[i].len;
		}
		EVP_DigestUpdate(ctx, join, off);
		OPENSSL_cleanse(join, off);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (i)
				EVP_DigestUpdate(ctx, ":", 1);
			if (p[i].len)
				EVP_DigestUpdate(ctx, p[i].p, p[i].len);
		}
	}
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	if (!EVP_DigestFinal_ex(ctx, buf, &len))
		fatalx("digest: %s failed", algs[alg].name);
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
