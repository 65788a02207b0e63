/* Unit tests of sdp.c: parsing what a relay needs, malformed bodies, and
 * rewriting (the result is parsed back). */
#include <stdio.h>

#include "sdp.h"
#include "tap.h"

static struct sdp s, s2;
static struct sip_err err;
static struct arena ar;

static bool
eq(struct slice x, const char *c)
{
	return slice_eq_cstr(x, c);
}

static const char offer[] =
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.10\r\n"
    "t=0 0\r\n"
    "a=sendonly\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=rtcp:49171\r\n"
    "a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\r\n"
    "a=candidate:2 1 UDP 1694498815 198.51.100.1 1234 typ srflx\r\n"
    "a=ice-ufrag:abcd\r\n"
    "m=video 51372/2 RTP/AVPF 96\r\n"
    "c=IN IP6 2001:db8::5\r\n"
    "a=rtcp:53020 IN IP6 2001:db8::6\r\n"
    "a=rtcp-mux\r\n"
    "a=recvonly\r\n"
    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n";

static void
test_parse(void)
{
	CHECK_EQ_INT(sdp_parse(slice_cstr(offer), &s, &err), 0);
	CHECK(eq(s.origin_addr, "192.0.2.10") && s.origin_af == 4);
	CHECK(eq(s.conn.addr, "192.0.2.10") && s.dir == SDP_DIR_SENDONLY);
	CHECK_EQ_INT(s.nmedia, 3);
	const struct sdp_media *a = &s.media[0], *v = &s.media[1];
	CHECK(eq(a->type, "audio") && a->port == 49170 && a->nports == 1);
	CHECK(eq(a->proto, "RTP/AVP") && eq(a->fmts, "0 8 101"));
	CHECK(!a->has_own_conn && eq(a->conn.addr, "192.0.2.10"));
	CHECK(a->rtcp_port == 49171 && a->rtcp_conn.af == 0 && !a->rtcp_mux);
	CHECK(a->dir == SDP_DIR_SENDONLY && a->ncandidates == 2);
	CHECK(v->port == 51372 && v->nports == 2 && v->has_own_conn);
	CHECK(v->conn.af == 6 && eq(v->conn.addr, "2001:db8::5"));
	CHECK(v->rtcp_port == 53020 && eq(v->rtcp_conn.addr, "2001:db8::6"));
	CHECK(v->rtcp_mux && v->dir == SDP_DIR_RECVONLY);
	CHECK(s.media[2].port == 0);
	CHECK_EQ_INT(a->first_line, 6);
	CHECK_EQ_INT(a->nlines, 6);
	CHECK_EQ_INT(s.lines[a->first_line].type, 'm');
	/* LF-only lines and no trailing line end. */
	CHECK_EQ_INT(sdp_parse(SLICE_LIT("v=0\no=- 1 1 IN IP4 h.example\n"
	                                 "s=x\nc=IN IP4 1.2.3.4/127\n"
	                                 "m=audio 1 RTP/AVP 0"),
	                 &s, &err),
	    0);
	CHECK(eq(s.conn.addr, "1.2.3.4") && s.media[0].port == 1);
}

