/*
 * ipc_msgs: the catalogue of each internal socket (which types it carries
 * and the body size bounds ipc_recv() enforces) and the ipc_addr helpers.
 * A body with a trailing payload has min = its struct and max = the largest
 * datagram; its decoder then checks the stated payload length exactly.
 */
#include "config.h"

#include "ipc_msgs.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define BODY_MAX ((uint32_t)(IPC_MAX_MSG - sizeof(struct ipc_hdr)))
#define FIXED(t, name, s) \
	{ \
		(t), (name), (uint32_t)sizeof(s), (uint32_t)sizeof(s) \
	}
#define TRAILING(t, name, s) \
	{ \
		(t), (name), (uint32_t)sizeof(s), BODY_MAX \
	}

static const struct ipc_type_info core_types[] = {
    FIXED(IPC_HELLO, "HELLO", struct ipc_hello),
    FIXED(IPC_RESULT, "RESULT", struct ipc_result),
    TRAILING(IPC_SIP_IN, "SIP_IN", struct ipc_sip_in),
    TRAILING(IPC_SIP_OUT, "SIP_OUT", struct ipc_sip_out),
    FIXED(IPC_FLOW_CLOSED, "FLOW_CLOSED", struct ipc_flow_closed),
    FIXED(IPC_AUTH_FAILED, "AUTH_FAILED", struct ipc_source),
    FIXED(IPC_SOURCE_TRUSTED, "SOURCE_TRUSTED", struct ipc_source),
    FIXED(IPC_CALL_RELEASE, "CALL_RELEASE", struct ipc_call_release),
};

static const struct ipc_type_info relay_types[] = {
    FIXED(IPC_HELLO, "HELLO", struct ipc_hello),
    FIXED(IPC_RESULT, "RESULT", struct ipc_result),
    FIXED(IPC_MEDIA_OFFER, "MEDIA_OFFER", struct ipc_media_req),
    FIXED(IPC_MEDIA_ANSWER, "MEDIA_ANSWER", struct ipc_media_req),
    FIXED(IPC_MEDIA_DELETE, "MEDIA_DELETE", struct ipc_media_ref),
    FIXED(IPC_MEDIA_QUERY, "MEDIA_QUERY", struct ipc_media_ref),
    FIXED(IPC_MEDIA_REPLY, "MEDIA_REPLY", struct ipc_media_reply),
    FIXED(IPC_MEDIA_TIMEOUT, "MEDIA_TIMEOUT", struct ipc_media_ref),
    FIXED(IPC_BAN_ADD, "BAN_ADD", struct ipc_ban),
    FIXED(IPC_BAN_DEL, "BAN_DEL", struct ipc_ban),
    FIXED(IPC_CAPTURE_START, "CAPTURE_START", struct ipc_capture),
    FIXED(IPC_CAPTURE_STOP, "CAPTURE_STOP", struct ipc_capture),
};

static const struct ipc_type_info ctl_types[] = {
    FIXED(IPC_HELLO, "HELLO", struct ipc_hello),
    FIXED(IPC_RESULT, "RESULT", struct ipc_result),
    TRAILING(IPC_CTL_REQUEST, "CTL_REQUEST", struct ipc_ctl_request),
    TRAILING(IPC_CTL_REPLY, "CTL_REPLY", struct ipc_ctl_reply),
};

const struct ipc_catalogue ipc_cat_core = {
    "core.sock", core_types, sizeof core_types / sizeof core_types[0]};
const struct ipc_catalogue ipc_cat_relay = {
    "relay.sock", relay_types, sizeof relay_types / sizeof relay_types[0]};
const struct ipc_catalogue ipc_cat_ctl = {
    "ctl", ctl_types, sizeof ctl_types / sizeof ctl_types[0]};

int
ipc_addr_from_sa(struct ipc_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof *a);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sa, sizeof sin);
		a->family = 4;
		a->port = ntohs(sin.sin_port);
		memcpy(a->addr, &sin.sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sa, sizeof sin6);
		a->family = 6;
		a->port = ntohs(sin6.sin6_port);
		memcpy(a->addr, &sin6.sin6_addr, 16);
		return 0;
	}
	return -1;
}

unsigned
ipc_addr_to_sa(const struct ipc_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == 4) {
		struct sockaddr_in sin = {
		    .sin_family = AF_INET, .sin_port = htons(a->port)};
		memcpy(&sin.sin_addr, a->addr, 4);
		memcpy(ss, &sin, sizeof sin);
		return sizeof sin;
	}
	if (a->family == 6) {
		struct sockaddr_in6 sin6 = {
		    .sin6_family = AF_INET6, .sin6_port = htons(a->port)};
		memcpy(&sin6.sin6_addr, a->addr, 16);
		memcpy(ss, &sin6, sizeof sin6);
		return sizeof sin6;
	}
	return 0;
}

bool
ipc_addr_parse(struct ipc_addr *a, const char *text, uint16_t port)
{
	memset(a, 0, sizeof *a);
	if (text == NULL)
		return false;
	if (inet_pton(AF_INET, text, a->addr) == 1) {
		a->family = 4;
		a->port = port;
		return true;
	}
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(text);
	/* Accept the bracketed form as it appears in SIP. */
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']' &&
	    n - 2 < sizeof tmp) {
		memcpy(tmp, text + 1, n - 2);
		tmp[n - 2] = '\0';
		text = tmp;
	}
	if (inet_pton(AF_INET6, text, a->addr) == 1) {
		a->family = 6;
		a->port = port;
		return true;
	}
	memset(a, 0, sizeof *a);
	return false;
}

const char *
ipc_addr_str(const struct ipc_addr *a, char *buf, size_t cap)
{
	char host[INET6_ADDRSTRLEN];
	if (cap == 0)
		return buf;
	if (a->family == 4) {
		inet_ntop(AF_INET, a->addr, host, sizeof host);
		if (a->port)
			snprintf(buf, cap, "%s:%u", host, a->port);
		else
			snprintf(buf, cap, "%s", host);
	} else if (a->family == 6) {
		inet_ntop(AF_INET6, a->addr, host, sizeof host);
		if (a->port)
			snprintf(buf, cap, "[%s]:%u", host, a->port);
		else
			snprintf(buf, cap, "%s", host);
	} else {
		snprintf(buf, cap, "(none)");
	}
	return buf;
}

bool
ipc_source_is_trunk(const char *user, size_t len)
{
	size_t n = sizeof(IPC_TRUNK_MARK) - 1;

	return len >= n && memcmp(user, IPC_TRUNK_MARK, n) == 0;
}

const char *
ipc_flow_trunk(const struct ipc_flow *f, char buf[IPC_FLOW_TRUNK_STR])
{
	memcpy(buf, f->trunk, sizeof f->trunk);
	buf[sizeof f->trunk] = '\0';
	return buf;
}

bool
ipc_addr_eq(const struct ipc_addr *a, const struct ipc_addr *b)
{
	if (a->family != b->family || a->port != b->port)
		return false;
	if (a->family == 4)
		return memcmp(a->addr, b->addr, 4) == 0;
	if (a->family == 6)
		return memcmp(a->addr, b->addr, 16) == 0;
	return true;
}
