/*
 * libFuzzer target for sip_msg: parse, every lazy accessor (twice, to
 * exercise the cache), validate, and an edit/render round trip whose
 * output must parse again; a response is built from every request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip_edit.h"
#include "sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
accessors(struct sip_msg *m)
{
	struct sip_err err;
	const struct sip_via *v;
	struct slice s;
	const struct sip_contact *c;
	const struct sip_nameaddr *na;
	const struct sip_auth *au;
	struct sip_tokens t;
	for (int pass = 0; pass < 2; pass++) {
		sip_msg_vias(m, &v, &err);
		sip_msg_top_via(m, &err);
		sip_msg_from(m, &err);
		sip_msg_to(m, &err);
		sip_msg_call_id(m, &s, &err);
		sip_msg_cseq(m, &err);
		int n = sip_msg_contacts(m, &c, &err);
		for (int i = 0; i < n; i++) {
			struct slice pv;
			sip_param_find(c[i].na.params, "expires", &pv);
			if (c[i].na.uri.scheme != 0)
				sip_uri_port_or_default(&c[i].na.uri);
		}
		n = sip_msg_routes(m, &na, &err);
		for (int i = 0; i < n; i++)
			sip_uri_equal(&na[i].uri, &na[0].uri);
		sip_msg_record_routes(m, &na, &err);
		sip_msg_paths(m, &na, &err);
		sip_msg_max_forwards(m, &err);
		sip_msg_expires(m, &err);
		sip_msg_content_length(m, &err);
		sip_msg_content_type(m);
		sip_msg_auths(m, SIP_HDR_AUTHORIZATION, &au, &err);
		sip_msg_auths(m, SIP_HDR_PROXY_AUTHORIZATION, &au, &err);
		for (int id = 1; id < SIP_HDR__COUNT; id++)
			sip_msg_tokens(m, (enum sip_hdr_id)id, &t, &err);
		sip_msg_has_token(m, SIP_HDR_SUPPORTED, "path");
		sip_msg_user_agent(m);
		sip_msg_hdr_by_name(m, "Subject");
		sip_msg_hdr_by_name(m, "X-Unknown");
		for (int i = 0; i < m->nhdrs; i++) {
			sip_msg_hdr_next(m, i);
			enum sip_hdr_id id = m->hdrs[i].id;
			if (id == SIP_HDR_WWW_AUTHENTICATE ||
			    id == SIP_HDR_PROXY_AUTHENTICATE) {
				struct sip_auth a;
				sip_auth_parse(m->hdrs[i].value, &a, &err);
			}
		}
		sip_msg_validate(m, &err);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m, m2;
	struct arena a;
	struct sip_err err;
	if (size > SIP_MAX_MSG_SIZE + 16)
		return 0;
	arena_init(&a, 4096, 1 << 20);
	int rc =
	    sip_msg_parse(&m, (const char *)data, (uint32_t)size, &a, &err);
	if (rc < 0 && m.nhdrs == 0) {
		arena_free(&a);
		return 0;
	}
	accessors(&m);

	struct sip_edit e;
	sip_edit_init(&e, &m, &a);
	sip_edit_prepend(
	    &e, "Via", SLICE_LIT("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKf"));
	if (m.nhdrs > 0) {
		sip_edit_remove(&e, 0);
		sip_edit_replace(&e, (uint16_t)(m.nhdrs - 1), SLICE_LIT("x"));
		sip_edit_insert_before(
		    &e, (uint16_t)(m.nhdrs / 2), "X-F", SLICE_LIT("1"));
	}
	sip_edit_remove_all(&e, SIP_HDR_ROUTE);
	sip_edit_append(&e, "Record-Route", SLICE_LIT("<sip:e;lr>"));
	if (m.is_request)
		sip_edit_set_ruri(&e, SLICE_LIT("sip:x@192.0.2.2"));
	if (size & 1)
		sip_edit_set_body(
		    &e, SLICE_LIT("v=0\r\n"), SLICE_LIT("application/sdp"));
	struct slice out = sip_edit_render(&e);
	if (out.len > 0 && rc == 0) {
		/* What we render from a message we accepted must parse. */
		if (sip_msg_parse(&m2, out.p, out.len, &a, &err) != 0 &&
		    err.code != SIP_E_TOO_LARGE)
			abort();
		accessors(&m2);
	}
	if (m.is_request) {
		char tag[8];
		sip_random_token(tag, sizeof tag);
		struct slice r = sip_build_response(&m, 400, err.phrase,
		    slice_make(tag, sizeof tag), SLICE_NULL, &a);
		if (r.len > 0 && rc == 0 &&
		    sip_msg_parse(&m2, r.p, r.len, &a, &err) != 0)
			abort();
	}
	arena_free(&a);
	return 0;
}
