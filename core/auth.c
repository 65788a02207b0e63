/*
 * Digest authentication. Why self-validating nonces: a registrar facing a
 * REGISTER flood must not allocate per challenge. Nonce layout (hex of 32
 * bytes): 8-byte big-endian timestamp, 8 random salt bytes, the first 16
 * bytes of HMAC-SHA256(secret, timestamp | salt | realm). State is kept
 * only once a nonce has been used with a correct response: its highest
 * nonce-count and a 64-entry window, so requests sent in parallel with
 * nc 3 and 2 arriving out of order both pass while any repeat fails.
 * That memory dies with the process, so the salt starts with the epoch of
 * the core that verifies (random at each start): a nonce of an older epoch
 * is stale, and a restart cannot reopen replays. The rest of the salt is
 * a counter from a random start, not a getrandom() per nonce: it only has
 * to make nonces unique (the seal makes them unforgeable). Its top bit
 * tells the edge's nonces (auth_set_epoch) from core's, so the two minters
 * never hand out the same nonce.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "hash.h"
#include "hmac256.h"
#include "wbuf.h"

struct nc_rec {
	struct hnode node;
	struct nc_rec *fifo_next;
	uint8_t key[16]; /* timestamp + salt */
	uint64_t expires_s;
	uint32_t max_nc;
	uint64_t window; /* bit i: max_nc - i seen */
};

struct auth {
	uint8_t secret[AUTH_SECRET_LEN];
	uint32_t ttl_s;
	enum digest_alg algs[DIGEST__COUNT];
	int nalgs;
	struct htable nc;
	struct nc_rec *fifo_head, **fifo_tail;
	/* HMAC-SHA256 keyed once: every challenge and every verification
	 * seals a nonce, and EVP_MAC re-init costs more than the MAC. */
	struct hmac256_key mac;
	uint32_t epoch;
	uint32_t counter;
	uint32_t minter_bit;
};

struct auth *
auth_new(const uint8_t secret[AUTH_SECRET_LEN], uint32_t nonce_ttl_s)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	memcpy(a->secret, secret, AUTH_SECRET_LEN);
	a->ttl_s = nonce_ttl_s;
	a->algs[0] = DIGEST_SHA256;
	a->algs[1] = DIGEST_MD5;
	a->nalgs = 2;
	if (htable_init(&a->nc, 256) < 0) {
		free(a);
		return NULL;
	}
	a->fifo_tail = &a->fifo_head;
	uint32_t r[2];
	if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
		htable_free(&a->nc);
		free(a);
		return NULL;
	}
	a->epoch = r[0];
	a->counter = r[1];
	if (!hmac256_key_init(&a->mac, a->secret, AUTH_SECRET_LEN)) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void
auth_set_epoch(struct auth *a, uint32_t epoch, bool is_edge)
{
	a->epoch = epoch;
	a->minter_bit = is_edge ? 0x80000000u : 0;
}

uint32_t
auth_epoch(const struct auth *a)
{
	return a->epoch;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	struct nc_rec *r = a->fifo_head;
	while (r != NULL) {
		struct nc_rec *next = r->fifo_next;
		free(r);
		r = next;
	}
	htable_free(&a->nc);
	hmac256_key_clear(&a->mac);
	OPENSSL_cleanse(a->secret, sizeof(a->secret));
	free(a);
}

void
auth_set_algorithms(struct auth *a, const enum digest_alg *algs, int n)
{
	a->nalgs = 0;
	for (int i = 0; i < n && a->nalgs < DIGEST__COUNT; i++)
		a->algs[a->nalgs++] = algs[i];
}

void
auth_set_ttl(struct auth *a, uint32_t nonce_ttl_s)
{
	a->ttl_s = nonce_ttl_s;
}

