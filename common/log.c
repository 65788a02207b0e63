/*
 * log: the one way a Portcullis process reports events. Each line is
 * written with a single write(2) so that lines from several processes
 * sharing the journal's stderr never interleave, and control characters in
 * what we were given (often text from outside) are escaped so a peer cannot
 * forge log lines.
 */
#include "config.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 2048

static char log_proc[32] = "portcullis";
static enum log_level log_cur = LOG_LVL_INFO;
static int log_fd = 2;
static uint64_t (*log_clock)(void *);
static void *log_clock_arg;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void
log_init(const char *procname, enum log_level level)
{
	if (procname != NULL) {
		const char *slash = strrchr(procname, '/');
		snprintf(log_proc, sizeof log_proc, "%s",
		    slash ? slash + 1 : procname);
	}
	log_set_level(level);
}

void
log_set_level(enum log_level level)
{
	if (level > LOG_LVL_DEBUG)
		level = LOG_LVL_DEBUG;
	log_cur = level;
}

enum log_level
log_get_level(void)
{
	return log_cur;
}

int
log_level_parse(const char *name)
{
	if (name == NULL)
		return -1;
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
log_level_name(enum log_level level)
{
	if (level > LOG_LVL_DEBUG)
		return "unknown";
	return level_names[level];
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

void
log_set_clock(uint64_t (*fn)(void *), void *arg)
{
	log_clock = fn;
	log_clock_arg = arg;
}

static uint64_t
log_now_ms(void)
{
	if (log_clock != NULL)
		return log_clock(log_clock_arg);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Copies src into dst escaping control bytes as \xNN; returns the bytes
 * written, *used the bytes of src consumed. */
static size_t
escape_into(char *dst, size_t cap, const char *src, size_t n, size_t *used)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c != 0x7f) {
			if (o + 1 > cap)
				break;
			dst[o++] = (char)c;
		} else if (c == '\t') {
			if (o + 1 > cap)
				break;
			dst[o++] = ' ';
		} else {
			if (o + 4 > cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	*used = i;
	return o;
}

static void log_emit(enum log_level level, const char *suffix, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));
static void
log_emit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	char line[LOG_LINE_MAX + 64];
	int saved = errno;

	int m = vsnprintf(msg, sizeof msg, fmt, ap);
	if (m < 0)
		m = 0;
	size_t mlen = (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;

	int h = snprintf(line, sizeof line, "%s[%ld]: %s: ", log_proc,
	    (long)getpid(), log_level_name(level));
	size_t o = (size_t)h;
	/* Room for the suffix, a truncation mark and the newline. */
	size_t slen = suffix ? strlen(suffix) : 0;
	size_t room = sizeof line - o - 8;
	if (slen > room / 2)
		slen = room / 2;
	size_t used;
	o += escape_into(line + o, room - slen, msg, mlen, &used);
	if (used < mlen || (size_t)m >= sizeof msg) {
		memcpy(line + o, "...", 3);
		o += 3;
	}
	if (slen) {
		o += escape_into(line + o, slen, suffix, slen, &used);
	}
	line[o++] = '\n';

	const char *p = line;
	while (o > 0) {
		ssize_t w = write(log_fd, p, o);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		o -= (size_t)w;
	}
	errno = saved;
}

static void log_emitf(enum log_level level, const char *suffix, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
static void
log_emitf(enum log_level level, const char *suffix, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, suffix, fmt, ap);
	va_end(ap);
}

#define LOG_BODY(level, suffix) \
	do { \
		if ((level) > log_cur) \
			return; \
		va_list ap; \
		va_start(ap, fmt); \
		log_emit((level), (suffix), fmt, ap); \
		va_end(ap); \
	} while (0)

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, NULL);
}

void
log_warn(const char *fmt, ...)
{
	char suffix[160];
	snprintf(suffix, sizeof suffix, ": %s", strerror(errno));
	LOG_BODY(LOG_LVL_WARN, suffix);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_ERROR, NULL);
}

void
fatal(const char *fmt, ...)
{
	char suffix[160];
	snprintf(suffix, sizeof suffix, ": %s", strerror(errno));
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, suffix, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_emit(LOG_LVL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_ratelimited(struct log_rl *rl, enum log_level level, const char *fmt, ...)
{
	if (level > log_cur)
		return;
	uint64_t now = log_now_ms();
	if (rl->window_start_ms == 0 && rl->in_window == 0 &&
	    rl->suppressed == 0)
		rl->window_start_ms = now;
	if (now - rl->window_start_ms >= rl->interval_ms ||
	    now < rl->window_start_ms) {
		if (rl->suppressed > 0)
			log_emitf(level, NULL,
			    "%llu similar messages suppressed",
			    (unsigned long long)rl->suppressed);
		rl->window_start_ms = now;
		rl->in_window = 0;
		rl->suppressed = 0;
	}
	if (rl->in_window >= rl->burst) {
		rl->suppressed++;
		return;
	}
	rl->in_window++;
	va_list ap;
	va_start(ap, fmt);
	log_emit(level, NULL, fmt, ap);
	va_end(ap);
}
