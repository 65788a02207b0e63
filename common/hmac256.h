/*
 * hmac256: HMAC-SHA-256 (RFC 2104) under a key whose inner and outer pad
 * blocks are hashed once, so each MAC costs a struct copy and the hashing
 * of the message alone. For keys that MAC many short messages (nonce
 * seals, token nonces). The key struct is plain caller-owned memory;
 * hmac256_key_clear wipes it.
 */
#ifndef PC_HMAC256_H
#define PC_HMAC256_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAC256_LEN 32

/* The two saved SHA-256 states, opaque here so that only hmac256.c sees
 * OpenSSL's (deprecated since 3.0) SHA-256 block interface. */
struct hmac256_key {
	alignas(8) unsigned char in[112];
	alignas(8) unsigned char out[112];
};

/* Any key length (a key longer than the 64-byte block is hashed first, as
 * RFC 2104 says). false only if libcrypto fails. */
bool hmac256_key_init(struct hmac256_key *k, const void *key, size_t len);
/* HMAC of the concatenation a | b (b may be NULL with blen 0). */
bool hmac256(const struct hmac256_key *k, const void *a, size_t alen,
    const void *b, size_t blen, uint8_t out[HMAC256_LEN]);
void hmac256_key_clear(struct hmac256_key *k);

#endif
