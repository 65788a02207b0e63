/*
 * Drives the real portcullis-core binary through its real sockets: the
 * test is the edge on core.sock (SIP_IN / SIP_OUT with real SIP text) and
 * portcullisd on the ctl channel. Covers REGISTER with digest, INVITE with
 * ringing, answer, ACK and BYE, CANCEL, forking to two contacts, redirect
 * mode, OPTIONS to the proxy, no open relay, and a kill -9 + restart that
 * keeps the registrations. PC_CORE_BIN overrides the binary's path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_rows.h"
#include "digest.h"
#include "hash.h"
#include "ipc.h"
#include "ipc_msgs.h"
#include "sip_edit.h"
#include "sip_msg.h"
#include "tap.h"

static char dir[] = "/tmp/pc-test-core.XXXXXX";
static char conf_path[512], sock_path[512], log_path[512];
static pid_t core_pid = -1;
static int edge_fd = -1, ctl_fd = -1;
static uint64_t ctl_id = 1;
static int n_auth_failed, n_trusted;
/* One reader per socket: a bundle's messages point into its buffer. */
static struct reader {
	struct ipc_rx rx;
	uint8_t buf[IPC_MAX_MSG];
} edge_rd, ctl_rd;

struct out {
	struct ipc_flow flow;
	char text[IPC_MAX_MSG];
	uint32_t len;
	struct sip_msg m;
	struct arena a;
	bool is_parsed;
};

static struct ipc_flow alice, bob, bob2, carol;

static struct ipc_flow
mkflow(const char *ip, uint16_t port)
{
	struct ipc_flow f;

	memset(&f, 0, sizeof(f));
	f.transport = IPC_TP_UDP;
	f.role = IPC_FLOW_ROLE_PUBLIC;
	ipc_addr_parse(&f.local, "127.0.0.1", 5060);
	ipc_addr_parse(&f.remote, ip, port);
	return f;
}

static const char *
core_bin(void)
{
	static char path[1024];
	const char *e = getenv("PC_CORE_BIN");

	if (e != NULL)
		return e;
	const char *top = getenv("top_builddir");
	snprintf(
	    path, sizeof(path), "%s/core/portcullis-core", top ? top : ".");
	return path;
}

static int
wait_msg(
    int fd, const struct ipc_catalogue *cat, struct ipc_msg *m, int timeout_ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	struct reader *rd = fd == edge_fd ? &edge_rd : &ctl_rd;

	for (;;) {
		int rc =
		    ipc_rx_recv(&rd->rx, fd, cat, rd->buf, sizeof(rd->buf), m);
		if (rc != -1 || errno != EAGAIN)
			return rc;
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
	}
}

