/* Unit tests of relay/state.c: the journal line codec and its replay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "state.h"
#include "stream.h"
#include "tap.h"

static struct rcall *
make_call(const char *id, uint16_t port)
{
	struct rcall *c = calloc(1, sizeof(*c));
	struct rstream *s = calloc(1, sizeof(*s));

	snprintf(c->call_id, sizeof(c->call_id), "%s", id);
	snprintf(c->tag[0], sizeof(c->tag[0]), "from tag");
	c->s[0] = s;
	c->ns = 1;
	s->call = c;
	s->index = 1;
	s->flags = IPC_MSF_RTCP_MUX;
	s->is_kernel[0] = true;
	s->leg[0].port = port;
	s->leg[1].port = (uint16_t)(port + 2);
	s->leg[0].is_nat = true;
	s->leg[0].has_sdp = true;
	ipc_addr_parse(&s->leg[0].sdp[0], "192.168.0.2", 4000);
	ipc_addr_parse(&s->leg[0].lat[0].peer, "203.0.113.9", 31000);
	s->leg[0].lat[0].ssrc = 0xdeadbeef;
	ipc_addr_parse(&s->leg[1].sdp[0], "2001:db8::5", 6000);
	return c;
}

static void
free_call(struct rcall *c)
{
	for (int i = 0; i < c->ns; i++)
		free(c->s[i]);
	free(c);
}

static void
test_roundtrip(void)
{
	struct rcall *c = make_call("abc@host", 20000), *d;
	char line[16384];
	size_t n = state_encode_call(c, line, sizeof(line));

	CHECK(n > 0);
	CHECK(line[n - 1] == '\n');
	d = state_decode_call(line, n);
	CHECK(d != NULL);
	if (d != NULL) {
		CHECK_STR(d->call_id, "abc@host");
		CHECK_STR(d->tag[0], "from tag");
		CHECK_STR(d->tag[1], "");
		CHECK_EQ_INT(d->ns, 1);
		CHECK_EQ_INT(d->s[0]->index, 1);
		CHECK_EQ_INT(d->s[0]->flags, IPC_MSF_RTCP_MUX);
		CHECK(d->s[0]->is_kernel[0] && !d->s[0]->is_kernel[1]);
		CHECK_EQ_INT(d->s[0]->leg[1].port, 20002);
		CHECK(d->s[0]->leg[0].is_nat);
		CHECK(latch_addr_eq(&d->s[0]->leg[0].lat[0].peer,
		    &c->s[0]->leg[0].lat[0].peer));
		CHECK(d->s[0]->leg[0].lat[0].ssrc == 0xdeadbeef);
		CHECK(latch_addr_eq(
		    &d->s[0]->leg[1].sdp[0], &c->s[0]->leg[1].sdp[0]));
		CHECK_EQ_INT(d->s[0]->leg[0].fd[0], -1);
		free_call(d);
	}
	free_call(c);
}

static void
test_malformed(void)
{
	struct rcall *c = make_call("x", 20000);
	char line[16384];
	size_t n = state_encode_call(c, line, sizeof(line));

	/* Every truncation of a valid line is refused, never misread. */
	for (size_t k = 0; k + 1 < n; k++)
		CHECK(state_decode_call(line, k) == NULL);
	CHECK(state_decode_call("C zz - - 0\n", 11) == NULL);
	CHECK(state_decode_call("C 78 - - 9\n", 11) == NULL);
	CHECK(state_decode_call("C 78 - - 0 junk\n", 16) == NULL);
	CHECK(state_decode_call("X\n", 2) == NULL);
	/* An odd port for a pair is refused. */
	c->s[0]->leg[0].port = 20001;
	n = state_encode_call(c, line, sizeof(line));
	CHECK(state_decode_call(line, n) == NULL);
	free_call(c);
}

static int nloaded;
static char last_id[256];
static uint16_t last_port;

static void
on_call(struct rcall *c, void *arg)
{
	(void)arg;
	nloaded++;
	snprintf(last_id, sizeof(last_id), "%s", c->call_id);
	last_port = c->s[0]->leg[0].port;
	free_call(c);
}

static void
test_replay(void)
{
	char dir[] = "/tmp/pc-relay-state-XXXXXX";
	char path[128], err[256];
	struct state *st;
	struct rcall *a = make_call("a", 20000), *b = make_call("b", 20004);
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	st = state_open(dir, err, sizeof(err));
	CHECK(st != NULL);
	if (st == NULL)
		return;
	state_save_call(st, a);
	state_save_call(st, b);
	a->s[0]->leg[0].port = 20008;
	state_save_call(st, a); /* the last line of a call wins */
	state_drop_call(st, b);
	CHECK_EQ_INT(state_flush(st, NULL), 0);
	/* A torn last line (crash mid-write) is skipped. */
	snprintf(path, sizeof(path), "%s/relay-streams.journal", dir);
	f = fopen(path, "a");
	fputs("C 6464 - - 1 0 0 0", f);
	fclose(f);
	CHECK_EQ_INT(state_load(st, on_call, NULL), 1);
	CHECK_EQ_INT(nloaded, 1);
	CHECK_STR(last_id, "a");
	CHECK_EQ_INT(last_port, 20008);
	state_close(st);
	unlink(path);
	rmdir(dir);
	free_call(a);
	free_call(b);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_malformed);
	TEST_RUN(test_replay);
	return tap_done();
}
