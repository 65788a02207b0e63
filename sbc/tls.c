/*
 * TLS server contexts. One SSL_CTX per TLS listener; connections are made
 * by stream.c from it.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"

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

static int
sni_cb(SSL *ssl, int *al, void *arg)
{
	(void)al;
	(void)arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name != NULL)
		log_debug("tls: client asked for %s", name);
	/* One certificate per listener: any name is served with it. */
	return SSL_TLSEXT_ERR_OK;
}

int
tls_listener_init(struct listener *l, const struct pc_listen *pl)
{
	char err[256];
	if (pl->tls_cert == NULL || pl->tls_key == NULL) {
		log_error("listen[%u]: a tls listener needs tls_cert and "
		          "tls_key",
		    l->idx);
		return -1;
	}
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		log_error("listen[%u]: %s", l->idx, tls_error(err, sizeof err));
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(
	    ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_use_certificate_chain_file(ctx, pl->tls_cert) != 1) {
		log_error("listen[%u]: tls_cert %s: %s", l->idx, pl->tls_cert,
		    tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, pl->tls_key, SSL_FILETYPE_PEM) !=
	        1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_error("listen[%u]: tls_key %s: %s", l->idx, pl->tls_key,
		    tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return -1;
	}
	if (pl->tls_ca != NULL &&
	    SSL_CTX_load_verify_locations(ctx, pl->tls_ca, NULL) != 1) {
		log_error("listen[%u]: tls_ca %s: %s", l->idx, pl->tls_ca,
		    tls_error(err, sizeof err));
		SSL_CTX_free(ctx);
		return -1;
	}
	if (pl->tls_verify_client) {
		if (pl->tls_ca == NULL) {
			log_error("listen[%u]: tls_verify_client needs tls_ca",
			    l->idx);
			SSL_CTX_free(ctx);
			return -1;
		}
		SSL_CTX_set_verify(ctx,
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		SSL_CTX_set_verify_depth(ctx, 5);
	}
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	l->tls = ctx;
	l->verify_client = pl->tls_verify_client;
	return 0;
}

void
tls_listener_free(struct listener *l)
{
	if (l->tls != NULL)
		SSL_CTX_free(l->tls);
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
