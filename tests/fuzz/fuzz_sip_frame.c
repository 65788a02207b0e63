/*
 * libFuzzer target for stream framing: the input is a TCP byte stream cut
 * into messages with sip_msg_frame; each frame is parsed. Also checks that
 * feeding the stream in two pieces never yields a frame longer than what
 * was available.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m;
	if (size > 4 * SIP_MAX_MSG_SIZE)
		return 0;
	const char *p = (const char *)data;
	uint32_t left = (uint32_t)size;
	struct arena a;
	arena_init(&a, 4096, 1 << 20);
	for (int guard = 0; guard < 10000 && left > 0; guard++) {
		uint32_t skip = 0;
		struct sip_err err;
		int32_t n = sip_msg_frame(p, left, &skip, &err);
		if (skip > left)
			abort();
		if (n < 0) {
			if (err.code != SIP_E_BAD_FRAMING &&
			    err.code != SIP_E_TOO_LARGE)
				abort();
			break;
		}
		if ((uint64_t)skip + (uint64_t)n > left)
			abort();
		p += skip;
		left -= skip;
		if (n == 0)
			break;
		/* A shorter prefix of a complete frame is never complete. */
		uint32_t sk2;
		if (n > 1 &&
		    sip_msg_frame(p, (uint32_t)n - 1, &sk2, &err) > 0 &&
		    sk2 == 0)
			abort();
		arena_reset(&a);
		sip_msg_parse(&m, p, (uint32_t)n, &a, &err);
		p += n;
		left -= (uint32_t)n;
	}
	arena_free(&a);
	return 0;
}
