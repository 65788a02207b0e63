/*
 * pcconf: the root of the Portcullis configuration (DESIGN §9): domains,
 * listeners, directories, log level and the account to run as, with the
 * sections of edge, core, relay and mgmt bound inline at the same level.
 */
#include "config.h"

#include "pcconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"

static const char *const transport_names[] = {"udp", "tcp", "tls", NULL};
static const char *const role_names[] = {"public", "trunk", NULL};

static const char *
listen_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_listen *l = obj;
	if (l->transport == PC_TP_TLS &&
	    (l->tls_cert == NULL || l->tls_key == NULL)) {
		snprintf(buf, cap, "a tls listener needs tls_cert and tls_key");
		return buf;
	}
	if (l->transport != PC_TP_TLS &&
	    (l->tls_cert || l->tls_key || l->tls_ca || l->tls_verify_client)) {
		snprintf(buf, cap,
		    "tls_* keys apply only to a listener with transport "
		    "\"tls\"");
		return buf;
	}
	if (l->transport != PC_TP_TLS && l->ntls_sni > 0) {
		snprintf(buf, cap,
		    "tls_sni applies only to a listener with transport "
		    "\"tls\"");
		return buf;
	}
	if (l->tls_verify_client && l->tls_ca == NULL) {
		snprintf(buf, cap, "tls_verify_client needs tls_ca");
		return buf;
	}
	return NULL;
}

/* PEM files are read by every process that loads the configuration, so
 * only regular files of a sane size are opened (never a FIFO or a device
 * that would block or never end). */
static const char *
pem_file_problem(const char *path, char *buf, size_t cap)
{
	struct stat st;
	if (path == NULL || path[0] == '\0')
		return "a file name is needed";
	if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
		snprintf(buf, cap, "%s is not readable", path);
		return buf;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		snprintf(buf, cap, "%s is not a PEM file", path);
		return buf;
	}
	return NULL;
}

static X509 *
pem_cert(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	X509 *x = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	return x;
}

static EVP_PKEY *
pem_key(const char *path)
{
	BIO *b = BIO_new_file(path, "r");
	/* No passphrase callback: an encrypted key cannot be used
	 * unattended and fails here. */
	EVP_PKEY *k = b != NULL
	    ? PEM_read_bio_PrivateKey(b, NULL, NULL, (void *)"")
	    : NULL;
	BIO_free(b);
	ERR_clear_error();
	return k;
}

static const char *
check_sni_cert(const void *field_ptr, char *buf, size_t cap)
{
	const char *path = *(char *const *)field_ptr;
	const char *p = pem_file_problem(path, buf, cap);
	if (p != NULL)
		return p;
	X509 *x = pem_cert(path);
	if (x == NULL) {
		snprintf(buf, cap, "%s holds no PEM certificate", path);
		return buf;
	}
	X509_free(x);
	return NULL;
}

static const char *
check_sni_key(const void *field_ptr, char *buf, size_t cap)
{
	const char *path = *(char *const *)field_ptr;
	const char *p = pem_file_problem(path, buf, cap);
	if (p != NULL)
		return p;
	EVP_PKEY *k = pem_key(path);
	if (k == NULL) {
		snprintf(
		    buf, cap, "%s holds no unencrypted PEM private key", path);
		return buf;
	}
	EVP_PKEY_free(k);
	return NULL;
}

bool
pcconf_sni_name_valid(const char *s)
{
	if (s == NULL)
		return false;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	return conf_host_name_valid(s, false);
}

static const char *
check_sni_name(const void *field_ptr, char *buf, size_t cap)
{
	const char *s = *(char *const *)field_ptr;
	if (!pcconf_sni_name_valid(s)) {
		snprintf(buf, cap,
		    "must be a host name, optionally starting with \"*.\"");
		return buf;
	}
	return NULL;
}

static const char *
sni_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_listen_sni *e = obj;
	if (e->server_name == NULL || e->cert == NULL || e->key == NULL) {
		snprintf(buf, cap, "server_name, cert and key are all needed");
		return buf;
	}
	X509 *x = pem_cert(e->cert);
	EVP_PKEY *k = pem_key(e->key);
	bool match =
	    x != NULL && k != NULL && X509_check_private_key(x, k) == 1;
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	if (!match) {
		snprintf(buf, cap, "key %s does not belong to certificate %s",
		    e->key, e->cert);
		return buf;
	}
	return NULL;
}

#define SF(k) offsetof(struct pc_listen_sni, k)
static const struct conf_field sni_fields[] = {
    {.key = "server_name",
        .type = CONF_STR,
        .offset = SF(server_name),
        .def = "null",
        .check = check_sni_name,
        .doc = "Name a client asks for by SNI (case-insensitive); "
               "\"*.example.com\" matches one more leading label."},
    {.key = "cert",
        .type = CONF_STR,
        .offset = SF(cert),
        .def = "null",
        .check = check_sni_cert,
        .doc = "PEM certificate chain served for that name."},
    {.key = "key",
        .type = CONF_STR,
        .offset = SF(key),
        .def = "null",
        .check = check_sni_key,
        .doc = "PEM private key of that certificate (unencrypted)."},
};
#undef SF

