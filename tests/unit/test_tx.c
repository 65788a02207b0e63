/* Unit tests of core/tx.c with the injectable clock: retransmission
 * timers A/E/G over UDP and none over TCP, timeouts B/F, a transaction's
 * own timer C, hop-by-hop ACK of a non-2xx, absorption of
 * retransmissions, timer H and keys. */
#include <stdio.h>
#include <string.h>

#include "core/tx.h"
#include "ev.h"
#include "tap.h"

static uint64_t now_ms;
static int nsent;
static char last[4096];
static int last_code;
static int ncb;

static uint64_t
clock_fn(void *arg)
{
	(void)arg;
	return now_ms;
}

static void
send_fn(void *arg, const struct ipc_flow *flow, const char *buf, uint32_t len)
{
	(void)arg;
	(void)flow;
	nsent++;
	snprintf(last, sizeof(last), "%.*s", (int)len, buf);
}

static void
client_cb(struct tx *t, int code, struct sip_msg *m, void *arg)
{
	(void)t;
	(void)m;
	(void)arg;
	last_code = code;
	ncb++;
}

static const struct tx_timers timers = {500, 4000, 5000, 180000};

static struct ev_loop *loop;

static void
advance(uint64_t ms)
{
	/* Step in small increments so each timer fires at its own time. */
	for (uint64_t i = 0; i < ms; i += 10) {
		now_ms += 10;
		ev_run_timers(loop);
	}
}

static void
reset(void)
{
	nsent = 0;
	ncb = 0;
	last_code = 0;
	last[0] = '\0';
}

static const char invite[] =
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKpcabc\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:alice@example.com>;tag=a1\r\n"
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: c1@10.0.0.1\r\n"
    "CSeq: 1 INVITE\r\n"
    "Route: <sip:10.0.0.9;lr>\r\n"
    "Content-Length: 0\r\n\r\n";

static struct sip_msg *
parse(const char *text, struct arena *a)
{
	static struct sip_msg m[8];
	static int k;
	struct sip_err err;
	struct sip_msg *p = &m[k++ % 8];

	if (sip_msg_parse(p, text, (uint32_t)strlen(text), a, &err) < 0) {
		printf("# parse: %s\n", err.phrase);
		return NULL;
	}
	return p;
}

static struct ipc_flow
flow(int tp)
{
	struct ipc_flow f;

	memset(&f, 0, sizeof(f));
	f.transport = (uint8_t)tp;
	return f;
}

static void
test_client_invite_udp(void)
{
	struct tx_layer *l = tx_layer_new(loop, &timers, send_fn, NULL);
	struct ipc_flow f = flow(IPC_TP_UDP);
	struct arena a;

	arena_init(&a, 16384, 0);
	reset();
	struct tx *t = tx_client_new(l, &f, SIP_M_INVITE, "z9hG4bKpcabc",
	    invite, sizeof(invite) - 1, client_cb, NULL);
	CHECK(t != NULL);
	CHECK_EQ_INT(nsent, 1);
	advance(500);
	CHECK_EQ_INT(nsent, 2); /* A at T1 */
	advance(1000);
	CHECK_EQ_INT(nsent, 3); /* then 2*T1 */
	advance(2000);
	CHECK_EQ_INT(nsent, 4);
	/* 180 stops A. */
	struct sip_msg *r = parse("SIP/2.0 180 Ringing\r\n"
	                          "Via: SIP/2.0/UDP 10.0.0.1:5060;branch="
	                          "z9hG4bKpcabc\r\n"
	                          "From: <sip:alice@example.com>;tag=a1\r\n"
	                          "To: <sip:bob@example.com>;tag=b1\r\n"
	                          "Call-ID: c1@10.0.0.1\r\n"
	                          "CSeq: 1 INVITE\r\n"
	                          "Content-Length: 0\r\n\r\n",
	    &a);
	CHECK(tx_client_response(l, r));
	CHECK_EQ_INT(last_code, 180);
	CHECK_EQ_INT(tx_state(t), TX_PROCEEDING);
	advance(10000);
	CHECK_EQ_INT(nsent, 4);
	/* 486: ACK sent, callback once, retransmission absorbed with ACK. */
	r = parse("SIP/2.0 486 Busy Here\r\n"
	          "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKpcabc\r\n"
	          "From: <sip:alice@example.com>;tag=a1\r\n"
	          "To: <sip:bob@example.com>;tag=b1\r\n"
	          "Call-ID: c1@10.0.0.1\r\n"
	          "CSeq: 1 INVITE\r\n"
	          "Content-Length: 0\r\n\r\n",
	    &a);
	CHECK(tx_client_response(l, r));
	CHECK_EQ_INT(last_code, 486);
	CHECK_EQ_INT(ncb, 2);
	CHECK_EQ_INT(nsent, 5);
	CHECK(strncmp(last, "ACK sip:bob@example.com SIP/2.0\r\n", 33) == 0);
	CHECK(strstr(last, "To: <sip:bob@example.com>;tag=b1\r\n") != NULL);
	CHECK(strstr(last, "CSeq: 1 ACK\r\n") != NULL);
	CHECK(strstr(last, "Route: <sip:10.0.0.9;lr>\r\n") != NULL);
	CHECK(tx_client_response(l, r));
	CHECK_EQ_INT(ncb, 2);
	CHECK_EQ_INT(nsent, 6);
	CHECK_EQ_INT(tx_count(l), 1);
	advance(32000); /* timer D */
	CHECK_EQ_INT(tx_count(l), 0);
	/* Unknown branch: not ours. */
	CHECK(!tx_client_response(l, r));
	tx_layer_free(l);
	arena_free(&a);
}

