/*
 * libFuzzer target for sdp: parse, rewrite every section, and parse the
 * rewritten body again (it must parse if the input did).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sdp s, s2;
	struct sip_err err;
	if (size > 65535)
		return 0;
	if (sdp_parse(
	        slice_make((const char *)data, (uint32_t)size), &s, &err) < 0)
		return 0;
	struct arena a;
	arena_init(&a, 4096, 1 << 20);
	struct sdp_rewrite rw;
	memset(&rw, 0, sizeof rw);
	rw.origin_addr = "203.0.113.5";
	rw.origin_af = 4;
	rw.drop_candidates = (size & 1) != 0;
	for (uint16_t i = 0; i < s.nmedia; i++) {
		if ((i + size) % 3 == 0)
			continue;
		rw.media[i].set = true;
		rw.media[i].addr = (i & 1) ? "2001:db8::7" : "203.0.113.5";
		rw.media[i].af = (i & 1) ? 6 : 4;
		rw.media[i].port = (uint16_t)(20000 + 2 * i);
		rw.media[i].rtcp_port = (i & 2) ? 0 : (uint16_t)(30001 + i);
	}
	struct slice out = sdp_rewrite(&s, &rw, &a);
	if (out.len == 0) {
		/* Only refused when added c= lines pass the line limit. */
		if (s.nlines + s.nmedia <= SDP_MAX_LINES)
			abort();
		arena_free(&a);
		return 0;
	}
	if (sdp_parse(out, &s2, &err) != 0)
		abort();
	if (s2.nmedia != s.nmedia)
		abort();
	for (uint16_t i = 0; i < s.nmedia; i++)
		if (rw.media[i].set && s2.media[i].port != rw.media[i].port)
			abort();
	arena_free(&a);
	return 0;
}
