/* Unit tests of pcconf: the defaults of `{}`, listeners, and the golden
 * error output of tests/golden/conf/NAME.json in NAME.expected. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcconf.h"
#include "tap.h"

static char golden_dir[1024];

static void
find_golden_dir(void)
{
	const char *top = getenv("top_srcdir");
	if (top != NULL) {
		snprintf(
		    golden_dir, sizeof golden_dir, "%s/tests/golden/conf", top);
		return;
	}
	/* Run by hand from a build directory: next to this source file. */
	const char *me = __FILE__;
	const char *slash = strrchr(me, '/');
	int n = slash ? (int)(slash - me) : 0;
	snprintf(golden_dir, sizeof golden_dir, "%.*s%s../golden/conf", n, me,
	    n ? "/" : "");
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static void
test_defaults(void)
{
	struct pc_conf c;
	CHECK_EQ_INT(pcconf_load(NULL, &c), 0);
	CHECK_EQ_INT(c.ndomains, 0);
	CHECK_EQ_INT(c.nlisten, 2);
	CHECK_EQ_INT(c.listen[0].transport, PC_TP_UDP);
	CHECK_EQ_INT(c.listen[1].transport, PC_TP_TCP);
	for (int i = 0; i < 2; i++) {
		CHECK_STR(c.listen[i].address, "127.0.0.1");
		CHECK_EQ_INT(c.listen[i].port, 5060);
		CHECK_EQ_INT(c.listen[i].role, PC_ROLE_PUBLIC);
		CHECK(c.listen[i].advertise == NULL);
		CHECK(!c.listen[i].tls_verify_client);
		CHECK_EQ_INT(c.listen[i].nacl_allow, 0);
	}
	CHECK_STR(c.state_dir, "/var/lib/portcullis");
	CHECK_STR(c.runtime_dir, "/run/portcullis");
	CHECK_STR(c.log_level, "info");
	CHECK_STR(c.user, "portcullis");
	CHECK_STR(c.group, "portcullis");
	char buf[64];
	CHECK_STR(pcconf_path(&c, "core.sock", buf, sizeof buf),
	    "/run/portcullis/core.sock");
	CHECK(pcconf_path(&c, "core.sock", buf, 10) == NULL);

	/* The effective configuration reloads to itself. */
	char *d = conf_dump_json(&pcconf_table, &c);
	CHECK(d != NULL);
	struct pc_conf c2;
	struct conf_errors e;
	CHECK_EQ_INT(
	    conf_load_string(d, strlen(d), "dump", &pcconf_table, &c2, &e), 0);
	conf_errors_print(&e, stdout);
	conf_errors_free(&e);
	char *d2 = conf_dump_json(&pcconf_table, &c2);
	CHECK_STR(d2, d);
	free(d);
	free(d2);
	pcconf_free(&c2);
	pcconf_free(&c);
}

static void
test_listeners(void)
{
	const char *t =
	    "{\"domains\": [\"example.com\", \"example.org\"],"
	    " \"listen\": [{\"transport\": \"tls\", \"address\": \"::\","
	    " \"port\": 5061, \"role\": \"trunk\", \"tls_cert\": \"/c.pem\","
	    " \"tls_key\": \"/k.pem\", \"tls_ca\": \"/ca.pem\","
	    " \"tls_verify_client\": true, \"acl_allow\": [\"192.0.2.0/24\"],"
	    " \"acl_deny\": [\"192.0.2.66\"], \"trunk\": \"carrier1\","
	    " \"advertise\": \"sbc.example.com\"},"
	    " {\"transport\": \"udp\", \"address\": \"::\", \"port\": 5061}],"
	    " \"log_level\": \"debug\", \"runtime_dir\": \"/tmp/pc\"}";
	struct pc_conf c;
	struct conf_errors e;
	CHECK_EQ_INT(
	    conf_load_string(t, strlen(t), "t", &pcconf_table, &c, &e), 0);
	conf_errors_print(&e, stdout);
	CHECK_EQ_INT(c.ndomains, 2);
	CHECK_STR(c.domains[1], "example.org");
	CHECK_EQ_INT(c.nlisten, 2);
	const struct pc_listen *l = &c.listen[0];
	CHECK_EQ_INT(l->transport, PC_TP_TLS);
	CHECK_EQ_INT(l->role, PC_ROLE_TRUNK);
	CHECK_EQ_INT(l->port, 5061);
	CHECK_STR(l->address, "::");
	CHECK_STR(l->tls_key, "/k.pem");
	CHECK(l->tls_verify_client);
	CHECK_EQ_INT(l->nacl_allow, 1);
	CHECK_STR(l->acl_deny[0], "192.0.2.66");
	CHECK_STR(l->trunk, "carrier1");
	CHECK_STR(l->advertise, "sbc.example.com");
	CHECK_STR(c.log_level, "debug");
	char buf[64];
	CHECK_STR(
	    pcconf_path(&c, "mgmt.sock", buf, sizeof buf), "/tmp/pc/mgmt.sock");
	pcconf_free(&c);
	CHECK(c.listen == NULL && c.nlisten == 0);
}

