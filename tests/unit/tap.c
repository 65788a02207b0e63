/* TAP output for the unit tests (see tap.h). */
#include "tap.h"

#include <stdio.h>

static int tests_run, tests_failed, case_failures;

void
tap_check(bool ok, const char *expr, const char *file, int line)
{
	if (!ok) {
		case_failures++;
		printf("# FAIL %s:%d: %s\n", file, line, expr);
	}
}

void
tap_check_int(
    long long a, long long b, const char *expr, const char *file, int line)
{
	if (a != b) {
		case_failures++;
		printf("# FAIL %s:%d: %s (%lld != %lld)\n", file, line, expr, a,
		    b);
	}
}

void
tap_check_str(
    const char *a, const char *b, const char *expr, const char *file, int line)
{
	if (a == NULL || b == NULL || strcmp(a, b) != 0) {
		case_failures++;
		printf("# FAIL %s:%d: %s (\"%s\" != \"%s\")\n", file, line,
		    expr, a ? a : "(null)", b ? b : "(null)");
	}
}

void
tap_run(const char *name, void (*fn)(void))
{
	case_failures = 0;
	fn();
	tests_run++;
	if (case_failures) {
		tests_failed++;
		printf("not ok %d - %s\n", tests_run, name);
	} else {
		printf("ok %d - %s\n", tests_run, name);
	}
	fflush(stdout);
}

int
tap_done(void)
{
	printf("1..%d\n", tests_run);
	return tests_failed ? 1 : 0;
}
