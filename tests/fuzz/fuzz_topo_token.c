/*
 * Fuzz target: the topology token decoder (sbc/token.c token_open) with a
 * fixed key. Tokens come back from outside in URIs and Via parameters, so
 * any text must be rejected cleanly or opened within bounds. A valid token
 * of the input is also sealed and reopened to check the round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct token_keys ks;
	static int ready;
	if (!ready) {
		uint8_t k[TOKEN_KEY_LEN];
		for (int i = 0; i < TOKEN_KEY_LEN; i++)
			k[i] = (uint8_t)i;
		token_keys_add(&ks, k);
		ready = 1;
	}
	static uint8_t out[TOKEN_MAX_PLAIN];
	static char text[TOKEN_TEXT_LEN(TOKEN_MAX_PLAIN) + 1];
	char purpose = size > 0 ? (char)data[0] : 'V';
	const char *t = size > 0 ? (const char *)data + 1 : "";
	size_t tl = size > 0 ? size - 1 : 0;
	int n = token_open(&ks, purpose, t, tl, out, sizeof out);
	if (n > (int)sizeof out)
		abort();
	size_t plen = tl > TOKEN_MAX_PLAIN ? TOKEN_MAX_PLAIN : tl;
	int m = token_seal(&ks, purpose, t, plen, text, sizeof text);
	if (m < 0)
		abort();
	n = token_open(&ks, purpose, text, (size_t)m, out, sizeof out);
	if (n != (int)plen || memcmp(out, t, plen) != 0)
		abort();
	return 0;
}