static int
golden_one(const char *name)
{
	char path[1400];
	snprintf(path, sizeof path, "%s/%s.json", golden_dir, name);
	size_t len;
	char *text = slurp(path, &len);
	snprintf(path, sizeof path, "%s/%s.expected", golden_dir, name);
	char *want = slurp(path, NULL);
	if (text == NULL || want == NULL) {
		printf("# golden %s: missing files in %s\n", name, golden_dir);
		free(text);
		free(want);
		return 1;
	}
	char fname[256];
	snprintf(fname, sizeof fname, "%s.json", name);
	struct pc_conf c;
	struct conf_errors e;
	int rc = conf_load_string(text, len, fname, &pcconf_table, &c, &e);
	char *got = NULL;
	size_t glen;
	FILE *f = open_memstream(&got, &glen);
	conf_errors_print(&e, f);
	fclose(f);
	int bad = 0;
	if (rc != -1 || strcmp(got, want) != 0) {
		printf("# golden %s: rc %d, got:\n", name, rc);
		for (char *p = strtok(got, "\n"); p; p = strtok(NULL, "\n"))
			printf("#   %s\n", p);
		bad = 1;
	}
	conf_errors_free(&e);
	pcconf_free(&c);
	free(got);
	free(text);
	free(want);
	return bad;
}

static void
test_golden(void)
{
	DIR *d = opendir(golden_dir);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	int n = 0, bad = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 6 || strcmp(de->d_name + l - 5, ".json") != 0)
			continue;
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)(l - 5), de->d_name);
		bad += golden_one(name);
		n++;
	}
	closedir(d);
	CHECK(n >= 8);
	CHECK_EQ_INT(bad, 0);
}

static void
test_load_file(void)
{
	char path[] = "/tmp/pc-pcconf-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("{\"listen\": [{\"port\": 5070}], \"user\": \"nobody\"}\n", f);
	fclose(f);
	struct pc_conf c;
	CHECK_EQ_INT(pcconf_load(path, &c), 0);
	CHECK_EQ_INT(c.nlisten, 1);
	CHECK_EQ_INT(c.listen[0].port, 5070);
	CHECK_STR(c.user, "nobody");
	pcconf_free(&c);

	f = fopen(path, "w");
	fputs("{\"listen\": [{\"port\": 0}]}\n", f);
	fclose(f);
	struct conf_errors e;
	CHECK_EQ_INT(pcconf_load_errs(path, &c, &e), -1);
	CHECK_EQ_INT(e.n, 1);
	char want[256];
	snprintf(want, sizeof want,
	    "%s:1:22: listen[0].port: must be between 1 and 65535, not 0",
	    path);
	CHECK_STR(e.msg[0], want);
	conf_errors_free(&e);
	unlink(path);
}

static void
test_doc(void)
{
	char *md = NULL;
	size_t len;
	FILE *f = open_memstream(&md, &len);
	conf_write_doc(&pcconf_table, false, f);
	fclose(f);
	CHECK(
	    strstr(md, "| `runtime_dir` | string | `\"/run/portcullis\"` |") !=
	    NULL);
	CHECK(strstr(md, "## listen[]") != NULL);
	CHECK(
	    strstr(md, "| `transport` | one of \"udp\", \"tcp\", \"tls\" |") !=
	    NULL);
	free(md);
}

int
main(void)
{
	find_golden_dir();
	TEST_RUN(test_defaults);
	TEST_RUN(test_listeners);
	TEST_RUN(test_golden);
	TEST_RUN(test_load_file);
	TEST_RUN(test_doc);
	return tap_done();
}
