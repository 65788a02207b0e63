/*
 * notify: the systemd readiness protocol (sd_notify) without libsystemd:
 * one datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ('@' = abstract namespace). Nothing is allocated.
 */
#ifndef PC_NOTIFY_H
#define PC_NOTIFY_H

/* 1 sent, 0 no $NOTIFY_SOCKET (not under systemd), -1 error (errno). */
int notify_send(const char *state);

#endif
