/* Unit tests of conf and conf_pos on a table using every field type. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "conf_pos.h"
#include "tap.h"

struct peer {
	char *name;
	char *addr;
	uint32_t weight;
};

struct sect {
	bool is_on;
	char *secret;
};

struct inl {
	uint32_t extra;
};

struct root {
	bool flag;
	int64_t offset;
	uint32_t port;
	char *name;
	char *nullable;
	int mode;
	char **tags;
	size_t ntags;
	uint16_t range[2];
	char *bind;
	char **acl;
	size_t nacl;
	struct sect sect;
	struct peer *peers;
	size_t npeers;
	struct inl inl;
};

static const char *const modes[] = {"fast", "safe", NULL};

static const char *
weight_even(const void *p, char *buf, size_t cap)
{
	uint32_t w = *(const uint32_t *)p;
	if (w % 2) {
		snprintf(buf, cap, "must be even, not %u", w);
		return buf;
	}
	return NULL;
}

static const struct conf_field peer_fields[] = {
    {.key = "name",
        .type = CONF_STR,
        .offset = offsetof(struct peer, name),
        .def = "\"anon\"",
        .doc = "Peer name."},
    {.key = "addr",
        .type = CONF_ADDR,
        .offset = offsetof(struct peer, addr),
        .def = "\"127.0.0.1\"",
        .doc = "Peer address."},
    {.key = "weight",
        .type = CONF_UINT,
        .offset = offsetof(struct peer, weight),
        .def = "2",
        .min = 0,
        .max = 100,
        .check = weight_even,
        .doc = "Weight."},
};

static const char *
peer_check(const void *obj, char *buf, size_t cap)
{
	const struct peer *p = obj;
	if (strcmp(p->name, "bad") == 0) {
		snprintf(buf, cap, "a peer cannot be called bad");
		return buf;
	}
	return NULL;
}

static const struct conf_table peer_table = {
    "peer", peer_fields, 3, sizeof(struct peer), peer_check};

static const struct conf_field sect_fields[] = {
    {.key = "on",
        .type = CONF_BOOL,
        .offset = offsetof(struct sect, is_on),
        .def = "true",
        .doc = "On."},
    {.key = "api_secret",
        .type = CONF_STR,
        .offset = offsetof(struct sect, secret),
        .def = "null",
        .doc = "A secret | with a pipe."},
};
static const struct conf_table sect_table = {
    "sect", sect_fields, 2, sizeof(struct sect), NULL};

static const struct conf_field inl_fields[] = {
    {.key = "extra",
        .type = CONF_UINT,
        .offset = offsetof(struct inl, extra),
        .def = "7",
        .min = 1,
        .max = 9,
        .doc = "Inline key."},
};
static const struct conf_table inl_table = {
    "comp", inl_fields, 1, sizeof(struct inl), NULL};

#define R(k) offsetof(struct root, k)
static const struct conf_field root_fields[] = {
    {.key = "flag", .type = CONF_BOOL, .offset = R(flag), .def = "false"},
    {.key = "offset",
        .type = CONF_INT,
        .offset = R(offset),
        .def = "-5",
        .min = -10,
        .max = 10},
    {.key = "port",
        .type = CONF_UINT,
        .offset = R(port),
        .def = "5060",
        .min = 1,
        .max = 65535},
    {.key = "name", .type = CONF_STR, .offset = R(name), .def = "\"x\""},
    {.key = "nullable", .type = CONF_STR, .offset = R(nullable), .def = "null"},
    {.key = "mode",
        .type = CONF_ENUM,
        .offset = R(mode),
        .def = "\"safe\"",
        .enum_names = modes},
    {.key = "tags",
        .type = CONF_STR_ARRAY,
        .offset = R(tags),
        .def = "[\"a\",\"b\"]",
        .count_offset = R(ntags),
        .max = 3},
    {.key = "range",
        .type = CONF_PORT_RANGE,
        .offset = R(range),
        .def = "[20000, 29999]"},
    {.key = "bind", .type = CONF_ADDR, .offset = R(bind), .def = "\"::1\""},
    {.key = "acl",
        .type = CONF_CIDR_ARRAY,
        .offset = R(acl),
        .def = "[]",
        .count_offset = R(nacl)},
    {.key = "sect",
        .type = CONF_OBJECT,
        .offset = R(sect),
        .def = "{}",
        .sub = &sect_table},
    {.key = "peers",
        .type = CONF_OBJ_ARRAY,
        .offset = R(peers),
        .def = "[{}]",
        .sub = &peer_table,
        .count_offset = R(npeers),
        .min = 1},
    {.key = "comp", .type = CONF_INLINE, .offset = R(inl), .sub = &inl_table},
};
static const struct conf_table root_table = {"test", root_fields,
    sizeof root_fields / sizeof root_fields[0], sizeof(struct root), NULL};

static int
load(const char *text, struct root *r, struct conf_errors *e)
{
	return conf_load_string(
	    text, strlen(text), "t.json", &root_table, r, e);
}

static void
test_defaults(void)
{
	struct root r;
	struct conf_errors e;
	CHECK_EQ_INT(load("{}", &r, &e), 0);
	CHECK_EQ_INT(e.n, 0);
	CHECK(!r.flag);
	CHECK_EQ_INT(r.offset, -5);
	CHECK_EQ_INT(r.port, 5060);
	CHECK_STR(r.name, "x");
	CHECK(r.nullable == NULL);
	CHECK_EQ_INT(r.mode, 1);
	CHECK_EQ_INT(r.ntags, 2);
	CHECK_STR(r.tags[1], "b");
	CHECK_EQ_INT(r.range[0], 20000);
	CHECK_EQ_INT(r.range[1], 29999);
	CHECK_STR(r.bind, "::1");
	CHECK_EQ_INT(r.nacl, 0);
	CHECK(r.sect.is_on);
	CHECK_EQ_INT(r.npeers, 1);
	CHECK_STR(r.peers[0].name, "anon");
	CHECK_EQ_INT(r.peers[0].weight, 2);
	CHECK_EQ_INT(r.inl.extra, 7);
	conf_free(&root_table, &r);
	CHECK(r.name == NULL && r.tags == NULL && r.ntags == 0);
	conf_free(&root_table, &r); /* twice is harmless */
}

