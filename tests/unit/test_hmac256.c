/* Unit tests of common/hmac256.c: the RFC 4231 test cases 1-7, and
 * agreement with OpenSSL's EVP HMAC for every key and message length up
 * to past two blocks, split between a and b at every point. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hmac256.h"
#include "tap.h"

static void
to_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

struct vec {
	const uint8_t *key;
	size_t klen;
	const char *data;
	size_t dlen;
	const char *mac; /* hex; case 5 checks the first 128 bits only */
};

static void
test_rfc4231(void)
{
	uint8_t k0b[20], k0c[20], kaa20[20], kaa131[131], k25[25];
	char ddd[50], dcd[50];
	memset(k0b, 0x0b, sizeof k0b);
	memset(k0c, 0x0c, sizeof k0c);
	memset(kaa20, 0xaa, sizeof kaa20);
	memset(kaa131, 0xaa, sizeof kaa131);
	memset(ddd, 0xdd, sizeof ddd);
	memset(dcd, 0xcd, sizeof dcd);
	for (int i = 0; i < 25; i++)
		k25[i] = (uint8_t)(i + 1);
	static const char d6[] =
	    "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char d7[] =
	    "This is a test using a larger than block-size key and a larger "
	    "than block-size data. The key needs to be hashed before being "
	    "used by the HMAC algorithm.";
	const struct vec v[] = {
	    {k0b, 20, "Hi There", 8,
	        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32"
	        "cff7"},
	    {(const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28,
	        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec"
	        "3843"},
	    {kaa20, 20, ddd, 50,
	        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced5"
	        "65fe"},
	    {k25, 25, dcd, 50,
	        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729"
	        "665b"},
	    {k0c, 20, "Test With Truncation", 20,
	        "a3b6167473100ee06e0c796c2955552b"},
	    {kaa131, 131, d6, sizeof d6 - 1,
	        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee3"
	        "7f54"},
	    {kaa131, 131, d7, sizeof d7 - 1,
	        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a"
	        "35e2"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct hmac256_key k;
		uint8_t mac[HMAC256_LEN];
		char hex[2 * HMAC256_LEN + 1];
		CHECK(hmac256_key_init(&k, v[i].key, v[i].klen));
		CHECK(hmac256(&k, v[i].data, v[i].dlen, NULL, 0, mac));
		to_hex(mac, sizeof mac, hex);
		hex[strlen(v[i].mac)] = '\0';
		CHECK_STR(hex, v[i].mac);
		/* The same message split in two gives the same MAC. */
		CHECK(hmac256(
		    &k, v[i].data, 3, v[i].data + 3, v[i].dlen - 3, mac));
		to_hex(mac, sizeof mac, hex);
		hex[strlen(v[i].mac)] = '\0';
		CHECK_STR(hex, v[i].mac);
		hmac256_key_clear(&k);
	}
}

static void
test_against_evp(void)
{
	uint8_t key[150], msg[200];
	int bad = 0;

	srand(4231);
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)rand();
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (uint8_t)rand();
	/* Key lengths around the block size (64) and message lengths
	 * around one and two blocks. */
	for (size_t kl = 0; kl <= sizeof key; kl += kl < 70 ? 1 : 40) {
		struct hmac256_key k;
		if (!hmac256_key_init(&k, key, kl)) {
			bad++;
			continue;
		}
		for (size_t ml = 0; ml <= sizeof msg; ml += ml < 140 ? 1 : 30) {
			uint8_t want[HMAC256_LEN], got[HMAC256_LEN];
			size_t wl = 0;
			if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key,
			        kl, msg, ml, want, sizeof want, &wl) == NULL ||
			    wl != HMAC256_LEN) {
				bad++;
				continue;
			}
			size_t split = ml * kl % (ml + 1);
			if (!hmac256(
			        &k, msg, split, msg + split, ml - split, got) ||
			    memcmp(got, want, sizeof got) != 0)
				bad++;
		}
		hmac256_key_clear(&k);
	}
	CHECK_EQ_INT(bad, 0);
}

int
main(void)
{
	TEST_RUN(test_rfc4231);
	TEST_RUN(test_against_evp);
	return tap_done();
}
