/*
 * dispatch_ctl: the ctl channel from portcullisd (--ctl-fd). Sending our
 * HELLO on it is the readiness signal, so it is opened last, after every
 * socket is bound. Commands: common/ctl_cmds.h (relay part).
 */
#ifndef PC_RELAY_DISPATCH_CTL_H
#define PC_RELAY_DISPATCH_CTL_H

#include <stdint.h>

struct relay_app;

/* Takes ownership of fd; 0 or -1. */
int dispatch_ctl_open(struct relay_app *a, int fd);

/* The "stats" and "media.list" rows, also for tests: rows built into buf
 * (cap bytes) from call index *pos on; returns bytes used and advances
 * *pos; *is_more when calls remain. */
size_t dispatch_ctl_media_rows(
    struct relay_app *a, void *buf, size_t cap, uint64_t *pos, int *is_more);

#endif
