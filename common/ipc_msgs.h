/*
 * ipc_msgs: the message types and bodies of each internal socket, and their
 * catalogues. Every body is a fixed-width struct, optionally followed by a
 * byte payload whose length the struct states; decoders check that the body
 * is exactly sizeof(struct) + payload length.
 *
 *   core.sock  (edge <-> core):  SIP_IN, SIP_OUT, FLOW_CLOSED, AUTH_FAILED,
 *                                SOURCE_TRUSTED
 *   relay.sock (edge/mgmt <-> relay): MEDIA_*, BAN_*, CAPTURE_*, RESULT
 *   ctl        (portcullisd <-> each child): CTL_REQUEST / CTL_REPLY
 */
#ifndef PC_IPC_MSGS_H
#define PC_IPC_MSGS_H

#include <stdint.h>

#include "ipc.h"

enum ipc_role {
	IPC_ROLE_EDGE = 1,
	IPC_ROLE_CORE = 2,
	IPC_ROLE_RELAY = 3,
	IPC_ROLE_MGMT = 4,
	IPC_ROLE_TEST = 5,
};

enum ipc_type {
	IPC_HELLO = 0x0001,
	IPC_RESULT = 0x0002, /* generic reply: struct ipc_result */
	IPC_BUNDLE = 0x0003, /* messages back to back (ipc.h, bundles) */

	/* core.sock */
	IPC_SIP_IN = 0x0101, /* edge -> core */
	IPC_SIP_OUT = 0x0102, /* core -> edge */
	IPC_FLOW_CLOSED = 0x0103, /* edge -> core */
	IPC_AUTH_FAILED = 0x0104, /* core -> edge: for ban counting */
	IPC_SOURCE_TRUSTED = 0x0105, /* core -> edge: registered OK */
	IPC_CALL_RELEASE = 0x0106, /* edge -> core: end this call (BYE
					both ways), e.g. on media timeout */

	/* relay.sock */
	IPC_MEDIA_OFFER = 0x0201,
	IPC_MEDIA_ANSWER = 0x0202,
	IPC_MEDIA_DELETE = 0x0203,
	IPC_MEDIA_QUERY = 0x0204,
	IPC_MEDIA_REPLY = 0x0205, /* reply to OFFER/ANSWER/QUERY */
	IPC_MEDIA_TIMEOUT = 0x0206, /* relay -> edge */
	IPC_BAN_ADD = 0x0211,
	IPC_BAN_DEL = 0x0212,
	IPC_CAPTURE_START = 0x0221,
	IPC_CAPTURE_STOP = 0x0222,

	/* ctl */
	IPC_CTL_REQUEST = 0x0301,
	IPC_CTL_REPLY = 0x0302,
};

/* An address: IPv4 in the first 4 bytes of addr, or IPv6 in all 16. */
struct ipc_addr {
	uint8_t family; /* 4, 6, or 0 = none */
	uint8_t pad;
	uint16_t port; /* host byte order */
	uint8_t addr[16];
};
_Static_assert(sizeof(struct ipc_addr) == 20, "ipc_addr");

enum ipc_transport {
	IPC_TP_UDP = 1,
	IPC_TP_TCP = 2,
	IPC_TP_TLS = 3,
	IPC_TP_WS = 4,
	IPC_TP_WSS = 5,
};

/* The flow a message came on, or should leave on. */
struct ipc_flow {
	uint8_t transport; /* enum ipc_transport */
	uint8_t role; /* listener role: 1 public, 2 trunk */
	uint16_t listener; /* index into config "listen" */
	uint32_t conn_id; /* stream connection; 0 for UDP / none */
	struct ipc_addr local;
	struct ipc_addr remote;
	char trunk[32]; /* ACL/trunk tag, NUL-padded, may be empty */
	char tls_peer[64]; /* verified TLS peer identity, NUL-padded */
};
_Static_assert(sizeof(struct ipc_flow) == 144, "ipc_flow");

#define IPC_FLOW_ROLE_PUBLIC 1
#define IPC_FLOW_ROLE_TRUNK 2

/* SIP_IN: body = struct + sip_len bytes of the message as received. */
struct ipc_sip_in {
	struct ipc_flow flow;
	uint32_t sip_len;
	uint32_t flags; /* IPC_SIPF_* */
};
_Static_assert(sizeof(struct ipc_sip_in) == 152, "ipc_sip_in");

/*
 * SIP_OUT: body = struct + sip_len bytes. Edge sends on flow.conn_id if that
 * connection still exists, else to flow.remote over flow.transport from
 * the listener flow.listener.
 */
struct ipc_sip_out {
	struct ipc_flow flow;
	uint32_t sip_len;
	uint32_t flags; /* IPC_SIPF_* */
};
_Static_assert(sizeof(struct ipc_sip_out) == 152, "ipc_sip_out");

#define IPC_SIPF_TRUSTED_SRC 0x1u /* edge: source is trusted (registered) */
/* edge: an initial request whose Request-URI was a Contact token of this
 * SBC (opened): it is meant for that party's device, wherever its domain
 * (an attended transfer's target, a remote target handed on). */
#define IPC_SIPF_RURI_CONTACT 0x2u

struct ipc_flow_closed {
	struct ipc_flow flow;
};

/* AUTH_FAILED / SOURCE_TRUSTED: the source address concerned. */
struct ipc_source {
	struct ipc_addr addr;
	char user[64]; /* user name tried, NUL-padded (for logs) */
};
_Static_assert(sizeof(struct ipc_source) == 84, "ipc_source");
/* SOURCE_TRUSTED for a trunk peer names "trunk:NAME" as its user: the
 * edge then exempts the source from per-source limits instead of merely
 * trusting it. */
