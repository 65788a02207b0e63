#include "config.h"

/*
 * portcullisd: loads and validates the configuration, prepares the
 * runtime and state directories, starts edge, core and relay, serves the
 * management socket, and stops everything in order.
 *
 * Privileges (DESIGN §10): portcullisd stays root. It must be able to
 * start a crashed child again, and each child needs root to bind port 5060
 * (edge) or to keep CAP_NET_ADMIN (relay) before it drops to the
 * configured user itself. What portcullisd exposes is small: the
 * management socket (local, SO_PEERCRED-checked) and, if configured, a
 * loopback /metrics listener; it never parses SIP.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "conf.h"
#include "ev.h"
#include "log.h"
#include "mgmt_sock.h"
#include "notify.h"
#include "pcconf.h"
#include "prom.h"
#include "supervisor.h"

struct daemon {
	struct ev_loop *loop;
	struct cmd_ctx ctx;
	struct sup *sup;
	struct mgmt_sock *ms;
	struct prom_http *prom;
	int ready_fd; /* pipe to the waiting parent (daemon mode) */
	char *bins[SUP_NCHILD];
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: portcullisd [-f] [-c FILE]    run the appliance\n"
	    "       portcullisd -n [-c FILE]      check a configuration\n"
	    "       portcullisd --config-doc [--roff]\n"
	    "                                     print the configuration "
	    "reference\n"
	    "\n"
	    "  -c, --config FILE  configuration (default %s;\n"
	    "                     built-in defaults when it does not exist)\n"
	    "  -f, --foreground   stay in the foreground (systemd)\n"
	    "  -n, --check        validate the configuration and exit\n"
	    "  -V, --version      print the version\n",
	    PC_DEFAULT_CONFIG);
}

/* mkdir -p with the last component getting mode. */
static int
make_dir(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* The children's programs: $PORTCULLIS_LIBEXEC, then the build tree next
 * to our own executable (so an uninstalled build never runs an older
 * installed child), then the installed pkglibexecdir. */
static char *
find_child(const char *bin, const char *subdir)
{
	char path[PATH_MAX];
	const char *env = getenv("PORTCULLIS_LIBEXEC");
	if (env != NULL && *env != '\0') {
		snprintf(path, sizeof(path), "%s/%s", env, bin);
		return strdup(path);
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			int len = snprintf(path, sizeof(path), "%s/../%s/%s",
			    self, subdir, bin);
			if (len > 0 && (size_t)len < sizeof(path) &&
			    access(path, X_OK) == 0) {
				char real[PATH_MAX];
				if (realpath(path, real) != NULL)
					return strdup(real);
			}
		}
	}
	snprintf(path, sizeof(path), "%s/portcullis/%s", PC_LIBEXECDIR, bin);
	return strdup(path);
}

static void
on_sup_event(void *arg, bool all_ready, bool all_stopped)
{
	struct daemon *d = arg;
	if (all_ready) {
		log_info("all processes running");
		notify_send("READY=1\nSTATUS=edge, core and relay running");
		if (d->ready_fd >= 0) {
			ssize_t w = write(d->ready_fd, "R", 1);
			(void)w;
			close(d->ready_fd);
			d->ready_fd = -1;
		}
	}
	if (all_stopped) {
		log_info("all processes stopped");
		ev_stop(d->loop);
	}
}

static void
on_term(struct ev_loop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	if (sup_is_stopping(d->sup)) {
		log_info("%s again: still stopping", strsignal(signo));
		return;
	}
	log_info("%s: shutting down", strsignal(signo));
	notify_send("STOPPING=1");
	sup_shutdown(d->sup);
}

static void
reload_logged(void *arg, char *line)
{
	if (line != NULL)
		line[strcspn(line, "\n")] = '\0';
	log_info("reload: %s", line != NULL ? line : "(no answer)");
	notify_send("READY=1");
	free(line);
}

static void
on_hup(struct ev_loop *loop, int signo, void *arg)
{
	struct daemon *d = arg;
	log_info("SIGHUP: reloading the configuration");
	notify_send("RELOADING=1");
	cmd_reload(&d->ctx, reload_logged, d);
}

