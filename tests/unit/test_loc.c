/* Unit tests of core/loc.c: lookup by AoR, update, removal, expiry and the
 * write-behind dirty list. */
#include <stdio.h>
#include <string.h>

#include "core/loc.h"
#include "tap.h"

static struct loc_binding_in
mk(const char *aor, const char *contact, int64_t exp)
{
	struct loc_binding_in in;

	memset(&in, 0, sizeof(in));
	in.s[LOC_S_AOR] = slice_cstr(aor);
	in.s[LOC_S_CONTACT] = slice_cstr(contact);
	in.s[LOC_S_CALL_ID] = SLICE_LIT("cid");
	in.expires_at = exp;
	in.q = 1000;
	return in;
}

struct flush_log {
	int puts, dels;
};

static int
count_cb(const struct loc_binding *b, bool is_deleted, void *arg)
{
	struct flush_log *f = arg;

	(void)b;
	if (is_deleted)
		f->dels++;
	else
		f->puts++;
	return 0;
}

static void
test_add_lookup(void)
{
	struct loc *l = loc_new();
	struct loc_binding_in a = mk("alice@example.com", "sip:a@1.2.3.4", 100);
	struct loc_binding_in b = mk("alice@example.com", "sip:a@5.6.7.8", 100);
	struct loc_binding_in c = mk("bob@example.com", "sip:b@1.2.3.4", 100);
	struct loc_binding *v[8];

	CHECK(loc_add(l, &a, false) != NULL);
	CHECK(loc_add(l, &b, false) != NULL);
	CHECK(loc_add(l, &c, false) != NULL);
	CHECK_EQ_INT(loc_count(l), 3);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("ALICE@Example.com"), v, 8), 2);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("bob@example.com"), v, 8), 1);
	CHECK_STR(loc_str(v[0], LOC_S_CONTACT), "sip:b@1.2.3.4");
	CHECK_STR(loc_str(v[0], LOC_S_CALL_ID), "cid");
	CHECK_STR(loc_str(v[0], LOC_S_INSTANCE), "");
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("carol@example.com"), v, 8), 0);
	/* A bounded lookup still reports the full count. */
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("alice@example.com"), v, 1), 2);
	loc_free(l);
}

static void
test_update_remove_flush(void)
{
	struct loc *l = loc_new();
	struct loc_binding_in a = mk("alice@example.com", "sip:a@1.2.3.4", 100);
	struct loc_binding *b = loc_add(l, &a, false), *v[4];
	struct flush_log f = {0, 0};
	uint64_t id = b->id;

	CHECK_EQ_INT(loc_dirty_count(l), 1);
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	CHECK_EQ_INT(f.puts, 1);
	CHECK_EQ_INT(loc_dirty_count(l), 0);

	a.s[LOC_S_CONTACT] = SLICE_LIT("sip:a@1.2.3.4;longer=param");
	a.cseq = 7;
	b = loc_update(l, b, &a);
	CHECK(b != NULL);
	CHECK(b->id == id);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("alice@example.com"), v, 4), 1);
	CHECK_EQ_INT(v[0]->cseq, 7);
	/* Updated twice before a flush: written once, old copies freed. */
	b = loc_update(l, b, &a);
	f = (struct flush_log){0, 0};
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	CHECK_EQ_INT(f.puts, 1);
	CHECK_EQ_INT(f.dels, 0);

	loc_remove(l, b);
	CHECK_EQ_INT(loc_count(l), 0);
	f = (struct flush_log){0, 0};
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	CHECK_EQ_INT(f.dels, 1);
	loc_free(l);
}

static void
test_expire_remove_aor(void)
{
	struct loc *l = loc_new();
	struct loc_binding_in a = mk("alice@example.com", "sip:a@1", 100);
	struct loc_binding_in b = mk("alice@example.com", "sip:a@2", 200);
	struct loc_binding_in c = mk("bob@example.com", "sip:b@1", 50);
	struct flush_log f = {0, 0};

	loc_add(l, &a, false);
	loc_add(l, &b, false);
	loc_add(l, &c, true);
	CHECK_EQ_INT(loc_dirty_count(l), 2);
	CHECK_EQ_INT(loc_expire(l, 100), 2);
	CHECK_EQ_INT(loc_count(l), 1);
	CHECK_EQ_INT(loc_remove_aor(l, SLICE_LIT("alice@example.com"),
	                 SLICE_LIT("sip:nope")),
	    0);
	CHECK_EQ_INT(
	    loc_remove_aor(l, SLICE_LIT("alice@example.com"), SLICE_NULL), 1);
	CHECK_EQ_INT(loc_count(l), 0);
	/* a was added and deleted before any flush: still one delete row
	 * op (harmless), and a put + delete for b; c restored then deleted. */
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	CHECK_EQ_INT(f.dels, 3);
	loc_free(l);
}