static bool
start_core(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return false;
	core_pid = fork();
	if (core_pid == 0) {
		char fdarg[16];
		int lfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (lfd >= 0) {
			dup2(lfd, 1);
			dup2(lfd, 2);
		}
		close(sv[0]);
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		execl(core_bin(), "portcullis-core", "-f", "-c", conf_path,
		    "--ctl-fd", fdarg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	ctl_fd = sv[0];
	memset(&edge_rd.rx, 0, sizeof(edge_rd.rx));
	memset(&ctl_rd.rx, 0, sizeof(ctl_rd.rx));
	fcntl(ctl_fd, F_SETFL, fcntl(ctl_fd, F_GETFL) | O_NONBLOCK);
	struct ipc_msg m;
	if (wait_msg(ctl_fd, &ipc_cat_ctl, &m, 10000) != 1 ||
	    m.hdr.type != IPC_HELLO)
		return false;
	ipc_send_hello(ctl_fd, IPC_ROLE_MGMT, "test-mgmt");
	edge_fd = ipc_connect(sock_path);
	if (edge_fd < 0)
		return false;
	ipc_send_hello(edge_fd, IPC_ROLE_EDGE, "test-edge");
	return wait_msg(edge_fd, &ipc_cat_core, &m, 5000) == 1 &&
	    m.hdr.type == IPC_HELLO;
}

static void
stop_core(bool hard)
{
	int st;

	if (core_pid <= 0)
		return;
	kill(core_pid, hard ? SIGKILL : SIGTERM);
	waitpid(core_pid, &st, 0);
	core_pid = -1;
	close(edge_fd);
	close(ctl_fd);
	edge_fd = ctl_fd = -1;
}

static void send_sip(const struct ipc_flow *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
send_sip(const struct ipc_flow *f, const char *fmt, ...)
{
	char text[8192];
	va_list ap;
	struct ipc_sip_in in;

	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&in, 0, sizeof(in));
	in.flow = *f;
	in.sip_len = (uint32_t)n;
	ipc_send(edge_fd, IPC_SIP_IN, 0, 0, &in, sizeof(in), text, (uint32_t)n);
}

static void
send_text(const struct ipc_flow *f, struct slice s)
{
	struct ipc_sip_in in;

	memset(&in, 0, sizeof(in));
	in.flow = *f;
	in.sip_len = s.len;
	ipc_send(edge_fd, IPC_SIP_IN, 0, 0, &in, sizeof(in), s.p, s.len);
}

static void
out_reset(struct out *o)
{
	if (o->is_parsed)
		arena_free(&o->a);
	o->is_parsed = false;
}

/* The next SIP_OUT within timeout_ms (other messages are counted). */
static bool
next_sip(struct out *o, int timeout_ms)
{
	struct ipc_msg m;
	struct sip_err err;

	out_reset(o);
	for (;;) {
		if (wait_msg(edge_fd, &ipc_cat_core, &m, timeout_ms) != 1)
			return false;
		if (m.hdr.type == IPC_AUTH_FAILED) {
			n_auth_failed++;
			continue;
		}
		if (m.hdr.type == IPC_SOURCE_TRUSTED) {
			n_trusted++;
			continue;
		}
		if (m.hdr.type != IPC_SIP_OUT)
			continue;
		struct ipc_sip_out so;
		memcpy(&so, m.body, sizeof(so));
		o->flow = so.flow;
		o->len = so.sip_len;
		memcpy(o->text, m.body + sizeof(so), so.sip_len);
		o->text[o->len] = '\0';
		arena_init(&o->a, 16384, 0);
		o->is_parsed = true;
		if (sip_msg_parse(&o->m, o->text, o->len, &o->a, &err) < 0) {
			printf("# unparsable SIP_OUT: %s\n%s\n", err.phrase,
			    o->text);
			return false;
		}
		return true;
	}
}

static bool
is_response(struct out *o, int code)
{
	if (!o->m.is_request && o->m.status == code)
		return true;
	printf("# expected %d, got:\n# %.*s\n", code,
	    (int)(strchr(o->text, '\r') ? strchr(o->text, '\r') - o->text : 40),
	    o->text);
	return false;
}

static bool
is_request(struct out *o, enum sip_method meth, const struct ipc_flow *to)
{
	if (o->m.is_request && o->m.method == meth &&
	    ipc_addr_eq(&o->flow.remote, &to->remote))
		return true;
	printf("# expected request %s, got: %.60s\n", sip_method_name(meth),
	    o->text);
	return false;
}

static bool
flow_is(const struct out *o, const struct ipc_flow *f)
{
	return ipc_addr_eq(&o->flow.remote, &f->remote);
}

/* Replies to a request core sent us (as the UA it was sent to). */
static void
ua_respond(const struct ipc_flow *ua, struct out *req, int code,
    const char *to_tag, const char *extra)
{
	struct arena a;

	arena_init(&a, 16384, 0);
	struct slice r = sip_build_response(&req->m, code, NULL,
	    slice_cstr(to_tag), slice_cstr(extra ? extra : ""), &a);
	send_text(ua, r);
	arena_free(&a);
}

static int
ctl(const char *cmd, struct ctl_rows *args, uint8_t *rows, size_t cap,
    size_t *rows_len)
{
	struct ipc_ctl_request rq;
	struct ipc_msg m;
	int status = -1;

	memset(&rq, 0, sizeof(rq));
	snprintf(rq.cmd, sizeof(rq.cmd), "%s", cmd);
	rq.args_len = args ? (uint32_t)args->len : 0;
	uint64_t id = ctl_id++;
	ipc_send(ctl_fd, IPC_CTL_REQUEST, 0, id, &rq, sizeof(rq),
	    args ? args->buf : NULL, rq.args_len);
	*rows_len = 0;
	for (;;) {
		if (wait_msg(ctl_fd, &ipc_cat_ctl, &m, 5000) != 1)
			return -1000;
		if (m.hdr.type != IPC_CTL_REPLY || m.hdr.id != id)
			continue;
		struct ipc_ctl_reply rp;
		memcpy(&rp, m.body, sizeof(rp));
		status = rp.status;
		if (*rows_len + rp.rows_len <= cap) {
			memcpy(
			    rows + *rows_len, m.body + sizeof(rp), rp.rows_len);
			*rows_len += rp.rows_len;
		}
		if (!(m.hdr.flags & IPC_F_MORE))
			return status;
	}
}

/* Rows in a reply whose field name has the string value val. */
static int
rows_with(const uint8_t *rows, size_t len, const char *name, const char *val)
{
	struct ctl_reader rd;
	struct ctl_field f;
	int n = 0;

	ctl_reader_init(&rd, rows, len);
	while (ctl_reader_next(&rd, &f) == 1)
		if (f.type == CTL_T_STR && slice_eq_cstr(f.name, name) &&
		    (val == NULL || slice_eq_cstr(f.str, val)))
			n++;
	return n;
}

static uint64_t
stat_u64(const char *name)
{
	uint8_t rows[8192];
	size_t len;
	uint64_t v = 0;

	if (ctl("stats", NULL, rows, sizeof(rows), &len) == 0)
		ctl_rows_get_u64(rows, len, name, &v);
	return v;
}

static int cseq_n = 100;
/* do_register knobs: register this AoR user with the credentials of
 * `user` (NULL: the same); replay the authorized request once more. */
static const char *reg_aor_user;
static bool reg_replay;

/* REGISTER with digest; returns the final status. */
static int
do_register(const struct ipc_flow *f, const char *user, const char *domain,
    const char *pw, const char *contact, const char *params, int expires,
    const char *alg_want)
{
	struct out o = {0};
	char callid[64], ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX],
	    resp[DIGEST_HEX_MAX], uri[128];
	int code = -1;

	snprintf(callid, sizeof(callid), "reg-%s-%08llx@test", user,
	    (unsigned long long)hash_bytes(contact, strlen(contact)));
	snprintf(uri, sizeof(uri), "sip:%s", domain);
	const char *aor = reg_aor_user ? reg_aor_user : user;
#define REG_TMPL \
	"REGISTER %s SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP %s;branch=z9hG4bKr%d\r\n" \
	"Max-Forwards: 70\r\n" \
	"From: <sip:%s@%s>;tag=f%d\r\n" \
	"To: <sip:%s@%s>\r\n" \
	"Call-ID: %s\r\n" \
	"CSeq: %d REGISTER\r\n" \
	"Contact: <%s>%s\r\n" \
	"Expires: %d\r\n" \
	"%s" \
	"Content-Length: 0\r\n\r\n"

	cseq_n++;
	send_sip(f, REG_TMPL, uri, strchr(contact, '@') + 1, cseq_n, aor,
	    domain, cseq_n, aor, domain, callid, cseq_n, contact, params,
	    expires, "");
	if (!next_sip(&o, 3000) || o.m.is_request || o.m.status != 401) {
		code = o.is_parsed ? o.m.status : -1;
		if (o.is_parsed)
			printf("# REGISTER answered: %.60s\n", o.text);
		goto out;
	}
	/* Pick the challenge of the wanted algorithm. */
	struct sip_auth ch;
	struct sip_err err;
	bool found = false;
	for (int i = o.m.first[SIP_HDR_WWW_AUTHENTICATE]; i >= 0;
	     i = sip_msg_hdr_next(&o.m, i)) {
		if (sip_auth_parse(o.m.hdrs[i].value, &ch, &err) == 0 &&
		    slice_eq_cstr_nocase(ch.algorithm, alg_want)) {
			found = true;
			break;
		}
	}
	if (!found)
		goto out;
	enum digest_alg alg = (enum digest_alg)digest_alg_parse(ch.algorithm);
	char nonce[256], realm[128];
	slice_copy_cstr(ch.nonce, nonce, sizeof(nonce));
	slice_copy_cstr(ch.realm, realm, sizeof(realm));
	digest_ha1(
	    alg, slice_cstr(user), slice_cstr(realm), slice_cstr(pw), ha1);
	digest_ha2(alg, SLICE_LIT("REGISTER"), slice_cstr(uri), ha2);
	digest_response(alg, slice_cstr(ha1), slice_cstr(nonce),
	    SLICE_LIT("00000001"), SLICE_LIT("cn0"), SLICE_LIT("auth"),
	    slice_cstr(ha2), resp);
	char authz[1024];
	snprintf(authz, sizeof(authz),
	    "Authorization: Digest username=\"%s\", realm=\"%s\", "
	    "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=%s, "
	    "qop=auth, nc=00000001, cnonce=\"cn0\"\r\n",
	    user, realm, nonce, uri, resp, digest_alg_name(alg));
	cseq_n++;
	send_sip(f, REG_TMPL, uri, strchr(contact, '@') + 1, cseq_n, aor,
	    domain, cseq_n, aor, domain, callid, cseq_n, contact, params,
	    expires, authz);
	if (next_sip(&o, 3000))
		code = o.m.is_request ? -2 : o.m.status;
	if (reg_replay && code == 200) {
		/* The same credentials in a new request: a replay. */
		cseq_n++;
		send_sip(f, REG_TMPL, uri, strchr(contact, '@') + 1, cseq_n,
		    aor, domain, cseq_n, aor, domain, callid, cseq_n, contact,
		    params, expires, authz);
		code = next_sip(&o, 3000) && !o.m.is_request ? o.m.status : -3;
		if (code == 401 && strstr(o.text, "stale=true") == NULL)
			code = -4;
	}
out:
	out_reset(&o);
	return code;
}

/* Proxy-Authorization for an INVITE from alice: challenge then retry. */
static char inv_nonce[256], inv_realm[128];
static int inv_nc;

/* Who proxy_authz() signs as. */
static const char *authz_user = "alice", *authz_pw = "alicepw";

static void
proxy_authz(const char *method, const char *uri, char *out, size_t cap)
{
	char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX],
	    nc[16];

	snprintf(nc, sizeof(nc), "%08x", ++inv_nc);
	digest_ha1(DIGEST_SHA256, slice_cstr(authz_user), slice_cstr(inv_realm),
	    slice_cstr(authz_pw), ha1);
	digest_ha2(DIGEST_SHA256, slice_cstr(method), slice_cstr(uri), ha2);
	digest_response(DIGEST_SHA256, slice_cstr(ha1), slice_cstr(inv_nonce),
	    slice_cstr(nc), SLICE_LIT("cnx"), SLICE_LIT("auth"),
	    slice_cstr(ha2), resp);
	snprintf(out, cap,
	    "Proxy-Authorization: Digest username=\"%s\", realm=\"%s\", "
	    "nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=SHA-256, "
	    "qop=auth, nc=%s, cnonce=\"cnx\"\r\n",
	    authz_user, inv_realm, inv_nonce, uri, resp, nc);
}

