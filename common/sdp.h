/*
 * sdp: parser and rewriter for SDP bodies (RFC 4566 / RFC 8866) as SIP
 * offers and answers carry them. Parsing records, per media section, what a
 * media relay needs (c=, m= port/proto/formats, a=rtcp, a=rtcp-mux,
 * direction, candidates) as slices into the body. sdp_rewrite() writes a
 * new body with addresses and ports replaced; it allocates from the arena.
 */
#ifndef PC_SDP_H
#define PC_SDP_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "sip_err.h"
#include "slice.h"

#define SDP_MAX_MEDIA 8
#define SDP_MAX_LINES 256

enum sdp_dir {
	SDP_DIR_SENDRECV = 0, /* also when absent */
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
};

struct sdp_conn {
	struct slice addr; /* empty if none */
	int af; /* 4 or 6; 0 if none */
};

struct sdp_media {
	struct slice type; /* audio, video, application, ... */
	uint16_t port; /* 0 = disabled */
	uint16_t nports; /* m=audio 49170/2: 2; else 1 */
	struct slice proto; /* RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF, ... */
	struct slice fmts;
	struct sdp_conn conn; /* c= of this section, else the session's */
	bool has_own_conn;
	uint16_t rtcp_port; /* a=rtcp:port, 0 if absent */
	struct sdp_conn rtcp_conn; /* a=rtcp: port IN IP4 addr, if given */
	bool rtcp_mux;
	enum sdp_dir dir;
	uint16_t ncandidates;
	uint16_t first_line, nlines; /* range in the line table */
};

struct sdp_line {
	char type; /* 'v', 'o', 'c', 'm', 'a', ... */
	struct slice value; /* after "x=" without line end */
};

struct sdp {
	struct slice origin_addr; /* o= unicast address */
	int origin_af;
	struct sdp_conn conn; /* session-level c= */
	enum sdp_dir dir; /* session-level direction */
	struct sdp_media media[SDP_MAX_MEDIA];
	uint16_t nmedia;
	struct sdp_line lines[SDP_MAX_LINES];
	uint16_t nlines;
};

/* Returns 0, or -1 with err (phrase names the fault). */
int sdp_parse(struct slice body, struct sdp *s, struct sip_err *err);

/* What to put into the new body, per media section. */
struct sdp_media_rw {
	bool set; /* false = leave this section as it is */
	const char *addr; /* new c= address (text) */
	int af; /* 4 or 6 */
	uint16_t port; /* new m= port */
	uint16_t rtcp_port; /* new a=rtcp port (0 = rtp port + 1) */
};

struct sdp_rewrite {
	const char *origin_addr; /* new o= address; NULL keeps it */
	int origin_af;
	struct sdp_media_rw media[SDP_MAX_MEDIA];
	bool drop_candidates; /* remove a=candidate and ICE attributes */
};

/* Renders the rewritten body into the arena; empty slice on failure. */
struct slice sdp_rewrite(
    const struct sdp *s, const struct sdp_rewrite *rw, struct arena *a);

#endif
