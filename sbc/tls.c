/*
 * TLS contexts. One server SSL_CTX per TLS listener (plus one per tls_sni
 * entry, swapped in by the servername callback) and one client SSL_CTX
 * for the connections the edge opens from it; connections are made by
 * stream.c. The listener's extras hang off its server context as ex_data,
 * so struct listener needs no more than its SSL_CTX pointer.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

#define CA_CACHE_MAX 32
#define WARNED_MAX 32

struct tls_sni_ctx {
	char *name;
	SSL_CTX *ctx;
};

struct tls_ca_store {
	char *path;
	X509_STORE *store;
};

/* What a TLS listener has beside its default server context. */
struct tls_lis {
	uint16_t idx;
	SSL_CTX *client;
	char *ca; /* listener's tls_ca (copied: the conf may be reloaded) */
	struct tls_sni_ctx *sni;
	size_t nsni;
	const char **names; /* sni[i].name, for tls_sni_match */
	struct tls_ca_store cas[CA_CACHE_MAX];
	size_t ncas;
	struct ipc_addr warned[WARNED_MAX]; /* peers with tls_verify=false */
	size_t nwarned;
};

static int lis_index = -1;
static struct log_rl rl_ca = LOG_RL_INIT(10000, 3);
static struct log_rl rl_plan = LOG_RL_INIT(10000, 5);

const char *
tls_error(char *buf, size_t cap)
{
	unsigned long e = ERR_get_error();
	if (e == 0)
		snprintf(buf, cap, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, cap);
	ERR_clear_error();
	return buf;
}

static struct tls_lis *
lis_of(SSL_CTX *ctx)
{
	return ctx != NULL && lis_index >= 0
	    ? SSL_CTX_get_ex_data(ctx, lis_index)
	    : NULL;
}

int
tls_sni_match(const char *const *names, size_t n, const char *sni)
{
	if (sni == NULL || sni[0] == '\0')
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(names[i], sni) == 0)
			return (int)i;
	/* Wildcards after exact names, so an exact entry always wins. */
	const char *dot = strchr(sni, '.');
	if (dot == NULL || dot == sni)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (strncmp(names[i], "*.", 2) == 0 &&
		    strcasecmp(names[i] + 2, dot + 1) == 0)
			return (int)i;
	return -1;
}

bool
tls_name_is_ip(const char *name)
{
	char tmp[64];
	unsigned char b[16];
	size_t n = strlen(name);
	if (n >= 2 && name[0] == '[' && name[n - 1] == ']') {
		if (n - 2 >= sizeof tmp)
			return false;
		memcpy(tmp, name + 1, n - 2);
		tmp[n - 2] = '\0';
		name = tmp;
	}
	return inet_pton(AF_INET, name, b) == 1 ||
	    inet_pton(AF_INET6, name, b) == 1;
}

static int
sni_cb(SSL *ssl, int *al, void *arg)
{
	struct tls_lis *tl = arg;
	(void)al;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	int i = tls_sni_match(tl->names, tl->nsni, name);
	if (i >= 0) {
		SSL_set_SSL_CTX(ssl, tl->sni[i].ctx);
		log_debug("tls: listen[%u]: %s served with its tls_sni "
		          "certificate",
		    tl->idx, name);
	} else if (name != NULL) {
		log_debug(
		    "tls: listen[%u]: %s served with tls_cert", tl->idx, name);
	}
	return SSL_TLSEXT_ERR_OK;
}

/* A server context with one certificate; verification settings are the
 * listener's (a context swapped in by SNI verifies clients the same). */