#define INVITE_TMPL \
	"INVITE %s SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKi%s\r\n" \
	"Max-Forwards: 70\r\n" \
	"From: \"Alice\" <sip:alice@example.com>;tag=at%s\r\n" \
	"To: <%s>\r\n" \
	"Call-ID: call-%s@10.0.0.1\r\n" \
	"CSeq: 1 INVITE\r\n" \
	"Contact: <sip:alice@10.0.0.1:5060>\r\n" \
	"%s" \
	"Content-Length: 0\r\n\r\n"

/* Sends an authenticated INVITE from alice (id names branch/call). */
static void
send_invite(const char *id, const char *uri)
{
	char authz[1024];

	proxy_authz("INVITE", uri, authz, sizeof(authz));
	send_sip(&alice, INVITE_TMPL, uri, id, id, uri, id, authz);
}

static void
test_register(void)
{
	uint8_t rows[65536];
	size_t len;

	CHECK_EQ_INT(do_register(&alice, "alice", "example.com", "alicepw",
	                 "sip:alice@10.0.0.1:5060", "", 600, "SHA-256"),
	    200);
	CHECK(n_trusted >= 1);
	CHECK_EQ_INT(do_register(&bob, "bob", "example.com", "bobpw",
	                 "sip:bob@10.0.0.2:5060", "", 600, "MD5"),
	    200);
	/* A wrong password is challenged again and reported to edge. */
	int before = n_auth_failed;
	CHECK_EQ_INT(do_register(&bob, "bob", "example.com", "wrong",
	                 "sip:bob@10.0.0.2:5060", "", 600, "MD5"),
	    401);
	CHECK(n_auth_failed > before);
	/* Too brief: 423 with Min-Expires. */
	CHECK_EQ_INT(do_register(&bob, "bob", "example.com", "bobpw",
	                 "sip:bob@10.0.0.2:5060", "", 5, "MD5"),
	    423);
	/* Someone else's AoR: identity mismatch. */
	CHECK_EQ_INT(stat_u64("registrations"), 2);
	CHECK_EQ_INT(
	    ctl("registrations.list", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "aor", "alice@example.com"), 1);
	CHECK_EQ_INT(
	    rows_with(rows, len, "contact", "sip:bob@10.0.0.2:5060"), 1);
	/* For a domain we do not serve: refused. */
	struct out o = {0};
	send_sip(&alice,
	    "REGISTER sip:other.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKo1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:a@other.org>;tag=1\r\n"
	    "To: <sip:a@other.org>\r\nCall-ID: o1\r\nCSeq: 1 REGISTER\r\n"
	    "Contact: <sip:a@10.0.0.1>\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 403));
	out_reset(&o);
}

static void
test_options_and_relay(void)
{
	struct out o = {0};

	send_sip(&alice,
	    "OPTIONS sip:example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKop1\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:x@y.org>;tag=1\r\n"
	    "To: <sip:example.com>\r\nCall-ID: op1\r\n"
	    "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 200));
	CHECK(flow_is(&o, &alice));
	CHECK(strstr(o.text, "Allow: ") != NULL);
	/* No open relay. */
	send_sip(&alice,
	    "MESSAGE sip:x@other.org SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKop2\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:x@y.org>;tag=1\r\n"
	    "To: <sip:x@other.org>\r\nCall-ID: op2\r\n"
	    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 403));
	/* Max-Forwards 0 toward a user: 483. */
	send_sip(&alice,
	    "MESSAGE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKop3\r\n"
	    "Max-Forwards: 0\r\nFrom: <sip:x@y.org>;tag=1\r\n"
	    "To: <sip:bob@example.com>\r\nCall-ID: op3\r\n"
	    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 483));
	/* Proxy-Require of something unknown: 420. */
	send_sip(&alice,
	    "MESSAGE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKop4\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:x@y.org>;tag=1\r\n"
	    "To: <sip:bob@example.com>\r\nCall-ID: op4\r\n"
	    "Proxy-Require: foo\r\n"
	    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 420));
	CHECK(strstr(o.text, "Unsupported: foo") != NULL);
	/* Unknown user of ours: 404; registered-nowhere user: 480. */
	send_sip(&alice,
	    "MESSAGE sip:nobody@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKop5\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:x@y.org>;tag=1\r\n"
	    "To: <sip:nobody@example.com>\r\nCall-ID: op5\r\n"
	    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 404));
	send_sip(&alice,
	    "MESSAGE sip:dave@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKop6\r\n"
	    "Max-Forwards: 70\r\nFrom: <sip:x@y.org>;tag=1\r\n"
	    "To: <sip:dave@example.com>\r\nCall-ID: op6\r\n"
	    "CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 480));
	out_reset(&o);
}