static void
test_values(void)
{
	struct root r;
	struct conf_errors e;
	const char *t = "{\"flag\": true, \"offset\": 10, \"port\": 1,"
	                "\"name\": \"n\\u00e9\", \"nullable\": \"v\","
	                "\"mode\": \"fast\", \"tags\": [], \"range\": [1, 1],"
	                "\"bind\": \"192.0.2.1\", \"acl\": [\"10.0.0.0/8\","
	                "\"2001:db8::/32\", \"192.0.2.9\"],"
	                "\"sect\": {\"on\": false, \"api_secret\": \"s3\"},"
	                "\"peers\": [{\"name\": \"a\", \"weight\": 4}, "
	                "{\"addr\": \"::2\"}], \"extra\": 9}";
	CHECK_EQ_INT(load(t, &r, &e), 0);
	conf_errors_print(&e, stdout);
	CHECK(r.flag);
	CHECK_EQ_INT(r.offset, 10);
	CHECK_EQ_INT(r.port, 1);
	CHECK_STR(r.name, "n\xc3\xa9");
	CHECK_STR(r.nullable, "v");
	CHECK_EQ_INT(r.mode, 0);
	CHECK_EQ_INT(r.ntags, 0);
	CHECK_EQ_INT(r.nacl, 3);
	CHECK_STR(r.acl[1], "2001:db8::/32");
	CHECK(!r.sect.is_on);
	CHECK_STR(r.sect.secret, "s3");
	CHECK_EQ_INT(r.npeers, 2);
	CHECK_EQ_INT(r.peers[0].weight, 4);
	CHECK_STR(r.peers[1].name, "anon");
	CHECK_STR(r.peers[1].addr, "::2");
	CHECK_EQ_INT(r.inl.extra, 9);

	/* The dump masks secrets and reloads to the same configuration. */
	char *d = conf_dump_json(&root_table, &r);
	CHECK(d != NULL);
	CHECK(strstr(d, "\"api_secret\": \"********\"") != NULL);
	CHECK(strstr(d, "s3") == NULL);
	CHECK(strstr(d, "\"extra\": 9") != NULL);
	CHECK(strstr(d, "\"mode\": \"fast\"") != NULL);
	struct root r2;
	CHECK_EQ_INT(load(d, &r2, &e), 0);
	char *d2 = conf_dump_json(&root_table, &r2);
	CHECK_STR(d2, d);
	free(d);
	free(d2);
	conf_free(&root_table, &r2);
	conf_free(&root_table, &r);
}

