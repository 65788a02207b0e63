/* Unit tests of sbc/token.c: seal/open, tampering, purposes, rotation and
 * the key file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "token.h"

static const char *hex1 =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *hex2 =
    "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void
keys_from(struct token_keys *ks, const char *hex)
{
	uint8_t k[TOKEN_KEY_LEN];
	token_keys_clear(ks);
	CHECK_EQ_INT(token_key_from_hex(hex, k), 0);
	CHECK_EQ_INT(token_keys_add(ks, k), 0);
}

static void
test_roundtrip(void)
{
	struct token_keys ks;
	keys_from(&ks, hex1);
	const char *pt = "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKabc;rport";
	char tok[512], out[512];
	int n = token_seal(&ks, 'V', pt, strlen(pt), tok, sizeof tok);
	CHECK_EQ_INT(n, TOKEN_TEXT_LEN(strlen(pt)));
	CHECK_EQ_INT((int)strlen(tok), n);
	CHECK(strspn(tok,
	          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	          "0123456789-_") == (size_t)n);
	CHECK(strstr(tok, "10.0.0.2") == NULL);
	int m = token_open(&ks, 'V', tok, (size_t)n, out, sizeof out);
	CHECK_EQ_INT(m, (int)strlen(pt));
	CHECK(m >= 0 && memcmp(out, pt, (size_t)m) == 0);
	/* Deterministic: the same value gives the same token. */
	char tok2[512];
	token_seal(&ks, 'V', pt, strlen(pt), tok2, sizeof tok2);
	CHECK_STR(tok, tok2);
	/* Empty plaintext works too. */
	n = token_seal(&ks, 'I', "", 0, tok, sizeof tok);
	CHECK(n > 0);
	CHECK_EQ_INT(token_open(&ks, 'I', tok, (size_t)n, out, sizeof out), 0);
	token_keys_clear(&ks);
}

static void
test_tampering(void)
{
	struct token_keys ks;
	keys_from(&ks, hex1);
	const char *pt = "<sip:alice@192.168.1.20:5062;transport=tcp>";
	char tok[512], out[512];
	int n = token_seal(&ks, 'C', pt, strlen(pt), tok, sizeof tok);
	/* Every single-character change is rejected. */
	int accepted = 0;
	for (int i = 0; i < n; i++) {
		char t[512];
		memcpy(t, tok, (size_t)n);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		accepted +=
		    token_open(&ks, 'C', t, (size_t)n, out, sizeof out) >= 0;
	}
	CHECK_EQ_INT(accepted, 0);
	/* Truncation, extension, wrong purpose, bad characters. */
	CHECK(token_open(&ks, 'C', tok, (size_t)n - 1, out, sizeof out) < 0);
	CHECK(token_open(&ks, 'C', tok, (size_t)n - 4, out, sizeof out) < 0);
	char longer[520];
	snprintf(longer, sizeof longer, "%sAAAA", tok);
	CHECK(
	    token_open(&ks, 'C', longer, strlen(longer), out, sizeof out) < 0);
	CHECK(token_open(&ks, 'V', tok, (size_t)n, out, sizeof out) < 0);
	char bad[512];
	memcpy(bad, tok, (size_t)n);
	bad[3] = '=';
	CHECK(token_open(&ks, 'C', bad, (size_t)n, out, sizeof out) < 0);
	CHECK(token_open(&ks, 'C', "", 0, out, sizeof out) < 0);
	CHECK(token_open(&ks, 'C', "AAAA", 4, out, sizeof out) < 0);
	/* Output buffer too small: refused, not truncated. */
	CHECK(token_open(&ks, 'C', tok, (size_t)n, out, 5) < 0);
	/* Another key cannot open it. */
	struct token_keys other;
	keys_from(&other, hex2);
	CHECK(token_open(&other, 'C', tok, (size_t)n, out, sizeof out) < 0);
	token_keys_clear(&ks);
	token_keys_clear(&other);
}

/* The table-driven base64url decoder: every plaintext length (all three
 * tail lengths) round-trips, and any byte outside the alphabet, at any
 * position of a group or of the tail, is refused. */
static void
test_b64_forms(void)
{
	struct token_keys ks;
	keys_from(&ks, hex1);
	char pt[64], tok[256], out[256];
	int ok = 0;
	for (int len = 0; len < 48; len++) {
		for (int i = 0; i < len; i++)
			pt[i] = (char)('a' + (i * 7 + len) % 26);
		int n = token_seal(&ks, 'R', pt, (size_t)len, tok, sizeof tok);
		int m = token_open(&ks, 'R', tok, (size_t)n, out, sizeof out);
		ok += n == (int)TOKEN_TEXT_LEN((size_t)len) && m == len &&
		    memcmp(out, pt, (size_t)len) == 0;
	}
	CHECK_EQ_INT(ok, 48);
	int n = token_seal(&ks, 'R', "sip:p1@h", 8, tok, sizeof tok);
	CHECK(n % 4 != 0); /* a tail group is there */
	const char bad[] = {'\0', '=', '+', '/', '.', ' ', '@', '[', '`', '{',
	    (char)0x80, (char)0xc1, (char)0xff};
	int accepted = 0;
	for (int i = 0; i < n; i++)
		for (size_t b = 0; b < sizeof bad; b++) {
			char t[256];
			memcpy(t, tok, (size_t)n);
			t[i] = bad[b];
			accepted += token_open(&ks, 'R', t, (size_t)n, out,
			                sizeof out) >= 0;
		}
	CHECK_EQ_INT(accepted, 0);
	token_keys_clear(&ks);
}

