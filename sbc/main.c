/*
 * portcullis-edge: the process facing the outside SIP network (DESIGN §1).
 * Reads the configuration, binds every listener, drops privileges, then
 * runs the event loop until told to stop.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "dispatch_core.h"
#include "dispatch_ctl.h"
#include "dispatch_relay.h"
#include "edge.h"
#include "listen.h"
#include "log.h"
#include "priv.h"
#include "stream.h"
#include "udp.h"

static struct edge edge;

static void
usage(void)
{
	fprintf(stderr, "usage: portcullis-edge [-c FILE] [-f] [--ctl-fd N]\n");
	exit(2);
}

static void
on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct edge *e = arg;
	if (signo == SIGHUP) {
		char applied[160], restart[160];
		if (edge_reload(e, e->conf_path, applied, sizeof applied,
		        restart, sizeof restart) != 0)
			log_warnx("reload failed; configuration unchanged");
		return;
	}
	log_info("signal %d: stopping", signo);
	e->stopping = true;
	ev_stop(loop);
}

static void
before_sleep(struct ev_loop *loop, void *arg)
{
	(void)loop;
	udp_flush(arg);
}

static void
tick(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	edge_housekeeping(arg);
	ev_timer_start(loop, t, 1000);
}

static void
drop_privileges(struct edge *e)
{
	char err[256];
	if (geteuid() != 0)
		return;
	const char *user = e->conf.user ? e->conf.user : "portcullis";
	if (getpwnam(user) == NULL) {
		log_warnx("user %s does not exist: keeping root (development "
		          "run)",
		    user);
		return;
	}
	/* The token key made at first start must stay readable for
	 * reloads after the drop. */
	char key[4096];
	snprintf(key, sizeof key, "%s/topology.key",
	    e->conf.state_dir ? e->conf.state_dir : "");
	const char *paths[] = {
	    e->conf.edge.topology.key_file == NULL ? key : NULL};
	priv_hand_over(user, e->conf.group, paths, 1);
	if (priv_drop(user, e->conf.group, NULL, 0, err, sizeof err) != 0)
		fatalx("dropping privileges: %s", err);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"ctl-fd", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	const char *conf_path = NULL;
	int ctl_fd = -1, ch;
	while ((ch = getopt_long(argc, argv, "c:f", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			break; /* always in the foreground */
		case 'C':
			ctl_fd = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	struct edge *e = &edge;
	log_init("portcullis-edge", LOG_LVL_INFO);
	e->conf_path = conf_path;
	if (pcconf_load(conf_path, &e->conf) != 0)
		return 1;
	int lvl = e->conf.log_level ? log_level_parse(e->conf.log_level) : -1;
	if (lvl >= 0)
		log_set_level((enum log_level)lvl);
	signal(SIGPIPE, SIG_IGN);
	hash_seed_random();
	OPENSSL_init_ssl(0, NULL);

	e->loop = ev_loop_new();
	if (e->loop == NULL)
		fatalx("event loop");
	if (edge_init(e) != 0 || listen_open_all(e) != 0)
		return 1;
	drop_privileges(e);
	if (stream_init(e) != 0 || listen_start(e) != 0)
		fatalx("cannot start the listeners");
	e->start_ms = ev_now_ms(e->loop);

	ev_signal_add(e->loop, SIGTERM, on_signal, e);
	ev_signal_add(e->loop, SIGINT, on_signal, e);
	ev_signal_add(e->loop, SIGHUP, on_signal, e);
	ev_set_before_sleep(e->loop, before_sleep, e);
	ev_timer_init(&e->housekeeping, tick, e);
	ev_timer_start(e->loop, &e->housekeeping, 1000);
	dispatch_core_start(e);
	dispatch_relay_start(e);
	if (ctl_fd >= 0 && dispatch_ctl_start(e, ctl_fd) != 0)
		fatalx("ctl channel");
	log_info("ready: %zu listeners", e->nlis);

	if (ev_sched_batch() < 0)
		log_warn("SCHED_BATCH");
	int rc = ev_run(e->loop);

	e->stopping = true;
	udp_flush(e);
	dispatch_ctl_stop(e);
	dispatch_relay_stop(e);
	dispatch_core_stop(e);
	stream_close_all(e);
	listen_close_all(e);
	ev_timer_stop(e->loop, &e->housekeeping);
	edge_free(e);
	udp_free();
	ev_loop_free(e->loop);
	pcconf_free(&e->conf);
	return rc == 0 ? 0 : 1;
}
