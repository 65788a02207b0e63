/* Unit tests of core/dialplan.c: number normalisation, strip/prefix, and
 * rule matching (prefix, regex, user, who the call is from, priority). */
#include <string.h>

#include "core/dialplan.h"
#include "pcconf.h"
#include "tap.h"

static void
test_normalize(void)
{
	char out[DIALPLAN_NUM_MAX];

	CHECK_EQ_INT(
	    dialplan_normalize("+49 (30) 123-45.6", out, sizeof(out)), 11);
	CHECK_STR(out, "+4930123456");
	CHECK(dialplan_normalize("0049301", out, sizeof(out)) > 0);
	CHECK_STR(out, "+49301");
	CHECK(dialplan_normalize("0301", out, sizeof(out)) > 0);
	CHECK_STR(out, "0301");
	CHECK(dialplan_normalize("*21#", out, sizeof(out)) > 0);
	CHECK_EQ_INT(dialplan_normalize("alice", out, sizeof(out)), -1);
	CHECK_EQ_INT(dialplan_normalize("", out, sizeof(out)), -1);
	CHECK_EQ_INT(dialplan_normalize("+", out, sizeof(out)), -1);
	CHECK_EQ_INT(dialplan_normalize("12345678", out, 5), -1);
}

static void
test_rewrite(void)
{
	char out[32];

	CHECK_EQ_INT(
	    dialplan_rewrite("+4930123", 1, "00", out, sizeof(out)), 9);
	CHECK_STR(out, "004930123");
	CHECK(dialplan_rewrite("123", 10, "9", out, sizeof(out)) == 1);
	CHECK_STR(out, "9");
	CHECK(dialplan_rewrite("123", 0, NULL, out, sizeof(out)) == 3);
	CHECK_STR(out, "123");
	CHECK_EQ_INT(dialplan_rewrite("123456", 0, "99", out, 4), -1);
}

static const char conf_text[] =
    "{\"trunks\": [{\"name\": \"a\"}, {\"name\": \"b\"}],"
    " \"groups\": [{\"name\": \"sales\", \"members\": [\"bob\"]}],"
    " \"routes\": ["
    "  {\"match\": {\"prefix\": \"+49\"}, \"trunk\": \"a\"},"
    "  {\"match\": {\"prefix\": \"+49\"}, \"priority\": 200, \"trunk\": "
    "\"b\"},"
    "  {\"match\": {\"regex\": \"^\\\\+1[0-9]{10}$\"}, \"trunk\": \"b\"},"
    "  {\"match\": {\"user\": \"uas\"}, \"uri\": \"sip:127.0.0.20:5080\"},"
    "  {\"match\": {\"from\": \"trunks\", \"prefix\": \"+4930555\"}, "
    "\"user\": \"bob\"},"
    "  {\"match\": {\"from\": \"trunks\", \"trunk\": \"b\", \"prefix\": "
    "\"+4930\"}, \"group\": \"sales\"}"
    "]}";

static void
test_match(void)
{
	struct pc_conf conf;
	struct conf_errors errs;
	const struct pc_core_route *r[8];

	memset(&conf, 0, sizeof(conf));
	memset(&errs, 0, sizeof(errs));
	CHECK(conf_load_string(conf_text, strlen(conf_text), "t", &pcconf_table,
	          &conf, &errs) == 0);
	for (size_t i = 0; i < errs.n; i++)
		printf("# %s\n", errs.msg[i]);
	conf_errors_free(&errs);
	struct dialplan *dp = dialplan_new(&conf.core);
	CHECK(dp != NULL);

	/* Priority first, then file order. */
	int n = dialplan_match(dp, NULL, "+4930123", "+4930123", r, 8);
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 && strcmp(r[0]->trunk, "b") == 0 &&
	    strcmp(r[1]->trunk, "a") == 0);
	CHECK_EQ_INT(
	    dialplan_match(dp, NULL, "+15551234567", "+15551234567", r, 8), 1);
	CHECK_EQ_INT(
	    dialplan_match(dp, NULL, "+1555123456", "+1555123456", r, 8), 0);
	CHECK_EQ_INT(dialplan_match(dp, NULL, "uas", "uas", r, 8), 1);
	CHECK(r[0]->uri != NULL);
	/* Rules for trunks do not apply to users and the other way round. */
	n = dialplan_match(dp, "a", "+4930555", "+4930555", r, 8);
	CHECK_EQ_INT(n, 1);
	CHECK(n == 1 && r[0]->user != NULL);
	n = dialplan_match(dp, "b", "+4930555", "+4930555", r, 8);
	CHECK_EQ_INT(n, 2); /* the bob rule and the group rule for b */
	CHECK_EQ_INT(dialplan_match(dp, "a", "+4930777", "+4930777", r, 8), 0);
	CHECK_EQ_INT(dialplan_match(dp, NULL, "+4930555", "+4930555", r, 1), 1);
	dialplan_free(dp);
	pcconf_free(&conf);
}

static void
test_config_errors(void)
{
	static const char *const bad[] = {
	    "{\"routes\": [{\"match\": {\"prefix\": \"1\"}}]}",
	    "{\"routes\": [{\"trunk\": \"nope\"}]}",
	    "{\"routes\": [{\"group\": \"nope\"}]}",
	    "{\"routes\": [{\"match\": {\"regex\": \"(\"}, \"uri\": "
	    "\"sip:1.2.3.4\"}]}",
	    "{\"routes\": [{\"uri\": \"http://x\"}]}",
	    "{\"trunks\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}",
	    "{\"trunks\": [{\"name\": \"a\", \"peers\": [{\"address\": "
	    "\"carrier..example\"}]}]}",
	    "{\"trunks\": [{\"name\": \"a\", \"peers\": [{\"address\": "
	    "\"-bad.example\"}]}]}",
	    "{\"trunks\": [{\"name\": \"a\", \"peers\": [{\"address\": "
	    "\"a b\"}]}]}",
	    "{\"trunks\": [{\"name\": \"a\", \"register\": {\"enabled\": "
	    "true}}]}",
	    NULL};

	for (int i = 0; bad[i] != NULL; i++) {
		struct pc_conf conf;
		struct conf_errors errs;
		memset(&conf, 0, sizeof(conf));
		memset(&errs, 0, sizeof(errs));
		int rc = conf_load_string(
		    bad[i], strlen(bad[i]), "t", &pcconf_table, &conf, &errs);
		CHECK(rc < 0 && errs.n > 0);
		if (rc == 0)
			pcconf_free(&conf);
		conf_errors_free(&errs);
	}
}

int
main(void)
{
	TEST_RUN(test_normalize);
	TEST_RUN(test_rewrite);
	TEST_RUN(test_match);
	TEST_RUN(test_config_errors);
	return tap_done();
}
