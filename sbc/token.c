/*
 * Token sealing with OpenSSL EVP (AES-256-GCM) and HMAC-SHA-256 for the
 * synthetic nonce. Tokens come back from outside, so token_open() checks
 * every length before it decrypts and never writes past its output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* HMAC from the key's saved pad states (common/hmac256): a struct copy
 * per MAC, where EVP's HMAC re-init allocates and frees digest contexts
 * every time (OpenSSL 3.0). */
#include "hmac256.h"
#include "token.h"

#define NONCE_LEN 12
#define TAG_LEN 16

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t
b64_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0, i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
	}
	return o;
}

/* 1 + the value of each base64url character, 0 for any other byte: one
 * load per character, as the edge decodes tokens for most messages.
 * Filled from b64[] on first use (the edge is single-threaded). */
static uint8_t b64_rev1[256];

static void
b64_rev_init(void)
{
	if (b64_rev1[(unsigned char)'A'] != 0)
		return;
	for (int i = 0; i < 64; i++)
		b64_rev1[(unsigned char)b64[i]] = (uint8_t)(i + 1);
}

static inline int
b64_val(char c)
{
	return b64_rev1[(unsigned char)c] - 1;
}

/* Strict: rejects bad characters, impossible lengths and non-zero
 * trailing bits, so each token has exactly one text form. */