static void
test_bad(void)
{
	static const struct {
		const char *body, *phrase;
	} bad[] = {
	    {"", "Empty SDP"},
	    {"v=1\r\n", "Bad SDP version"},
	    {"o=- 1 1 IN IP4 1.2.3.4\r\n", "Bad SDP version"},
	    {"v=0\r\ns=x\r\n", "Missing o= line"},
	    {"v=0\r\no=- 1 1 IN IP4\r\n", "Bad o= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 999.1.1.1\r\n",
	        "Bad c= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP6 1.2.3.4\r\n",
	        "Bad c= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=XX IP4 1.2.3.4\r\n",
	        "Bad c= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 70000 RTP/AVP 0\r\n",
	        "Bad m= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio x RTP/AVP 0\r\n",
	        "Bad m= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 5\r\n", "Bad m= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nm=audio 5 RTP/AVP 0\r\n",
	        "Missing c= line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
	     "m=audio 5 RTP/AVP 0\r\na=rtcp:x\r\n",
	        "Bad a=rtcp line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nc=IN IP4 1.2.3.4\r\n"
	     "m=audio 5 RTP/AVP 0\r\na=rtcp:9 IN IP4\r\n",
	        "Bad a=rtcp line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\nbogus\r\n", "Bad SDP line"},
	    {"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n\r\nc=IN IP4 1.2.3.4\r\n",
	        "Bad SDP line"},
	    {"v=0\r\nX=1\r\n", "Bad SDP line"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = sdp_parse(slice_cstr(bad[i].body), &s, &err);
		CHECK_EQ_INT(rc, -1);
		if (rc == 0 || strcmp(err.phrase, bad[i].phrase) != 0)
			printf("# case %zu: %s\n", i, rc ? err.phrase : "ok");
		CHECK(rc == -1 && strcmp(err.phrase, bad[i].phrase) == 0);
	}
	char big[8192];
	int n = snprintf(big, sizeof big,
	    "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n"
	    "c=IN IP4 1.2.3.4\r\n");
	for (int i = 0; i < SDP_MAX_MEDIA + 1; i++)
		n += snprintf(big + n, sizeof big - (size_t)n,
		    "m=audio %d RTP/AVP 0\r\n", 1000 + i);
	CHECK_EQ_INT(sdp_parse(slice_cstr(big), &s, &err), -1);
	CHECK_STR(err.phrase, "Too many media sections");
	n = snprintf(big, sizeof big, "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n");
	for (int i = 0; i < SDP_MAX_LINES; i++)
		n += snprintf(big + n, sizeof big - (size_t)n, "a=x\r\n");
	CHECK_EQ_INT(sdp_parse(slice_cstr(big), &s, &err), -1);
	CHECK_STR(err.phrase, "Too many SDP lines");
}

static void
test_rewrite(void)
{
	CHECK_EQ_INT(sdp_parse(slice_cstr(offer), &s, &err), 0);
	struct sdp_rewrite rw;
	memset(&rw, 0, sizeof rw);
	rw.origin_addr = "203.0.113.1";
	rw.origin_af = 4;
	rw.media[0] = (struct sdp_media_rw){true, "203.0.113.1", 4, 20000, 0};
	rw.media[1] =
	    (struct sdp_media_rw){true, "2001:db8::99", 6, 20002, 20010};
	rw.drop_candidates = true;
	struct slice out = sdp_rewrite(&s, &rw, &ar);
	CHECK(out.len > 0);
	CHECK_EQ_INT(sdp_parse(out, &s2, &err), 0);
	CHECK(eq(s2.origin_addr, "203.0.113.1"));
	CHECK(eq(s2.conn.addr, "203.0.113.1"));
	CHECK(s2.media[0].port == 20000 && s2.media[0].rtcp_port == 20001);
	CHECK(s2.media[0].ncandidates == 0);
	CHECK(strstr(out.p, "ice-ufrag") == NULL);
	CHECK(strstr(out.p, "rtpmap:101") != NULL);
	CHECK(s2.media[1].port == 20002 && s2.media[1].nports == 2);
	CHECK(eq(s2.media[1].conn.addr, "2001:db8::99"));
	CHECK(s2.media[1].rtcp_port == 20010 &&
	    eq(s2.media[1].rtcp_conn.addr, "2001:db8::99"));
	CHECK(s2.media[1].rtcp_mux && s2.media[1].dir == SDP_DIR_RECVONLY);
	CHECK(s2.media[2].port == 0 && s2.nmedia == 3);

	/* Only the second of two sections sharing the session c= changes:
	 * the first keeps its address through a c= of its own. */
	const char two[] =
	    "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n"
	    "c=IN IP4 10.0.0.1\r\nt=0 0\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nm=video 4002 RTP/AVP 96\r\n";
	CHECK_EQ_INT(sdp_parse(slice_cstr(two), &s, &err), 0);
	memset(&rw, 0, sizeof rw);
	rw.media[1] = (struct sdp_media_rw){true, "192.0.2.7", 4, 30000, 0};
	out = sdp_rewrite(&s, &rw, &ar);
	CHECK_EQ_INT(sdp_parse(out, &s2, &err), 0);
	CHECK(
	    eq(s2.media[0].conn.addr, "10.0.0.1") && s2.media[0].port == 4000);
	CHECK(eq(s2.media[1].conn.addr, "192.0.2.7") &&
	    s2.media[1].port == 30000);
	CHECK(eq(s2.origin_addr, "10.0.0.1"));

	/* Invalid rewrite requests are refused. */
	rw.media[1].addr = "1.2.3.4\r\nx";
	CHECK(sdp_rewrite(&s, &rw, &ar).len == 0);
	rw.media[1].addr = NULL;
	CHECK(sdp_rewrite(&s, &rw, &ar).len == 0);
}

int
main(void)
{
	arena_init(&ar, 4096, 1 << 20);
	TEST_RUN(test_parse);
	TEST_RUN(test_bad);
	TEST_RUN(test_rewrite);
	arena_free(&ar);
	return tap_done();
}
