/*
 * portcullis-sipcheck: checks SIP message files the way the edge does
 * (parse, validate, and the SDP body when there is one) and says per file
 * "FILE: OK" or "FILE: INVALID: <phrase>". Operators use it on captured
 * messages; the torture tests use it on the golden files.
 * Exit: 0 all valid, 1 some invalid, 2 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp.h"
#include "sip_msg.h"

/* Reads at most max + 1 bytes so an oversized message is reported as
 * such rather than truncated into a valid one. */
static char *
read_all(FILE *f, size_t max, size_t *len)
{
	size_t cap = max + 1;
	char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	size_t n = 0;
	while (n < cap) {
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static const char *
check(const char *buf, size_t len, struct arena *a)
{
	struct sip_msg *m = malloc(sizeof *m);
	if (m == NULL)
		return "out of memory";
	struct sip_err err = {SIP_OK, NULL};
	const char *res = NULL;
	if (len > SIP_MAX_MSG_SIZE) {
		res = "Message too large";
	} else if (sip_msg_parse(m, buf, (uint32_t)len, a, &err) < 0 ||
	    sip_msg_validate(m, &err) < 0) {
		res = err.phrase;
	} else if (m->body.len > 0 &&
	    slice_eq_cstr_nocase(sip_msg_content_type(m), "application/sdp")) {
		struct sdp *s = malloc(sizeof *s);
		if (s == NULL) {
			res = "out of memory";
		} else if (sdp_parse(m->body, s, &err) < 0) {
			res = err.phrase;
		}
		free(s);
	}
	free(m);
	return res;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fprintf(stderr,
		    "usage: portcullis-sipcheck FILE... "
		    "(- reads standard input)\n");
		return 2;
	}
	int rc = 0;
	struct arena a;
	arena_init(&a, 16384, 4u << 20);
	for (int i = 1; i < argc; i++) {
		bool is_stdin = strcmp(argv[i], "-") == 0;
		FILE *f = is_stdin ? stdin : fopen(argv[i], "rb");
		if (f == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 2;
			continue;
		}
		size_t len = 0;
		char *buf = read_all(f, SIP_MAX_MSG_SIZE, &len);
		if (!is_stdin)
			fclose(f);
		if (buf == NULL) {
			fprintf(stderr, "%s: read error\n", argv[i]);
			rc = 2;
			continue;
		}
		arena_reset(&a);
		const char *why = check(buf, len, &a);
		if (why == NULL) {
			printf("%s: OK\n", argv[i]);
		} else {
			printf("%s: INVALID: %s\n", argv[i], why);
			if (rc == 0)
				rc = 1;
		}
		free(buf);
	}
	arena_free(&a);
	return rc;
}