#define IPC_TRUNK_MARK "trunk:"
bool ipc_source_is_trunk(const char *user, size_t len);

struct ipc_call_release {
	char call_id[256]; /* NUL-padded */
	char reason[64]; /* for the CDR and the Reason header */
};
_Static_assert(sizeof(struct ipc_call_release) == 320, "ipc_call_release");

/* Generic reply, matched by header id. */
struct ipc_result {
	int32_t status; /* 0 = ok, else a negative errno-style code */
	char message[124];
};
_Static_assert(sizeof(struct ipc_result) == 128, "ipc_result");

/*
 * Media. A call is named by its Call-ID; each party by its tag. An OFFER
 * carries the offerer's streams (where the offerer wants to receive) and
 * the REPLY carries, per stream, the relay address and ports that the
 * other party must be given in the rewritten SDP. An ANSWER carries the
 * answerer's streams; its REPLY gives the relay ports to put in the SDP
 * going back to the offerer. A re-offer of the same call and tag keeps
 * the ports it had.
 */
#define IPC_MEDIA_MAX_STREAMS 8

struct ipc_media_stream {
	uint8_t index; /* m= line index in the SDP */
	uint8_t flags; /* IPC_MSF_* */
	uint16_t pad;
	struct ipc_addr rtp; /* port 0 = stream disabled */
	struct ipc_addr rtcp; /* family 0 = rtp port + 1 */
};
_Static_assert(sizeof(struct ipc_media_stream) == 44, "ipc_media_stream");

#define IPC_MSF_RTCP_MUX 0x01u
#define IPC_MSF_NAT 0x02u /* party is behind NAT: latch any source */
#define IPC_MSF_HOLD 0x04u /* sendonly/inactive: longer timeout */

struct ipc_media_req {
	char call_id[256]; /* NUL-padded */
	char from_tag[64]; /* tag of the party that sent this SDP */
	char to_tag[64]; /* tag of the other party, may be empty */
	struct ipc_addr signal_src; /* SIP source of the SDP's sender */
	uint8_t nstreams;
	uint8_t flags;
	uint16_t pad;
	struct ipc_media_stream streams[IPC_MEDIA_MAX_STREAMS];
};

struct ipc_media_reply {
	int32_t status; /* 0 ok, else negative errno-style */
	char message[60];
	uint8_t nstreams;
	uint8_t is_kernel; /* forwarding in the kernel (1) or user space (0) */
	uint16_t pad;
	struct ipc_media_stream streams[IPC_MEDIA_MAX_STREAMS];
	uint64_t packets;
	uint64_t bytes;
};

/* DELETE, QUERY and TIMEOUT name the call (and optionally one party). */
struct ipc_media_ref {
	char call_id[256];
	char from_tag[64];
	char to_tag[64];
};

struct ipc_ban {
	struct ipc_addr addr; /* port ignored */
	uint32_t timeout_s; /* 0 = relay's default */
	char reason[32];
};
_Static_assert(sizeof(struct ipc_ban) == 56, "ipc_ban");

struct ipc_capture {
	char call_id[256]; /* empty = the SIP ports */
	char path[192]; /* pcap file to write */
	uint32_t max_bytes;
	uint32_t max_seconds;
};

/*
 * ctl: portcullisd asks, the child answers. The request names a command
 * ("stats", "registrations.list", "reload", ...) and carries arguments as
 * ctl_rows (one row); the reply carries rows. A long reply is split into
 * several CTL_REPLY datagrams with IPC_F_MORE on all but the last.
 */
struct ipc_ctl_request {
	char cmd[32];
	uint32_t args_len; /* ctl_rows bytes following */
	uint32_t pad;
};
_Static_assert(sizeof(struct ipc_ctl_request) == 40, "ipc_ctl_request");

struct ipc_ctl_reply {
	int32_t status; /* 0 ok, else negative errno-style */
	char error_code[28];
	char message[160];
	uint32_t rows_len; /* ctl_rows bytes following */
	uint32_t pad;
};
_Static_assert(sizeof(struct ipc_ctl_reply) == 200, "ipc_ctl_reply");

extern const struct ipc_catalogue ipc_cat_core;
extern const struct ipc_catalogue ipc_cat_relay;
extern const struct ipc_catalogue ipc_cat_ctl;

/* Conversions between ipc_addr and sockaddr_storage / text. */
struct sockaddr;
struct sockaddr_storage;
int ipc_addr_from_sa(struct ipc_addr *a, const struct sockaddr *sa);
/* Returns the sockaddr length, or 0 if family is none/unknown. */
unsigned ipc_addr_to_sa(const struct ipc_addr *a, struct sockaddr_storage *ss);
/* "1.2.3.4" / "2001:db8::1" (no port); false if not an address. */
bool ipc_addr_parse(struct ipc_addr *a, const char *text, uint16_t port);
/* "1.2.3.4:5060" or "[2001:db8::1]:5060" (port omitted when 0). */
const char *ipc_addr_str(const struct ipc_addr *a, char *buf, size_t cap);
bool ipc_addr_eq(const struct ipc_addr *a, const struct ipc_addr *b);

/* The flow's trunk tag as a C string in buf (the field is NUL-padded and
 * may fill all 32 bytes, as another process wrote it); "" when none. */
#define IPC_FLOW_TRUNK_STR (sizeof(((struct ipc_flow *)0)->trunk) + 1)
const char *ipc_flow_trunk(
    const struct ipc_flow *f, char buf[IPC_FLOW_TRUNK_STR]);

#endif
