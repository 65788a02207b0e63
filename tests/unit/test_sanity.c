/* Unit tests of sbc/sanity.c: the edge's answer to every RFC 4475/5118
 * message category of tests/golden/sip (EXPECTED lists the parser's
 * verdict; the edge answers requests with it, drops what it cannot
 * answer and malformed responses), Max-Forwards 0, scanners, size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "sanity.h"
#include "tap.h"

static char *scanners[] = {"friendly-scanner", "sipvicious"};
static struct arena ar;

static char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *b = malloc(70000);
	*n = fread(b, 1, 70000, f);
	fclose(f);
	return b;
}

static struct sanity_result
judge(const char *buf, size_t n, struct sip_msg *m)
{
	struct sip_err err = {0};
	arena_reset(&ar);
	memset(m, 0, sizeof *m);
	int rc = sip_msg_parse(m, buf, (uint32_t)n, &ar, &err);
	struct sanity_result r;
	sanity_check(m, rc, &err, scanners, 2, 65535, &r);
	return r;
}

static void
test_golden_categories(void)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/EXPECTED", EDGE_GOLDEN);
	FILE *ex = fopen(path, "r");
	CHECK(ex != NULL);
	if (ex == NULL)
		return;
	char line[512];
	int files = 0;
	static struct sip_msg m;
	while (fgets(line, sizeof line, ex) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char file[256], verdict[16];
		int code = 0;
		if (sscanf(line, "%255s %15s", file, verdict) != 2)
			continue;
		code = atoi(verdict);
		snprintf(path, sizeof path, "%s/%s", EDGE_GOLDEN, file);
		size_t n;
		char *buf = slurp(path, &n);
		CHECK(buf != NULL);
		if (buf == NULL)
			continue;
		files++;
		struct sanity_result r = judge(buf, n, &m);
		bool sdp_only = strstr(file, "sdp") != NULL; /* judged at
								anchoring */
		if (strcmp(verdict, "OK") == 0 || sdp_only) {
			bool mf0 =
			    strstr(file, "zeromf-max-forwards-zero") != NULL;
			bool want483 = mf0 && m.method != SIP_M_OPTIONS &&
			    m.method != SIP_M_REGISTER;
			if (want483) {
				CHECK_EQ_INT(r.verdict, SANITY_REPLY);
				CHECK_EQ_INT(r.code, 483);
			} else if (r.verdict != SANITY_OK) {
				printf("# %s: verdict %d %d %s\n", file,
				    r.verdict, r.code,
				    r.phrase ? r.phrase : "");
				CHECK(r.verdict == SANITY_OK);
			}
		} else if (!m.is_request || m.status != 0) {
			if (r.verdict != SANITY_DROP)
				printf("# %s: response not dropped\n", file);
			CHECK_EQ_INT(r.verdict, SANITY_DROP);
		} else if (r.verdict == SANITY_REPLY) {
			if (r.code != code)
				printf("# %s: %d, expected %d\n", file, r.code,
				    code);
			CHECK_EQ_INT(r.code, code);
			CHECK(r.phrase != NULL);
		} else {
			/* Dropped only when no answer can be built. */
			bool missing = m.first[SIP_HDR_VIA] < 0 ||
			    m.first[SIP_HDR_CALL_ID] < 0 ||
			    m.first[SIP_HDR_FROM] < 0 ||
			    m.first[SIP_HDR_TO] < 0 ||
			    m.first[SIP_HDR_CSEQ] < 0 ||
			    strstr(file, "via") != NULL ||
			    strstr(file, "badinv") != NULL;
			if (!missing)
				printf("# %s: dropped (%s)\n", file,
				    r.phrase ? r.phrase : "");
			CHECK(r.verdict == SANITY_DROP && missing);
		}
		free(buf);
	}
	fclose(ex);
	CHECK(files >= 60);
}

#define OPTS(mf, ua) \
	"OPTIONS sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;" \
	"branch=z9hG4bK1\r\nMax-Forwards: " mf "\r\nFrom: <sip:a@b>;tag=1\r\n" \
	"To: <sip:x@example.com>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n" ua \
	"Content-Length: 0\r\n\r\n"

static void
test_max_forwards_scanner_size(void)
{
	static struct sip_msg m;
	const char *t = OPTS("0", "");
	struct sanity_result r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_OK); /* OPTIONS: core may answer */
	const char *inv =
	    "INVITE sip:x@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;"
	    "branch=z9hG4bK1\r\nMax-Forwards: 0\r\nFrom: <sip:a@b>;tag=1\r\n"
	    "To: <sip:x@example.com>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
	    "Content-Length: 0\r\n\r\n";
	r = judge(inv, strlen(inv), &m);
	CHECK_EQ_INT(r.verdict, SANITY_REPLY);
	CHECK_EQ_INT(r.code, 483);
	t = OPTS("70", "User-Agent: friendly-scanner\r\n");
	r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_SCANNER);
	t = OPTS("70", "User-Agent: SIPVicious 0.3\r\n");
	r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_SCANNER);
	t = OPTS("70", "User-Agent: Linphone/5\r\n");
	r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_OK);
	/* Anywhere in the value, any case; a partial name is not one. */
	t = OPTS("70", "User-Agent: x ffriendly-SCANNER\r\n");
	r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_SCANNER);
	t = OPTS("70", "User-Agent: friendly-scanne sipviciou\r\n");
	r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_OK);
	t = OPTS("70", "Server: ssipVICIOUS\r\n");
	r = judge(t, strlen(t), &m);
	CHECK_EQ_INT(r.verdict, SANITY_SCANNER);
	/* Over the configured size: 413. */
	struct sip_err err = {0};
	arena_reset(&ar);
	t = OPTS("70", "");
	int rc = sip_msg_parse(&m, t, (uint32_t)strlen(t), &ar, &err);
	sanity_check(&m, rc, &err, scanners, 2, 100, &r);
	CHECK_EQ_INT(r.verdict, SANITY_REPLY);
	CHECK_EQ_INT(r.code, 413);
	/* Garbage: dropped, never answered. */
	r = judge("\x01\x02garbage", 9, &m);
	CHECK_EQ_INT(r.verdict, SANITY_DROP);
	CHECK_EQ_INT(sanity_code_of(SIP_E_BAD_VERSION), 505);
	CHECK_EQ_INT(sanity_code_of(SIP_E_UNSUPPORTED_URI), 416);
}

int
main(void)
{
	arena_init(&ar, 64 * 1024, 4 * 1024 * 1024);
	TEST_RUN(test_golden_categories);
	TEST_RUN(test_max_forwards_scanner_size);
	arena_free(&ar);
	return tap_done();
}