static void
test_client_timeouts(void)
{
	struct tx_layer *l = tx_layer_new(loop, &timers, send_fn, NULL);
	struct ipc_flow udp = flow(IPC_TP_UDP), tcp = flow(IPC_TP_TCP);

	reset();
	tx_client_new(l, &udp, SIP_M_INVITE, "z9hG4bK1", invite,
	    sizeof(invite) - 1, client_cb, NULL);
	advance(31990);
	CHECK_EQ_INT(ncb, 0);
	advance(20);
	CHECK_EQ_INT(ncb, 1); /* timer B = 64*T1 */
	CHECK_EQ_INT(last_code, TX_EV_TIMEOUT);
	CHECK_EQ_INT(nsent, 7); /* 0, .5, 1.5, 3.5, 7.5, 15.5, 31.5 */
	CHECK_EQ_INT(tx_count(l), 0);

	/* Over TCP there are no retransmissions, but B still runs. */
	reset();
	tx_client_new(l, &tcp, SIP_M_OPTIONS, "z9hG4bK2", invite,
	    sizeof(invite) - 1, client_cb, NULL);
	advance(32010);
	CHECK_EQ_INT(nsent, 1);
	CHECK_EQ_INT(last_code, TX_EV_TIMEOUT);

	/* Non-INVITE over UDP: E doubles up to T2. */
	reset();
	tx_client_new(l, &udp, SIP_M_OPTIONS, "z9hG4bK3", invite,
	    sizeof(invite) - 1, client_cb, NULL);
	advance(16000); /* .5 1.5 3.5 7.5 11.5 15.5 */
	CHECK_EQ_INT(nsent, 7);
	advance(16010);
	CHECK_EQ_INT(last_code, TX_EV_TIMEOUT);
	tx_layer_free(l);
}

/* A transaction's own timer C (a ring group's ring_s): counted from the
 * last provisional response, instead of the layer's 180 s. */
static void
test_client_own_timer_c(void)
{
	struct tx_layer *l = tx_layer_new(loop, &timers, send_fn, NULL);
	struct ipc_flow f = flow(IPC_TP_UDP);
	struct arena a;

	arena_init(&a, 16384, 0);
	reset();
	struct tx *t = tx_client_new(l, &f, SIP_M_INVITE, "z9hG4bKpcc", invite,
	    sizeof(invite) - 1, client_cb, NULL);
	tx_set_timer_c(t, 2000);
	static const char ringing[] =
	    "SIP/2.0 180 Ringing\r\n"
	    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKpcc\r\n"
	    "From: <sip:alice@example.com>;tag=a1\r\n"
	    "To: <sip:bob@example.com>;tag=b1\r\n"
	    "Call-ID: c1@10.0.0.1\r\n"
	    "CSeq: 1 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n";
	CHECK(tx_client_response(l, parse(ringing, &a)));
	advance(1500);
	CHECK_EQ_INT(last_code, 180);
	/* Another 180 starts it again. */
	CHECK(tx_client_response(l, parse(ringing, &a)));
	advance(1990);
	CHECK_EQ_INT(last_code, 180);
	advance(20);
	CHECK_EQ_INT(last_code, TX_EV_TIMER_C);
	tx_layer_free(l);
	arena_free(&a);
}

