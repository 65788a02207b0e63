/*
 * Unit tests of sbc/tls.c: the SNI table lookup, which checks an outbound
 * connection gets (trunk peer by name or address, UA), and real
 * handshakes over memory BIOs with certificates made here: the SNI
 * callback's choice, an outbound connection's verification (name, IP,
 * wrong name, wrong CA, verification off) and its client certificate.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tap.h"
#include "tls.h"

static char dir[] = "/tmp/pc-test-tls.XXXXXX";

static void
test_sni_match(void)
{
	const char *names[] = {"alt.test", "*.wild.test", "x.wild.test"};
	CHECK_EQ_INT(tls_sni_match(names, 3, "alt.test"), 0);
	CHECK_EQ_INT(tls_sni_match(names, 3, "ALT.Test"), 0);
	CHECK_EQ_INT(tls_sni_match(names, 3, "a.wild.test"), 1);
	/* An exact entry wins over a wildcard listed before it. */
	CHECK_EQ_INT(tls_sni_match(names, 3, "x.wild.test"), 2);
	CHECK_EQ_INT(tls_sni_match(names, 3, "a.b.wild.test"), -1);
	CHECK_EQ_INT(tls_sni_match(names, 3, "wild.test"), -1);
	CHECK_EQ_INT(tls_sni_match(names, 3, ".wild.test"), -1);
	CHECK_EQ_INT(tls_sni_match(names, 3, "other.test"), -1);
	CHECK_EQ_INT(tls_sni_match(names, 3, ""), -1);
	CHECK_EQ_INT(tls_sni_match(names, 3, NULL), -1);
	CHECK_EQ_INT(tls_sni_match(names, 0, "alt.test"), -1);
}

static void
test_name_is_ip(void)
{
	CHECK(tls_name_is_ip("192.0.2.1"));
	CHECK(tls_name_is_ip("2001:db8::1"));
	CHECK(tls_name_is_ip("[2001:db8::1]"));
	CHECK(!tls_name_is_ip("carrier.test"));
	CHECK(!tls_name_is_ip("1.2.3"));
	CHECK(!tls_name_is_ip("[carrier.test]"));
	CHECK(!tls_name_is_ip(""));
	CHECK(!tls_name_is_ip("[]"));
}

/* ---- certificates ------------------------------------------------------ */

static EVP_PKEY *
write_key(const char *name)
{
	char path[256];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	snprintf(path, sizeof path, "%s/%s.key", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL || k == NULL)
		abort();
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		abort();
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

/* name.crt and name.key in dir; san NULL = a CA (self-signed when
 * ca == NULL). Returns the certificate (the caller frees it) and the key
 * in *key. */
static X509 *
make_cert(const char *name, const char *san, X509 *ca, EVP_PKEY *ca_key,
    EVP_PKEY **key)
{
	static long serial = 1;
	EVP_PKEY *k = write_key(name);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca != NULL ? ca : x));
	if (san == NULL)
		add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
	else
		add_ext(x, ca != NULL ? ca : x, NID_subject_alt_name, san);
	X509_sign(x, ca_key != NULL ? ca_key : k, EVP_sha256());
	char path[256];
	snprintf(path, sizeof path, "%s/%s.crt", dir, name);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		abort();
	PEM_write_X509(f, x);
	fclose(f);
	*key = k;
	return x;
}

static const char *
file(const char *name)
{
	static char bufs[16][256];
	static int n;
	char *b = bufs[n++ % 16];
	snprintf(b, 256, "%s/%s", dir, name);
	return b;
}

/* ---- handshakes over memory -------------------------------------------- */

