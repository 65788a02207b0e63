/*
 * core_run: start-up and shutdown of the core state (core.c), called by
 * main.c only.
 */
#ifndef PC_CORE_RUN_H
#define PC_CORE_RUN_H

#include "core.h"

/* c->conf must be loaded. Opens the store, restores registrations, seeds
 * users, builds every module and arms the timers. -1 after logging. */
int core_init(struct core *c, struct ev_loop *loop);
/* Flushes the store and frees everything (also after a failed init). */
void core_fini(struct core *c);

#endif
