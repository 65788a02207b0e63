/*
 * RFC 4475 / RFC 5118 torture categories: every message file under
 * tests/golden/sip/{valid,invalid}/ is parsed and validated (with its SDP
 * body when it has one) and the outcome compared with tests/golden/sip/
 * EXPECTED ("OK" or "<status> <phrase>"). The same files are then run
 * through portcullis-sipcheck when it has been built.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sdp.h"
#include "sip_msg.h"
#include "tap.h"

static char golden[1024];

/* snprintf that may truncate (paths in a test tree are short). */
static void fmt(char *dst, size_t cap, const char *f, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *dst, size_t cap, const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	vsnprintf(dst, cap, f, ap);
	va_end(ap);
}

static char sipcheck[1024];

struct expect {
	char file[256];
	bool ok;
	int status;
	char phrase[128];
};

static struct expect exp_tab[256];
static int nexp;

static void
find_dirs(void)
{
	const char *top = getenv("top_srcdir");
	const char *btop = getenv("top_builddir");
	if (top == NULL) {
		/* Run by hand from the build directory: __FILE__ is relative
		 * to it in a VPATH build. */
		static char buf[1024];
		fmt(buf, sizeof buf, "%s", __FILE__);
		char *p = strstr(buf, "tests/unit/test_sip_torture.c");
		if (p != NULL)
			*p = '\0';
		top = buf[0] ? buf : ".";
	}
	fmt(golden, sizeof golden, "%s/tests/golden/sip", top);
	fmt(sipcheck, sizeof sipcheck, "%s/common/portcullis-sipcheck",
	    btop != NULL ? btop : ".");
}

static void
load_expected(void)
{
	char path[1200];
	fmt(path, sizeof path, "%s/EXPECTED", golden);
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof line, f) != NULL && nexp < 256) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		struct expect *e = &exp_tab[nexp];
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		fmt(e->file, sizeof e->file, "%s", line);
		const char *rest = sp + 1;
		if (strcmp(rest, "OK") == 0) {
			e->ok = true;
		} else {
			e->status = atoi(rest);
			const char *ph = strchr(rest, ' ');
			fmt(e->phrase, sizeof e->phrase, "%s",
			    ph != NULL ? ph + 1 : "");
		}
		nexp++;
	}
	fclose(f);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(SIP_MAX_MSG_SIZE + 1);
	*len = fread(buf, 1, SIP_MAX_MSG_SIZE + 1, f);
	fclose(f);
	/* An exact-size copy, so a read past the end is caught by ASan. */
	char *exact = malloc(*len ? *len : 1);
	memcpy(exact, buf, *len);
	free(buf);
	return exact;
}

/* What the edge would conclude about the message. */
static void
judge(const char *buf, size_t len, struct sip_err *err)
{
	static struct sip_msg m;
	static struct sdp s;
	struct arena a;
	arena_init(&a, 4096, 1 << 20);
	if (sip_msg_parse(&m, buf, (uint32_t)len, &a, err) == 0 &&
	    sip_msg_validate(&m, err) == 0 && m.body.len > 0 &&
	    slice_eq_cstr_nocase(sip_msg_content_type(&m), "application/sdp"))
		sdp_parse(m.body, &s, err);
	/* Accessors the proxy uses must agree with validate on valid
	 * messages, and never crash on invalid ones. */
	if (m.nhdrs > 0) {
		struct sip_err e2;
		sip_msg_vias(&m, NULL, &e2);
		sip_msg_contacts(&m, NULL, &e2);
		sip_msg_auths(&m, SIP_HDR_AUTHORIZATION, NULL, &e2);
		sip_msg_tokens(&m, SIP_HDR_SUPPORTED, NULL, &e2);
		sip_msg_paths(&m, NULL, &e2);
	}
	arena_free(&a);
}