static int nfree;

static void
on_free(struct tx *t, void *arg)
{
	(void)t;
	(void)arg;
	nfree++;
}

static void
test_server_invite(void)
{
	struct tx_layer *l = tx_layer_new(loop, &timers, send_fn, NULL);
	struct ipc_flow udp = flow(IPC_TP_UDP);
	struct arena a;
	char key[512], key2[512];

	arena_init(&a, 16384, 0);
	reset();
	struct sip_msg *m = parse(invite, &a);
	CHECK(tx_server_key(m, SIP_M_UNKNOWN, key, sizeof(key)) > 0);
	CHECK(tx_server_find(l, key) == NULL);
	struct tx *t = tx_server_new(l, key, m, &udp);
	tx_set_user(t, NULL, on_free);
	CHECK(tx_server_find(l, key) == t);
	tx_server_respond(t, 100, "SIP/2.0 100 Trying\r\n\r\n", 22);
	CHECK_EQ_INT(nsent, 1);
	/* A retransmitted INVITE gets the 100 again. */
	CHECK(tx_server_absorb(t, m));
	CHECK_EQ_INT(nsent, 2);
	tx_server_respond(t, 480, "SIP/2.0 480 X\r\n\r\n", 17);
	CHECK_EQ_INT(nsent, 3);
	advance(500);
	CHECK_EQ_INT(nsent, 4); /* G */
	advance(1000);
	CHECK_EQ_INT(nsent, 5);
	/* The ACK finds the INVITE transaction and stops G. */
	struct sip_msg *ack =
	    parse("ACK sip:bob@example.com SIP/2.0\r\n"
	          "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKpcabc\r\n"
	          "Max-Forwards: 70\r\n"
	          "From: <sip:alice@example.com>;tag=a1\r\n"
	          "To: <sip:bob@example.com>;tag=x\r\n"
	          "Call-ID: c1@10.0.0.1\r\n"
	          "CSeq: 1 ACK\r\n"
	          "Content-Length: 0\r\n\r\n",
	        &a);
	CHECK(tx_server_key(ack, SIP_M_UNKNOWN, key2, sizeof(key2)) > 0);
	CHECK_STR(key2, key);
	CHECK(tx_server_absorb(t, ack));
	CHECK_EQ_INT(tx_state(t), TX_CONFIRMED);
	advance(4000);
	CHECK_EQ_INT(nsent, 5);
	CHECK_EQ_INT(nfree, 0);
	advance(1100); /* timer I = T4 */
	CHECK_EQ_INT(nfree, 1);
	CHECK(tx_server_find(l, key) == NULL);

	/* Without an ACK, timer H ends it after 64*T1. */
	reset();
	nfree = 0;
	t = tx_server_new(l, key, m, &udp);
	tx_set_user(t, NULL, on_free);
	tx_server_respond(t, 486, "SIP/2.0 486 X\r\n\r\n", 17);
	advance(32010);
	CHECK_EQ_INT(nfree, 1);
	CHECK(nsent >= 8);
	tx_layer_free(l);
	arena_free(&a);
}

