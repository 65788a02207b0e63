/*
 * HMAC-SHA-256 from saved pad states. Why not EVP_MAC: re-initialising an
 * EVP HMAC context for each message (OpenSSL 3) duplicates and frees
 * digest contexts every time, which costs more than MACing a 40-byte
 * nonce. The SHA-256 block functions used here are deprecated since
 * OpenSSL 3.0 but present in every 3.x; a known-answer test (RFC 4231)
 * and the users' tests against EVP's output guard them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

#include "hmac256.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((struct hmac256_key *)0)->in),
    "struct hmac256_key holds a SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= 8, "SHA256_CTX alignment");

bool
hmac256_key_init(struct hmac256_key *k, const void *key, size_t len)
{
	uint8_t kb[SHA256_CBLOCK], ipad[SHA256_CBLOCK], opad[SHA256_CBLOCK];
	SHA256_CTX in, out;
	bool ok;

	memset(kb, 0, sizeof kb);
	if (len > SHA256_CBLOCK) {
		if (SHA256(key, len, kb) == NULL)
			return false;
	} else if (len > 0) {
		memcpy(kb, key, len);
	}
	for (int i = 0; i < SHA256_CBLOCK; i++) {
		ipad[i] = kb[i] ^ 0x36;
		opad[i] = kb[i] ^ 0x5c;
	}
	ok = SHA256_Init(&in) && SHA256_Update(&in, ipad, sizeof ipad) &&
	    SHA256_Init(&out) && SHA256_Update(&out, opad, sizeof opad);
	memset(k, 0, sizeof *k);
	if (ok) {
		memcpy(k->in, &in, sizeof in);
		memcpy(k->out, &out, sizeof out);
	}
	OPENSSL_cleanse(kb, sizeof kb);
	OPENSSL_cleanse(ipad, sizeof ipad);
	OPENSSL_cleanse(opad, sizeof opad);
	OPENSSL_cleanse(&in, sizeof in);
	OPENSSL_cleanse(&out, sizeof out);
	return ok;
}

bool
hmac256(const struct hmac256_key *k, const void *a, size_t alen, const void *b,
    size_t blen, uint8_t out[HMAC256_LEN])
{
	SHA256_CTX h;
	uint8_t inner[SHA256_DIGEST_LENGTH];
	bool ok;

	memcpy(&h, k->in, sizeof h);
	ok = (alen == 0 || SHA256_Update(&h, a, alen)) &&
	    (blen == 0 || SHA256_Update(&h, b, blen)) &&
	    SHA256_Final(inner, &h);
	if (ok) {
		memcpy(&h, k->out, sizeof h);
		ok = SHA256_Update(&h, inner, sizeof inner) &&
		    SHA256_Final(out, &h);
	}
	OPENSSL_cleanse(&h, sizeof h);
	OPENSSL_cleanse(inner, sizeof inner);
	return ok;
}

void
hmac256_key_clear(struct hmac256_key *k)
{
	OPENSSL_cleanse(k, sizeof *k);
}