static void
test_call(void)
{
	struct out o = {0}, inv = {0}, ok = {0};
	uint8_t rows[8192];
	size_t len;

	/* The first INVITE is challenged (407). */
	send_sip(&alice, INVITE_TMPL, "sip:bob@example.com", "c0", "c0",
	    "sip:bob@example.com", "c0", "");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_response(&o, 407));
	struct sip_auth ch;
	struct sip_err err;
	const struct sip_hdr *pa =
	    sip_msg_hdr(&o.m, SIP_HDR_PROXY_AUTHENTICATE);
	CHECK(pa != NULL && sip_auth_parse(pa->value, &ch, &err) == 0);
	if (pa == NULL)
		return;
	slice_copy_cstr(ch.nonce, inv_nonce, sizeof(inv_nonce));
	slice_copy_cstr(ch.realm, inv_realm, sizeof(inv_realm));
	CHECK_STR(inv_realm, "example.com");
	/* The ACK of the 407 is absorbed by the transaction. */
	send_sip(&alice,
	    "ACK sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKic0\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: \"Alice\" <sip:alice@example.com>;tag=atc0\r\n"
	    "To: <sip:bob@example.com>;tag=%.*s\r\n"
	    "Call-ID: call-c0@10.0.0.1\r\nCSeq: 1 ACK\r\n"
	    "Content-Length: 0\r\n\r\n",
	    (int)sip_msg_to(&o.m, &err)->tag.len,
	    sip_msg_to(&o.m, &err)->tag.p);
	CHECK(!next_sip(&o, 300));

	/* Authenticated INVITE: forwarded to bob's flow. */
	send_invite("c1", "sip:bob@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_INVITE, &bob));
	CHECK(slice_eq_cstr(inv.m.ruri_text, "sip:bob@10.0.0.2:5060"));
	CHECK(
	    strstr(inv.text, "Record-Route: <sip:127.0.0.1:5060;lr>") != NULL);
	CHECK(strstr(inv.text, "Max-Forwards: 69") != NULL);
	CHECK(strstr(inv.text, "Proxy-Authorization") == NULL);
	CHECK(strncmp(strstr(inv.text, "Via: ") + 5,
	          "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKpc", 43) == 0);
	ua_respond(&bob, &inv, 180, "bt1", NULL);
	CHECK(
	    next_sip(&o, 3000) && is_response(&o, 180) && flow_is(&o, &alice));
	CHECK(strstr(o.text, "127.0.0.1:5060;branch=z9hG4bKpc") == NULL);
	ua_respond(&bob, &inv, 200, "bt1",
	    "Contact: <sip:bob@10.0.0.2:5060>\r\n"
	    "Record-Route: <sip:127.0.0.1:5060;lr>\r\n");
	CHECK(next_sip(&ok, 3000) && is_response(&ok, 200) &&
	    flow_is(&ok, &alice));
	CHECK_EQ_INT(ctl("calls.list", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "call_id", "call-c1@10.0.0.1"), 1);
	CHECK_EQ_INT(rows_with(rows, len, "state", "confirmed"), 1);

	/* ACK for the 2xx goes end to end, to bob. */

#define DLG_TMPL \
	"%s sip:bob@10.0.0.2:5060 SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK%s\r\n" \
	"Max-Forwards: 70\r\n" \
	"Route: <sip:127.0.0.1:5060;lr>\r\n" \
	"From: \"Alice\" <sip:alice@example.com>;tag=atc1\r\n" \
	"To: <sip:bob@example.com>;tag=bt1\r\n" \
	"Call-ID: call-c1@10.0.0.1\r\nCSeq: %d %s\r\n" \
	"Content-Length: 0\r\n\r\n"

	send_sip(&alice, DLG_TMPL, "ACK", "ack1", 1, "ACK");
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_ACK, &bob));
	CHECK(strstr(o.text, "Route:") == NULL); /* our Route popped */
	/* BYE: forwarded, its 200 comes back, the dialog ends. */
	send_sip(&alice, DLG_TMPL, "BYE", "bye1", 2, "BYE");
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_BYE, &bob));
	ua_respond(&bob, &inv, 200, "", NULL);
	CHECK(
	    next_sip(&o, 3000) && is_response(&o, 200) && flow_is(&o, &alice));
	CHECK_EQ_INT(ctl("calls.list", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "call_id", NULL), 0);
	out_reset(&o);
	out_reset(&inv);
	out_reset(&ok);
}

