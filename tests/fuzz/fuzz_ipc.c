/*
 * fuzz_ipc: arbitrary bytes as one datagram from a sibling, and as the body
 * of a bundle (messages back to back). Validation
 * against each socket's catalogue, then the decoding pattern every
 * dispatcher uses (exact-consumption reader, stated payload lengths,
 * embedded ctl_rows, addresses printed). Nothing may read out of bounds
 * and a body that validates must decode without surprises.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ctl_rows.h"
#include "ipc.h"
#include "ipc_msgs.h"

static volatile uint8_t sink;

static void
touch_addr(const struct ipc_addr *a)
{
	char buf[64];
	struct sockaddr_storage ss;
	struct ipc_addr back;
	ipc_addr_str(a, buf, sizeof buf);
	if (ipc_addr_to_sa(a, &ss) > 0) {
		if (ipc_addr_from_sa(&back, (struct sockaddr *)&ss) != 0 ||
		    !ipc_addr_eq(a, &back))
			abort();
		/* Printed form parses back to the same address. */
		char host[64];
		struct ipc_addr p;
		back.port = 0;
		ipc_addr_str(&back, host, sizeof host);
		if (!ipc_addr_parse(&p, host, 0) ||
		    memcmp(p.addr, back.addr, a->family == 4 ? 4 : 16))
			abort();
	}
}

static void
read_rows(const uint8_t *p, uint32_t n)
{
	struct ctl_reader rd;
	struct ctl_field f;
	ctl_reader_init(&rd, p, n);
	while (ctl_reader_next(&rd, &f) == 1)
		;
	struct slice s;
	uint64_t u;
	ctl_rows_get_str(p, n, "path", &s);
	ctl_rows_get_u64(p, n, "limit", &u);
}

static void
decode(const struct ipc_msg *m)
{
	struct ipc_reader r;
	ipc_reader_init(&r, m);
	switch (m->hdr.type) {
	case IPC_HELLO: {
		struct ipc_hello h;
		char err[128];
		ipc_check_hello(m, &h, err, sizeof err);
		break;
	}
	case IPC_SIP_IN:
	case IPC_SIP_OUT: {
		struct ipc_sip_in s;
		if (!ipc_read(&r, &s, sizeof s))
			abort(); /* the catalogue's minimum guarantees it */
		const uint8_t *sip = ipc_read_ptr(&r, s.sip_len);
		if (sip != NULL && ipc_reader_done(&r)) {
			/* Reads every payload byte so ASan checks the span. */
			uint8_t x = 0;
			for (uint32_t i = 0; i < s.sip_len; i++)
				x ^= sip[i];
			sink ^= x;
			touch_addr(&s.flow.local);
			touch_addr(&s.flow.remote);
		}
		break;
	}
	case IPC_MEDIA_OFFER:
	case IPC_MEDIA_ANSWER: {
		struct ipc_media_req q;
		if (!ipc_read(&r, &q, sizeof q) || !ipc_reader_done(&r))
			abort(); /* fixed size: validation made it exact */
		for (unsigned i = 0;
		     i < q.nstreams && i < IPC_MEDIA_MAX_STREAMS; i++) {
			touch_addr(&q.streams[i].rtp);
			touch_addr(&q.streams[i].rtcp);
		}
		touch_addr(&q.signal_src);
		break;
	}
	case IPC_CTL_REQUEST: {
		struct ipc_ctl_request q;
		if (!ipc_read(&r, &q, sizeof q))
			abort();
		const uint8_t *args = ipc_read_ptr(&r, q.args_len);
		if (args != NULL && ipc_reader_done(&r))
			read_rows(args, q.args_len);
		break;
	}
	case IPC_CTL_REPLY: {
		struct ipc_ctl_reply q;
		if (!ipc_read(&r, &q, sizeof q))
			abort();
		const uint8_t *rows = ipc_read_ptr(&r, q.rows_len);
		if (rows != NULL && ipc_reader_done(&r))
			read_rows(rows, q.rows_len);
		break;
	}
	default: {
		/* Every other type is one fixed struct: min == max. */
		if (m->info->min_len != m->info->max_len)
			abort();
		uint8_t tmp[1024];
		if (m->len > sizeof tmp || !ipc_read(&r, tmp, m->len) ||
		    !ipc_reader_done(&r))
			abort();
		if (m->hdr.type == IPC_BAN_ADD || m->hdr.type == IPC_BAN_DEL) {
			struct ipc_ban b;
			memcpy(&b, tmp, sizeof b);
			touch_addr(&b.addr);
		}
		break;
	}
	}
	/* Reading past the end always fails and never moves. */
	ipc_reader_init(&r, m);
	if (ipc_read_ptr(&r, m->len + 1) != NULL || ipc_reader_done(&r))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ipc_catalogue *cats[] = {
	    &ipc_cat_core, &ipc_cat_relay, &ipc_cat_ctl};
	/* A private, aligned copy, as ipc_recv's buffer would be. */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
		struct ipc_msg m;
		if (ipc_validate(cats[i], buf, size, &m) != 0)
			continue;
		if (m.len != size - sizeof(struct ipc_hdr) ||
		    m.len < m.info->min_len || m.len > m.info->max_len)
			abort();
		ipc_type_name(cats[i], m.hdr.type);
		decode(&m);
	}
	/* The same bytes as a bundle's body: every message taken out lies
	 * inside it, passes the catalogue, and is never a HELLO or bundle. */
	for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
		const uint8_t *p = buf;
		size_t left = size;
		struct ipc_msg m;
		while (ipc_bundle_next(cats[i], &p, &left, &m) == 1) {
			if (m.body < buf + sizeof(struct ipc_hdr) ||
			    m.body + m.len != p || p > buf + size ||
			    left != (size_t)(buf + size - p) ||
			    m.hdr.type == IPC_HELLO ||
			    m.hdr.type == IPC_BUNDLE ||
			    m.len < m.info->min_len || m.len > m.info->max_len)
				abort();
			decode(&m);
		}
	}
	free(buf);
	return 0;
}