/* Forks into the background; the parent exits when the children are all
 * running (0) or after a deadline (1), so an init script sees failure. */
static int
daemonize(uint32_t wait_ms)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		fatal("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		close(p[1]);
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		char c;
		if (poll(&pfd, 1, (int)wait_ms) == 1 && read(p[0], &c, 1) == 1)
			_exit(0);
		fprintf(stderr,
		    "portcullisd: not all processes ready after "
		    "%u ms; see the log\n",
		    wait_ms);
		_exit(1);
	}
	close(p[0]);
	setsid();
	int nul = open("/dev/null", O_RDWR);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		if (nul > 2)
			close(nul);
	}
	return p[1];
}

static void
prepare_dirs(const struct pc_conf *c)
{
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	if (geteuid() == 0 && c->user != NULL) {
		struct passwd *pw = getpwnam(c->user);
		if (pw != NULL) {
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		} else {
			log_info("user \"%s\" does not exist; the processes "
			         "keep running as root",
			    c->user);
		}
		struct group *gr = c->group ? getgrnam(c->group) : NULL;
		if (gr != NULL)
			gid = gr->gr_gid;
	}
	if (make_dir(c->runtime_dir, 0755) < 0)
		fatal("cannot create runtime_dir %s", c->runtime_dir);
	/* Root owns the runtime directory; its group is the processes' group
	 * with the setgid bit, so every socket a child creates there while
	 * still root (core.sock, relay.sock, mode 0660) belongs to that group
	 * and stays reachable by the others after they drop privileges.
	 * Others may traverse (mgmt.sock has its own group and mode) but not
	 * list. */
	if (geteuid() == 0 && gid != (gid_t)-1) {
		if (chown(c->runtime_dir, 0, gid) < 0 ||
		    chmod(c->runtime_dir, 02751) < 0)
			log_warn(
			    "setting owner and mode of %s", c->runtime_dir);
	}
	if (make_dir(c->state_dir, 0750) < 0)
		fatal("cannot create state_dir %s", c->state_dir);
	/* core writes the database after dropping privileges. */
	if (uid != (uid_t)-1 && chown(c->state_dir, uid, gid) < 0)
		log_warn("chown %s", c->state_dir);
}

