/*
 * dispatch_ctl: the ctl channel from portcullisd (--ctl-fd): HELLO when
 * ready, then the commands of ctl_cmds.h that edge answers: stats,
 * log.level, reload, shutdown, status, bans.list, flows.list.
 */
#ifndef PC_SBC_DISPATCH_CTL_H
#define PC_SBC_DISPATCH_CTL_H

#include "edge.h"

/* Takes ownership of fd; sends HELLO (the readiness signal). */
int dispatch_ctl_start(struct edge *e, int fd);
void dispatch_ctl_stop(struct edge *e);

#endif
