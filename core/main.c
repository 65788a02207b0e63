/*
 * portcullis-core: the registrar / proxy. Reads the configuration,
 * restores its state, listens on core.sock for edges, drops privileges,
 * says HELLO on the ctl channel (readiness) and runs the loop. It opens no
 * network socket.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "core_run.h"
#include "hash.h"
#include "log.h"
#include "priv.h"

static struct core core;

static void
on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct core *c = arg;

	if (signo == SIGHUP) {
		char applied[256], restart[256];
		if (core_reload(c, c->conf_path, applied, sizeof(applied),
		        restart, sizeof(restart)) < 0)
			log_warnx("reload failed; configuration unchanged");
		return;
	}
	log_info("signal %d: flushing and stopping", signo);
	c->is_stopping = true;
	ev_stop(loop);
}

/*
 * Before dropping root: the files core made (runtime and state
 * directories, core.sock, the database and nonce key) go to the service
 * account, so the edge (same account) can connect and core can still
 * write its state.
 */
static void
hand_over(struct core *c, const char *sock)
{
	static const char *const state_files[] = {"", "/portcullis.db",
	    "/portcullis.db-wal", "/portcullis.db-shm", "/nonce.key"};
	char paths[8][4096];
	const char *p[8];
	size_t n = 0;

	p[n++] = c->conf.runtime_dir;
	p[n++] = sock;
	snprintf(
	    paths[n], sizeof paths[n], "%s/nonce.epoch", c->conf.runtime_dir);
	p[n] = paths[n];
	n++;
	for (size_t i = 0; i < sizeof state_files / sizeof state_files[0];
	     i++) {
		snprintf(paths[n], sizeof paths[n], "%s%s", c->conf.state_dir,
		    state_files[i]);
		p[n] = paths[n];
		n++;
	}
	priv_hand_over(c->conf.user, c->conf.group, p, n);
}

static void
usage(void)
{
	fprintf(stderr, "usage: portcullis-core [-f] [-c FILE] [--ctl-fd N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ctl-fd", required_argument, 0, 'C'},
	    {"config", required_argument, 0, 'c'}, {0, 0, 0, 0}};
	int ctl_fd = -1, ch;
	char sock[4096], err[256];

	while ((ch = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		if (ch == 'c')
			core.conf_path = optarg;
		else if (ch == 'C')
			ctl_fd = atoi(optarg);
		else if (ch != 'f')
			usage();
	}
	log_init("portcullis-core", LOG_LVL_INFO);
	hash_seed_random();
	signal(SIGPIPE, SIG_IGN);
	if (pcconf_load(core.conf_path, &core.conf) < 0)
		return 1;
	log_set_level((enum log_level)log_level_parse(core.conf.log_level));
	struct ev_loop *loop = ev_loop_new();
	if (loop == NULL || core_init(&core, loop) < 0)
		goto fail;
	if (pcconf_path(&core.conf, "core.sock", sock, sizeof(sock)) == NULL ||
	    edge_listen(&core, sock) < 0) {
		log_warn("core.sock %s", sock);
		goto fail;
	}
	if (geteuid() == 0 && getpwnam(core.conf.user) != NULL)
		hand_over(&core, sock);
	if (geteuid() == 0 && getpwnam(core.conf.user) == NULL) {
		log_warnx(
		    "user %s does not exist: running as root", core.conf.user);
	} else if (priv_drop(core.conf.user, core.conf.group, NULL, 0, err,
	               sizeof(err)) < 0) {
		log_error("dropping privileges: %s", err);
		goto fail;
	}
	ev_signal_add(loop, SIGTERM, on_signal, &core);
	ev_signal_add(loop, SIGINT, on_signal, &core);
	ev_signal_add(loop, SIGHUP, on_signal, &core);
	if (ctl_fd >= 0 && ctl_attach(&core, ctl_fd) < 0) {
		log_warn("ctl fd %d", ctl_fd);
		goto fail;
	}
	log_info("ready: %s", sock);
	if (ev_sched_batch() < 0)
		log_warn("SCHED_BATCH");
	ev_run(loop);
	core_fini(&core);
	ev_loop_free(loop);
	return 0;
fail:
	core_fini(&core);
	if (loop != NULL)
		ev_loop_free(loop);
	return 1;
}