static const struct conf_table sni_table = {
    .name = "tls_sni",
    .fields = sni_fields,
    .nfields = sizeof sni_fields / sizeof sni_fields[0],
    .size = sizeof(struct pc_listen_sni),
    .check = sni_check,
};

static const char *
check_sni_unique(const void *field_ptr, char *buf, size_t cap)
{
	const struct pc_listen *l =
	    (const struct pc_listen *)(const void *)((const char *)field_ptr -
	        offsetof(struct pc_listen, tls_sni));
	for (size_t i = 0; i < l->ntls_sni; i++) {
		for (size_t j = 0; j < i; j++) {
			const char *a = l->tls_sni[j].server_name;
			const char *b = l->tls_sni[i].server_name;
			if (a != NULL && b != NULL && strcasecmp(a, b) == 0) {
				snprintf(buf, cap,
				    "tls_sni[%zu] repeats server_name \"%s\" "
				    "of "
				    "tls_sni[%zu]",
				    i, b, j);
				return buf;
			}
		}
	}
	return NULL;
}

#define LF(k) offsetof(struct pc_listen, k)
static const struct conf_field listen_fields[] = {
    {.key = "transport",
        .type = CONF_ENUM,
        .offset = LF(transport),
        .def = "\"udp\"",
        .enum_names = transport_names,
        .doc = "SIP transport of this listener."},
    {.key = "address",
        .type = CONF_ADDR,
        .offset = LF(address),
        .def = "\"127.0.0.1\"",
        .doc = "Local IPv4 or IPv6 address to bind."},
    {.key = "port",
        .type = CONF_UINT,
        .offset = LF(port),
        .def = "5060",
        .min = 1,
        .max = 65535,
        .doc = "Local port to bind."},
    {.key = "role",
        .type = CONF_ENUM,
        .offset = LF(role),
        .def = "\"public\"",
        .enum_names = role_names,
        .doc = "\"public\" faces phones and the Internet; \"trunk\" faces "
               "carriers (ACL-restricted, trunk limits)."},
    {.key = "advertise",
        .type = CONF_STR,
        .offset = LF(advertise),
        .def = "null",
        .doc = "Host or address written into Via, Record-Route and "
               "Contact instead of the bound address (1:1 NAT); null = "
               "the bound address."},
    {.key = "tls_cert",
        .type = CONF_STR,
        .offset = LF(tls_cert),
        .def = "null",
        .doc = "PEM certificate chain file (tls listeners)."},
    {.key = "tls_key",
        .type = CONF_STR,
        .offset = LF(tls_key),
        .def = "null",
        .doc = "PEM private key file (tls listeners)."},
    {.key = "tls_ca",
        .type = CONF_STR,
        .offset = LF(tls_ca),
        .def = "null",
        .doc = "PEM CA bundle for verifying client certificates."},
    {.key = "tls_verify_client",
        .type = CONF_BOOL,
        .offset = LF(tls_verify_client),
        .def = "false",
        .doc = "Require and verify a client certificate (mutual TLS, for "
               "trunks)."},
    {.key = "tls_sni",
        .type = CONF_OBJ_ARRAY,
        .offset = LF(tls_sni),
        .def = "[]",
        .max = 64,
        .sub = &sni_table,
        .count_offset = LF(ntls_sni),
        .check = check_sni_unique,
        .doc = "More certificates of a tls listener, chosen by the name "
               "the client sends by SNI; other clients get tls_cert."},
    {.key = "acl_allow",
        .type = CONF_CIDR_ARRAY,
        .offset = LF(acl_allow),
        .def = "[]",
        .count_offset = LF(nacl_allow),
        .doc = "Sources allowed on this listener (addresses or CIDR "
               "blocks); empty = everyone not denied."},
    {.key = "acl_deny",
        .type = CONF_CIDR_ARRAY,
        .offset = LF(acl_deny),
        .def = "[]",
        .count_offset = LF(nacl_deny),
        .doc = "Sources refused on this listener; deny wins over allow."},
    {.key = "trunk",
        .type = CONF_STR,
        .offset = LF(trunk),
        .def = "null",
        .doc = "Trunk tag given to traffic arriving on this listener."},
};
#undef LF

static const struct conf_table listen_table = {
    .name = "listen",
    .fields = listen_fields,
    .nfields = sizeof listen_fields / sizeof listen_fields[0],
    .size = sizeof(struct pc_listen),
    .check = listen_check,
};