static void
test_many(void)
{
	struct loc *l = loc_new();
	char aor[64], contact[64];
	struct loc_binding *v[2];
	int ok = 1;

	for (int i = 0; i < 20000; i++) {
		snprintf(aor, sizeof(aor), "u%d@example.com", i);
		snprintf(contact, sizeof(contact), "sip:u%d@10.0.0.1:5060", i);
		struct loc_binding_in in = mk(aor, contact, 1000 + i);
		if (loc_add(l, &in, false) == NULL)
			ok = 0;
	}
	CHECK(ok);
	CHECK_EQ_INT(loc_count(l), 20000);
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("u12345@example.com"), v, 2), 1);
	CHECK_STR(loc_str(v[0], LOC_S_CONTACT), "sip:u12345@10.0.0.1:5060");
	CHECK_EQ_INT(loc_expire(l, 1000 + 10000), 10001);
	CHECK_EQ_INT(loc_count(l), 9999);
	loc_free(l);
}

static void
test_bounded_flush(void)
{
	struct loc *l = loc_new();
	struct flush_log f = {0, 0};
	char aor[32];

	for (int i = 0; i < 5; i++) {
		snprintf(aor, sizeof(aor), "u%d@example.com", i);
		struct loc_binding_in in = mk(aor, "sip:x@1", 100);
		loc_add(l, &in, false);
	}
	CHECK_EQ_INT(loc_flush(l, 2, count_cb, &f), 0);
	CHECK_EQ_INT(f.puts, 2);
	CHECK_EQ_INT(loc_dirty_count(l), 3);
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	CHECK_EQ_INT(f.puts, 5);
	CHECK_EQ_INT(loc_dirty_count(l), 0);
	CHECK_EQ_INT(loc_flush(l, 2, count_cb, &f), 0);
	CHECK_EQ_INT(f.puts, 5);
	loc_free(l);
}

static void
test_flow_closed(void)
{
	struct loc *l = loc_new();
	struct loc_binding_in a = mk("alice@example.com", "sip:a@1", 100);
	struct loc_binding *v[2];

	a.flow.transport = IPC_TP_TCP;
	a.flow.conn_id = 42;
	a.flow.remote.family = 4;
	a.flow.remote.port = 5555;
	loc_add(l, &a, true);
	struct loc_flow f = a.flow;
	f.conn_id = 41;
	CHECK_EQ_INT(loc_flow_closed(l, &f), 0);
	f.conn_id = 42;
	CHECK_EQ_INT(loc_flow_closed(l, &f), 1);
	loc_lookup(l, SLICE_LIT("alice@example.com"), v, 2);
	CHECK_EQ_INT(v[0]->flow.conn_id, 0);
	CHECK_EQ_INT(loc_dirty_count(l), 1);
	CHECK_EQ_INT(loc_flow_closed(l, &f), 0); /* already closed */
	loc_free(l);
}

/* The by-connection index through adds, updates and removals: several
 * AoRs over one connection (a PBX), the same id from another address,
 * a binding moved to a new connection, a removed one. */
