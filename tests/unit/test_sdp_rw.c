/* Unit tests of sbc/sdp_rw.c bookkeeping: streams sent to the relay from
 * an SDP, and the rewrite made from a relay reply. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "sdp_rw.h"
#include "tap.h"

static struct arena ar;

static const char *offer = "v=0\r\n"
                           "o=alice 1 1 IN IP4 10.0.0.2\r\n"
                           "s=-\r\n"
                           "c=IN IP4 10.0.0.2\r\n"
                           "t=0 0\r\n"
                           "m=audio 40000 RTP/AVP 0 8\r\n"
                           "a=rtcp:40001\r\n"
                           "a=candidate:1 1 UDP 2130706431 10.0.0.2 40000 typ "
                           "host\r\n"
                           "m=video 0 RTP/AVP 96\r\n"
                           "m=audio 40010 RTP/AVP 0\r\n"
                           "c=IN IP4 0.0.0.0\r\n"
                           "a=rtcp-mux\r\n"
                           "a=sendonly\r\n";

static void
test_streams(void)
{
	static struct sdp s;
	struct sip_err err;
	CHECK_EQ_INT(sdp_parse(slice_cstr(offer), &s, &err), 0);
	struct ipc_media_req req;
	memset(&req, 0, sizeof req);
	CHECK_EQ_INT(sdp_rw_streams(&s, true, &req), 0);
	CHECK_EQ_INT(req.nstreams, 3);
	CHECK_EQ_INT(req.streams[0].rtp.family, 4);
	CHECK_EQ_INT(req.streams[0].rtp.port, 40000);
	CHECK(memcmp(req.streams[0].rtp.addr, "\x0a\x00\x00\x02", 4) == 0);
	CHECK_EQ_INT(req.streams[0].rtcp.port, 40001);
	CHECK(req.streams[0].flags & IPC_MSF_NAT);
	CHECK(!(req.streams[0].flags & IPC_MSF_HOLD));
	CHECK_EQ_INT(req.streams[1].rtp.port, 0); /* disabled stays 0 */
	CHECK_EQ_INT(req.streams[2].index, 2);
	CHECK(req.streams[2].flags & IPC_MSF_RTCP_MUX);
	CHECK(req.streams[2].flags & IPC_MSF_HOLD);
}

static void
test_apply_reply(void)
{
	static struct sdp s;
	struct sip_err err;
	CHECK_EQ_INT(sdp_parse(slice_cstr(offer), &s, &err), 0);
	struct ipc_media_reply rep;
	memset(&rep, 0, sizeof rep);
	rep.nstreams = 3;
	for (int i = 0; i < 3; i++) {
		rep.streams[i].index = (uint8_t)i;
		ipc_addr_parse(&rep.streams[i].rtp, "203.0.113.1",
		    (uint16_t)(20000 + 2 * i));
	}
	rep.streams[1].rtp.port = 0;
	struct sdp_rewrite rw;
	CHECK_EQ_INT(sdp_rw_apply(&s, &rep, true, &rw, &ar), 0);
	CHECK(rw.media[0].set);
	CHECK(rw.media[1].set && rw.media[1].port == 0); /* stays disabled */
	CHECK_STR(rw.origin_addr, "203.0.113.1");
	struct slice body = sdp_rewrite(&s, &rw, &ar);
	CHECK(body.len > 0);
	char *b = arena_strndup(&ar, body.p, body.len);
	if (strstr(b, "10.0.0.2") != NULL)
		printf("# %s\n", b);
	CHECK(strstr(b, "10.0.0.2") == NULL);
	CHECK(strstr(b, "m=audio 20000 ") != NULL);
	CHECK(strstr(b, "m=audio 20004 ") != NULL);
	CHECK(strstr(b, "a=candidate") == NULL);
	CHECK(strstr(b, "m=video 0 ") != NULL);
	/* A reply naming a stream the SDP does not have is refused. */
	rep.streams[2].index = 7;
	CHECK(sdp_rw_apply(&s, &rep, true, &rw, &ar) < 0);
	rep.streams[2].index = 2;
	rep.nstreams = 9;
	CHECK(sdp_rw_apply(&s, &rep, true, &rw, &ar) < 0);
	/* An active stream the relay left out: refused (half-anchored). */
	rep.nstreams = 1;
	CHECK(sdp_rw_apply(&s, &rep, true, &rw, &ar) < 0);
	rep.streams[0].rtp.family = 0;
	CHECK(sdp_rw_apply(&s, &rep, true, &rw, &ar) < 0);
}

int
main(void)
{
	arena_init(&ar, 64 * 1024, 4 * 1024 * 1024);
	TEST_RUN(test_streams);
	TEST_RUN(test_apply_reply);
	arena_free(&ar);
	return tap_done();
}