static gid_t
mgmt_gid(const struct pc_conf *c)
{
	const char *g =
	    c->mgmt.management.group ? c->mgmt.management.group : c->group;
	if (g == NULL || *g == '\0')
		return (gid_t)-1;
	struct group *gr = getgrnam(g);
	if (gr == NULL) {
		log_info("group \"%s\" does not exist; mgmt.sock is for root "
		         "(and our own user) only",
		    g);
		return (gid_t)-1;
	}
	return gr->gr_gid;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"check", no_argument, NULL, 'n'},
	    {"config-doc", no_argument, NULL, 'D'},
	    {"roff", no_argument, NULL, 'R'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool fg = false, check = false, doc = false, roff = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:fnVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			fg = true;
			break;
		case 'n':
			check = true;
			break;
		case 'D':
			doc = true;
			break;
		case 'R':
			roff = true;
			break;
		case 'V':
			printf("portcullisd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (doc) {
		conf_write_doc(&pcconf_table, roff, stdout);
		return 0;
	}
	/* Without -c the default file is used when it exists; otherwise the
	 * built-in defaults (as "{}"). */
	if (path == NULL && access(PC_DEFAULT_CONFIG, F_OK) == 0)
		path = PC_DEFAULT_CONFIG;
	char abspath[PATH_MAX];
	if (path != NULL && path[0] != '/' && realpath(path, abspath) != NULL)
		path = abspath;

	struct pc_conf *conf = calloc(1, sizeof(*conf));
	struct conf_errors errs = {0};
	if (conf == NULL)
		return 1;
	if (pcconf_load_errs(path, conf, &errs) < 0) {
		conf_errors_print(&errs, stderr);
		conf_errors_free(&errs);
		if (!check)
			fprintf(stderr,
			    "portcullisd: not started: the "
			    "configuration has errors\n");
		free(conf);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		pcconf_free(conf);
		free(conf);
		return 0;
	}

	int lvl = conf->log_level ? log_level_parse(conf->log_level) : -1;
	log_init("portcullisd", lvl >= 0 ? (enum log_level)lvl : LOG_LVL_INFO);
	signal(SIGPIPE, SIG_IGN);

	struct daemon d = {.ready_fd = -1};
	const struct pc_mgmt_supervisor *sv = &conf->mgmt.supervisor;
	if (!fg)
		d.ready_fd = daemonize(sv->ready_timeout_ms * 2 + 5000);

	gid_t mgid = mgmt_gid(conf);
	prepare_dirs(conf);

	d.loop = ev_loop_new();
	if (d.loop == NULL)
		fatal("event loop");
	d.bins[SUP_EDGE] = find_child("portcullis-edge", "sbc");
	d.bins[SUP_CORE] = find_child("portcullis-core", "core");
	d.bins[SUP_RELAY] = find_child("portcullis-relay", "relay");
	struct sup_config sc = {
	    .config_path = path,
	    .backoff_ms = sv->restart_backoff_ms,
	    .backoff_max_ms = sv->restart_backoff_max_ms,
	    .ready_timeout_ms = sv->ready_timeout_ms,
	    .shutdown_timeout_ms = sv->shutdown_timeout_ms,
	    .request_timeout_ms = conf->mgmt.management.request_timeout_ms,
	};
	for (int i = 0; i < SUP_NCHILD; i++)
		sc.bin[i] = d.bins[i];
	d.sup = sup_new(d.loop, &sc, on_sup_event, &d);
	if (d.sup == NULL)
		fatal("supervisor");
	d.ctx = (struct cmd_ctx){.loop = d.loop,
	    .sup = d.sup,
	    .supcfg = sc,
	    .conf = conf,
	    .config_path = path,
	    .start_ms = ev_now_ms(d.loop)};

	char sockpath[PATH_MAX];
	pcconf_path(conf, "mgmt.sock", sockpath, sizeof(sockpath));
	struct mgmt_sock_cfg mc = {
	    .path = sockpath,
	    .mode = pcconf_mgmt_mode(conf->mgmt.management.socket_mode),
	    .gid = mgid,
	    .max_clients = conf->mgmt.management.max_clients,
	    .max_request_bytes = conf->mgmt.management.max_request_bytes,
	    .idle_timeout_ms = conf->mgmt.management.idle_timeout_s * 1000,
	};
	d.ms = mgmt_sock_new(d.loop, &d.ctx, &mc);
	if (d.ms == NULL)
		fatalx("cannot open the management socket %s", sockpath);
	const char *ml = conf->mgmt.management.metrics_listen;
	if (ml != NULL && *ml != '\0') {
		d.prom = prom_http_new(d.loop, &d.ctx, ml);
		if (d.prom == NULL)
			fatal("cannot listen for /metrics on %s", ml);
		log_info("metrics on http://%s/metrics", ml);
	}

	ev_signal_add(d.loop, SIGTERM, on_term, &d);
	ev_signal_add(d.loop, SIGINT, on_term, &d);
	ev_signal_add(d.loop, SIGHUP, on_hup, &d);
	log_info("portcullisd %s starting (config %s, runtime %s)",
	    PACKAGE_VERSION, path ? path : "built-in defaults",
	    conf->runtime_dir);
	if (sup_start(d.sup) < 0)
		fatal("cannot start the processes");

	int rc = ev_run(d.loop) < 0 ? 1 : 0;

	/* The supervisor first: it answers what is still pending, and the
	 * answers go to clients that must still exist. */
	sup_free(d.sup);
	prom_http_free(d.prom);
	mgmt_sock_free(d.ms);
	ev_loop_free(d.loop);
	pcconf_free(d.ctx.conf);
	free(d.ctx.conf);
	for (int i = 0; i < SUP_NCHILD; i++)
		free(d.bins[i]);
	log_info("stopped");
	return rc;
}
