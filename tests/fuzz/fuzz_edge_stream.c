/*
 * Fuzz target: the edge's path for bytes from outside on a stream. The
 * input is framed as stream.c frames a TCP/TLS connection (sip_msg_frame,
 * keep-alive CRLFs skipped), and every framed message goes through what
 * inbound.c does before SIP_IN: parse, sanity, received/rport, topology
 * restore, Contact aliasing, render; then the outbound hiding as if core
 * sent it back out. Nothing may crash, leak or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "nat.h"
#include "sanity.h"
#include "sip_edit.h"
#include "topo.h"
#include "toprow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_local(void *arg, struct slice host, uint16_t port)
{
	(void)arg;
	(void)port;
	return slice_eq_cstr(host, "203.0.113.1");
}

static void
one(const char *buf, uint32_t len, struct arena *a,
    const struct token_keys *keys)
{
	static struct sip_msg m;
	static char *scanners[] = {"friendly-scanner"};
	struct sip_err err = {0};
	arena_reset(a);
	int rc = sip_msg_parse(&m, buf, len, a, &err);
	struct sanity_result sr;
	sanity_check(&m, rc, &err, scanners, 1, 65535, &sr);
	if (sr.verdict == SANITY_REPLY) {
		sip_build_response(
		    &m, sr.code, sr.phrase, SLICE_LIT("t"), SLICE_NULL, a);
		return;
	}
	if (sr.verdict != SANITY_OK)
		return;
	struct ipc_addr src;
	ipc_addr_parse(&src, "192.0.2.9", 40000);
	/* Half the inputs go through the row table (short tokens). */
	static struct toprow *rows;
	if (rows == NULL)
		rows = toprow_new(64);
	struct topo t = {.keys = keys,
	    .is_local = is_local,
	    .rows = rows,
	    .max_token = (len & 1) ? 80 : 0};
	struct sip_edit ed;
	sip_edit_init(&ed, &m, a);
	if (m.is_request)
		nat_fix_via(&m, &ed, &src, true);
	if (topo_restore(&t, &m, &ed, NULL, NULL) < 0)
		return;
	if (nat_is_behind(&m, &src))
		nat_alias_contacts(&m, &ed, &src);
	sip_edit_render(&ed);
	struct sip_edit out;
	sip_edit_init(&out, &m, a);
	struct topo_self self = {"203.0.113.1", 5060, 1};
	struct slice rcid, rtag;
	if (topo_hide(&t, &m, &out, &self, true) == 0 &&
	    (!topo_replaces(&m, &rcid, &rtag) ||
	        topo_hide_replaces(&t, &m, &out) == 0))
		sip_edit_render(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct token_keys keys;
	static struct arena a;
	static int ready;
	if (!ready) {
		uint8_t k[TOKEN_KEY_LEN] = {7};
		token_keys_add(&keys, k);
		arena_init(&a, 64 * 1024, 4 * 1024 * 1024);
		ready = 1;
	}
	const char *buf = (const char *)data;
	uint32_t len = size > 200000 ? 200000 : (uint32_t)size;
	uint32_t off = 0;
	for (int guard = 0; off < len && guard < 1000; guard++) {
		uint32_t skip = 0;
		struct sip_err err;
		int32_t n = sip_msg_frame(buf + off, len - off, &skip, &err);
		if (skip > len - off)
			abort();
		if (skip > 0) {
			off += skip;
			continue;
		}
		if (n <= 0)
			break; /* needs more bytes, or the stream is closed */
		if ((uint32_t)n > len - off)
			abort();
		one(buf + off, (uint32_t)n, &a, &keys);
		off += (uint32_t)n;
	}
	/* The same bytes as one datagram. */
	one(buf, len, &a, &keys);
	return 0;
}
