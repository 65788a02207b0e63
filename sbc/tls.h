/*
 * tls: OpenSSL contexts of the TLS listeners: certificate, key and chain
 * from the listener's tls_cert/tls_key (the cert file may carry the
 * chain), TLS 1.2 or later, optional client-certificate verification
 * against tls_ca, SNI recorded for logs. The listener owns its SSL_CTX.
 */
#ifndef PC_SBC_TLS_H
#define PC_SBC_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "edge.h"

int tls_listener_init(struct listener *l, const struct pc_listen *pl);
void tls_listener_free(struct listener *l);
/* The verified peer's identity (subject CN or first SAN) into buf;
 * empty when there is no verified certificate. */
void tls_peer_identity(SSL *ssl, char *buf, size_t cap);
/* The last OpenSSL error as text (for logs). */
const char *tls_error(char *buf, size_t cap);

#endif