int
auth_secret_load(
    const char *path, uint8_t out[AUTH_SECRET_LEN], char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, out, AUTH_SECRET_LEN);
		close(fd);
		if (n == AUTH_SECRET_LEN)
			return 0;
		snprintf(err, errlen, "%s: short nonce secret file", path);
		return -1;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (getrandom(out, AUTH_SECRET_LEN, 0) != AUTH_SECRET_LEN) {
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return -1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, out, AUTH_SECRET_LEN) != AUTH_SECRET_LEN ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

static void
seal(struct auth *a, const uint8_t key[16], struct slice realm, uint8_t mac[16])
{
	uint8_t full[HMAC256_LEN];
	size_t rl = realm.len < 256 ? realm.len : 256;

	if (!hmac256(&a->mac, key, 16, realm.p, rl, full)) {
		/* Cannot happen with a working libcrypto; a zero mac only
		 * makes the nonce unusable, never valid. */
		memset(mac, 0, 16);
		RAND_bytes(mac, 16);
		return;
	}
	memcpy(mac, full, 16);
}

static void
hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[in[i] >> 4];
		out[2 * i + 1] = hx[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Hex digit values, -1 for anything else: a table because every
 * verified REGISTER decodes 32 bytes of nonce. */
static const int8_t hex_tab[256] = {['0'] = 1,
    ['1'] = 2,
    ['2'] = 3,
    ['3'] = 4,
    ['4'] = 5,
    ['5'] = 6,
    ['6'] = 7,
    ['7'] = 8,
    ['8'] = 9,
    ['9'] = 10,
    ['a'] = 11,
    ['b'] = 12,
    ['c'] = 13,
    ['d'] = 14,
    ['e'] = 15,
    ['f'] = 16,
    ['A'] = 11,
    ['B'] = 12,
    ['C'] = 13,
    ['D'] = 14,
    ['E'] = 15,
    ['F'] = 16};

static int
hex_val(char c)
{
	return hex_tab[(uint8_t)c] - 1;
}

static bool
hex_decode(struct slice s, uint8_t *out, size_t n)
{
	if (s.len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_val(s.p[2 * i]), lo = hex_val(s.p[2 * i + 1]);
		if ((hi | lo) < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

void
auth_nonce_make(struct auth *a, struct slice realm, uint64_t now_s, char *out)
{
	uint8_t raw[32];

	uint32_t ctr = (a->counter++ & 0x7fffffffu) | a->minter_bit;
	for (int i = 0; i < 8; i++)
		raw[i] = (uint8_t)(now_s >> (56 - 8 * i));
	for (int i = 0; i < 4; i++) {
		raw[8 + i] = (uint8_t)(a->epoch >> (24 - 8 * i));
		raw[12 + i] = (uint8_t)(ctr >> (24 - 8 * i));
	}
	seal(a, raw, realm, raw + 16);
	hex_encode(raw, 32, out);
}

/* key: the decoded timestamp and salt, which the nonce-count table is
 * keyed by, so a verification decodes the nonce once. */
static bool
nonce_open(struct auth *a, struct slice nonce, struct slice realm,
    uint8_t key[16], uint64_t *ts, uint32_t *epoch)
{
	uint8_t raw[32], mac[16];

	if (!hex_decode(nonce, raw, 32))
		return false;
	seal(a, raw, realm, mac);
	if (CRYPTO_memcmp(mac, raw + 16, 16) != 0)
		return false;
	memcpy(key, raw, 16);
	*ts = 0;
	for (int i = 0; i < 8; i++)
		*ts = *ts << 8 | raw[i];
	*epoch = (uint32_t)raw[8] << 24 | (uint32_t)raw[9] << 16 |
	    (uint32_t)raw[10] << 8 | raw[11];
	return true;
}

static enum auth_nonce_state
nonce_check_key(struct auth *a, struct slice nonce, struct slice realm,
    uint64_t now_s, uint8_t key[16])
{
	uint64_t ts;
	uint32_t epoch;

	if (!nonce_open(a, nonce, realm, key, &ts, &epoch))
		return AUTH_NONCE_BAD;
	/* A nonce from the future (clock stepped back) is stale too; so is
	 * one of another epoch, whose nonce-counts we do not know. */
	if (ts > now_s + 5 || now_s - ts > a->ttl_s || epoch != a->epoch)
		return AUTH_NONCE_STALE;
	return AUTH_NONCE_OK;
}

enum auth_nonce_state
auth_nonce_check(
    struct auth *a, struct slice nonce, struct slice realm, uint64_t now_s)
{
	uint8_t key[16];

	return nonce_check_key(a, nonce, realm, now_s, key);
}

static void
nc_purge(struct auth *a, uint64_t now_s)
{
	while (a->fifo_head != NULL &&
	    (a->fifo_head->expires_s <= now_s ||
	        a->nc.count > AUTH_MAX_NONCES)) {
		struct nc_rec *r = a->fifo_head;
		a->fifo_head = r->fifo_next;
		if (a->fifo_head == NULL)
			a->fifo_tail = &a->fifo_head;
		htable_remove(&a->nc, &r->node);
		free(r);
	}
}

static bool
nc_accept_key(
    struct auth *a, const uint8_t key[16], uint32_t nc, uint64_t now_s)
{
	if (nc == 0)
		return false;
	nc_purge(a, now_s);
	uint64_t hv = hash_bytes(key, 16);
	for (struct hnode *h = htable_first(&a->nc, hv); h != NULL;
	     h = htable_next(h, hv)) {
		struct nc_rec *r = container_of(h, struct nc_rec, node);
		if (memcmp(r->key, key, 16) != 0)
			continue;
		if (nc > r->max_nc) {
			uint32_t shift = nc - r->max_nc;
			r->window = shift >= 64 ? 0 : r->window << shift;
			r->window |= 1;
			r->max_nc = nc;
			return true;
		}
		uint32_t back = r->max_nc - nc;
		if (back >= 64 || (r->window & (1ull << back)))
			return false;
		r->window |= 1ull << back;
		return true;
	}
	struct nc_rec *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return false;
	memcpy(r->key, key, 16);
	uint64_t ts = 0;
	for (int i = 0; i < 8; i++)
		ts = ts << 8 | key[i];
	r->expires_s = ts + a->ttl_s + 1;
	r->max_nc = nc;
	r->window = 1;
	htable_insert(&a->nc, &r->node, hv);
	*a->fifo_tail = r;
	a->fifo_tail = &r->fifo_next;
	return true;
}

bool
auth_nc_accept(struct auth *a, struct slice nonce, uint32_t nc, uint64_t now_s)
{
	uint8_t raw[32];

	if (!hex_decode(nonce, raw, 32))
		return false;
	return nc_accept_key(a, raw, nc, now_s);
}

size_t
auth_tracked_nonces(const struct auth *a)
{
	return a->nc.count;
}

struct challenge_line_in {
	const char *name; /* WWW-Authenticate or Proxy-Authenticate */
	struct slice realm;
	const char *nonce; /* AUTH_NONCE_LEN characters */
	const char *alg;
	bool stale;
};

static void
challenge_line(struct wbuf *w, const void *arg)
{
	const struct challenge_line_in *in = arg;

	put_str(w, in->name);
	put_str(w, ": Digest realm=\"");
	put_sl(w, in->realm);
	put_str(w, "\", nonce=\"");
	put(w, in->nonce, AUTH_NONCE_LEN);
	put_str(w, "\", algorithm=");
	put_str(w, in->alg);
	put_str(w, ", qop=\"auth\"");
	if (in->stale)
		put_str(w, ", stale=true");
	put_str(w, "\r\n");
}

/* Why not snprintf: the edge writes this for every credential-less
 * REGISTER, and formatting two lines cost more than sealing their nonces.
 * The text is what "%s: Digest realm=\"%.*s\", nonce=\"%s\", algorithm=%s,
 * qop=\"auth\"%s\r\n" gave, byte for byte (test_auth checks). */
int
auth_challenge(struct auth *a, bool is_proxy, struct slice realm, bool stale,
    uint64_t now_s, char *buf, size_t cap)
{
	size_t off = 0;
	char nonce[AUTH_NONCE_LEN + 1];
	/* %.*s stopped at a NUL. */
	const char *nul =
	    realm.len > 0 ? memchr(realm.p, '\0', realm.len) : NULL;
	struct challenge_line_in in = {
	    is_proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
	    nul != NULL ? slice_make(realm.p, (uint32_t)(nul - realm.p))
	                : realm,
	    nonce, NULL, stale};

	for (int i = 0; i < a->nalgs; i++) {
		auth_nonce_make(a, realm, now_s, nonce);
		in.alg = digest_alg_name(a->algs[i]);
		if (!wbuf_append(buf, cap, &off, challenge_line, &in))
			return -1;
	}
	return (int)off;
}

static bool
alg_enabled(struct auth *a, int alg)
{
	for (int i = 0; i < a->nalgs; i++)
		if ((int)a->algs[i] == alg)
			return true;
	return false;
}

static bool
parse_nc(struct slice s, uint32_t *out)
{
	uint32_t v = 0;

	if (s.len != 8)
		return false;
	for (uint32_t i = 0; i < 8; i++) {
		int d = hex_val(s.p[i]);
		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

bool
auth_check_response(enum digest_alg alg, struct slice ha1,
    const struct sip_auth *cred, struct slice method)
{
	char ha2[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	digest_ha2(alg, method, cred->uri, ha2);
	digest_response(alg, ha1, cred->nonce, cred->nc, cred->cnonce,
	    cred->qop, slice_cstr(ha2), resp);
	return digest_hex_equal(slice_cstr(resp), cred->response);
}

enum auth_result
auth_verify(struct auth *a, const struct sip_auth *cred, struct slice method,
    const struct store_user *u, struct slice realm, uint64_t now_s)
{
	if (!slice_eq_cstr_nocase(cred->scheme, "Digest") ||
	    cred->username.len == 0 || cred->nonce.len == 0 ||
	    cred->response.len == 0 || cred->uri.len == 0)
		return AUTH_MALFORMED;
	if (!slice_eq(cred->realm, realm))
		return AUTH_FAILED;
	int alg = digest_alg_parse(cred->algorithm);
	if (alg < 0 || !alg_enabled(a, alg))
		return AUTH_MALFORMED;
	if (u->ha1[alg][0] == '\0')
		return AUTH_NO_HA1;
	uint8_t key[16];
	enum auth_nonce_state ns =
	    nonce_check_key(a, cred->nonce, realm, now_s, key);
	if (ns == AUTH_NONCE_BAD)
		return AUTH_FAILED;

	uint32_t nc = 1;
	struct slice qop = cred->qop;
	if (qop.len > 0) {
		if (!slice_eq_cstr_nocase(qop, "auth") ||
		    !parse_nc(cred->nc, &nc) || cred->cnonce.len == 0)
			return AUTH_MALFORMED;
	}
	if (!auth_check_response(
	        (enum digest_alg)alg, slice_cstr(u->ha1[alg]), cred, method))
		return AUTH_FAILED;
	/* The response is right: only now is the nonce worth remembering. */
	if (ns == AUTH_NONCE_STALE)
		return AUTH_STALE;
	/* Without qop there is no count: the nonce is good for one use. */
	if (!nc_accept_key(a, key, nc, now_s))
		return AUTH_STALE;
	return AUTH_OK;
}

const struct sip_auth *
auth_find_cred(const struct sip_auth *creds, int n, struct slice realm)
{
	for (int i = 0; i < n; i++)
		if (slice_eq(creds[i].realm, realm))
			return &creds[i];
	return NULL;
}
