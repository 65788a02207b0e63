/*
 * Latching. Why two packets: one forged packet with a guessed SSRC must
 * not be enough to steal a stream (the RTP-bleed class of attacks); the
 * real sender's next packet confirms it. After latching, only the latched
 * source is forwarded.
 */
#include <string.h>

#include "latch.h"

bool
latch_rtp_check(const uint8_t *p, size_t len, uint32_t *ssrc)
{
	size_t hdr;

	if (len < 8 || (p[0] >> 6) != 2)
		return false;
	/* RFC 5761 §4: the second byte 192-223 is RTCP (SR 200, RR 201,
	 * ...), which RTP payload types with the marker bit never reach. */
	if (p[1] >= 192 && p[1] <= 223) {
		size_t words = ((size_t)p[2] << 8 | p[3]) + 1;

		if (words * 4 > len)
			return false;
		*ssrc = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];
		return true;
	}
	hdr = 12 + 4 * (size_t)(p[0] & 0x0f);
	if (len < hdr)
		return false;
	if (p[0] & 0x10) {
		size_t ext;

		if (len < hdr + 4)
			return false;
		ext = 4 * ((size_t)p[hdr + 2] << 8 | p[hdr + 3]);
		hdr += 4 + ext;
		if (len < hdr)
			return false;
	}
	if (p[0] & 0x20) {
		uint8_t pad = p[len - 1];

		if (pad == 0 || pad > len - hdr)
			return false;
	}
	*ssrc = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 |
	    (uint32_t)p[10] << 8 | p[11];
	return true;
}

bool
latch_host_eq(const struct ipc_addr *a, const struct ipc_addr *b)
{
	if (a->family != b->family)
		return false;
	return memcmp(a->addr, b->addr, a->family == 6 ? 16 : 4) == 0;
}

bool
latch_addr_eq(const struct ipc_addr *a, const struct ipc_addr *b)
{
	return latch_host_eq(a, b) && a->port == b->port;
}

int
latch_feed(struct latch *l, const struct ipc_addr *sdp, bool is_nat,
    const struct ipc_addr *src, const uint8_t *p, size_t len)
{
	uint32_t ssrc;

	if (l->peer.family != 0) {
		if (latch_addr_eq(&l->peer, src))
			return 0;
		/* Re-latch after a NAT rebinding: only a party behind NAT,
		 * and only with the SSRC it latched with (a prober of relay
		 * ports does not know it), confirmed like a first latch. */
		if (!is_nat || !latch_rtp_check(p, len, &ssrc) ||
		    ssrc != l->ssrc)
			return -1;
	} else {
		if (!is_nat && (sdp->family == 0 || !latch_host_eq(sdp, src)))
			return -1;
		if (!latch_rtp_check(p, len, &ssrc))
			return -1;
	}
	if (l->count > 0 && latch_addr_eq(&l->cand, src) && l->ssrc == ssrc) {
		if (++l->count >= LATCH_PACKETS) {
			l->peer = *src;
			l->count = 0;
			return 1;
		}
		return 0;
	}
	l->cand = *src;
	l->ssrc = ssrc;
	l->count = 1;
	return 0;
}