static void
test_golden(void)
{
	int nvalid = 0, ninvalid = 0;
	for (int i = 0; i < nexp; i++) {
		const struct expect *e = &exp_tab[i];
		char path[1400];
		fmt(path, sizeof path, "%s/%s", golden, e->file);
		size_t len;
		char *buf = slurp(path, &len);
		CHECK(buf != NULL);
		if (buf == NULL)
			continue;
		struct sip_err err = {SIP_OK, NULL};
		judge(buf, len, &err);
		bool good;
		if (e->ok) {
			good = err.code == SIP_OK;
			nvalid++;
		} else {
			good = err.code != SIP_OK &&
			    sip_err_status(err.code) == e->status &&
			    strcmp(err.phrase, e->phrase) == 0;
			ninvalid++;
		}
		if (!good)
			printf("# %s: got %d %s\n", e->file,
			    err.code == SIP_OK ? 200 : sip_err_status(err.code),
			    err.phrase ? err.phrase : "OK");
		tap_check(good, e->file, __FILE__, __LINE__);
		free(buf);
	}
	CHECK(nvalid >= 20);
	CHECK(ninvalid >= 20);
}

/* Every valid file, truncated at each length, must not crash the parser
 * or read past the end (ASan). */
static void
test_truncations(void)
{
	for (int i = 0; i < nexp; i++) {
		char path[1400];
		fmt(path, sizeof path, "%s/%s", golden, exp_tab[i].file);
		size_t len;
		char *buf = slurp(path, &len);
		if (buf == NULL)
			continue;
		for (size_t n = 0; n < len && n < 1500; n++) {
			char *cut = malloc(n ? n : 1);
			memcpy(cut, buf, n);
			struct sip_err err;
			judge(cut, n, &err);
			uint32_t skip;
			sip_msg_frame(cut, (uint32_t)n, &skip, &err);
			free(cut);
		}
		free(buf);
	}
	CHECK(true);
}

static void
test_sipcheck(void)
{
	struct stat st;
	if (stat(sipcheck, &st) != 0) {
		printf("# %s not built; skipped\n", sipcheck);
		return;
	}
	for (int i = 0; i < nexp; i++) {
		const struct expect *e = &exp_tab[i];
		char cmd[3000];
		fmt(cmd, sizeof cmd, "'%s' '%s/%s'", sipcheck, golden, e->file);
		FILE *p = popen(cmd, "r");
		CHECK(p != NULL);
		if (p == NULL)
			continue;
		char out[512] = "";
		if (fgets(out, sizeof out, p) == NULL)
			out[0] = '\0';
		int rc = pclose(p);
		out[strcspn(out, "\n")] = '\0';
		char want[700];
		if (e->ok)
			fmt(want, sizeof want, "%s/%s: OK", golden, e->file);
		else
			fmt(want, sizeof want, "%s/%s: INVALID: %s", golden,
			    e->file, e->phrase);
		bool good = strcmp(out, want) == 0 &&
		    WEXITSTATUS(rc) == (e->ok ? 0 : 1);
		if (!good)
			printf(
			    "# sipcheck: '%s' rc=%d\n", out, WEXITSTATUS(rc));
		tap_check(good, e->file, __FILE__, __LINE__);
	}
	char cmd[1200];
	fmt(cmd, sizeof cmd, "'%s' >/dev/null 2>&1", sipcheck);
	CHECK_EQ_INT(WEXITSTATUS(system(cmd)), 2);
	fmt(cmd, sizeof cmd, "'%s' /nonexistent/x >/dev/null 2>&1", sipcheck);
	CHECK_EQ_INT(WEXITSTATUS(system(cmd)), 2);
	fmt(cmd, sizeof cmd,
	    "'%s' - < '%s/valid/zeromf-max-forwards-zero.sip' | "
	    "grep -qx -- '-: OK'",
	    sipcheck, golden);
	CHECK_EQ_INT(WEXITSTATUS(system(cmd)), 0);
}

int
main(void)
{
	find_dirs();
	load_expected();
	TEST_RUN(test_golden);
	TEST_RUN(test_truncations);
	TEST_RUN(test_sipcheck);
	return tap_done();
}