static void
test_cancel(void)
{
	struct out o = {0}, inv = {0}, can = {0};

	send_invite("c2", "sip:bob@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_INVITE, &bob));
	ua_respond(&bob, &inv, 180, "bt2", NULL);
	CHECK(next_sip(&o, 3000) && is_response(&o, 180));
	send_sip(&alice,
	    "CANCEL sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKic2\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: \"Alice\" <sip:alice@example.com>;tag=atc2\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: call-c2@10.0.0.1\r\nCSeq: 1 CANCEL\r\n"
	    "Content-Length: 0\r\n\r\n");
	/* 200 for the CANCEL to alice, and a CANCEL to bob. */
	bool got200 = false, gotcancel = false;
	for (int i = 0; i < 2; i++) {
		struct out *p = i == 0 ? &o : &can;
		if (!next_sip(p, 3000))
			break;
		if (!p->m.is_request && p->m.status == 200 &&
		    flow_is(p, &alice))
			got200 = true;
		if (p->m.is_request && p->m.method == SIP_M_CANCEL &&
		    flow_is(p, &bob))
			gotcancel = true;
	}
	CHECK(got200);
	CHECK(gotcancel);
	struct out *cp = can.is_parsed && can.m.is_request ? &can : &o;
	CHECK(strstr(cp->text, "CSeq: 1 CANCEL") != NULL);
	ua_respond(&bob, cp, 200, "", NULL);
	ua_respond(&bob, &inv, 487, "bt2", NULL);
	/* Core ACKs the 487 hop by hop and passes a 487 to alice. */
	bool gotack = false, got487 = false;
	for (int i = 0; i < 2; i++) {
		if (!next_sip(&o, 3000))
			break;
		if (o.m.is_request && o.m.method == SIP_M_ACK &&
		    flow_is(&o, &bob))
			gotack = true;
		if (!o.m.is_request && o.m.status == 487 && flow_is(&o, &alice))
			got487 = true;
	}
	CHECK(gotack);
	CHECK(got487);
	/* CANCEL for nothing: 481. */
	send_sip(&alice,
	    "CANCEL sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKnone\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:alice@example.com>;tag=x\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: none\r\nCSeq: 1 CANCEL\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 481));
	out_reset(&o);
	out_reset(&inv);
	out_reset(&can);
}

static void
test_fork(void)
{
	struct out o = {0}, a = {0}, b = {0};

	/* A second contact for bob (another device, same q). */
	CHECK_EQ_INT(do_register(&bob2, "bob", "example.com", "bobpw",
	                 "sip:bob@10.0.0.3:5060", "", 600, "SHA-256"),
	    200);
	send_invite("c3", "sip:bob@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&a, 3000) && a.m.is_request);
	CHECK(next_sip(&b, 3000) && b.m.is_request);
	struct out *to_b = flow_is(&a, &bob) ? &a : &b;
	struct out *to_b2 = flow_is(&a, &bob2) ? &a : &b;
	CHECK(to_b != to_b2);
	CHECK(flow_is(to_b, &bob) && flow_is(to_b2, &bob2));
	/* bob is busy; bob2 answers: the 200 wins, the 486 is ACKed. */
	ua_respond(&bob, to_b, 486, "busy", NULL);
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_ACK, &bob));
	ua_respond(
	    &bob2, to_b2, 200, "b2", "Contact: <sip:bob@10.0.0.3:5060>\r\n");
	CHECK(
	    next_sip(&o, 3000) && is_response(&o, 200) && flow_is(&o, &alice));
	CHECK(strstr(o.text, "tag=b2") != NULL);
	/* Both busy: the best response (486) goes to alice. */
	send_invite("c4", "sip:bob@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&a, 3000) && next_sip(&b, 3000));
	ua_respond(flow_is(&a, &bob) ? &bob : &bob2, &a, 486, "x1", NULL);
	ua_respond(flow_is(&b, &bob) ? &bob : &bob2, &b, 603, "x2", NULL);
	bool got603 = false;
	for (int i = 0; i < 3 && next_sip(&o, 1000); i++)
		if (!o.m.is_request && o.m.status == 603 && flow_is(&o, &alice))
			got603 = true;
	CHECK(got603); /* 6xx beats 4xx */
	out_reset(&o);
	out_reset(&a);
	out_reset(&b);
}

static void
test_redirect(void)
{
	struct out o = {0};

	CHECK_EQ_INT(
	    do_register(&carol, "carol", "redir.example.com", "carolpw",
	        "sip:carol@10.0.0.4:5070", "", 600, "SHA-256"),
	    200);
	send_sip(&alice, INVITE_TMPL, "sip:carol@redir.example.com", "c5", "c5",
	    "sip:carol@redir.example.com", "c5", "");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_response(&o, 407));
	send_invite("c6", "sip:carol@redir.example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_response(&o, 302));
	CHECK(strstr(o.text, "Contact: <sip:carol@10.0.0.4:5070>") != NULL);
	out_reset(&o);
}

static void
test_restart_keeps_registrations(void)
{
	uint8_t rows[65536];
	size_t len;
	struct out o = {0};

	/* Wait (bounded) until the write-behind has caught up. */
	for (int i = 0; i < 50 && stat_u64("registrations_unsaved") != 0; i++)
		usleep(100 * 1000);
	CHECK_EQ_INT(stat_u64("registrations_unsaved"), 0);
	uint64_t before = stat_u64("registrations");
	stop_core(true);
	CHECK(start_core());
	CHECK_EQ_INT(stat_u64("registrations"), before);
	CHECK_EQ_INT(
	    ctl("registrations.list", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "aor", "dave@example.com"), 2);
	/* The nonce from before the restart is sealed right (the secret
	 * survived) but stale: its nonce-counts were forgotten, so a replay
	 * must not pass. The 407 says stale=true and brings a fresh one. */
	send_invite("c7s", "sip:alice@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_response(&o, 407));
	CHECK(strstr(o.text, "stale=true") != NULL);
	struct sip_auth ch;
	struct sip_err err;
	const struct sip_hdr *pa =
	    sip_msg_hdr(&o.m, SIP_HDR_PROXY_AUTHENTICATE);
	CHECK(pa != NULL && sip_auth_parse(pa->value, &ch, &err) == 0);
	if (pa != NULL) {
		slice_copy_cstr(ch.nonce, inv_nonce, sizeof(inv_nonce));
		inv_nc = 0;
		const struct sip_nameaddr *to407 = sip_msg_to(&o.m, &err);
		send_sip(&alice,
		    "ACK sip:alice@example.com SIP/2.0\r\n"
		    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKic7s\r\n"
		    "Max-Forwards: 70\r\n"
		    "From: \"Alice\" <sip:alice@example.com>;tag=atc7s\r\n"
		    "To: <sip:alice@example.com>;tag=%.*s\r\n"
		    "Call-ID: call-c7s@10.0.0.1\r\nCSeq: 1 ACK\r\n"
		    "Content-Length: 0\r\n\r\n",
		    (int)to407->tag.len, to407->tag.p);
	}
	out_reset(&o);
	/* Routing works after the restart with the fresh nonce. */
	send_invite("c7", "sip:alice@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_INVITE, &alice));
	/* End it: a 486, our ACK back, the 486 to the caller. */
	ua_respond(&alice, &o, 486, "self", NULL);
	int n = 0;
	for (int i = 0; i < 2 && next_sip(&o, 3000); i++) {
		if (o.m.is_request && o.m.method == SIP_M_ACK)
			n++;
		if (!o.m.is_request && o.m.status == 486) {
			const struct sip_hdr *to =
			    sip_msg_hdr(&o.m, SIP_HDR_TO);
			send_sip(&alice,
			    "ACK sip:alice@example.com SIP/2.0\r\n"
			    "Via: SIP/2.0/UDP "
			    "10.0.0.1:5060;branch=z9hG4bKic7\r\n"
			    "Max-Forwards: 70\r\n"
			    "From: \"Alice\" "
			    "<sip:alice@example.com>;tag=atc7\r\n"
			    "To: %.*s\r\nCall-ID: call-c7@10.0.0.1\r\n"
			    "CSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
			    (int)to->value.len, to->value.p);
			n++;
		}
	}
	CHECK_EQ_INT(n, 2);
	CHECK(!next_sip(&o, 700)); /* the ACK stopped the 486's resends */
	out_reset(&o);
}

static void
test_ctl_users(void)
{
	uint8_t buf[1024], rows[8192];
	struct ctl_rows a;
	size_t len;

	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "user", "erin");
	ctl_rows_str(&a, "domain", "example.com");
	ctl_rows_str(&a, "password", "erinpw");
	ctl_rows_end_row(&a);
	CHECK_EQ_INT(ctl("users.add", &a, rows, sizeof(rows), &len), 0);
	CHECK(ctl("users.add", &a, rows, sizeof(rows), &len) < 0);
	CHECK_EQ_INT(ctl("users.list", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "user", "erin"), 1);
	CHECK_EQ_INT(do_register(&carol, "erin", "example.com", "erinpw",
	                 "sip:erin@10.0.0.4:5070", "", 600, "SHA-256"),
	    200);
	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "user", "erin");
	ctl_rows_str(&a, "domain", "example.com");
	ctl_rows_str(&a, "password", "newpw");
	ctl_rows_end_row(&a);
	CHECK_EQ_INT(ctl("users.password", &a, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(do_register(&carol, "erin", "example.com", "erinpw",
	                 "sip:erin@10.0.0.4:5070", "", 600, "SHA-256"),
	    401);
	CHECK_EQ_INT(ctl("users.remove", &a, rows, sizeof(rows), &len), 0);
	CHECK(ctl("users.remove", &a, rows, sizeof(rows), &len) < 0);
	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "aor", "erin@example.com");
	ctl_rows_end_row(&a);
	CHECK_EQ_INT(
	    ctl("registrations.remove", &a, rows, sizeof(rows), &len), 0);
	CHECK(ctl("nonsense", NULL, rows, sizeof(rows), &len) < 0);
}

/* Sets up an answered call alice -> bob (id names it); fills the INVITE
 * core sent to bob. */
static bool
answered_call(const char *id, struct out *inv)
{
	struct out o = {0};
	char cid[64], contact[] = "Contact: <sip:bob@10.0.0.2:5060>\r\n";
	bool ok = true;

	send_invite(id, "sip:bob@example.com");
	ok &= next_sip(&o, 3000) && is_response(&o, 100);
	ok &= next_sip(inv, 3000) && is_request(inv, SIP_M_INVITE, &bob);
	if (!ok)
		return false;
	snprintf(cid, sizeof(cid), "bt%s", id);
	ua_respond(&bob, inv, 200, cid, contact);
	ok &= next_sip(&o, 3000) && is_response(&o, 200);
	out_reset(&o);
	return ok;
}

static void
test_hangup(void)
{
	struct out inv = {0}, o = {0};
	uint8_t buf[512], rows[8192];
	struct ctl_rows a;
	size_t len;

	/* The fork test left a second contact for bob; remove it. */
	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "aor", "bob@example.com");
	ctl_rows_str(&a, "contact", "sip:bob@10.0.0.3:5060");
	ctl_rows_end_row(&a);
	CHECK_EQ_INT(
	    ctl("registrations.remove", &a, rows, sizeof(rows), &len), 0);
	CHECK(answered_call("h1", &inv));
	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "call_id", "call-h1@10.0.0.1");
	ctl_rows_end_row(&a);
	CHECK_EQ_INT(ctl("calls.hangup", &a, rows, sizeof(rows), &len), 0);
	bool to_alice = false, to_bob = false;
	for (int i = 0; i < 2 && next_sip(&o, 3000); i++) {
		if (!o.m.is_request || o.m.method != SIP_M_BYE)
			continue;
		if (flow_is(&o, &alice)) {
			/* As the callee toward the caller. */
			to_alice = slice_eq_cstr(o.m.ruri_text,
			               "sip:alice@10.0.0.1:5060") &&
			    strstr(o.text,
			        "From: <sip:bob@example.com>;tag=bth1") &&
			    strstr(o.text, ";tag=ath1\r\n") != NULL;
			ua_respond(&alice, &o, 200, "", NULL);
		} else if (flow_is(&o, &bob)) {
			to_bob = slice_eq_cstr(
			             o.m.ruri_text, "sip:bob@10.0.0.2:5060") &&
			    strstr(o.text, "CSeq: 2 BYE") != NULL;
			ua_respond(&bob, &o, 200, "", NULL);
		}
	}
	CHECK(to_alice);
	CHECK(to_bob);
	CHECK_EQ_INT(ctl("calls.list", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "call_id", "call-h1@10.0.0.1"), 0);
	CHECK(ctl("calls.hangup", &a, rows, sizeof(rows), &len) < 0);

	/* CALL_RELEASE from edge (media timeout) does the same. */
	CHECK(answered_call("h2", &inv));
	struct ipc_call_release cr;
	memset(&cr, 0, sizeof(cr));
	snprintf(cr.call_id, sizeof(cr.call_id), "call-h2@10.0.0.1");
	snprintf(cr.reason, sizeof(cr.reason), "media timeout");
	ipc_send(edge_fd, IPC_CALL_RELEASE, 0, 0, &cr, sizeof(cr), NULL, 0);
	int byes = 0;
	for (int i = 0; i < 2 && next_sip(&o, 3000); i++)
		if (o.m.is_request && o.m.method == SIP_M_BYE) {
			byes++;
			CHECK(strstr(o.text, "media timeout") != NULL);
			ua_respond(flow_is(&o, &bob) ? &bob : &alice, &o, 200,
			    "", NULL);
		}
	CHECK_EQ_INT(byes, 2);

	/* A BYE from the callee goes to the caller's flow. */
	CHECK(answered_call("h3", &inv));
	send_sip(&bob,
	    "BYE sip:alice@10.0.0.1:5060 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKbb3\r\n"
	    "Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n"
	    "From: <sip:bob@example.com>;tag=bth3\r\n"
	    "To: \"Alice\" <sip:alice@example.com>;tag=ath3\r\n"
	    "Call-ID: call-h3@10.0.0.1\r\nCSeq: 7 BYE\r\n"
	    "Content-Length: 0\r\n\r\n");
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_BYE, &alice));
	ua_respond(&alice, &o, 200, "", NULL);
	CHECK(next_sip(&o, 3000) && is_response(&o, 200) && flow_is(&o, &bob));
	out_reset(&o);
	out_reset(&inv);
}

