/*
 * log: one line per event on stderr (the journal under systemd), prefixed
 * with the process name and level. log_ratelimited() is for events caused
 * from outside, so a hostile peer cannot flood the log.
 */
#ifndef PC_LOG_H
#define PC_LOG_H

#include <stdint.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_init(const char *procname, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* _warn appends strerror(errno); _warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/*
 * At most `burst` lines per `interval_ms`, then one summary line saying how
 * many were suppressed. The caller keeps one state per kind of event.
 */
struct log_rl {
	uint32_t interval_ms;
	uint32_t burst;
	uint64_t window_start_ms;
	uint32_t in_window;
	uint64_t suppressed;
};
#define LOG_RL_INIT(interval_ms, burst) \
	{ \
		(interval_ms), (burst), 0, 0, 0 \
	}
void log_ratelimited(struct log_rl *rl, enum log_level level, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* The summary of a window is written by the first call after it ends. */

/* Where lines go (default 2, stderr); for tests and daemons that log to a
 * file. */
void log_set_fd(int fd);
/* The clock log_ratelimited() uses (default CLOCK_MONOTONIC, in ms); tests
 * inject their own. */
void log_set_clock(uint64_t (*fn)(void *), void *arg);

#endif