static char joined[8192];
static const char *
join(const struct conf_errors *e)
{
	size_t o = 0;
	joined[0] = '\0';
	for (size_t i = 0; i < e->n; i++)
		o += (size_t)snprintf(
		    joined + o, sizeof joined - o, "%s\n", e->msg[i]);
	return joined;
}

static void
test_errors(void)
{
	struct root r;
	struct conf_errors e;
	const char *t =
	    "{\n"
	    "  \"flag\": 1,\n"
	    "  \"offset\": 11, \"port\": 0,\n"
	    "  \"name\": null,\n"
	    "  \"mode\": \"quick\",\n"
	    "  \"tags\": [\"a\", 2, \"c\", \"d\"],\n"
	    "  \"range\": [30000, 20000],\n"
	    "  \"bind\": \"localhost\",\n"
	    "  \"acl\": [\"10.0.0.1/8\", \"10.0.0.0/33\", \"x\"],\n"
	    "  \"sect\": {\"on\": \"yes\", \"bogus\": 1},\n"
	    "  \"peers\": [{\"weight\": 3}, 5, {\"name\": \"bad\"}],\n"
	    "  \"extra\": 10,\n"
	    "  \"prot\": 5060\n"
	    "}\n";
	CHECK_EQ_INT(load(t, &r, &e), -1);
	const char *want =
	    "t.json:2:11: flag: must be true or false, not an integer\n"
	    "t.json:3:13: offset: must be between -10 and 10, not 11\n"
	    "t.json:3:25: port: must be between 1 and 65535, not 0\n"
	    "t.json:4:11: name: must be a string, not null\n"
	    "t.json:5:11: mode: must be one of \"fast\", \"safe\", not "
	    "\"quick\"\n"
	    "t.json:6:11: tags: must have at most 3 elements\n"
	    "t.json:7:12: range: must be a range within 1..65535 with low <= "
	    "high, not [30000, 20000]\n"
	    "t.json:8:11: bind: must be an IPv4 or IPv6 address, not "
	    "\"localhost\"\n"
	    "t.json:9:11: acl[0]: \"10.0.0.1/8\" has host bits set (did you "
	    "mean \"10.0.0.0/8\"?)\n"
	    "t.json:9:25: acl[1]: \"10.0.0.0/33\" is not an IP address or "
	    "CIDR block\n"
	    "t.json:9:40: acl[2]: \"x\" is not an IP address or CIDR block\n"
	    "t.json:10:18: sect.on: must be true or false, not a string\n"
	    "t.json:10:25: sect.bogus: unknown key\n"
	    "t.json:11:24: peers[0].weight: must be even, not 3\n"
	    "t.json:11:28: peers[1]: must be an object, not an integer\n"
	    "t.json:11:31: peers[2]: a peer cannot be called bad\n"
	    "t.json:12:12: extra: must be between 1 and 9, not 10\n"
	    "t.json:13:3: prot: unknown key (did you mean \"port\"?)\n";
	CHECK_STR(join(&e), want);
	CHECK(r.name == NULL && r.peers == NULL); /* freed on failure */
	conf_errors_free(&e);
	conf_free(&root_table, &r);
}

static void
test_syntax_and_limits(void)
{
	struct root r;
	struct conf_errors e;
	CHECK_EQ_INT(load("{\n  \"flag\": true\n  \"port\": 1\n}", &r, &e), -1);
	CHECK_EQ_INT(e.n, 1);
	CHECK_STR(e.msg[0], "t.json:3:8: '}' expected near '\"port\"'");
	conf_errors_free(&e);
	CHECK_EQ_INT(load("{\"port\": 1, \"port\": 2}", &r, &e), -1);
	CHECK(e.n == 1 && strstr(e.msg[0], "duplicate object key") != NULL);
	conf_errors_free(&e);
	CHECK_EQ_INT(load("[]", &r, &e), -1);
	CHECK_STR(join(&e),
	    "t.json:1:1: the configuration must be a JSON "
	    "object, not an array\n");
	conf_errors_free(&e);
	CHECK_EQ_INT(load("", &r, &e), -1);
	CHECK_EQ_INT(e.n, 1);
	conf_errors_free(&e);

	/* More than CONF_MAX_ERRORS problems: the rest are counted. */
	char big[20000];
	size_t o = (size_t)snprintf(big, sizeof big, "{");
	for (int i = 0; i < 100; i++)
		o += (size_t)snprintf(
		    big + o, sizeof big - o, "%s\"k%d\": 1", i ? "," : "", i);
	snprintf(big + o, sizeof big - o, "}");
	CHECK_EQ_INT(load(big, &r, &e), -1);
	CHECK_EQ_INT(e.n, CONF_MAX_ERRORS);
	CHECK_EQ_INT(e.dropped, 100 - CONF_MAX_ERRORS);
	conf_errors_free(&e);

	CHECK_EQ_INT(
	    conf_load_file("/nonexistent/x.json", &root_table, &r, &e), -1);
	CHECK_STR(join(&e),
	    "/nonexistent/x.json: cannot open: No such file "
	    "or directory\n");
	conf_errors_free(&e);
}