static void
frank_invite(const char *id)
{
	char authz[1024];

	authz_user = "frank";
	authz_pw = "frankpw";
	proxy_authz("INVITE", "sip:bob@example.com", authz, sizeof(authz));
	authz_user = "alice";
	authz_pw = "alicepw";
	send_sip(&alice,
	    "INVITE sip:bob@example.com SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKf%s\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:frank@example.com>;tag=ft%s\r\n"
	    "To: <sip:bob@example.com>\r\n"
	    "Call-ID: frank-%s\r\nCSeq: 1 INVITE\r\n"
	    "Contact: <sip:frank@10.0.0.1:5060>\r\n%s"
	    "Content-Length: 0\r\n\r\n",
	    id, id, id, authz);
}

static void
test_call_limit(void)
{
	struct out o = {0}, inv = {0};

	/* frank may place one call at a time. */
	frank_invite("1");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_INVITE, &bob));
	ua_respond(&bob, &inv, 200, "bf1", "Contact: <sip:bob@10.0.0.2>\r\n");
	CHECK(next_sip(&o, 3000) && is_response(&o, 200));
	frank_invite("2");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_response(&o, 486));
	CHECK(strstr(o.text, "Call Limit") != NULL);
	/* After the first call ends, frank can call again. */
	send_sip(&alice,
	    "BYE sip:bob@10.0.0.2 SIP/2.0\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKfb1\r\n"
	    "Max-Forwards: 70\r\nRoute: <sip:127.0.0.1:5060;lr>\r\n"
	    "From: <sip:frank@example.com>;tag=ft1\r\n"
	    "To: <sip:bob@example.com>;tag=bf1\r\n"
	    "Call-ID: frank-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n");
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_BYE, &bob));
	ua_respond(&bob, &inv, 200, "", NULL);
	CHECK(next_sip(&o, 3000) && is_response(&o, 200));
	frank_invite("3");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_INVITE, &bob));
	ua_respond(&bob, &inv, 486, "bf3", NULL);
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_ACK, &bob));
	CHECK(next_sip(&o, 3000) && is_response(&o, 486));
	out_reset(&o);
	out_reset(&inv);
}