static int
b64_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4 == 1)
		return -1;
	size_t need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > cap)
		return -1;
	b64_rev_init();
	size_t o = 0, i = 0;
	/* Four characters -> three bytes; a bad character is -1. */
	for (; i + 4 <= n; i += 4) {
		int32_t a = b64_val(in[i]), b = b64_val(in[i + 1]),
		        c = b64_val(in[i + 2]), d = b64_val(in[i + 3]);
		if ((a | b | c | d) < 0)
			return -1;
		uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 |
		    (uint32_t)c << 6 | (uint32_t)d;
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	uint32_t acc = 0;
	int bits = 0;
	for (; i < n; i++) {
		int v = b64_val(in[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	return (int)o;
}

/*
 * Contexts set up once per key. Fetching HMAC, hashing its key into the
 * pads and expanding an AES key cost more than sealing one short token,
 * and the edge seals and opens several per message. The cache is keyed by
 * the key bytes, so struct token_keys stays plain data that callers copy
 * and clear; the edge is single-threaded. Entries go when their key is
 * cleared, when evicted for a newer key, and at exit.
 */
#define CTX_CACHE 8

struct key_ctx {
	bool used;
	unsigned long last;
	uint8_t key[TOKEN_KEY_LEN];
	bool pads; /* mac set */
	struct hmac256_key mac;
	EVP_CIPHER_CTX *enc, *dec; /* AES-256-GCM keyed with key */
};

static struct key_ctx ctx_cache[CTX_CACHE];
static unsigned long ctx_clock;
static EVP_CIPHER *gcm_alg;
static bool ctx_atexit;

static void
key_ctx_drop(struct key_ctx *c)
{
	EVP_CIPHER_CTX_free(c->enc);
	EVP_CIPHER_CTX_free(c->dec);
	OPENSSL_cleanse(c, sizeof *c);
}

static void
ctx_cache_free(void)
{
	for (int i = 0; i < CTX_CACHE; i++)
		if (ctx_cache[i].used)
			key_ctx_drop(&ctx_cache[i]);
	EVP_CIPHER_free(gcm_alg);
	gcm_alg = NULL;
}

static void
crypto_fail(const char *what)
{
	/* OpenSSL cannot allocate a context: nothing sane remains. */
	fprintf(stderr, "token: %s failed\n", what);
	abort();
}

static void
algs_fetch(void)
{
	if (gcm_alg != NULL)
		return;
	gcm_alg = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	if (gcm_alg == NULL)
		crypto_fail("fetching AES-256-GCM");
	if (!ctx_atexit && atexit(ctx_cache_free) == 0)
		ctx_atexit = true;
}

/* The cache entry of key, taking the least recently used slot if new. */
static struct key_ctx *
key_ctx_get(const uint8_t key[TOKEN_KEY_LEN])
{
	algs_fetch();
	struct key_ctx *victim = &ctx_cache[0];
	for (int i = 0; i < CTX_CACHE; i++) {
		struct key_ctx *c = &ctx_cache[i];
		if (c->used && memcmp(c->key, key, TOKEN_KEY_LEN) == 0) {
			c->last = ++ctx_clock;
			return c;
		}
		if (victim->used && (!c->used || c->last < victim->last))
			victim = c;
	}
	if (victim->used)
		key_ctx_drop(victim);
	victim->used = true;
	victim->last = ++ctx_clock;
	memcpy(victim->key, key, TOKEN_KEY_LEN);
	return victim;
}

static void
key_ctx_forget(const uint8_t key[TOKEN_KEY_LEN])
{
	for (int i = 0; i < CTX_CACHE; i++)
		if (ctx_cache[i].used &&
		    memcmp(ctx_cache[i].key, key, TOKEN_KEY_LEN) == 0)
			key_ctx_drop(&ctx_cache[i]);
}

/* A GCM context of key for enc (true) or dec, with a fresh iv. */
static EVP_CIPHER_CTX *
gcm_ctx(const uint8_t key[TOKEN_KEY_LEN], bool enc, const uint8_t *iv)
{
	struct key_ctx *c = key_ctx_get(key);
	EVP_CIPHER_CTX **slot = enc ? &c->enc : &c->dec;
	if (*slot == NULL) {
		*slot = EVP_CIPHER_CTX_new();
		if (*slot == NULL ||
		    !EVP_CipherInit_ex(*slot, gcm_alg, NULL, key, NULL, enc))
			crypto_fail("AES-256-GCM");
	}
	/* Only the IV is new: the expanded key and GHASH tables stay. */
	if (!EVP_CipherInit_ex(*slot, NULL, NULL, NULL, iv, enc))
		return NULL;
	return *slot;
}

/* HMAC-SHA-256 (RFC 2104) of a then b under key, from the key's pads
 * hashed once. */
static void
key_mac(const uint8_t *key, const void *a, size_t alen, const void *b,
    size_t blen, uint8_t out[32])
{
	struct key_ctx *c = key_ctx_get(key);
	if (!c->pads) {
		if (!hmac256_key_init(&c->mac, key, TOKEN_KEY_LEN))
			crypto_fail("HMAC");
		c->pads = true;
	}
	if (!hmac256(&c->mac, a, alen, b, blen, out))
		crypto_fail("HMAC");
}

/* HMAC under a key used once (key derivation): not worth a cache slot. */
static void
hmac256_once(const uint8_t *key, const void *a, size_t alen, uint8_t out[32])
{
	struct hmac256_key k;
	if (!hmac256_key_init(&k, key, TOKEN_KEY_LEN) ||
	    !hmac256(&k, a, alen, NULL, 0, out))
		crypto_fail("HMAC");
	hmac256_key_clear(&k);
}

void
token_keys_clear(struct token_keys *ks)
{
	for (int i = 0; i < ks->n && i < TOKEN_MAX_KEYS; i++) {
		key_ctx_forget(ks->keys[i].enc);
		key_ctx_forget(ks->keys[i].mac);
	}
	OPENSSL_cleanse(ks, sizeof *ks);
	ks->n = 0;
}

int
token_keys_add(struct token_keys *ks, const uint8_t master[TOKEN_KEY_LEN])
{
	if (ks->n >= TOKEN_MAX_KEYS)
		return -1;
	struct token_key k;
	uint8_t idb[32];
	hmac256_once(master, "portcullis topo enc", 19, k.enc);
	hmac256_once(master, "portcullis topo nonce", 21, k.mac);
	hmac256_once(master, "portcullis topo id", 18, idb);
	k.id = idb[0];
	for (int i = 0; i < ks->n; i++)
		if (ks->keys[i].id == k.id)
			return -1;
	ks->keys[ks->n++] = k;
	OPENSSL_cleanse(&k, sizeof k);
	return 0;
}

int
token_key_from_hex(const char *hex, uint8_t key[TOKEN_KEY_LEN])
{
	for (int i = 0; i < TOKEN_KEY_LEN; i++) {
		int v = 0;
		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				return -1;
			v = v * 16 + d;
		}
		key[i] = (uint8_t)v;
	}
	return hex[2 * TOKEN_KEY_LEN] == '\0' ? 0 : -1;
}

int
token_key_file(const char *path, bool create, uint8_t key[TOKEN_KEY_LEN],
    char *err, size_t errlen)
{
	char buf[160];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		uint8_t k[TOKEN_KEY_LEN];
		if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
			snprintf(err, errlen, "getrandom: %s", strerror(errno));
			return -1;
		}
		for (int i = 0; i < TOKEN_KEY_LEN; i++)
			snprintf(buf + 2 * i, 3, "%02x", k[i]);
		buf[2 * TOKEN_KEY_LEN] = '\n';
		OPENSSL_cleanse(k, sizeof k);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		ssize_t w = write(fd, buf, 2 * TOKEN_KEY_LEN + 1);
		if (w != 2 * TOKEN_KEY_LEN + 1 || fsync(fd) != 0) {
			snprintf(err, errlen, "%s: write failed", path);
			close(fd);
			unlink(path);
			return -1;
		}
		close(fd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (n > 0 &&
	    (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	int rc = token_key_from_hex(buf, key);
	OPENSSL_cleanse(buf, sizeof buf);
	if (rc != 0) {
		snprintf(
		    err, errlen, "%s: not a key (64 hexadecimal digits)", path);
		return -1;
	}
	return 0;
}

int
token_seal(const struct token_keys *ks, char purpose, const void *pt,
    size_t len, char *out, size_t cap)
{
	if (ks->n == 0 || len > TOKEN_MAX_PLAIN ||
	    cap < TOKEN_TEXT_LEN(len) + 1)
		return -1;
	const struct token_key *k = &ks->keys[0];
	uint8_t bin[TOKEN_MAX_PLAIN + TOKEN_OVERHEAD];
	uint8_t aad[2] = {k->id, (uint8_t)purpose};
	uint8_t mac[32];
	key_mac(k->mac, aad, sizeof aad, pt, len, mac);
	bin[0] = k->id;
	memcpy(bin + 1, mac, NONCE_LEN);

	EVP_CIPHER_CTX *ctx = gcm_ctx(k->enc, true, bin + 1);
	int outl = 0,
	    ok = ctx != NULL &&
	    EVP_EncryptUpdate(ctx, NULL, &outl, aad, sizeof aad) &&
	    EVP_EncryptUpdate(ctx, bin + 1 + NONCE_LEN, &outl, pt, (int)len) &&
	    EVP_EncryptFinal_ex(ctx, bin + 1 + NONCE_LEN + outl, &outl) &&
	    EVP_CIPHER_CTX_ctrl(
	        ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, bin + 1 + NONCE_LEN + len);
	if (!ok)
		return -1;
	size_t o = b64_encode(bin, len + TOKEN_OVERHEAD, out);
	out[o] = '\0';
	return (int)o;
}

int
token_open(const struct token_keys *ks, char purpose, const char *text,
    size_t len, void *out, size_t cap)
{
	uint8_t bin[TOKEN_MAX_PLAIN + TOKEN_OVERHEAD];
	if (len > TOKEN_TEXT_LEN(TOKEN_MAX_PLAIN))
		return -1;
	int n = b64_decode(text, len, bin, sizeof bin);
	if (n < TOKEN_OVERHEAD)
		return -1;
	size_t ptlen = (size_t)n - TOKEN_OVERHEAD;
	if (ptlen > cap)
		return -1;
	const struct token_key *k = NULL;
	for (int i = 0; i < ks->n; i++)
		if (ks->keys[i].id == bin[0])
			k = &ks->keys[i];
	if (k == NULL)
		return -1;
	uint8_t aad[2] = {k->id, (uint8_t)purpose};
	EVP_CIPHER_CTX *ctx = gcm_ctx(k->enc, false, bin + 1);
	int outl = 0,
	    ok = ctx != NULL &&
	    EVP_DecryptUpdate(ctx, NULL, &outl, aad, sizeof aad) &&
	    EVP_DecryptUpdate(
	        ctx, out, &outl, bin + 1 + NONCE_LEN, (int)ptlen) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	        bin + 1 + NONCE_LEN + ptlen) &&
	    EVP_DecryptFinal_ex(ctx, (uint8_t *)out + outl, &outl);
	if (!ok) {
		OPENSSL_cleanse(out, ptlen);
		return -1;
	}
	/* The nonce must be the one this plaintext derives: a token made by
	 * someone holding only an old ciphertext cannot pass either way, but
	 * checking keeps exactly one valid text per value. */
	uint8_t mac[32];
	key_mac(k->mac, aad, sizeof aad, out, ptlen, mac);
	if (CRYPTO_memcmp(mac, bin + 1, NONCE_LEN) != 0) {
		OPENSSL_cleanse(out, ptlen);
		return -1;
	}
	return (int)ptlen;
}

/* The blob key of k: a separate key, so that blobs (random nonces) and
 * tokens (synthetic nonces) never share a GCM key. */
static void
blob_key(const struct token_key *k, uint8_t out[32])
{
	hmac256_once(k->enc, "portcullis blob key", 19, out);
}

static bool
blob_aad(EVP_CIPHER_CTX *ctx, bool enc, uint8_t id, const char *label)
{
	int outl = 0;
	size_t n = strlen(label);
	if (enc)
		return EVP_EncryptUpdate(ctx, NULL, &outl, &id, 1) &&
		    EVP_EncryptUpdate(
		        ctx, NULL, &outl, (const uint8_t *)label, (int)n);
	return EVP_DecryptUpdate(ctx, NULL, &outl, &id, 1) &&
	    EVP_DecryptUpdate(ctx, NULL, &outl, (const uint8_t *)label, (int)n);
}

int
token_seal_blob(const struct token_keys *ks, const char *label, const void *pt,
    size_t len, void *out, size_t cap)
{
	if (ks->n == 0 || len > INT32_MAX - TOKEN_OVERHEAD ||
	    cap < len + TOKEN_OVERHEAD)
		return -1;
	const struct token_key *k = &ks->keys[0];
	uint8_t *o = out;
	uint8_t key[32];
	o[0] = k->id;
	if (getrandom(o + 1, NONCE_LEN, 0) != NONCE_LEN)
		return -1;
	blob_key(k, key);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0,
	    ok = ctx != NULL &&
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, o + 1) &&
	    blob_aad(ctx, true, k->id, label) &&
	    EVP_EncryptUpdate(ctx, o + 1 + NONCE_LEN, &outl, pt, (int)len) &&
	    EVP_EncryptFinal_ex(ctx, o + 1 + NONCE_LEN + outl, &outl) &&
	    EVP_CIPHER_CTX_ctrl(
	        ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, o + 1 + NONCE_LEN + len);
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof key);
	return ok ? (int)(len + TOKEN_OVERHEAD) : -1;
}

int
token_open_blob(const struct token_keys *ks, const char *label, const void *in,
    size_t len, void *out, size_t cap)
{
	const uint8_t *b = in;
	if (len < TOKEN_OVERHEAD || len > INT32_MAX ||
	    len - TOKEN_OVERHEAD > cap)
		return -1;
	size_t ptlen = len - TOKEN_OVERHEAD;
	const struct token_key *k = NULL;
	for (int i = 0; i < ks->n; i++)
		if (ks->keys[i].id == b[0])
			k = &ks->keys[i];
	if (k == NULL)
		return -1;
	uint8_t key[32];
	blob_key(k, key);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl = 0,
	    ok = ctx != NULL &&
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, b + 1) &&
	    blob_aad(ctx, false, k->id, label) &&
	    EVP_DecryptUpdate(ctx, out, &outl, b + 1 + NONCE_LEN, (int)ptlen) &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	        (void *)(b + 1 + NONCE_LEN + ptlen)) &&
	    EVP_DecryptFinal_ex(ctx, (uint8_t *)out + outl, &outl);
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof key);
	if (!ok) {
		OPENSSL_cleanse(out, ptlen);
		return -1;
	}
	return (int)ptlen;
}

