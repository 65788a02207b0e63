/*
 * tls: OpenSSL contexts of the TLS listeners. Server side: certificate,
 * key and chain from tls_cert/tls_key, more certificates chosen by the
 * client's SNI name (tls_sni), TLS 1.2 or later, optional client-
 * certificate verification against tls_ca. Client side (connections the
 * edge opens from a TLS listener): the listener's certificate and key are
 * presented as client certificate (mutual TLS with carriers), and the
 * remote is checked as tls_client_plan() decides:
 *  - a configured trunk peer (conf.core.trunks[].peers[] with transport
 *    "tls") is verified against its tls_ca (NULL: the system store) and
 *    its name (tls_name, else its address: a host name is checked with
 *    SSL_set1_host and sent as SNI, an IP literal against the
 *    certificate's IP SANs); tls_verify=false skips both (warned once).
 *    A peer given by host name is only recognised when the sender names
 *    its trunk (core resolved the name; the edge does not resolve);
 *    a named trunk the edge's configuration lacks is never unchecked;
 *  - any other remote is a user agent (a UA whose connection went away):
 *    its chain is verified against the listener's tls_ca when the
 *    listener has one, else not at all, because phones rarely carry
 *    certificates a CA signed and the request came from core's own
 *    location service, not from the network. No name is checked.
 * The listener owns its contexts; SSL objects belong to the connection.
 */
#ifndef PC_SBC_TLS_H
#define PC_SBC_TLS_H

#include <stdbool.h>
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

/* Index of the SNI name among names[] that serves sni (case-insensitive;
 * "*.example.com" matches exactly one more leading label); -1 if none. */
int tls_sni_match(const char *const *names, size_t n, const char *sni);
/* Whether name is an IPv4 or IPv6 literal (brackets allowed). */
bool tls_name_is_ip(const char *name);

/* What an outbound connection to one remote checks. */
#define TLS_PLAN_MORE 3
struct tls_client_plan {
	bool verify; /* check the certificate chain */
	bool refuse; /* no connection: the peer cannot be told apart */
	bool unknown_peer; /* a trunk's peer the edge's conf does not list */
	const char *ca; /* CA file; NULL = the system store */
	char name[256]; /* name the certificate must carry; "" = none */
	bool name_is_ip;
	bool sni; /* send name as SNI */
	/* More names, any of which may match instead (host-name peers of a
	 * trunk on one port, when core resolved one of them to remote). */
	char more[TLS_PLAN_MORE][256];
	int nmore;
	int trunk, peer; /* -1 = not a trunk peer (a UA) */
};
/* Decides the checks for remote (normalised) from the configuration and
 * the listener's own tls_ca (NULL = none). trunk is the trunk core named
 * for the message (ipc_flow.trunk of a trunk flow; NULL or "" = not
 * known): its peers are matched by address, then host-name peers by
 * port; a named trunk the configuration lacks (added live in core) is
 * checked against the system CAs by the remote's address. Without a
 * trunk name, a TLS peer of any trunk at that address, else a UA. */
void tls_client_plan(const struct pc_conf *conf, const char *listener_ca,
    const struct ipc_addr *remote, const char *trunk,
    struct tls_client_plan *p);

/* A client SSL for a connection from TLS listener l to remote (for trunk,
 * as above), set up as tls_client_plan() says; what it is (for logs) into
 * desc. NULL with the reason logged. */
SSL *tls_client_new(struct listener *l, const struct ipc_addr *remote,
    const char *trunk, char *desc, size_t dcap);
/* Why a handshake failed: the certificate verification result when that
 * was the cause, else the OpenSSL error queue. */
const char *tls_handshake_error(SSL *ssl, char *buf, size_t cap);

#endif