static void
test_serial_fork_and_loop(void)
{
	struct out o = {0}, inv = {0};

	/* dave: a preferred phone (q=1) and a fallback (q=0.5). */
	CHECK_EQ_INT(do_register(&bob, "dave", "example.com", "davepw",
	                 "sip:dave@10.0.0.2:5060", "", 600, "SHA-256"),
	    200);
	CHECK_EQ_INT(do_register(&bob2, "dave", "example.com", "davepw",
	                 "sip:dave@10.0.0.3:5060", ";q=0.5", 600, "SHA-256"),
	    200);
	send_invite("s1", "sip:dave@example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_INVITE, &bob));
	CHECK(!next_sip(&o, 300)); /* the fallback waits */
	ua_respond(&bob, &inv, 480, "d1", NULL);
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_ACK, &bob));
	CHECK(next_sip(&inv, 3000) && is_request(&inv, SIP_M_INVITE, &bob2));
	CHECK(slice_eq_cstr(inv.m.ruri_text, "sip:dave@10.0.0.3:5060"));

	/* That INVITE comes back to us unchanged (a UA forwarding to us):
	 * our own Via with the same request hash marks a loop. */
	char looped[IPC_MAX_MSG];
	const char *rl = strstr(inv.text, "\r\n");
	snprintf(looped, sizeof(looped),
	    "INVITE sip:dave@example.com SIP/2.0%s", rl);
	send_text(&bob2, slice_cstr(looped));
	bool got482 = false;
	struct out l = {0};
	for (int i = 0; i < 2 && next_sip(&l, 2000); i++)
		if (!l.m.is_request && l.m.status == 482)
			got482 = true;
	CHECK(got482);
	out_reset(&l);

	ua_respond(&bob2, &inv, 200, "d2", "Contact: <sip:dave@10.0.0.3>\r\n");
	CHECK(
	    next_sip(&o, 3000) && is_response(&o, 200) && flow_is(&o, &alice));
	out_reset(&o);
	out_reset(&inv);
}

