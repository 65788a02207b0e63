/*
 * digest: HTTP Digest computations for SIP (RFC 7616, RFC 8760) through
 * OpenSSL EVP: MD5, SHA-256 and SHA-512-256, hex-encoded lower case. The
 * caller provides the output buffers (DIGEST_HEX_MAX bytes).
 */
#ifndef PC_DIGEST_H
#define PC_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "slice.h"

#define DIGEST_HEX_MAX 129 /* 64 bytes as hex + NUL */

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256,
	DIGEST_SHA512_256,
	DIGEST__COUNT
};

/* "MD5", "SHA-256", "SHA-512-256" (case-insensitive; an empty name is
 * MD5 per RFC 7616); -1 if unknown. "-sess" variants are not supported. */
int digest_alg_parse(struct slice name);
const char *digest_alg_name(enum digest_alg alg);
/* Hex length of the algorithm's output (32 or 64). */
size_t digest_hex_len(enum digest_alg alg);

/* H(data) as hex. */
void digest_hash_hex(
    enum digest_alg alg, const void *data, size_t len, char *out);
/* HA1 = H(user ":" realm ":" password). */
void digest_ha1(enum digest_alg alg, struct slice user, struct slice realm,
    struct slice password, char *out);
/* HA2 = H(method ":" uri)  (qop=auth or none). */
void digest_ha2(
    enum digest_alg alg, struct slice method, struct slice uri, char *out);
/* response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2), or
 * H(HA1 ":" nonce ":" HA2) when qop is empty (RFC 2069 compatibility). */
void digest_response(enum digest_alg alg, struct slice ha1, struct slice nonce,
    struct slice nc, struct slice cnonce, struct slice qop, struct slice ha2,
    char *out);
/* Constant-time comparison of two hex strings. */
bool digest_hex_equal(struct slice a, struct slice b);

#endif