static int
write_all(const char *path, const uint8_t *p, size_t n)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t o = 0;
	while (o < n) {
		ssize_t w = write(fd, p + o, n - o);
		if (w <= 0) {
			int saved = errno;
			close(fd);
			unlink(tmp);
			errno = saved;
			return -1;
		}
		o += (size_t)w;
	}
	/* A crash leaves the old file or the new one, never half of one. */
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
token_file_save(const struct token_keys *ks, const char *label,
    const char *path, const void *pt, size_t len)
{
	uint8_t *sealed = malloc(len + TOKEN_OVERHEAD);
	if (sealed == NULL)
		return -1;
	int n =
	    token_seal_blob(ks, label, pt, len, sealed, len + TOKEN_OVERHEAD);
	int rc = n < 0 ? -1 : write_all(path, sealed, (size_t)n);
	if (n < 0)
		errno = EINVAL;
	free(sealed);
	return rc;
}

int
token_file_load(const struct token_keys *ks, const char *label,
    const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
    size_t errlen)
{
	*out = NULL;
	*outlen = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < TOKEN_OVERHEAD ||
	    (uint64_t)st.st_size > (uint64_t)max + TOKEN_OVERHEAD) {
		close(fd);
		snprintf(err, errlen, "%s: not a state file (size)", path);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *sealed = malloc(n), *plain = malloc(n);
	ssize_t got = -1;
	if (sealed != NULL && plain != NULL)
		got = read(fd, sealed, n);
	close(fd);
	int rc = -1;
	if (got != (ssize_t)n) {
		snprintf(err, errlen, "%s: cannot read it", path);
	} else {
		int pl = token_open_blob(ks, label, sealed, n, plain, n);
		if (pl < 0) {
			snprintf(err, errlen,
			    "%s: does not open with the topology key", path);
		} else {
			*out = plain;
			*outlen = (size_t)pl;
			plain = NULL;
			rc = 1;
		}
	}
	free(sealed);
	free(plain);
	return rc;
}
