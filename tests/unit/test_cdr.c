/* Unit tests of core/cdr.c: records queued, written behind to SQLite in
 * one batch and as JSON lines (escaped), listed newest first, trimmed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cdr.h"
#include "tap.h"

static char dir[] = "/tmp/pc-test-cdr.XXXXXX";

static int
collect(const struct store_cdr *r, void *arg)
{
	struct store_cdr *v = arg;
	int i = 0;

	while (v[i].call_id[0] != '\0')
		i++;
	v[i] = *r;
	return 0;
}

static void
test_write_list_json(void)
{
	char db[256], js[256], err[256], line[4096];
	struct store_cdr r, got[8];

	snprintf(db, sizeof(db), "%s/c.db", dir);
	snprintf(js, sizeof(js), "%s/cdr.jsonl", dir);
	struct store *s = store_open(db, err, sizeof(err));
	CHECK(s != NULL);
	struct cdr *d = cdr_new(s, js, 100);
	CHECK(d != NULL);
	memset(&r, 0, sizeof(r));
	snprintf(r.call_id, sizeof(r.call_id), "a\"b\\c\n");
	r.start_ms = 1000;
	r.answer_ms = 2000;
	r.end_ms = 5000;
	r.duration_ms = 3000;
	snprintf(r.caller, sizeof(r.caller), "alice@example.com");
	snprintf(r.callee, sizeof(r.callee), "+4930123");
	snprintf(r.trunk, sizeof(r.trunk), "carrier");
	snprintf(r.direction, sizeof(r.direction), "outbound");
	r.status = 200;
	snprintf(r.reason, sizeof(r.reason), "bye caller");
	cdr_add(d, &r);
	r.status = 503;
	snprintf(r.call_id, sizeof(r.call_id), "second");
	snprintf(r.reason, sizeof(r.reason), "limit trunk");
	cdr_add(d, &r);
	CHECK_EQ_INT((int)cdr_pending(d), 2);
	/* Nothing is in the database before the flush. */
	memset(got, 0, sizeof(got));
	CHECK_EQ_INT(store_cdr_list(s, 10, collect, got), 0);
	CHECK_EQ_INT(cdr_flush(d), 0);
	CHECK_EQ_INT((int)cdr_pending(d), 0);
	CHECK_EQ_INT((int)cdr_written(d), 2);
	memset(got, 0, sizeof(got));
	CHECK_EQ_INT(store_cdr_list(s, 10, collect, got), 2);
	CHECK_STR(got[0].call_id, "second"); /* newest first */
	CHECK_EQ_INT(got[0].status, 503);
	CHECK_STR(got[1].call_id, "a\"b\\c\n");
	CHECK_EQ_INT((int)got[1].duration_ms, 3000);
	CHECK_STR(got[1].trunk, "carrier");
	CHECK_STR(got[1].direction, "outbound");

	FILE *f = fopen(js, "r");
	CHECK(f != NULL);
	int n = 0;
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (n == 0) {
			CHECK(
			    strstr(line,
			        "\"call_id\":\"a\\\"b\\\\c\\u000a\"") != NULL);
			CHECK(strstr(line, "\"status\":200") != NULL);
			CHECK(strstr(line, "\"duration_ms\":3000") != NULL);
		}
		n++;
	}
	if (f != NULL)
		fclose(f);
	CHECK_EQ_INT(n, 2);
	cdr_free(d);
	store_close(s);
}

static void
test_trim(void)
{
	char db[256], err[256];
	struct store_cdr r, got[200];

	snprintf(db, sizeof(db), "%s/t.db", dir);
	struct store *s = store_open(db, err, sizeof(err));
	struct cdr *d = cdr_new(s, NULL, 100);
	CHECK(s != NULL && d != NULL);
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 150; i++) {
		snprintf(r.call_id, sizeof(r.call_id), "c%d", i);
		cdr_add(d, &r);
	}
	CHECK_EQ_INT(cdr_flush(d), 0);
	memset(got, 0, sizeof(got));
	CHECK_EQ_INT(store_cdr_list(s, 0, collect, got), 100);
	CHECK_STR(got[0].call_id, "c149");
	CHECK_STR(got[99].call_id, "c50");
	cdr_free(d);
	store_close(s);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	TEST_RUN(test_write_list_json);
	TEST_RUN(test_trim);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
