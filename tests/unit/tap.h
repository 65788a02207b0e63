/*
 * tap: the unit tests' TAP producer. Each TEST_RUN() is one TAP line
 * ("ok N - name" / "not ok N - name"); CHECK() records failures with the
 * file and line so a failing case says exactly what broke. tap_done()
 * prints the plan and returns the exit status.
 */
#ifndef PC_TAP_H
#define PC_TAP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

void tap_check(bool ok, const char *expr, const char *file, int line);
void tap_run(const char *name, void (*fn)(void));
int tap_done(void);

#define CHECK(cond) tap_check((cond), #cond, __FILE__, __LINE__)
#define CHECK_EQ_INT(a, b) \
	tap_check_int( \
	    (long long)(a), (long long)(b), #a " == " #b, __FILE__, __LINE__)
#define CHECK_STR(a, b) \
	tap_check_str((a), (b), #a " == " #b, __FILE__, __LINE__)
#define TEST_RUN(fn) tap_run(#fn, fn)

void tap_check_int(
    long long a, long long b, const char *expr, const char *file, int line);
void tap_check_str(
    const char *a, const char *b, const char *expr, const char *file, int line);

#endif
