/*
 * Fuzz target: the relay's RTP/RTCP validator and latching state machine,
 * which see every packet from outside before a stream is latched. The
 * first byte picks the NAT flag and the source; the rest is the packet.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "latch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct latch l;
	struct ipc_addr sdp, src;
	uint32_t ssrc;

	if (size < 1)
		return 0;
	ipc_addr_parse(&sdp, "192.0.2.1", 4000);
	ipc_addr_parse(&src, (data[0] & 2) ? "192.0.2.1" : "198.51.100.7",
	    (uint16_t)(4000 + (data[0] >> 4)));
	if (latch_rtp_check(data + 1, size - 1, &ssrc)) {
		/* A valid header never claims more than the packet holds. */
		if (size - 1 < 8)
			__builtin_trap();
	}
	if (latch_feed(&l, &sdp, data[0] & 1, &src, data + 1, size - 1) == 1 &&
	    !latch_addr_eq(&l.peer, &src))
		__builtin_trap();
	if (data[0] == 0xff)
		memset(&l, 0, sizeof(l));
	return 0;
}