static void
test_pos(void)
{
	const char *t = "{\"a\": {\"b\": [1, {\"c\": \"x\\\"y\"}]},\n"
	                " \"\\u00e9t\\u00e9\": 2, \"d\": [[], {}]}";
	struct conf_pos p = {0};
	CHECK_EQ_INT(conf_pos_scan(&p, t, strlen(t)), 0);
	unsigned l, c;
	CHECK(conf_pos_find(&p, "a.b[1].c", false, &l, &c));
	CHECK(l == 1 && c == 23);
	CHECK(conf_pos_find(&p, "a.b[1].c", true, &l, &c));
	CHECK(l == 1 && c == 18);
	CHECK(conf_pos_find(&p, "\xc3\xa9t\xc3\xa9", false, &l, &c));
	CHECK(l == 2 && c == 19);
	CHECK(conf_pos_find(&p, "d[1]", false, &l, &c));
	CHECK(l == 2 && c == 32);
	/* Unknown paths fall back to the nearest ancestor. */
	CHECK(conf_pos_find(&p, "a.b[7].zz", true, &l, &c));
	CHECK(l == 1 && c == 13);
	CHECK(conf_pos_find(&p, "", false, &l, &c));
	CHECK(l == 1 && c == 1);
	conf_pos_free(&p);

	/* Malformed text: no crash, -1. */
	const char *bad[] = {
	    "{\"a\": ", "{\"a\" 1}", "[1,", "\"abc", "{\"a\\", "{\"\\u12", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct conf_pos q = {0};
		CHECK_EQ_INT(conf_pos_scan(&q, bad[i], strlen(bad[i])), -1);
		conf_pos_free(&q);
	}

	char buf[16];
	CHECK(conf_path_key(buf, sizeof buf, "ab", "cd", 2));
	CHECK_STR(buf, "ab.cd");
	CHECK(conf_path_index(buf, sizeof buf, buf, 12));
	CHECK_STR(buf, "ab.cd[12]");
	CHECK(!conf_path_key(buf, sizeof buf, buf, "toolongkey", 10));
}

static void
test_doc(void)
{
	char *md = NULL, *roff = NULL;
	size_t mlen, rlen;
	FILE *f = open_memstream(&md, &mlen);
	conf_write_doc(&root_table, false, f);
	fclose(f);
	f = open_memstream(&roff, &rlen);
	conf_write_doc(&root_table, true, f);
	fclose(f);
	CHECK(strstr(md, "| `port` | integer 1..65535 | `5060` |") != NULL);
	CHECK(strstr(md, "## peers[]") != NULL);
	CHECK(strstr(md, "## sect") != NULL);
	CHECK(strstr(md, "| `extra` |") != NULL);
	CHECK(strstr(md, "A secret \\| with a pipe.") != NULL);
	CHECK(strstr(md, "one of \"fast\", \"safe\"") != NULL);
	CHECK(strstr(roff, ".TP\n.B port\ninteger 1..65535; default 5060.\n") !=
	    NULL);
	CHECK(strstr(roff, ".SS \"peers[]\"") != NULL);
	CHECK(strstr(roff, "default \\-5") != NULL);
	free(md);
	free(roff);
}

int
main(void)
{
	TEST_RUN(test_defaults);
	TEST_RUN(test_values);
	TEST_RUN(test_errors);
	TEST_RUN(test_syntax_and_limits);
	TEST_RUN(test_pos);
	TEST_RUN(test_doc);
	return tap_done();
}