static SSL_CTX *
server_ctx(
    unsigned idx, const char *cert, const char *key, const struct pc_listen *pl)
{
	char err[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		log_error("listen[%u]: %s", idx, tls_error(err, sizeof err));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_error("listen[%u]: certificate %s: %s", idx, cert,
		    tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_error("listen[%u]: key %s: %s", idx, key,
		    tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (pl->tls_ca != NULL &&
	    SSL_CTX_load_verify_locations(ctx, pl->tls_ca, NULL) != 1) {
		log_error("listen[%u]: tls_ca %s: %s", idx, pl->tls_ca,
		    tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (pl->tls_verify_client) {
		SSL_CTX_set_verify(ctx,
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 5);
	}
	static const unsigned char sid[] = "portcullis-edge";
	SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	return ctx;
}

static SSL_CTX *
client_ctx(unsigned idx, const struct pc_listen *pl)
{
	char err[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		log_error("listen[%u]: %s", idx, tls_error(err, sizeof err));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify_depth(ctx, 5);
	/* Carriers that want mutual TLS get the listener's certificate. */
	if (SSL_CTX_use_certificate_chain_file(ctx, pl->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, pl->tls_key, SSL_FILETYPE_PEM) !=
	        1) {
		log_error("listen[%u]: client certificate %s: %s", idx,
		    pl->tls_cert, tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* The system store, for trunk peers without their own tls_ca. A
	 * system without one only fails those peers' verification. */
	if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		log_warnx("listen[%u]: no system CA store: %s", idx,
		    tls_error(err, sizeof err));
	}
	return ctx;
}

static void
lis_free(struct tls_lis *tl)
{
	if (tl == NULL)
		return;
	for (size_t i = 0; i < tl->nsni; i++) {
		SSL_CTX_free(tl->sni[i].ctx);
		free(tl->sni[i].name);
	}
	for (size_t i = 0; i < tl->ncas; i++) {
		X509_STORE_free(tl->cas[i].store);
		free(tl->cas[i].path);
	}
	SSL_CTX_free(tl->client);
	free(tl->sni);
	free(tl->names);
	free(tl->ca);
	free(tl);
}

int
tls_listener_init(struct listener *l, const struct pc_listen *pl)
{
	if (pl->tls_cert == NULL || pl->tls_key == NULL) {
		log_error("listen[%u]: a tls listener needs tls_cert and "
		          "tls_key",
		    l->idx);
		return -1;
	}
	if (pl->tls_verify_client && pl->tls_ca == NULL) {
		log_error("listen[%u]: tls_verify_client needs tls_ca", l->idx);
		return -1;
	}
	if (lis_index < 0) {
		lis_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
		if (lis_index < 0) {
			log_error(
			    "listen[%u]: no SSL_CTX ex_data index", l->idx);
			return -1;
		}
	}
	struct tls_lis *tl = calloc(1, sizeof *tl);
	if (tl == NULL)
		return -1;
	tl->idx = l->idx;
	SSL_CTX *ctx = server_ctx(l->idx, pl->tls_cert, pl->tls_key, pl);
	if (ctx == NULL) {
		lis_free(tl);
		return -1;
	}
	if (pl->tls_ca != NULL && (tl->ca = strdup(pl->tls_ca)) == NULL)
		goto fail;
	tl->client = client_ctx(l->idx, pl);
	if (tl->client == NULL)
		goto fail;
	if (pl->ntls_sni > 0) {
		tl->sni = calloc(pl->ntls_sni, sizeof *tl->sni);
		tl->names = calloc(pl->ntls_sni, sizeof *tl->names);
		if (tl->sni == NULL || tl->names == NULL)
			goto fail;
		for (size_t i = 0; i < pl->ntls_sni; i++) {
			const struct pc_listen_sni *s = &pl->tls_sni[i];
			tl->sni[i].ctx =
			    server_ctx(l->idx, s->cert, s->key, pl);
			tl->sni[i].name = strdup(s->server_name);
			tl->nsni = i + 1;
			if (tl->sni[i].ctx == NULL || tl->sni[i].name == NULL)
				goto fail;
			tl->names[i] = tl->sni[i].name;
		}
	}
	if (SSL_CTX_set_ex_data(ctx, lis_index, tl) != 1)
		goto fail;
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, tl);
	l->tls = ctx;
	l->verify_client = pl->tls_verify_client;
	return 0;
fail:
	lis_free(tl);
	SSL_CTX_free(ctx);
	return -1;
}

void
tls_listener_free(struct listener *l)
{
	if (l->tls != NULL) {
		lis_free(lis_of(l->tls));
		SSL_CTX_free(l->tls);
	}
	l->tls = NULL;
}

void
tls_peer_identity(SSL *ssl, char *buf, size_t cap)
{
	buf[0] = '\0';
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return;
	if (SSL_get_verify_result(ssl) != X509_V_OK) {
		X509_free(cert);
		return;
	}
	GENERAL_NAMES *sans =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; sans != NULL && i < sk_GENERAL_NAME_num(sans); i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
		if (g->type == GEN_DNS || g->type == GEN_URI) {
			const unsigned char *s =
			    ASN1_STRING_get0_data(g->d.ia5);
			int n = ASN1_STRING_length(g->d.ia5);
			snprintf(buf, cap, "%.*s", n, (const char *)s);
			break;
		}
	}
	GENERAL_NAMES_free(sans);
	if (buf[0] == '\0')
		X509_NAME_get_text_by_NID(
		    X509_get_subject_name(cert), NID_commonName, buf, (int)cap);
	X509_free(cert);
}

/* The name a peer's certificate must carry, without IPv6 brackets. */
static void
peer_name(const struct pc_core_peer *pe, char *buf, size_t cap)
{
	const char *name = pe->tls_name != NULL && pe->tls_name[0] != '\0'
	    ? pe->tls_name
	    : pe->address;
	size_t n = strlen(name);
	if (n >= 2 && name[0] == '[' && name[n - 1] == ']')
		snprintf(buf, cap, "%.*s", (int)(n - 2), name + 1);
	else
		snprintf(buf, cap, "%s", name);
}

static void
plan_from_peer(struct tls_client_plan *p, const struct pc_core_peer *pe,
    size_t t, size_t i)
{
	p->trunk = (int)t;
	p->peer = (int)i;
	p->verify = pe->tls_verify;
	p->ca = pe->tls_ca;
	peer_name(pe, p->name, sizeof p->name);
	p->name_is_ip = tls_name_is_ip(p->name);
	p->sni = !p->name_is_ip;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The peer of trunk tr (index t) that remote is: by address literal, else
 * (core resolved a host name) among the host-name peers on that port. */
static void
plan_in_trunk(struct tls_client_plan *p, const struct pc_core_trunk *tr,
    size_t t, const struct ipc_addr *remote, bool hostnames)
{
	for (size_t i = 0; i < tr->npeers; i++) {
		const struct pc_core_peer *pe = &tr->peers[i];
		struct ipc_addr a;
		if (pe->transport != PC_CORE_TP_TLS || pe->address == NULL ||
		    !ipc_addr_parse(&a, pe->address, (uint16_t)pe->port))
			continue;
		acl_addr_normalise(&a);
		if (ipc_addr_eq(&a, remote)) {
			plan_from_peer(p, pe, t, i);
			return;
		}
	}
	if (!hostnames)
		return;
	for (size_t i = 0; i < tr->npeers; i++) {
		const struct pc_core_peer *pe = &tr->peers[i];
		if (pe->transport != PC_CORE_TP_TLS || pe->address == NULL ||
		    tls_name_is_ip(pe->address) || pe->port != remote->port)
			continue;
		if (p->trunk < 0) {
			plan_from_peer(p, pe, t, i);
			continue;
		}
		/* Several names could be this address: any of them will
		 * do, as long as they are checked the same way. */
		const struct pc_core_peer *first = &tr->peers[p->peer];
		char name[sizeof p->name];
		peer_name(pe, name, sizeof name);
		if (pe->tls_verify != first->tls_verify ||
		    !same_str(pe->tls_ca, first->tls_ca) || p->name_is_ip ||
		    tls_name_is_ip(name)) {
			p->refuse = true;
			return;
		}
		bool known = strcasecmp(name, p->name) == 0;
		for (int k = 0; k < p->nmore && !known; k++)
			known = strcasecmp(name, p->more[k]) == 0;
		if (known)
			continue;
		if (p->nmore == TLS_PLAN_MORE) {
			p->refuse = true;
			return;
		}
		snprintf(p->more[p->nmore++], sizeof p->more[0], "%s", name);
	}
}

void
tls_client_plan(const struct pc_conf *conf, const char *listener_ca,
    const struct ipc_addr *remote, const char *trunk, struct tls_client_plan *p)
{
	memset(p, 0, sizeof *p);
	p->trunk = p->peer = -1;
	const struct pc_core_conf *cc = &conf->core;
	if (trunk != NULL && trunk[0] != '\0') {
		for (size_t t = 0; t < cc->ntrunks; t++)
			if (cc->trunks[t].name != NULL &&
			    strcmp(cc->trunks[t].name, trunk) == 0) {
				plan_in_trunk(
				    p, &cc->trunks[t], t, remote, true);
				break;
			}
		if (p->trunk >= 0 || p->refuse)
			return;
		/* A trunk peer the edge's configuration does not describe
		 * (a trunk added live in core): never unchecked, so the
		 * system's CAs and the address it was sent to. */
		p->unknown_peer = true;
		p->verify = true;
		struct ipc_addr a = *remote;
		a.port = 0;
		ipc_addr_str(&a, p->name, sizeof p->name);
		size_t n = strlen(p->name);
		if (n >= 2 && p->name[0] == '[') {
			memmove(p->name, p->name + 1, n - 2);
			p->name[n - 2] = '\0';
		}
		p->name_is_ip = true;
		return;
	}
	for (size_t t = 0; t < cc->ntrunks && p->trunk < 0; t++)
		plan_in_trunk(p, &cc->trunks[t], t, remote, false);
	if (p->trunk >= 0)
		return;
	/* A user agent: see tls.h. */
	p->verify = listener_ca != NULL;
	p->ca = listener_ca;
}

static X509_STORE *
ca_store(struct tls_lis *tl, const char *path)
{
	for (size_t i = 0; i < tl->ncas; i++)
		if (strcmp(tl->cas[i].path, path) == 0)
			return tl->cas[i].store;
	char err[256];
	X509_STORE *st = X509_STORE_new();
	if (st == NULL || X509_STORE_load_file(st, path) != 1) {
		log_ratelimited(&rl_ca, LOG_LVL_WARN, "tls: CA file %s: %s",
		    path, tls_error(err, sizeof err));
		X509_STORE_free(st);
		return NULL;
	}
	if (tl->ncas == CA_CACHE_MAX) {
		/* Only after a reload named that many files: start over. */
		for (size_t i = 0; i < tl->ncas; i++) {
			X509_STORE_free(tl->cas[i].store);
			free(tl->cas[i].path);
		}
		tl->ncas = 0;
	}
	char *dup = strdup(path);
	if (dup == NULL) {
		X509_STORE_free(st);
		return NULL;
	}
	tl->cas[tl->ncas].path = dup;
	tl->cas[tl->ncas].store = st;
	tl->ncas++;
	return st;
}

static void
warn_unverified(struct tls_lis *tl, const struct ipc_addr *remote,
    const struct pc_conf *conf, const struct tls_client_plan *p)
{
	for (size_t i = 0; i < tl->nwarned; i++)
		if (ipc_addr_eq(&tl->warned[i], remote))
			return;
	if (tl->nwarned < WARNED_MAX)
		tl->warned[tl->nwarned++] = *remote;
	char a[64];
	log_warnx("trunk %s peer %s: tls_verify is false: its TLS "
	          "certificate is not checked",
	    conf->core.trunks[p->trunk].name,
	    ipc_addr_str(remote, a, sizeof a));
}

SSL *
tls_client_new(struct listener *l, const struct ipc_addr *remote,
    const char *trunk, char *desc, size_t dcap)
{
	struct tls_lis *tl = lis_of(l->tls);
	char a[64], err[256];
	ipc_addr_str(remote, a, sizeof a);
	snprintf(desc, dcap, "%s", a);
	if (tl == NULL || tl->client == NULL)
		return NULL;
	const struct pc_conf *conf = &l->e->conf;
	struct tls_client_plan p;
	tls_client_plan(conf, tl->ca, remote, trunk, &p);
	if (p.trunk >= 0)
		snprintf(desc, dcap, "%s (trunk %s)", a,
		    conf->core.trunks[p.trunk].name);
	else if (trunk != NULL && trunk[0] != '\0')
		snprintf(desc, dcap, "%s (trunk %s)", a, trunk);
	if (p.refuse) {
		log_ratelimited(&rl_plan, LOG_LVL_WARN,
		    "tls to %s: peers of the trunk on that port are checked "
		    "differently (tls_ca, tls_verify) and the edge cannot tell "
		    "which one this is: no connection",
		    desc);
		return NULL;
	}
	if (p.unknown_peer)
		log_ratelimited(&rl_plan, LOG_LVL_INFO,
		    "tls to %s: a peer the edge's configuration does not list: "
		    "checked against the system CAs by its address",
		    desc);
	SSL *ssl = SSL_new(tl->client);
	if (ssl == NULL) {
		log_warnx("tls to %s: %s", desc, tls_error(err, sizeof err));
		return NULL;
	}
	if (p.trunk >= 0 && !p.verify)
		warn_unverified(tl, remote, conf, &p);
	if (p.verify) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		if (p.ca != NULL) {
			X509_STORE *st = ca_store(tl, p.ca);
			if (st == NULL ||
			    SSL_set1_verify_cert_store(ssl, st) != 1) {
				SSL_free(ssl);
				return NULL;
			}
		}
	} else {
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	}
	int ok = 1;
	if (p.verify && p.name[0] != '\0') {
		if (p.name_is_ip) {
			ok = X509_VERIFY_PARAM_set1_ip_asc(
			    SSL_get0_param(ssl), p.name);
		} else {
			SSL_set_hostflags(
			    ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = SSL_set1_host(ssl, p.name);
			for (int k = 0; k < p.nmore && ok == 1; k++)
				ok = SSL_add1_host(ssl, p.more[k]);
		}
	}
	if (ok == 1 && p.sni && p.name[0] != '\0')
		ok = SSL_set_tlsext_host_name(ssl, p.name);
	if (ok != 1) {
		log_warnx("tls to %s: name %s: %s", desc, p.name,
		    tls_error(err, sizeof err));
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

const char *
tls_handshake_error(SSL *ssl, char *buf, size_t cap)
{
	long v = SSL_get_verify_result(ssl);
	if (v != X509_V_OK) {
		char e[160];
		snprintf(buf, cap, "certificate verify failed: %s (%s)",
		    X509_verify_cert_error_string(v), tls_error(e, sizeof e));
		return buf;
	}
	return tls_error(buf, cap);
}
