/*
 * libFuzzer target for sip_uri and the other small value parsers: URI
 * parse, parameter lookup, comparison and unescaping; name-addr and
 * credentials parsing of the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip_msg.h"
#include "sip_uri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	struct slice s = slice_make((const char *)data, (uint32_t)size);
	struct sip_uri u, u2;
	struct sip_err err;
	if (sip_uri_parse(s, &u, &err) == 0) {
		/* Equality is reflexive. */
		if (!sip_uri_equal(&u, &u))
			abort();
		struct slice v;
		sip_uri_param(&u, "transport", &v);
		sip_uri_param(&u, "lr", &v);
		sip_uri_port_or_default(&u);
		char buf[256];
		sip_uri_unescape(u.user, buf, sizeof buf);
		sip_uri_unescape(u.host, buf, sizeof buf);
		/* Split the input in two URIs and compare them. */
		uint32_t half = s.len / 2;
		if (sip_uri_parse(slice_make(s.p, half), &u2, &err) == 0) {
			bool ab = sip_uri_equal(&u, &u2);
			bool ba = sip_uri_equal(&u2, &u);
			if (ab != ba)
				abort();
		}
	} else if (err.phrase == NULL) {
		abort();
	}
	struct sip_nameaddr na;
	if (sip_nameaddr_parse(s, &na, &err) == 0) {
		struct slice v;
		sip_param_find(na.params, "tag", &v);
	}
	struct sip_auth au;
	sip_auth_parse(s, &au, &err);
	struct slice host;
	uint16_t port;
	bool v6;
	sip_hostport_parse(s, &host, &port, &v6);
	return 0;
}