static void
test_server_noninvite_and_fallback(void)
{
	struct tx_layer *l = tx_layer_new(loop, &timers, send_fn, NULL);
	struct ipc_flow udp = flow(IPC_TP_UDP), tcp = flow(IPC_TP_TCP);
	struct arena a;
	char key[512], key2[512];

	arena_init(&a, 16384, 0);
	reset();
	struct sip_msg *m =
	    parse("OPTIONS sip:example.com SIP/2.0\r\n"
	          "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=old2543\r\n"
	          "Max-Forwards: 70\r\n"
	          "From: <sip:alice@example.com>;tag=a1\r\n"
	          "To: <sip:example.com>\r\n"
	          "Call-ID: c2@10.0.0.1\r\n"
	          "CSeq: 9 OPTIONS\r\n"
	          "Content-Length: 0\r\n\r\n",
	        &a);
	CHECK(tx_server_key(m, SIP_M_UNKNOWN, key, sizeof(key)) > 0);
	CHECK(strncmp(key, "F|", 2) == 0);
	struct tx *t = tx_server_new(l, key, m, &udp);
	tx_server_respond(t, 200, "SIP/2.0 200 OK\r\n\r\n", 18);
	CHECK(tx_server_absorb(t, m));
	CHECK_EQ_INT(nsent, 2);
	CHECK_EQ_INT(tx_count(l), 1);
	advance(32010); /* J */
	CHECK_EQ_INT(tx_count(l), 0);
	/* Compacted on the next turn, a retransmission still gets the same
	 * response and J still ends 64*T1 after the response. */
	reset();
	t = tx_server_new(l, key, m, &udp);
	tx_server_respond(t, 200, "SIP/2.0 200 OK\r\nX: 1\r\n\r\n", 25);
	ev_run_once(loop, 0); /* the before-sleep hook compacts it */
	advance(20);
	CHECK_EQ_INT(tx_count(l), 1);
	struct tx *t2 = tx_server_find(l, key);
	CHECK(t2 != NULL);
	CHECK(t2 != NULL && tx_server_absorb(t2, m));
	CHECK_EQ_INT(nsent, 2);
	CHECK_STR(last, "SIP/2.0 200 OK\r\nX: 1\r\n\r\n");
	CHECK(t2 != NULL && tx_state(t2) == TX_COMPLETED);
	CHECK(t2 != NULL && tx_last_code(t2) == 200);
	CHECK_EQ_INT(tx_count(l), 1);
	advance(31000);
	/* Revived, it is compacted no more; found again as itself. */
	CHECK(tx_server_find(l, key) == t2);
	CHECK_EQ_INT(tx_count(l), 1);
	advance(1000);
	CHECK_EQ_INT(tx_count(l), 0);
	CHECK(tx_server_find(l, key) == NULL);
	/* Many compacted at once expire in order, by the one layer timer. */
	for (int i = 0; i < 50; i++) {
		char k2[64];
		snprintf(k2, sizeof(k2), "%s#%d", key, i);
		t = tx_server_new(l, k2, m, &udp);
		tx_server_respond(t, 200, "SIP/2.0 200 OK\r\n\r\n", 18);
		ev_run_once(loop, 0);
		advance(100);
	}
	CHECK_EQ_INT(tx_count(l), 50);
	advance(32000 - 50 * 100 + 20);
	CHECK_EQ_INT(tx_count(l), 49);
	advance(50 * 100);
	CHECK_EQ_INT(tx_count(l), 0);
	/* Over TCP J is zero. */
	t = tx_server_new(l, key, m, &tcp);
	tx_server_respond(t, 200, "SIP/2.0 200 OK\r\n\r\n", 18);
	advance(10);
	CHECK_EQ_INT(tx_count(l), 0);
	/* A CANCEL keyed as INVITE finds the INVITE transaction. */
	struct sip_msg *inv = parse(invite, &a);
	struct sip_msg *can =
	    parse("CANCEL sip:bob@example.com SIP/2.0\r\n"
	          "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKpcabc\r\n"
	          "Max-Forwards: 70\r\n"
	          "From: <sip:alice@example.com>;tag=a1\r\n"
	          "To: <sip:bob@example.com>\r\n"
	          "Call-ID: c1@10.0.0.1\r\n"
	          "CSeq: 1 CANCEL\r\n"
	          "Content-Length: 0\r\n\r\n",
	        &a);
	tx_server_key(inv, SIP_M_UNKNOWN, key, sizeof(key));
	tx_server_key(can, SIP_M_INVITE, key2, sizeof(key2));
	CHECK_STR(key, key2);
	tx_server_key(can, SIP_M_UNKNOWN, key2, sizeof(key2));
	CHECK(strcmp(key, key2) != 0);
	tx_layer_free(l);
	arena_free(&a);
}

int
main(void)
{
	hash_seed_random();
	loop = ev_loop_new();
	ev_set_clock(loop, clock_fn, NULL);
	TEST_RUN(test_client_invite_udp);
	TEST_RUN(test_client_timeouts);
	TEST_RUN(test_client_own_timer_c);
	TEST_RUN(test_server_invite);
	TEST_RUN(test_server_noninvite_and_fallback);
	ev_loop_free(loop);
	return tap_done();
}
