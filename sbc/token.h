/*
 * token: the sealed tokens of topology hiding (DESIGN §6). A token carries
 * hidden header values in AES-256-GCM under the edge's key, with a key id
 * (rotation) and a purpose byte bound in as associated data, so a token
 * cannot be read, forged or moved from a Via into a Contact. Tokens are
 * deterministic (the nonce is a MAC of the plaintext, as in SIV), so one
 * hidden value always gives the same token: a hidden Call-ID stays one
 * Call-ID for the whole dialog. Text form: base64url without padding, fit
 * for a URI user part or a header parameter. Callers own every buffer.
 */
#ifndef PC_SBC_TOKEN_H
#define PC_SBC_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_KEY_LEN 32
#define TOKEN_MAX_KEYS 4
#define TOKEN_OVERHEAD (1 + 12 + 16) /* key id, nonce, tag */
/* Text length of a token sealing n plaintext bytes. */
#define TOKEN_TEXT_LEN(n) ((((n) + TOKEN_OVERHEAD) * 4 + 2) / 3)
/* The largest plaintext a token may carry. */
#define TOKEN_MAX_PLAIN 4096

struct token_key {
	uint8_t id;
	uint8_t enc[TOKEN_KEY_LEN]; /* AES-256-GCM key */
	uint8_t mac[TOKEN_KEY_LEN]; /* nonce derivation key */
};

/* keys[0] seals; every key opens tokens with its id (rotation). */
struct token_keys {
	struct token_key keys[TOKEN_MAX_KEYS];
	int n;
};

/* Derives the two subkeys and the id from a 256-bit master key and adds
 * it (the first one added seals). -1 when full or the id is taken. */
int token_keys_add(struct token_keys *ks, const uint8_t master[TOKEN_KEY_LEN]);
void token_keys_clear(struct token_keys *ks);
/* 64 hex digits -> key; -1 if malformed. */
int token_key_from_hex(const char *hex, uint8_t key[TOKEN_KEY_LEN]);
/*
 * Reads a key file (64 hex digits, optional newline). When it does not
 * exist and create is true, writes a new random key with mode 0600.
 * Returns 0, or -1 with a reason in err.
 */
int token_key_file(const char *path, bool create, uint8_t key[TOKEN_KEY_LEN],
    char *err, size_t errlen);

/* Seals pt for purpose into out as text (NUL-terminated). Returns the
 * text length, or -1 if out is too small or pt too long. */
int token_seal(const struct token_keys *ks, char purpose, const void *pt,
    size_t len, char *out, size_t cap);
/* Opens a token's text; returns the plaintext length, or -1 if the text
 * is malformed, the key id unknown, or it is not authentic. */
int token_open(const struct token_keys *ks, char purpose, const char *text,
    size_t len, void *out, size_t cap);

/*
 * Seals a blob (state written to disk, e.g. the row table) under a key
 * derived from the sealing key for that use, with a random nonce and the
 * label bound in: out gets len + TOKEN_OVERHEAD bytes. Returns that
 * length, or -1 if cap is too small or sealing fails.
 */
int token_seal_blob(const struct token_keys *ks, const char *label,
    const void *pt, size_t len, void *out, size_t cap);
/* Opens a sealed blob; returns the plaintext length, or -1 if it is
 * damaged, of another label or sealed by an unknown key. */
int token_open_blob(const struct token_keys *ks, const char *label,
    const void *in, size_t len, void *out, size_t cap);

/*
 * A sealed state file: token_file_save() seals pt (label bound in) and
 * replaces path atomically (a temporary name renamed over it, mode 0600);
 * 0, or -1 with errno. token_file_load() reads and opens it into *out
 * (malloc'd, the caller frees): 1 loaded, 0 no such file, -1 with the
 * reason in err (too large past max, damaged, another key or label).
 */
int token_file_save(const struct token_keys *ks, const char *label,
    const char *path, const void *pt, size_t len);
int token_file_load(const struct token_keys *ks, const char *label,
    const char *path, size_t max, uint8_t **out, size_t *outlen, char *err,
    size_t errlen);

#endif
