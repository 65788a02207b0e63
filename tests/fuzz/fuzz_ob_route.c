/*
 * Fuzz target: the RFC 5626 flow tokens of the edge (sbc/nat.c): the Path
 * added to a REGISTER asking for outbound (nat_ob_wanted,
 * nat_ob_add_path), and the decoding of the top Route of a request from
 * core (nat_ob_route: Route parsing, the token's check and decoding, the
 * removal of its entry). fuzz_topo_token covers token_open alone; this
 * covers what surrounds it.
 *
 * Input: the 27 bytes of a flow as a token carries it (transport, u16
 * listener, u32 connection, struct ipc_addr; little endian), then a SIP
 * message in which each "$TOK" becomes the token of that flow sealed with
 * the test key (the fuzzer cannot forge one). A Route entry that decodes
 * must give back exactly that flow and be the one removed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "nat.h"
#include "sip_edit.h"
#include "sip_msg.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLOW_LEN (1 + 2 + 4 + 20)
#define MAX_MSG 65536
#define MARK "$TOK"

static bool
is_local(void *arg, struct slice host, uint16_t port)
{
	(void)arg;
	return (slice_eq_cstr(host, "203.0.113.1") ||
	           slice_eq_cstr(host, "2001:db8::1")) &&
	    (port == 0 || port == 5060);
}

static int
routes(struct sip_msg *m)
{
	const struct sip_nameaddr *na;
	struct sip_err err;
	return sip_msg_routes(m, &na, &err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct token_keys keys;
	static struct arena a;
	static struct sip_msg m, m2;
	static char buf[2 * MAX_MSG];
	static int ready;
	if (!ready) {
		uint8_t k[TOKEN_KEY_LEN];
		for (int i = 0; i < TOKEN_KEY_LEN; i++)
			k[i] = (uint8_t)(0x30 + i);
		token_keys_add(&keys, k);
		arena_init(&a, 64 * 1024, 16 * 1024 * 1024);
		ready = 1;
	}
	if (size < FLOW_LEN || size - FLOW_LEN > MAX_MSG)
		return 0;
	struct ipc_flow f;
	memset(&f, 0, sizeof f);
	f.transport = data[0];
	f.listener = (uint16_t)(data[1] | data[2] << 8);
	for (int i = 0; i < 4; i++)
		f.conn_id |= (uint32_t)data[3 + i] << (8 * i);
	memcpy(&f.remote, data + 7, sizeof f.remote);
	const char *in = (const char *)data + FLOW_LEN;
	size_t inlen = size - FLOW_LEN;

	/* The REGISTER side: a Path naming this edge with the flow's token. */
	arena_reset(&a);
	struct sip_err err;
	if (sip_msg_parse(&m, in, (uint32_t)inlen, &a, &err) == 0 &&
	    nat_ob_wanted(&m)) {
		struct sip_edit ed;
		sip_edit_init(&ed, &m, &a);
		if (nat_ob_add_path(&m, &ed, &keys, &f,
		        (data[0] & 1) ? "2001:db8::1" : "203.0.113.1",
		        5060) != 0)
			abort();
		struct slice out = sip_edit_render(&ed);
		if (out.p == NULL ||
		    sip_msg_parse(&m2, out.p, out.len, &a, &err) != 0 ||
		    m2.first[SIP_HDR_PATH] < 0)
			abort();
	}

	/* The request side: "$TOK" becomes the flow's token. */
	char tok[TOKEN_TEXT_LEN(FLOW_LEN) + 1];
	uint8_t pt[FLOW_LEN];
	memcpy(pt, data, FLOW_LEN);
	if (token_seal(&keys, NAT_OB_PURPOSE, pt, FLOW_LEN, tok, sizeof tok) <
	    0)
		abort();
	size_t tl = strlen(tok), o = 0;
	for (size_t i = 0; i < inlen;) {
		if (inlen - i >= 4 && memcmp(in + i, MARK, 4) == 0) {
			if (o + tl > sizeof buf)
				return 0;
			memcpy(buf + o, tok, tl);
			o += tl;
			i += 4;
		} else {
			if (o + 1 > sizeof buf)
				return 0;
			buf[o++] = in[i++];
		}
	}
	arena_reset(&a);
	if (sip_msg_parse(&m, buf, (uint32_t)o, &a, &err) != 0)
		return 0;
	int before = routes(&m);
	struct ipc_flow g;
	memset(&g, 0, sizeof g);
	struct sip_edit ed;
	sip_edit_init(&ed, &m, &a);
	int rc = nat_ob_route(&m, &ed, &keys, is_local, NULL, &g);
	if (rc == 1) {
		if (g.transport != f.transport || g.listener != f.listener ||
		    g.conn_id != f.conn_id ||
		    memcmp(&g.remote, &f.remote, sizeof g.remote) != 0)
			abort();
		/* The message goes on with one Route entry fewer. */
		struct slice out = sip_edit_render(&ed);
		if (out.p == NULL)
			abort();
		if (sip_msg_parse(&m2, out.p, out.len, &a, &err) != 0 ||
		    routes(&m2) != before - 1)
			abort();
	}
	return 0;
}
