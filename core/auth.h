/*
 * auth: digest authentication of SIP requests (RFC 3261 §22, RFC 7616,
 * RFC 8760). Nonces are self-validating: a timestamp and salt sealed with
 * HMAC-SHA256 under a secret kept in state_dir, so they survive restarts
 * and need no table; only the nonce-counts of nonces in use are tracked
 * (replay protection), with bounded memory. Output goes to caller buffers.
 */
#ifndef PC_AUTH_H
#define PC_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "sip_msg.h"
#include "slice.h"
#include "store.h"

#define AUTH_SECRET_LEN 32
#define AUTH_NONCE_LEN 64 /* hex characters */
/* Nonce-count records kept at most (each ~80 bytes). */
#define AUTH_MAX_NONCES 262144

struct auth;

struct auth *auth_new(
    const uint8_t secret[AUTH_SECRET_LEN], uint32_t nonce_ttl_s);
void auth_free(struct auth *a);
/* The algorithms offered, most preferred first (RFC 8760 §2.4); an
 * algorithm left out is refused in credentials too. */
void auth_set_algorithms(struct auth *a, const enum digest_alg *algs, int n);
void auth_set_ttl(struct auth *a, uint32_t nonce_ttl_s);
/*
 * Nonces carry an epoch, random per auth_new(): a correctly sealed nonce
 * of another epoch is stale, so nonces from before a core restart (whose
 * nonce-counts were forgotten) get stale=true. A process that mints for
 * core without verifying (the edge) takes core's epoch with is_edge set,
 * which keeps its nonces distinct from core's own.
 */
void auth_set_epoch(struct auth *a, uint32_t epoch, bool is_edge);
uint32_t auth_epoch(const struct auth *a);

/* Reads the secret from path, or creates it (mode 0600) with random bytes.
 * 0 or -1 with a message in err. */
int auth_secret_load(
    const char *path, uint8_t out[AUTH_SECRET_LEN], char *err, size_t errlen);

/* out: AUTH_NONCE_LEN + 1 bytes. now_s is wall-clock seconds. */
void auth_nonce_make(
    struct auth *a, struct slice realm, uint64_t now_s, char *out);

enum auth_nonce_state { AUTH_NONCE_OK, AUTH_NONCE_STALE, AUTH_NONCE_BAD };
enum auth_nonce_state auth_nonce_check(
    struct auth *a, struct slice nonce, struct slice realm, uint64_t now_s);

/* Records nonce-count nc for nonce; false if it was seen before or is too
 * old for the replay window (the caller challenges again with stale). */
bool auth_nc_accept(
    struct auth *a, struct slice nonce, uint32_t nc, uint64_t now_s);

/*
 * Writes one "WWW-Authenticate: ..." (or Proxy-Authenticate when
 * is_proxy) line per offered algorithm, each with a fresh nonce, into buf.
 * Returns the length, or -1 if it did not fit.
 */
int auth_challenge(struct auth *a, bool is_proxy, struct slice realm,
    bool stale, uint64_t now_s, char *buf, size_t cap);

enum auth_result {
	AUTH_OK = 0,
	AUTH_STALE, /* good response, old nonce: challenge stale=true */
	AUTH_FAILED, /* wrong response or unusable nonce: a failure */
	AUTH_MALFORMED, /* missing fields or unknown algorithm: 400/challenge */
	AUTH_NO_HA1, /* user has no HA1 for that algorithm */
};

/*
 * Checks credentials cred of a request with method against user u in
 * realm. Verifies realm, algorithm, nonce seal and age, qop, response and
 * nonce-count.
 */
enum auth_result auth_verify(struct auth *a, const struct sip_auth *cred,
    struct slice method, const struct store_user *u, struct slice realm,
    uint64_t now_s);

/* The response computation alone (RFC 7616 §3.4.1), for known HA1. */
bool auth_check_response(enum digest_alg alg, struct slice ha1,
    const struct sip_auth *cred, struct slice method);

/* Picks the credential of a request meant for realm (NULL if none). */
const struct sip_auth *auth_find_cred(
    const struct sip_auth *creds, int n, struct slice realm);

size_t auth_tracked_nonces(const struct auth *a);

#endif
