/* Unit tests of log: levels, escaping, truncation and rate limiting. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tap.h"

static int pipefd[2];
static char out[65536];

static const char *
drain(void)
{
	ssize_t n = read(pipefd[0], out, sizeof out - 1);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static int
count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void
test_levels(void)
{
	CHECK_EQ_INT(log_level_parse("error"), LOG_LVL_ERROR);
	CHECK_EQ_INT(log_level_parse("WARN"), LOG_LVL_WARN);
	CHECK_EQ_INT(log_level_parse("info"), LOG_LVL_INFO);
	CHECK_EQ_INT(log_level_parse("debug"), LOG_LVL_DEBUG);
	CHECK_EQ_INT(log_level_parse("verbose"), -1);
	CHECK_EQ_INT(log_level_parse(NULL), -1);
	CHECK_STR(log_level_name(LOG_LVL_WARN), "warn");

	log_set_level(LOG_LVL_INFO);
	log_debug("hidden %d", 1);
	log_info("shown %d", 2);
	const char *s = drain();
	CHECK(strstr(s, "hidden") == NULL);
	char want[64];
	snprintf(
	    want, sizeof want, "testlog[%ld]: info: shown 2\n", (long)getpid());
	CHECK_STR(s, want);

	log_set_level(LOG_LVL_DEBUG);
	CHECK_EQ_INT(log_get_level(), LOG_LVL_DEBUG);
	log_debug("now %s", "visible");
	CHECK(strstr(drain(), "debug: now visible") != NULL);
	log_set_level(LOG_LVL_ERROR);
	log_warnx("quiet");
	log_error("loud");
	s = drain();
	CHECK(strstr(s, "quiet") == NULL);
	CHECK(strstr(s, "error: loud") != NULL);
	log_set_level(LOG_LVL_INFO);
}

static void
test_warn_errno(void)
{
	errno = ENOENT;
	log_warn("open %s", "/nonexistent");
	const char *s = drain();
	CHECK(
	    strstr(s, "warn: open /nonexistent: No such file or directory\n") !=
	    NULL);
	CHECK_EQ_INT(errno, ENOENT); /* logging keeps errno */
	log_warnx("plain");
	CHECK(strstr(drain(), "warn: plain\n") != NULL);
}

static void
test_escaping(void)
{
	/* A peer's text must not be able to start a new log line. */
	log_info("user agent: %s", "evil\r\nportcullis: info: forged\x7f");
	const char *s = drain();
	CHECK_EQ_INT(count_lines(s), 1);
	CHECK(
	    strstr(s, "evil\\x0d\\x0aportcullis: info: forged\\x7f\n") != NULL);
}

static void
test_truncation(void)
{
	char *big = malloc(10000);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	log_info("%s", big);
	const char *s = drain();
	CHECK_EQ_INT(count_lines(s), 1);
	CHECK(strlen(s) < 2200);
	CHECK(strstr(s, "aaa...\n") != NULL);
	/* Escaping can overflow the line even when the text fit. */
	memset(big, 1, 1000);
	big[1000] = '\0';
	log_info("%s", big);
	s = drain();
	CHECK_EQ_INT(count_lines(s), 1);
	CHECK(strstr(s, "\\x01...\n") != NULL);
	free(big);
}

static uint64_t fake_now;
static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void
test_ratelimit(void)
{
	struct log_rl rl = LOG_RL_INIT(1000, 3);
	log_set_clock(fake_clock, NULL);
	fake_now = 5000;
	for (int i = 0; i < 1000; i++)
		log_ratelimited(&rl, LOG_LVL_WARN, "bad packet %d", i);
	const char *s = drain();
	CHECK_EQ_INT(count_lines(s), 3);
	CHECK(strstr(s, "bad packet 2\n") != NULL);
	CHECK(strstr(s, "bad packet 3\n") == NULL);

	fake_now = 5999; /* same window */
	log_ratelimited(&rl, LOG_LVL_WARN, "still %d", 1);
	CHECK_EQ_INT(count_lines(drain()), 0);

	fake_now = 6000; /* next window: summary then the line */
	log_ratelimited(&rl, LOG_LVL_WARN, "again %d", 1);
	s = drain();
	CHECK_EQ_INT(count_lines(s), 2);
	CHECK(strstr(s, "998 similar messages suppressed\n") != NULL);
	CHECK(strstr(s, "again 1\n") != NULL);

	/* A flood over a long time stays within burst per interval. */
	int total = 0;
	for (int i = 0; i < 100000; i++) {
		fake_now = 10000 + (uint64_t)i; /* 100 s, 1000 per second */
		log_ratelimited(&rl, LOG_LVL_WARN, "flood");
		if (i % 500 == 0)
			total += count_lines(drain());
	}
	total += count_lines(drain());
	/* 3 lines + 1 summary per 1 s window, 100 windows. */
	CHECK(total <= 4 * 101);
	CHECK(total >= 3 * 100);

	/* Below the level: not even counted. */
	struct log_rl rl2 = LOG_RL_INIT(1000, 1);
	log_ratelimited(&rl2, LOG_LVL_DEBUG, "debug");
	CHECK_EQ_INT(rl2.in_window, 0);
	log_set_clock(NULL, NULL);
}

int
main(void)
{
	if (pipe2(pipefd, O_NONBLOCK) < 0)
		return 1;
	fcntl(pipefd[1], F_SETPIPE_SZ, 1 << 20);
	log_init("/usr/sbin/testlog", LOG_LVL_INFO);
	log_set_fd(pipefd[1]);
	TEST_RUN(test_levels);
	TEST_RUN(test_warn_errno);
	TEST_RUN(test_escaping);
	TEST_RUN(test_truncation);
	TEST_RUN(test_ratelimit);
	return tap_done();
}