static void
test_users_import(void)
{
	char path[600];
	uint8_t rows[8192];
	size_t len;

	snprintf(path, sizeof(path), "%s/import.txt", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	for (int i = 0; i < 10000; i++)
		fprintf(f, "imp%05d@example.com,pw%d\n", i, i);
	fclose(f);
	int fd = open(path, O_RDONLY);
	struct ipc_ctl_request rq;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.cmd, sizeof(rq.cmd), "users.import");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t id = ctl_id++;
	CHECK_EQ_INT(
	    ipc_send_fd(ctl_fd, IPC_CTL_REQUEST, id, &rq, sizeof(rq), fd), 0);
	close(fd);
	struct ipc_msg m;
	int status = -1;
	while (wait_msg(ctl_fd, &ipc_cat_ctl, &m, 30000) == 1) {
		if (m.hdr.type != IPC_CTL_REPLY || m.hdr.id != id)
			continue;
		struct ipc_ctl_reply rp;
		memcpy(&rp, m.body, sizeof(rp));
		status = rp.status;
		uint64_t n = 0;
		ctl_rows_get_u64(
		    m.body + sizeof(rp), rp.rows_len, "imported", &n);
		CHECK_EQ_INT(n, 10000);
		break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("# users.import of 10000 lines: %.2f s\n", secs);
	CHECK_EQ_INT(status, 0);
	CHECK(secs < 10.0);
	CHECK_EQ_INT(ctl("users.list", NULL, rows, sizeof(rows), &len), 0);
	/* An imported user can register. */
	CHECK_EQ_INT(do_register(&carol, "imp04242", "example.com", "pw4242",
	                 "sip:imp04242@10.0.0.4:5070", "", 600, "MD5"),
	    200);
	/* A bad line makes the whole import fail, nothing half-applied. */
	f = fopen(path, "w");
	fprintf(f, "new1@example.com,x\nbroken line\n");
	fclose(f);
	fd = open(path, O_RDONLY);
	id = ctl_id++;
	ipc_send_fd(ctl_fd, IPC_CTL_REQUEST, id, &rq, sizeof(rq), fd);
	close(fd);
	status = 0;
	while (wait_msg(ctl_fd, &ipc_cat_ctl, &m, 5000) == 1) {
		if (m.hdr.type != IPC_CTL_REPLY || m.hdr.id != id)
			continue;
		struct ipc_ctl_reply rp;
		memcpy(&rp, m.body, sizeof(rp));
		status = rp.status;
		break;
	}
	CHECK(status < 0);
	CHECK_EQ_INT(do_register(&carol, "new1", "example.com", "x",
	                 "sip:new1@10.0.0.4:5070", "", 600, "MD5"),
	    401);
}

static void
test_identity_and_replay(void)
{
	/* alice's credentials for bob's AoR: refused. */
	reg_aor_user = "bob";
	CHECK_EQ_INT(do_register(&alice, "alice", "example.com", "alicepw",
	                 "sip:alice@10.0.0.1:5060", "", 600, "SHA-256"),
	    403);
	reg_aor_user = NULL;
	/* A replayed Authorization (same nonce and nc): 401 stale. */
	reg_replay = true;
	CHECK_EQ_INT(do_register(&alice, "alice", "example.com", "alicepw",
	                 "sip:alice@10.0.0.1:5060", "", 600, "MD5"),
	    401);
	reg_replay = false;
}

static void
test_ctl_misc(void)
{
	uint8_t buf[1024], rows[8192];
	struct ctl_rows a;
	size_t len;
	uint64_t pid = 0;

	CHECK_EQ_INT(ctl("status", NULL, rows, sizeof(rows), &len), 0);
	CHECK(ctl_rows_get_u64(rows, len, "pid", &pid));
	CHECK_EQ_INT(pid, core_pid);
	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "level", "loud");
	ctl_rows_end_row(&a);
	CHECK(ctl("log.level", &a, rows, sizeof(rows), &len) < 0);
	ctl_rows_init(&a, buf, sizeof(buf));
	ctl_rows_str(&a, "level", "info");
	ctl_rows_end_row(&a);
	CHECK_EQ_INT(ctl("log.level", &a, rows, sizeof(rows), &len), 0);
	/* Reload: example.com stops being a redirect domain... it never
	 * was; redir.example.com stops, so carol's INVITE is proxied. */
	FILE *f = fopen(conf_path, "r+");
	char text[4096];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	char *p = strstr(text, "\"redirect_domains\": [\"redir.example.com\"]");
	CHECK(p != NULL);
	if (p != NULL)
		memcpy(p, "\"redirect_domains\": [                   ]", 41);
	rewind(f);
	fwrite(text, 1, n, f);
	fclose(f);
	CHECK_EQ_INT(ctl("reload", NULL, rows, sizeof(rows), &len), 0);
	CHECK_EQ_INT(rows_with(rows, len, "applied", NULL), 1);
	struct out o = {0};
	send_invite("r1", "sip:carol@redir.example.com");
	CHECK(next_sip(&o, 3000) && is_response(&o, 100));
	CHECK(next_sip(&o, 3000) && is_request(&o, SIP_M_INVITE, &carol));
	ua_respond(&carol, &o, 486, "c", NULL);
	for (int i = 0; i < 2 && next_sip(&o, 1000); i++)
		;
	out_reset(&o);
	/* shutdown: flushes and exits 0. */
	CHECK_EQ_INT(ctl("shutdown", NULL, rows, sizeof(rows), &len), 0);
	int st = -1;
	CHECK_EQ_INT(waitpid(core_pid, &st, 0), core_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	core_pid = -1;
}

static void
core_starts(void)
{
	CHECK(core_pid > 0 && edge_fd >= 0);
}

int
main(void)
{
	hash_seed_random();
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(conf_path, sizeof(conf_path), "%s/portcullis.json", dir);
	snprintf(sock_path, sizeof(sock_path), "%s/run/core.sock", dir);
	snprintf(log_path, sizeof(log_path), "%s/core.log", dir);
	FILE *f = fopen(conf_path, "w");
	if (f == NULL)
		return 1;
	fprintf(f,
	    "{\"state_dir\": \"%s/state\", \"runtime_dir\": \"%s/run\",\n"
	    " \"domains\": [\"example.com\", \"redir.example.com\"],\n"
	    " \"log_level\": \"debug\",\n"
	    " \"registrar\": {\"min_expires\": 30},\n"
	    " \"proxy\": {\"redirect_domains\": [\"redir.example.com\"]},\n"
	    " \"users\": [{\"user\": \"alice\", \"domain\": \"example.com\", "
	    "\"password\": \"alicepw\"},\n"
	    "  {\"user\": \"bob\", \"domain\": \"example.com\", "
	    "\"password\": \"bobpw\"},\n"
	    "  {\"user\": \"dave\", \"domain\": \"example.com\", "
	    "\"password\": \"davepw\"},\n"
	    "  {\"user\": \"frank\", \"domain\": \"example.com\", "
	    "\"password\": \"frankpw\", \"max_calls\": 1},\n"
	    "  {\"user\": \"carol\", \"domain\": \"redir.example.com\", "
	    "\"password\": \"carolpw\"}]}\n",
	    dir, dir);
	fclose(f);
	/* The core drops to the service account when it exists; it must
	 * still read its configuration on reload. */
	chmod(dir, 0755);
	chmod(conf_path, 0644);
	alice = mkflow("10.0.0.1", 5060);
	bob = mkflow("10.0.0.2", 5060);
	bob2 = mkflow("10.0.0.3", 5060);
	carol = mkflow("10.0.0.4", 5070);
	bool up = start_core();
	printf(
	    "# core %s (log %s)\n", up ? "started" : "DID NOT START", log_path);
	if (up) {
		TEST_RUN(test_register);
		TEST_RUN(test_options_and_relay);
		TEST_RUN(test_call);
		TEST_RUN(test_cancel);
		TEST_RUN(test_fork);
		TEST_RUN(test_redirect);
		TEST_RUN(test_hangup);
		TEST_RUN(test_call_limit);
		TEST_RUN(test_serial_fork_and_loop);
		TEST_RUN(test_restart_keeps_registrations);
		TEST_RUN(test_ctl_users);
		TEST_RUN(test_users_import);
		TEST_RUN(test_identity_and_replay);
		TEST_RUN(test_ctl_misc);
	} else {
		TEST_RUN(core_starts);
	}
	stop_core(false);
	int rc = tap_done();
	if (rc == 0 && getenv("PC_KEEP") == NULL) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	return rc;
}