/* Runs both sides until both finished or one failed: 1 = up. */
static int
pump(SSL *client, SSL *server)
{
	BIO *bc, *bs;
	BIO_new_bio_pair(&bc, 0, &bs, 0);
	SSL_set_bio(client, bc, bc);
	SSL_set_bio(server, bs, bs);
	int rc = 0, rs = 0;
	for (int i = 0; i < 50 && (rc != 1 || rs != 1); i++) {
		if (rc != 1) {
			rc = SSL_do_handshake(client);
			int e = SSL_get_error(client, rc);
			if (rc != 1 && e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				return 0;
		}
		if (rs != 1) {
			rs = SSL_do_handshake(server);
			int e = SSL_get_error(server, rs);
			if (rs != 1 && e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE)
				return 0;
		}
	}
	return rc == 1 && rs == 1;
}

static char *
subject_cn(X509 *x, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (x != NULL)
		X509_NAME_get_text_by_NID(
		    X509_get_subject_name(x), NID_commonName, buf, (int)cap);
	return buf;
}

static struct edge edge;
static struct listener lis;

static int
load_conf(void)
{
	char text[4096];
	snprintf(text, sizeof text,
	    "{\"listen\": [{\"transport\": \"tls\", \"port\": 5061,"
	    "  \"tls_cert\": \"%s\", \"tls_key\": \"%s\","
	    "  \"tls_sni\": [{\"server_name\": \"alt.test\", \"cert\": \"%s\","
	    "    \"key\": \"%s\"}, {\"server_name\": \"*.wild.test\","
	    "    \"cert\": \"%s\", \"key\": \"%s\"}]}],"
	    " \"trunks\": [{\"name\": \"t1\", \"peers\": ["
	    "   {\"address\": \"192.0.2.10\", \"port\": 5061,"
	    "    \"transport\": \"tls\", \"tls_name\": \"carrier.test\","
	    "    \"tls_ca\": \"%s\"},"
	    "   {\"address\": \"192.0.2.11\", \"port\": 5061,"
	    "    \"transport\": \"tls\", \"tls_ca\": \"%s\"},"
	    "   {\"address\": \"2001:db8::5\", \"port\": 5061,"
	    "    \"transport\": \"tls\", \"tls_verify\": false},"
	    "   {\"address\": \"192.0.2.12\", \"port\": 5061}]},"
	    "  {\"name\": \"t2\", \"peers\": ["
	    "   {\"address\": \"192.0.2.13\", \"port\": 5061,"
	    "    \"transport\": \"tls\"}]},"
	    "  {\"name\": \"t3\", \"peers\": ["
	    "   {\"address\": \"sip1.carrier.test\", \"port\": 5061,"
	    "    \"transport\": \"tls\", \"tls_ca\": \"%s\"},"
	    "   {\"address\": \"sip2.carrier.test\", \"port\": 5061,"
	    "    \"transport\": \"tls\", \"tls_ca\": \"%s\"},"
	    "   {\"address\": \"sip3.carrier.test\", \"port\": 5062,"
	    "    \"transport\": \"tls\"}]},"
	    "  {\"name\": \"t4\", \"peers\": ["
	    "   {\"address\": \"a.t4.test\", \"port\": 5061,"
	    "    \"transport\": \"tls\", \"tls_ca\": \"%s\"},"
	    "   {\"address\": \"b.t4.test\", \"port\": 5061,"
	    "    \"transport\": \"tls\"}]}]}",
	    file("sbc.test.crt"), file("sbc.test.key"), file("alt.test.crt"),
	    file("alt.test.key"), file("wild.test.crt"), file("wild.test.key"),
	    file("ca.crt"), file("ca.crt"), file("ca.crt"), file("ca.crt"),
	    file("ca.crt"));
	struct conf_errors errs;
	int rc = conf_load_string(
	    text, strlen(text), "test", &pcconf_table, &edge.conf, &errs);
	if (rc != 0)
		conf_errors_print(&errs, stderr);
	conf_errors_free(&errs);
	return rc;
}

static struct ipc_addr
addr(const char *s, uint16_t port)
{
	struct ipc_addr a;
	ipc_addr_parse(&a, s, port);
	return a;
}

static void
test_plan(void)
{
	struct tls_client_plan p;
	struct ipc_addr a = addr("192.0.2.10", 5061);
	tls_client_plan(&edge.conf, NULL, &a, NULL, &p);
	CHECK_EQ_INT(p.trunk, 0);
	CHECK_EQ_INT(p.peer, 0);
	CHECK(p.verify);
	CHECK_STR(p.name, "carrier.test");
	CHECK(!p.name_is_ip);
	CHECK(p.sni);
	CHECK(p.ca != NULL && strstr(p.ca, "ca.crt") != NULL);

	a = addr("192.0.2.11", 5061);
	tls_client_plan(&edge.conf, NULL, &a, NULL, &p);
	CHECK_EQ_INT(p.peer, 1);
	CHECK(p.verify);
	CHECK_STR(p.name, "192.0.2.11");
	CHECK(p.name_is_ip);
	CHECK(!p.sni); /* no SNI for an address (RFC 6066 §3) */

	a = addr("2001:db8::5", 5061);
	tls_client_plan(&edge.conf, "/l/ca.pem", &a, NULL, &p);
	CHECK_EQ_INT(p.peer, 2);
	CHECK(!p.verify);

	/* Another port of a peer's address is not that peer. */
	a = addr("192.0.2.10", 5062);
	tls_client_plan(&edge.conf, NULL, &a, NULL, &p);
	CHECK_EQ_INT(p.trunk, -1);
	CHECK(!p.verify);

	/* A UDP peer is not a TLS peer: a UA as far as TLS goes. */
	a = addr("192.0.2.12", 5061);
	tls_client_plan(&edge.conf, "/l/ca.pem", &a, NULL, &p);
	CHECK_EQ_INT(p.trunk, -1);
	CHECK(p.verify);
	CHECK_STR(p.ca, "/l/ca.pem");
	CHECK_STR(p.name, "");

	/* Second trunk; no tls_ca = the system store. */
	a = addr("192.0.2.13", 5061);
	tls_client_plan(&edge.conf, NULL, &a, NULL, &p);
	CHECK_EQ_INT(p.trunk, 1);
	CHECK(p.verify);
	CHECK(p.ca == NULL);
}

static void
test_plan_named_trunk(void)
{
	struct tls_client_plan p;
	/* Named trunk, its peer by address. */
	struct ipc_addr a = addr("192.0.2.10", 5061);
	tls_client_plan(&edge.conf, NULL, &a, "t1", &p);
	CHECK_EQ_INT(p.trunk, 0);
	CHECK_STR(p.name, "carrier.test");

	/* Host-name peers: core resolved one of those on that port. */
	a = addr("198.51.100.20", 5061);
	tls_client_plan(&edge.conf, NULL, &a, "t3", &p);
	CHECK_EQ_INT(p.trunk, 2);
	CHECK_EQ_INT(p.peer, 0);
	CHECK(p.verify && !p.refuse && !p.unknown_peer);
	CHECK_STR(p.name, "sip1.carrier.test");
	CHECK(p.sni);
	CHECK_EQ_INT(p.nmore, 1);
	CHECK_STR(p.more[0], "sip2.carrier.test");
	CHECK(p.ca != NULL && strstr(p.ca, "ca.crt") != NULL);

	/* The only host-name peer on 5062. */
	a = addr("198.51.100.20", 5062);
	tls_client_plan(&edge.conf, NULL, &a, "t3", &p);
	CHECK_EQ_INT(p.peer, 2);
	CHECK_EQ_INT(p.nmore, 0);
	CHECK(p.ca == NULL);

	/* Without the trunk's name a host-name peer is not recognised. */
	tls_client_plan(&edge.conf, NULL, &a, NULL, &p);
	CHECK_EQ_INT(p.trunk, -1);

	/* No peer of the trunk fits: checked, never unchecked. */
	a = addr("198.51.100.20", 5070);
	tls_client_plan(&edge.conf, NULL, &a, "t3", &p);
	CHECK(p.unknown_peer && p.verify && p.name_is_ip);
	CHECK_STR(p.name, "198.51.100.20");
	CHECK(p.ca == NULL);

	/* A trunk added live in core (not in the file). */
	a = addr("2001:db8::9", 5061);
	tls_client_plan(&edge.conf, "/l/ca.pem", &a, "live", &p);
	CHECK(p.unknown_peer && p.verify && p.name_is_ip);
	CHECK_STR(p.name, "2001:db8::9");
	CHECK(p.ca == NULL);

	/* Candidates checked differently: cannot choose. */
	a = addr("198.51.100.30", 5061);
	tls_client_plan(&edge.conf, NULL, &a, "t4", &p);
	CHECK(p.refuse);
}

/* A client with SNI name (NULL = none) against the listener: the CN of
 * the certificate it got. */
static const char *
served_for(const char *sni, char *buf, size_t cap)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *c = SSL_new(cctx);
	SSL *s = SSL_new(lis.tls);
	if (sni != NULL)
		SSL_set_tlsext_host_name(c, sni);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	buf[0] = '\0';
	if (pump(c, s)) {
		X509 *x = SSL_get1_peer_certificate(c);
		subject_cn(x, buf, cap);
		X509_free(x);
	}
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	ERR_clear_error();
	return buf;
}

