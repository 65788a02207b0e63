/*
 * bench_parse: how many messages per second one core parses with every
 * header a proxy touches (Via, From, To, Call-ID, CSeq, Contact,
 * Max-Forwards, Route, Record-Route, Content-Length, and Authorization for
 * REGISTER), measured in CPU time of the thread. Prints a line per message; the last line is
 * "invite_parse_per_s=N". Run a non-sanitized -O2 build for real figures.
 * Usage: bench_parse [seconds-per-message, default 1]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sip_msg.h"

static const char invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;"
    "rport\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:edge.example.com;lr>\r\n"
    "Record-Route: <sip:core.example.com;lr;ftag=1928301774>\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@pc33.atlanta.example.com:5060;transport=udp>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY\r\n"
    "Supported: replaces, timer, 100rel\r\n"
    "User-Agent: Example-Phone/1.2.3\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 224\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0 8 101\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=sendrecv\r\n";

static const char reg[] =
    "REGISTER sip:example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.50:5060;branch=z9hG4bKnashds7;rport\r\n"
    "Max-Forwards: 70\r\n"
    "To: <sip:alice@example.com>\r\n"
    "From: <sip:alice@example.com>;tag=456248\r\n"
    "Call-ID: 843817637684230@998sdasdh09\r\n"
    "CSeq: 1827 REGISTER\r\n"
    "Contact: <sip:alice@192.0.2.50:5060;ob>;expires=3600;"
    "+sip.instance=\"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>\";"
    "reg-id=1\r\n"
    "Authorization: Digest username=\"alice\", realm=\"example.com\", "
    "nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", uri=\"sip:example.com\", "
    "response=\"dfe56131d1958046689d83306477ecc\", algorithm=MD5, "
    "cnonce=\"0a4f113b\", qop=auth, nc=00000001, opaque=\"5ccc069c\"\r\n"
    "Expires: 3600\r\n"
    "User-Agent: Example-Phone/1.2.3\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static const char ok200[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP edge.example.com;branch=z9hG4bKedge1;received=192.0."
    "2.1\r\n"
    "Via: SIP/2.0/UDP pc33.atlanta.example.com:5060;branch=z9hG4bK776asdhds;"
    "rport=5060;received=192.0.2.101\r\n"
    "Record-Route: <sip:core.example.com;lr;ftag=1928301774>\r\n"
    "To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n"
    "From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:bob@192.0.2.4>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static struct sip_msg msg;

static int
touch(const char *buf, uint32_t len, struct arena *a, bool auth)
{
	struct sip_err err;
	arena_reset(a);
	if (sip_msg_parse(&msg, buf, len, a, &err) < 0)
		return -1;
	const struct sip_via *v;
	const struct sip_contact *c;
	const struct sip_nameaddr *r;
	struct slice cid;
	int sum = 0;
	sum += sip_msg_vias(&msg, &v, &err);
	sum += sip_msg_from(&msg, &err) != NULL;
	sum += sip_msg_to(&msg, &err) != NULL;
	sum += sip_msg_call_id(&msg, &cid, &err);
	sum += sip_msg_cseq(&msg, &err) != NULL;
	sum += sip_msg_contacts(&msg, &c, &err);
	sum += sip_msg_max_forwards(&msg, &err);
	sum += sip_msg_routes(&msg, &r, &err);
	sum += sip_msg_record_routes(&msg, &r, &err);
	sum += (int)sip_msg_content_length(&msg, &err);
	if (auth) {
		const struct sip_auth *au;
		sum += sip_msg_auths(&msg, SIP_HDR_AUTHORIZATION, &au, &err);
		sum += (int)sip_msg_expires(&msg, &err);
	}
	return sum;
}

static double
clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
run(const char *name, const char *buf, size_t len, bool auth, double secs)
{
	struct arena a;
	arena_init(&a, 16384, 1 << 20);
	if (touch(buf, (uint32_t)len, &a, auth) < 0) {
		fprintf(stderr, "%s: does not parse\n", name);
		exit(1);
	}
	long n = 0;
	volatile int sink = 0;
	/* The rate is per second of CPU time of this thread: what one core
	 * does, even on a machine busy with other work. Wall time is shown
	 * too. */
	double w0 = clock_s(CLOCK_MONOTONIC), c0, c;
	c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	do {
		for (int i = 0; i < 10000; i++)
			sink += touch(buf, (uint32_t)len, &a, auth);
		n += 10000;
		c = clock_s(CLOCK_THREAD_CPUTIME_ID);
	} while (c - c0 < secs);
	double w = clock_s(CLOCK_MONOTONIC) - w0;
	double rate = (double)n / (c - c0);
	printf("%s: %zu bytes, %.0f msg/s per core (%.0f ns/msg CPU), "
	       "%.0f msg/s wall\n",
	    name, len, rate, 1e9 / rate, (double)n / w);
	arena_free(&a);
	(void)sink;
	return rate;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	if (secs <= 0)
		secs = 1.0;
	run("register_auth", reg, sizeof reg - 1, true, secs);
	run("ok200", ok200, sizeof ok200 - 1, false, secs);
	double inv = run("invite_sdp", invite, sizeof invite - 1, false, secs);
	printf("invite_parse_per_s=%.0f\n", inv);
	return 0;
}