static const char *
check_listen_unique(const void *field_ptr, char *buf, size_t cap)
{
	const struct pc_conf *c =
	    (const struct pc_conf *)(const void *)((const char *)field_ptr -
	        offsetof(struct pc_conf, listen));
	for (size_t i = 0; i < c->nlisten; i++) {
		for (size_t j = 0; j < i; j++) {
			const struct pc_listen *a = &c->listen[j];
			const struct pc_listen *b = &c->listen[i];
			if (a->transport == b->transport &&
			    a->port == b->port && a->address && b->address &&
			    strcmp(a->address, b->address) == 0) {
				snprintf(buf, cap,
				    "listen[%zu] repeats listen[%zu] (%s %s "
				    "port %u)",
				    i, j, transport_names[b->transport],
				    b->address, b->port);
				return buf;
			}
		}
	}
	return NULL;
}

static const char *
check_log_level(const void *field_ptr, char *buf, size_t cap)
{
	const char *s = *(char *const *)field_ptr;
	if (s == NULL || log_level_parse(s) < 0 ||
	    strcmp(s, log_level_name((enum log_level)log_level_parse(s))) !=
	        0) {
		snprintf(buf, cap,
		    "must be one of \"error\", \"warn\", \"info\", \"debug\"");
		return buf;
	}
	return NULL;
}

#define RF(k) offsetof(struct pc_conf, k)
static const struct conf_field root_fields[] = {
    {.key = "domains",
        .type = CONF_STR_ARRAY,
        .offset = RF(domains),
        .def = "[]",
        .count_offset = RF(ndomains),
        .doc = "SIP domains served (registrar and proxy); empty = the "
               "listen addresses and localhost."},
    {.key = "listen",
        .type = CONF_OBJ_ARRAY,
        .offset = RF(listen),
        .def = "[{\"transport\": \"udp\"}, {\"transport\": \"tcp\"}]",
        .min = 1,
        .max = 64,
        .sub = &listen_table,
        .count_offset = RF(nlisten),
        .check = check_listen_unique,
        .doc = "SIP listeners of the edge; default UDP and TCP on "
               "127.0.0.1:5060."},
    {.key = "state_dir",
        .type = CONF_STR,
        .offset = RF(state_dir),
        .def = "\"/var/lib/portcullis\"",
        .doc = "Durable state: the SQLite store, keys."},
    {.key = "runtime_dir",
        .type = CONF_STR,
        .offset = RF(runtime_dir),
        .def = "\"/run/portcullis\"",
        .doc = "Sockets between the processes and mgmt.sock."},
    {.key = "log_level",
        .type = CONF_STR,
        .offset = RF(log_level),
        .def = "\"info\"",
        .check = check_log_level,
        .doc = "One of \"error\", \"warn\", \"info\", \"debug\"."},
    {.key = "user",
        .type = CONF_STR,
        .offset = RF(user),
        .def = "\"portcullis\"",
        .doc = "Account the processes switch to after binding."},
    {.key = "group",
        .type = CONF_STR,
        .offset = RF(group),
        .def = "\"portcullis\"",
        .doc = "Group the processes switch to; members may use pcctl."},
    {.key = "edge",
        .type = CONF_INLINE,
        .offset = RF(edge),
        .sub = &pcconf_edge_table},
    {.key = "core",
        .type = CONF_INLINE,
        .offset = RF(core),
        .sub = &pcconf_core_table},
    {.key = "relay",
        .type = CONF_INLINE,
        .offset = RF(relay),
        .sub = &pcconf_relay_table},
    {.key = "mgmt",
        .type = CONF_INLINE,
        .offset = RF(mgmt),
        .sub = &pcconf_mgmt_table},
};
#undef RF

static const char *
root_check(const void *obj, char *buf, size_t cap)
{
	const struct pc_conf *c = obj;
	if (c->state_dir == NULL || c->state_dir[0] != '/' ||
	    c->runtime_dir == NULL || c->runtime_dir[0] != '/') {
		snprintf(buf, cap,
		    "state_dir and runtime_dir must be absolute "
		    "paths");
		return buf;
	}
	return NULL;
}

const struct conf_table pcconf_table = {
    .name = "portcullis",
    .fields = root_fields,
    .nfields = sizeof root_fields / sizeof root_fields[0],
    .size = sizeof(struct pc_conf),
    .check = root_check,
};

int
pcconf_load_errs(const char *path, struct pc_conf *c, struct conf_errors *errs)
{
	if (path == NULL)
		return conf_load_string(
		    "{}", 2, "(defaults)", &pcconf_table, c, errs);
	return conf_load_file(path, &pcconf_table, c, errs);
}

int
pcconf_load(const char *path, struct pc_conf *c)
{
	struct conf_errors errs;
	int rc = pcconf_load_errs(path, c, &errs);
	if (rc < 0)
		conf_errors_print(&errs, stderr);
	conf_errors_free(&errs);
	return rc;
}

void
pcconf_free(struct pc_conf *c)
{
	conf_free(&pcconf_table, c);
}

const char *
pcconf_path(const struct pc_conf *c, const char *name, char *buf, size_t cap)
{
	const char *dir = c->runtime_dir ? c->runtime_dir : "/run/portcullis";
	int n = snprintf(buf, cap, "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= cap)
		return NULL;
	return buf;
}