static void
test_sni_served(void)
{
	char cn[64];
	CHECK_STR(served_for("alt.test", cn, sizeof cn), "alt.test");
	CHECK_STR(served_for("b.wild.test", cn, sizeof cn), "wild.test");
	CHECK_STR(served_for("other.test", cn, sizeof cn), "sbc.test");
	CHECK_STR(served_for(NULL, cn, sizeof cn), "sbc.test");
}

/* An outbound connection from the listener to remote, served by a peer
 * with certificate name.crt that wants a client certificate from ca.crt.
 * 1 = up; the client certificate's CN the peer saw into seen; the
 * failure text into why. */
static int
outbound_trunk(const char *remote, const char *trunk, const char *name,
    char *seen, char *why)
{
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	char crt[300], key[300];
	snprintf(crt, sizeof crt, "%s", file(name));
	snprintf(key, sizeof key, "%s", file(name));
	memcpy(crt + strlen(crt), ".crt", 5);
	memcpy(key + strlen(key), ".key", 5);
	SSL_CTX_use_certificate_chain_file(sctx, crt);
	SSL_CTX_use_PrivateKey_file(sctx, key, SSL_FILETYPE_PEM);
	SSL_CTX_load_verify_locations(sctx, file("ca.crt"), NULL);
	SSL_CTX_set_verify(
	    sctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	struct ipc_addr ra = addr(remote, 5061);
	char desc[96];
	SSL *c = tls_client_new(&lis, &ra, trunk, desc, sizeof desc);
	SSL *s = SSL_new(sctx);
	SSL_set_accept_state(s);
	seen[0] = why[0] = '\0';
	int up = 0;
	if (c != NULL) {
		up = pump(c, s);
		if (up) {
			X509 *x = SSL_get1_peer_certificate(s);
			subject_cn(x, seen, 64);
			X509_free(x);
		} else {
			tls_handshake_error(c, why, 256);
		}
		SSL_free(c);
	}
	SSL_free(s);
	SSL_CTX_free(sctx);
	ERR_clear_error();
	return up;
}

static int
outbound(const char *remote, const char *name, char *seen, char *why)
{
	return outbound_trunk(remote, NULL, name, seen, why);
}

static void
test_outbound(void)
{
	char seen[64], why[256];
	CHECK(outbound("192.0.2.10", "carrier.test", seen, why));
	CHECK_STR(seen, "sbc.test"); /* mutual TLS */
	CHECK(!outbound("192.0.2.10", "evil.test", seen, why));
	CHECK(strstr(why, "hostname mismatch") != NULL);
	CHECK(!outbound("192.0.2.10", "rogue", seen, why));
	CHECK(strstr(why, "certificate verify failed") != NULL);
	/* Peer named by its address: the certificate's IP SAN. */
	CHECK(outbound("192.0.2.11", "ip-carrier", seen, why));
	CHECK(!outbound("192.0.2.11", "carrier.test", seen, why));
	CHECK(strstr(why, "IP address mismatch") != NULL);
	/* tls_verify false: anything goes. */
	CHECK(outbound("2001:db8::5", "rogue", seen, why));
	/* A UA, and the listener has no tls_ca: not verified. */
	CHECK(outbound("198.51.100.7", "rogue", seen, why));
	/* Host-name peers of a named trunk: either name is accepted. */
	CHECK(outbound_trunk("198.51.100.20", "t3", "sip2", seen, why));
	CHECK(
	    !outbound_trunk("198.51.100.20", "t3", "carrier.test", seen, why));
	CHECK(strstr(why, "hostname mismatch") != NULL);
	/* A trunk the edge does not know: the system's CAs, not ours. */
	CHECK(
	    !outbound_trunk("198.51.100.20", "live", "ip-carrier", seen, why));
	CHECK(strstr(why, "certificate verify failed") != NULL);
	/* Peers checked differently: no connection at all. */
	CHECK(
	    !outbound_trunk("198.51.100.30", "t4", "carrier.test", seen, why));
	CHECK_STR(why, "");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	EVP_PKEY *cak, *k;
	X509 *ca = make_cert("ca", NULL, NULL, NULL, &cak);
	/* x[i]: signed by ca, but the rogue one (self-signed). */
	static const struct {
		const char *cn, *san;
		bool is_self;
	} certs[] = {
	    {"sbc.test", "DNS:sbc.test", false},
	    {"alt.test", "DNS:alt.test", false},
	    {"wild.test", "DNS:*.wild.test", false},
	    {"carrier.test", "DNS:carrier.test", false},
	    {"evil.test", "DNS:evil.test", false},
	    {"ip-carrier", "IP:192.0.2.11", false},
	    {"rogue", "DNS:carrier.test", true},
	    {"sip2", "DNS:sip2.carrier.test", false},
	};
	X509 *x[8];
	for (size_t i = 0; i < sizeof(certs) / sizeof(*certs); i++) {
		x[i] = make_cert(certs[i].cn, certs[i].san,
		    certs[i].is_self ? NULL : ca, certs[i].is_self ? NULL : cak,
		    &k);
		EVP_PKEY_free(k);
	}

	TEST_RUN(test_sni_match);
	TEST_RUN(test_name_is_ip);
	if (load_conf() != 0) {
		CHECK(false);
	} else {
		lis.e = &edge;
		lis.transport = IPC_TP_TLS;
		CHECK_EQ_INT(tls_listener_init(&lis, &edge.conf.listen[0]), 0);
		TEST_RUN(test_plan);
		TEST_RUN(test_plan_named_trunk);
		if (lis.tls != NULL) {
			TEST_RUN(test_sni_served);
			TEST_RUN(test_outbound);
		}
		tls_listener_free(&lis);
		pcconf_free(&edge.conf);
	}

	for (int i = 0; i < 8; i++)
		X509_free(x[i]);
	X509_free(ca);
	EVP_PKEY_free(cak);
	const char *names[] = {"ca", "sbc.test", "alt.test", "wild.test",
	    "carrier.test", "evil.test", "ip-carrier", "rogue", "sip2"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char p[300];
		snprintf(p, sizeof p, "%s/%s.crt", dir, names[i]);
		unlink(p);
		snprintf(p, sizeof p, "%s/%s.key", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
	return tap_done();
}