static void
test_flow_closed_index(void)
{
	struct loc *l = loc_new();
	struct loc_binding_in in[4] = {
	    mk("a@example.com", "sip:a@1", 100),
	    mk("b@example.com", "sip:b@1", 100),
	    mk("c@example.com", "sip:c@1", 100),
	    mk("d@example.com", "sip:d@1", 100),
	};
	struct loc_binding *b[4], *v[2];

	for (int i = 0; i < 4; i++) {
		in[i].flow.transport = IPC_TP_TCP;
		in[i].flow.conn_id = 7;
		in[i].flow.remote.family = 4;
		in[i].flow.remote.port = 5555;
		if (i == 3)
			in[i].flow.remote.port = 6666; /* another peer */
		b[i] = loc_add(l, &in[i], true);
	}
	struct loc_binding_in moved = in[1];
	moved.flow.conn_id = 8;
	CHECK(loc_update(l, b[1], &moved) != NULL);
	loc_remove(l, b[2]);
	struct loc_flow f = in[0].flow;
	CHECK_EQ_INT(loc_flow_closed(l, &f), 1); /* a only */
	f.conn_id = 8;
	CHECK_EQ_INT(loc_flow_closed(l, &f), 1); /* b on its new one */
	f.remote.port = 6666;
	f.conn_id = 7;
	CHECK_EQ_INT(loc_flow_closed(l, &f), 1); /* d */
	CHECK_EQ_INT(loc_lookup(l, SLICE_LIT("d@example.com"), v, 2), 1);
	CHECK_EQ_INT(v[0]->flow.conn_id, 0);
	CHECK_EQ_INT(loc_flow_closed(l, &f), 0);

	/* Many connections: each close finds exactly its binding. */
	struct loc *m = loc_new();
	char aor[32];
	int hits = 0;
	for (uint32_t i = 1; i <= 5000; i++) {
		snprintf(aor, sizeof(aor), "u%u@example.com", i);
		struct loc_binding_in x = mk(aor, "sip:x@1", 100);
		x.flow.transport = IPC_TP_TLS;
		x.flow.conn_id = i;
		loc_add(m, &x, false);
	}
	for (uint32_t i = 1; i <= 5000; i++) {
		struct loc_flow g = {.transport = IPC_TP_TLS, .conn_id = i};
		hits += (int)loc_flow_closed(m, &g);
	}
	CHECK_EQ_INT(hits, 5000);
	loc_free(m);
	loc_free(l);
}

/* The User-Agent is shared between bindings: each reads its own text
 * through every change, removal and write-behind of the others. */
static void
test_user_agent(void)
{
	struct loc *l = loc_new();
	struct loc_binding_in a = mk("alice@example.com", "sip:a@1", 100);
	struct loc_binding_in b = mk("bob@example.com", "sip:b@1", 100);
	struct loc_binding_in c = mk("carol@example.com", "sip:c@1", 100);
	char ua[32];
	struct flush_log f = {0, 0};

	snprintf(ua, sizeof(ua), "Phone/1.0");
	a.s[LOC_S_UA] = slice_cstr(ua);
	a.s[LOC_S_PATH] = SLICE_LIT("<sip:edge;lr>");
	b.s[LOC_S_UA] = SLICE_LIT("Phone/1.0");
	c.s[LOC_S_UA] = SLICE_LIT("Other/2");
	struct loc_binding *ba = loc_add(l, &a, false);
	struct loc_binding *bb = loc_add(l, &b, false);
	struct loc_binding *bc = loc_add(l, &c, false);
	ua[0] = 'X'; /* the binding keeps its own copy */
	CHECK(ba != NULL && bb != NULL && bc != NULL);
	CHECK_STR(loc_str(ba, LOC_S_UA), "Phone/1.0");
	CHECK(loc_str(ba, LOC_S_UA) == loc_str(bb, LOC_S_UA));
	CHECK_STR(loc_str(bc, LOC_S_UA), "Other/2");
	CHECK_EQ_INT(loc_slice(bb, LOC_S_UA).len, 9);
	CHECK_STR(loc_str(ba, LOC_S_PATH), "<sip:edge;lr>");
	CHECK_STR(loc_str(ba, LOC_S_CALL_ID), "cid");
	loc_remove(l, ba);
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	CHECK_STR(loc_str(bb, LOC_S_UA), "Phone/1.0");
	b.s[LOC_S_UA] = SLICE_LIT("Phone/1.1");
	bb = loc_update(l, bb, &b);
	CHECK_STR(loc_str(bb, LOC_S_UA), "Phone/1.1");
	b.s[LOC_S_UA] = SLICE_NULL;
	bb = loc_update(l, bb, &b);
	CHECK_STR(loc_str(bb, LOC_S_UA), "");
	CHECK_EQ_INT(loc_slice(bb, LOC_S_UA).len, 0);
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &f), 0);
	c.s[LOC_S_UA] = SLICE_LIT("Other/2");
	bc = loc_update(l, bc, &c); /* the same text again, still dirty */
	CHECK_STR(loc_str(bc, LOC_S_UA), "Other/2");
	loc_free(l); /* ASan: nothing leaks, nothing freed twice */
}