/* Known answers, made by the token code before its HMAC and base64 were
 * rewritten (session 4): the same key and value give the same token, so
 * tokens out in dialogs keep opening across an upgrade. */
static void
test_known_answers(void)
{
	static const struct {
		char purpose;
		const char *pt, *tok;
	} kat[] = {
	    {'I', "", "14sjXoX2CM2gC394_W59jVxqunoFPPvSMH_JBxg"},
	    {'V',
	        "SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKa1;received=192.0.2.9;"
	        "rport=40000",
	        "10sMKSfCGls-4Vs-q1aGWY-"
	        "zEkFFQOUdQQjl2clyvlL3kv5NErXysR2VGgIr8DJ"
	        "POhyMZ3dQL2xlKumk_3p5GXva11tZQZg1p_EC9Hp6REn7syP4eeHAFS2wnnm-"
	        "6E"
	        "cZ9TuWFznp"},
	    {'R', "F<sip:203.0.113.1:5060;lr>",
	        "16p6CLekxs21xJrXvvj0L4EbhPY8FHiLGlJVm0sVk-"
	        "qgLYr39nbVP9hHwyfcAoo"
	        "RJg8OBIGe9w"},
	    {'C', "<sip:alice@192.0.2.9:40000>",
	        "1-8C5qgPga0nVaxuN9kV-3MGcdNZdHNa8aYSvknIBUoPhMVreE73mwC5_"
	        "BLdsFn"
	        "p0IO-twvDfts"},
	};
	struct token_keys ks;
	keys_from(&ks,
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		char tok[512], out[512];
		int n = token_seal(&ks, kat[i].purpose, kat[i].pt,
		    strlen(kat[i].pt), tok, sizeof tok);
		CHECK_EQ_INT(n, (int)strlen(kat[i].tok));
		CHECK_STR(tok, kat[i].tok);
		int m = token_open(&ks, kat[i].purpose, kat[i].tok,
		    strlen(kat[i].tok), out, sizeof out);
		CHECK_EQ_INT(m, (int)strlen(kat[i].pt));
		CHECK(m >= 0 && memcmp(out, kat[i].pt, (size_t)m) == 0);
	}
	token_keys_clear(&ks);
}

static void
test_rotation(void)
{
	struct token_keys old, both;
	keys_from(&old, hex1);
	char tok[256], out[256];
	int n = token_seal(&old, 'R', "x", 1, tok, sizeof tok);
	/* New key seals, old key still opens what it sealed. */
	uint8_t k[TOKEN_KEY_LEN];
	token_keys_clear(&both);
	token_key_from_hex(hex2, k);
	CHECK_EQ_INT(token_keys_add(&both, k), 0);
	token_key_from_hex(hex1, k);
	CHECK_EQ_INT(token_keys_add(&both, k), 0);
	CHECK_EQ_INT(token_keys_add(&both, k), -1); /* same id twice */
	CHECK_EQ_INT(
	    token_open(&both, 'R', tok, (size_t)n, out, sizeof out), 1);
	char tok2[256];
	int n2 = token_seal(&both, 'R', "x", 1, tok2, sizeof tok2);
	CHECK(strcmp(tok, tok2) != 0);
	CHECK(token_open(&old, 'R', tok2, (size_t)n2, out, sizeof out) < 0);
	token_keys_clear(&old);
	token_keys_clear(&both);
}

static void
test_limits(void)
{
	struct token_keys ks;
	keys_from(&ks, hex1);
	char small[8];
	CHECK(token_seal(&ks, 'V', "abcdef", 6, small, sizeof small) < 0);
	static char big[TOKEN_MAX_PLAIN + 1];
	static char out[TOKEN_TEXT_LEN(TOKEN_MAX_PLAIN + 1) + 8];
	CHECK(token_seal(&ks, 'V', big, sizeof big, out, sizeof out) < 0);
	CHECK(token_seal(&ks, 'V', big, TOKEN_MAX_PLAIN, out, sizeof out) > 0);
	struct token_keys none = {.n = 0};
	CHECK(token_seal(&none, 'V', "a", 1, out, sizeof out) < 0);
	CHECK(token_key_from_hex("00", (uint8_t[32]){0}) < 0);
	token_keys_clear(&ks);
}

static void
test_key_file(void)
{
	char dir[] = "/tmp/pc-token-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[256], err[256];
	snprintf(path, sizeof path, "%s/topology.key", dir);
	uint8_t k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
	CHECK(token_key_file(path, false, k1, err, sizeof err) < 0);
	CHECK_EQ_INT(token_key_file(path, true, k1, err, sizeof err), 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(token_key_file(path, true, k2, err, sizeof err), 0);
	CHECK(memcmp(k1, k2, sizeof k1) == 0);
	FILE *f = fopen(path, "w");
	fputs("not a key\n", f);
	fclose(f);
	CHECK(token_key_file(path, true, k2, err, sizeof err) < 0);
	CHECK(strstr(err, "not a key") != NULL);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_tampering);
	TEST_RUN(test_b64_forms);
	TEST_RUN(test_known_answers);
	TEST_RUN(test_rotation);
	TEST_RUN(test_limits);
	TEST_RUN(test_key_file);
	return tap_done();
}
