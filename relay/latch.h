/*
 * latch: learning a party's real media source from its first valid RTP or
 * RTCP packets (version 2, the same SSRC on consecutive packets from the
 * same address), restricted to the address its SDP names unless it is
 * behind NAT. Also the RTP/RTCP header validator (fuzzed). No allocation.
 */
#ifndef PC_RELAY_LATCH_H
#define PC_RELAY_LATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_msgs.h"

/* Packets with the same source and SSRC needed to latch. */
#define LATCH_PACKETS 2

/*
 * Validates an RTP or RTCP packet (RFC 3550 §5.1, §6.4; RFC 5761 §4 for
 * telling them apart on a muxed port): version 2, header within len, CSRC
 * list and extension inside the packet, padding count sane. Returns true
 * with the sender SSRC in *ssrc.
 */
bool latch_rtp_check(const uint8_t *p, size_t len, uint32_t *ssrc);

struct latch {
	struct ipc_addr peer; /* latched source; family 0 = not yet */
	struct ipc_addr cand; /* candidate being confirmed */
	uint32_t ssrc; /* of the candidate, then of the latched source */
	uint8_t count; /* packets of the candidate so far */
};

/*
 * Feeds one packet from src. sdp is the address the SDP named (its port is
 * not binding: many UAs send from another port); is_nat lifts the address
 * restriction, and lets a latched party move (NAT rebinding) when its new
 * source sends LATCH_PACKETS packets with the SSRC it latched with.
 * Returns 1 when this packet completed a (re-)latch, 0 when the packet may
 * be forwarded (from an acceptable source), -1 when it must be dropped (a
 * stranger, or not RTP/RTCP before latching).
 */
int latch_feed(struct latch *l, const struct ipc_addr *sdp, bool is_nat,
    const struct ipc_addr *src, const uint8_t *p, size_t len);

/* Same address and port. */
bool latch_addr_eq(const struct ipc_addr *a, const struct ipc_addr *b);
/* Same address, any port. */
bool latch_host_eq(const struct ipc_addr *a, const struct ipc_addr *b);

#endif