static struct ipc_addr
addr(const char *ip, uint16_t port)
{
	struct ipc_addr a;
	memset(&a, 0, sizeof(a));
	ipc_addr_parse(&a, ip, port);
	return a;
}

/* Bindings from ip:port whose Contact's user is user (loc_lookup_source). */
static int
nb_from(struct loc *l, const char *ip, uint16_t port, const char *user,
    struct loc_binding **v)
{
	struct ipc_addr a = addr(ip, port);
	return loc_lookup_source(l, &a, slice_cstr(user), v, 8);
}

/* Bindings whose Contact equals uri (loc_lookup_contact). */
static int
nb_contact(struct loc *l, const char *uri, struct loc_binding **v)
{
	struct sip_uri u;
	struct sip_err err;
	if (sip_uri_parse(slice_cstr(uri), &u, &err) != 0)
		return -1;
	return loc_lookup_contact(l, &u, v, 8);
}

/* The indexes by Contact and by source follow add, refresh (update),
 * remove, expiry, removal by AoR, a closed connection and restore. */
static void
test_contact_indexes(void)
{
	struct loc *l = loc_new();
	struct loc_binding *v[8];
	struct flush_log fl = {0, 0};

	/* bob over TCP behind NAT: Contact private, flow from the NAT. */
	struct loc_binding_in b =
	    mk("bob@example.com", "sip:bob@192.168.1.5:5070", 100);
	b.flow.transport = IPC_TP_TCP;
	b.flow.conn_id = 7;
	b.flow.remote = addr("203.0.113.9", 40001);
	struct loc_binding *bb = loc_add(l, &b, false);
	CHECK(bb != NULL);
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5:5070", v), 1);
	CHECK(v[0] == bb);
	/* RFC 3261 comparison: host any case, other parameters ignored; not
	 * another user, port or transport. */
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5:5070;ob", v), 1);
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5", v), 0);
	CHECK_EQ_INT(nb_contact(l, "sip:bobby@192.168.1.5:5070", v), 0);
	CHECK_EQ_INT(
	    nb_contact(l, "sip:bob@192.168.1.5:5070;transport=tcp", v), 0);
	CHECK_EQ_INT(nb_from(l, "203.0.113.9", 40001, "bob", v), 1);
	CHECK(v[0] == bb);
	CHECK_EQ_INT(nb_from(l, "203.0.113.9", 5070, "bob", v), 0);
	CHECK_EQ_INT(nb_from(l, "192.168.1.5", 5070, "bob", v), 0);
	/* The same source as an IPv4-mapped IPv6 address. */
	CHECK_EQ_INT(nb_from(l, "::ffff:203.0.113.9", 40001, "bob", v), 1);
	/* A Contact by host name, in any case. */
	struct loc_binding_in c =
	    mk("carol@example.com", "sip:c@Phone.Example.com:5080", 50);
	c.flow.remote = addr("10.0.0.3", 5080);
	CHECK(loc_add(l, &c, false) != NULL);
	CHECK_EQ_INT(nb_contact(l, "sip:c@phone.example.COM:5080", v), 1);
	CHECK_EQ_INT(nb_from(l, "10.0.0.3", 5080, "c", v), 1);
	/* Refresh from a new NAT port: the old source is forgotten. */
	b.flow.remote = addr("203.0.113.9", 40002);
	b.flow.conn_id = 8;
	struct loc_binding *nb = loc_update(l, bb, &b);
	CHECK(nb != NULL);
	CHECK_EQ_INT(nb_from(l, "203.0.113.9", 40001, "bob", v), 0);
	CHECK_EQ_INT(nb_from(l, "203.0.113.9", 40002, "bob", v), 1);
	CHECK(v[0] == nb);
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5:5070", v), 1);
	CHECK(v[0] == nb);
	/* A closed connection keeps the binding reachable by source. */
	struct loc_flow cf = nb->flow;
	CHECK_EQ_INT(loc_flow_closed(l, &cf), 1);
	CHECK_EQ_INT(nb_from(l, "203.0.113.9", 40002, "bob", v), 1);
	/* dave: the same private Contact behind another NAT; a PBX's two
	 * AoRs on one flow. */
	struct loc_binding_in d =
	    mk("dave@example.com", "sip:bob@192.168.1.5:5070", 100);
	d.flow.remote = addr("198.51.100.4", 5060);
	CHECK(loc_add(l, &d, false) != NULL);
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5:5070", v), 2);
	struct loc_binding_in p1 = mk("101@example.com", "sip:101@pbx", 100);
	struct loc_binding_in p2 = mk("102@example.com", "sip:102@pbx", 100);
	p1.flow.remote = p2.flow.remote = addr("198.51.100.9", 5060);
	CHECK(loc_add(l, &p1, false) != NULL);
	CHECK(loc_add(l, &p2, false) != NULL);
	CHECK_EQ_INT(nb_from(l, "198.51.100.9", 5060, "101", v), 1);
	CHECK_STR(loc_str(v[0], LOC_S_AOR), "101@example.com");
	CHECK_EQ_INT(nb_from(l, "198.51.100.9", 5060, "102", v), 1);
	CHECK_EQ_INT(nb_from(l, "198.51.100.9", 5060, "103", v), 0);
	CHECK_EQ_INT(nb_from(l, "198.51.100.9", 5060, "bob", v), 0);
	CHECK_EQ_INT(nb_contact(l, "sip:102@PBX", v), 1);
	CHECK_STR(loc_str(v[0], LOC_S_AOR), "102@example.com");
	CHECK_EQ_INT(
	    loc_remove_aor(l, SLICE_LIT("dave@example.com"), SLICE_NULL), 1);
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5:5070", v), 1);
	CHECK(v[0] == nb);
	CHECK_EQ_INT(nb_from(l, "198.51.100.4", 5060, "bob", v), 0);
	/* Expiry (carol at 50) and removal take them out of both. */
	CHECK_EQ_INT(loc_expire(l, 60), 1);
	CHECK_EQ_INT(nb_from(l, "10.0.0.3", 5080, "c", v), 0);
	CHECK_EQ_INT(nb_contact(l, "sip:c@phone.example.com:5080", v), 0);
	loc_remove(l, nb);
	CHECK_EQ_INT(nb_from(l, "203.0.113.9", 40002, "bob", v), 0);
	CHECK_EQ_INT(nb_contact(l, "sip:bob@192.168.1.5:5070", v), 0);
	CHECK_EQ_INT(loc_flush(l, 0, count_cb, &fl), 0);
	CHECK_EQ_INT(nb_from(l, "198.51.100.9", 5060, "102", v), 1);
	/* Restored bindings are indexed too; no flow, no source. */
	struct loc_binding_in e =
	    mk("erin@example.com", "sip:e@[2001:db8::5]", 100);
	e.id = 99;
	CHECK(loc_add(l, &e, true) != NULL);
	CHECK_EQ_INT(nb_contact(l, "sip:e@[2001:DB8::5]:5060", v), 0);
	CHECK_EQ_INT(nb_contact(l, "sip:e@[2001:db8::5]", v), 1);
	CHECK(loc_addr_same(&d.flow.remote, &d.flow.remote));
	struct ipc_addr m6 = addr("::ffff:198.51.100.4", 5060);
	CHECK(loc_addr_same(&d.flow.remote, &m6));
	CHECK(!loc_addr_same(&d.flow.remote, &p1.flow.remote));
	loc_free(l);
}

int
main(void)
{
	hash_seed_random();
	TEST_RUN(test_add_lookup);
	TEST_RUN(test_update_remove_flush);
	TEST_RUN(test_expire_remove_aor);
	TEST_RUN(test_many);
	TEST_RUN(test_bounded_flush);
	TEST_RUN(test_flow_closed);
	TEST_RUN(test_flow_closed_index);
	TEST_RUN(test_user_agent);
	TEST_RUN(test_contact_indexes);
	return tap_done();
}
