/*
 * portcullis-relay: reads the configuration, sets up kernel forwarding
 * (or says why it cannot), takes over the streams a previous relay left,
 * binds relay.sock, drops privileges, signals readiness on the ctl channel
 * and runs the loop. See DESIGN §4 and integration-contract.md.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "ban.h"
#include "capture.h"
#include "ct.h"
#include "dispatch_ctl.h"
#include "dispatch_edge.h"
#include "fwd_user.h"
#include "hash.h"
#include "log.h"
#include "nft.h"
#include "priv.h"
#include "state.h"
#include "timeout.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: portcullis-relay [-f] [-c FILE] [--ctl-fd N]\n"
	    "       portcullis-relay --teardown [-c FILE]   remove relay's "
	    "nftables table\n");
	exit(2);
}

static int
read_sysctl(const char *path)
{
	char b[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	return n > 0 ? atoi(b) : -1;
}

static void
write_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, v, strlen(v)) < 0)
			log_warn("writing %s", path);
		close(fd);
	}
}

/* Sets up the kernel path; false with the reason in why. */
static bool
kernel_setup(struct relay_app *a, char *why, size_t cap)
{
	const struct pc_media_conf *m = &a->conf.relay.media;
	uint16_t sip[64];
	struct nft_layout l = {m->ports[0], m->ports[1], sip, 0, 0, {0}};
	const char *fwd = a->r.addr.family == 6
	    ? "/proc/sys/net/ipv6/conf/all/forwarding"
	    : "/proc/sys/net/ipv4/ip_forward";
	bool is_kept = false;
	int n;

	for (size_t i = 0; i < a->conf.nlisten && l.nsip_ports < 64; i++)
		sip[l.nsip_ports++] = (uint16_t)a->conf.listen[i].port;
	/* Every forward leaves from the media address (make_fwd()): the
	 * kernel derives it and the port for streams whose legs sit at
	 * p and p ^ 2. */
	l.snat_family = a->r.addr.family;
	memcpy(l.snat_addr, a->r.addr.addr, sizeof(l.snat_addr));
	if (read_sysctl(fwd) != 1) {
		if (m->kernel != PC_KERNEL_ON) {
			snprintf(why, cap,
			    "IP forwarding is off (%s); set media.kernel "
			    "\"on\" to let relay turn it on",
			    fwd);
			return false;
		}
		write_sysctl(fwd, "1");
		log_info("relay: turned on %s for kernel forwarding", fwd);
	}
	a->r.nft = nft_open(why, cap);
	if (a->r.nft == NULL)
		return false;
	if (nft_setup(a->r.nft, &l, &is_kept, why, cap) < 0) {
		nft_close(a->r.nft);
		a->r.nft = NULL;
		return false;
	}
	a->r.ct = ct_open(why, cap);
	if (a->r.ct == NULL) {
		nft_close(a->r.nft);
		a->r.nft = NULL;
		return false;
	}
	a->r.has_acct = ct_enable_acct() == 0;
	if (!a->r.has_acct)
		log_warn(
		    "relay: nf_conntrack_acct is off and cannot be turned "
		    "on: no media timeouts or counters for kernel streams");
	a->r.is_kernel = true;
	n = state_recover(a->state, &a->r, is_kept);
	log_info("relay: table inet %s %s; %d calls taken over", NFT_TABLE_NAME,
	    is_kept ? "found and kept" : "created", n);
	return true;
}

/* Raises the fd limit (is_log false, before streams are restored) or
 * logs the capacity the limits allow (is_log true, once the mode is
 * known). */
static void
capacity(struct relay_app *a, bool is_log)
{
	struct rlimit rl = {0, 0};
	uint64_t by_ports = a->r.pool.npairs / 2;
	uint64_t by_fd = 0, by_ct = UINT64_MAX, cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		/* Enough for every port of the range, if we may (root with
		 * CAP_SYS_RESOURCE, up to fs.nr_open); else the hard limit. */
		rlim_t want = (rlim_t)a->r.pool.npairs * 2 + 128;

		if (want > rl.rlim_max) {
			struct rlimit up = {want, want};
			int nr_open = read_sysctl("/proc/sys/fs/nr_open");

			if (nr_open > 0 && want > (rlim_t)nr_open)
				up.rlim_cur = up.rlim_max = (rlim_t)nr_open;
			if (up.rlim_max > rl.rlim_max &&
			    setrlimit(RLIMIT_NOFILE, &up) == 0)
				getrlimit(RLIMIT_NOFILE, &rl);
		}
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		/* Four sockets per stream, a margin for IPC and captures. */
		by_fd = rl.rlim_cur > 64 ? (rl.rlim_cur - 64) / 4 : 0;
		a->r.sock_budget = rl.rlim_cur > 64
		    ? (uint32_t)(rl.rlim_cur - 64 > UINT32_MAX
		              ? UINT32_MAX
		              : rl.rlim_cur - 64)
		    : 0;
	}
	cap = by_ports < by_fd ? by_ports : by_fd;
	if (a->r.is_kernel) {
		/* A kernel stream's closed pairs give their sockets back
		 * when descriptors run short: only streams still in user
		 * space (before latching, parties behind NAT) need them. */
		cap = by_ports;
		uint64_t ctmax = ct_max_entries();

		/* One entry per component (RTP, RTCP) of a stream, twice
		 * for the moment a re-target replaces it. */
		if (ctmax > 0)
			by_ct = ctmax / 4;
		if (by_ct < cap)
			cap = by_ct;
	}
	a->capacity_streams = cap;
	if (!is_log)
		return;
	/* Idle bound pairs save set-ups their socket()/bind()/close(); a
	 * sixteenth of the descriptors, given back when streams need them. */
	if (!relay_set_idle_max(&a->r,
	        rl.rlim_cur > 64 * 16 ? (uint32_t)((rl.rlim_cur - 64) / 32)
	                              : 0))
		log_warnx("relay: no memory for the idle socket pool");
	if (by_ct != UINT64_MAX)
		log_info("relay: capacity %llu streams (ports allow %llu, file "
		         "descriptors %llu in user space at once, conntrack "
		         "%llu)",
		    (unsigned long long)cap, (unsigned long long)by_ports,
		    (unsigned long long)by_fd, (unsigned long long)by_ct);
	else
		log_info("relay: capacity %llu streams (ports allow %llu, file "
		         "descriptors %llu)",
		    (unsigned long long)cap, (unsigned long long)by_ports,
		    (unsigned long long)by_fd);
}

/*
 * Before dropping root: what relay made (runtime and state directories,
 * relay.sock, the journal, the capture directory) goes to the service
 * account, so the edge (same account) can connect and relay can still
 * write its journal and captures.
 */
static void
hand_over(struct relay_app *a, const char *sock)
{
	char journal[1024];

	if (geteuid() != 0)
		return;
	snprintf(journal, sizeof(journal), "%s/relay-streams.journal",
	    a->conf.state_dir);
	mkdir(a->conf.relay.capture.dir, 0750);
	const char *paths[] = {a->conf.runtime_dir, sock, a->conf.state_dir,
	    journal, a->conf.relay.capture.dir};
	priv_hand_over(a->conf.user, a->conf.group, paths, 5);
}

static void
on_signal(struct ev_loop *loop, int signo, void *arg)
{
	(void)arg;
	log_info(
	    "relay: signal %d; stopping (the kernel keeps forwarding)", signo);
	ev_stop(loop);
}

static void
before_sleep(struct ev_loop *loop, void *arg)
{
	struct relay_app *a = arg;

	(void)loop;
	/* Packets forwarded in user space this turn leave before the
	 * conntrack deletes of relay_flush, or they would make entries
	 * that keep a latched stream out of the kernel. */
	fwd_user_flush();
	relay_flush(&a->r);
	if (a->state != NULL)
		state_flush(a->state, &a->r);
	dispatch_edge_flush(a->edge);
}

int
main(int argc, char **argv)
{
	static struct relay_app a;
	static const struct option opts[] = {{"ctl-fd", 1, NULL, 'C'},
	    {"teardown", 0, NULL, 'T'}, {"help", 0, NULL, 'h'}, {0}};
	char err[256], path[512], why[256] = "";
	struct ipc_addr addr, adv;
	const struct pc_media_conf *m;
	int ctl_fd = -1, ch, lvl;
	bool is_teardown = false;
	static const int caps[] = {CAP_NET_ADMIN, CAP_NET_RAW};

	while ((ch = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			a.conf_path = optarg;
			break;
		case 'f':
			break;
		case 'C':
			ctl_fd = atoi(optarg);
			break;
		case 'T':
			is_teardown = true;
			break;
		default:
			usage();
		}
	}
	log_init("relay", LOG_LVL_INFO);
	if (pcconf_load(a.conf_path, &a.conf) < 0)
		return 1;
	if (a.conf.relay.capture.dir == NULL &&
	    asprintf(
	        &a.conf.relay.capture.dir, "%s/capture", a.conf.state_dir) < 0)
		fatalx("out of memory");
	lvl = log_level_parse(a.conf.log_level ? a.conf.log_level : "info");
	log_set_level(lvl < 0 ? LOG_LVL_INFO : (enum log_level)lvl);
	m = &a.conf.relay.media;
	if (!ipc_addr_parse(&addr, m->address, 0)) {
		log_error("media.address %s is not an address", m->address);
		return 1;
	}
	if (m->advertise == NULL || !ipc_addr_parse(&adv, m->advertise, 0))
		adv = addr;
	if (is_teardown) {
		struct nft *n = nft_open(err, sizeof(err));

		if (n == NULL || nft_teardown(n, err, sizeof(err)) < 0) {
			log_error("%s", err);
			return 1;
		}
		nft_close(n);
		log_info("relay: table inet %s removed", NFT_TABLE_NAME);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	hash_seed_random();
	a.loop = ev_loop_new();
	if (a.loop == NULL)
		fatal("event loop");
	a.start_s = ev_wallclock_s();
	if (!relay_init(&a.r, a.loop, &addr, &adv, m->ports[0], m->ports[1]))
		fatalx("media.ports [%u, %u]: no usable port pairs",
		    m->ports[0], m->ports[1]);
	a.r.timeout_ms = (uint64_t)m->timeout_s * 1000;
	a.r.hold_timeout_ms = (uint64_t)m->hold_timeout_s * 1000;
	a.r.latch_wait_ms = m->latch_wait_ms;
	/* User-space sends of a loop turn leave together (fwd_user.h). */
	log_info("relay: user-space forwarding sends by %s",
	    fwd_user_setup(a.loop, m->io_uring));
	/* The loop's pause after busy turns (ev.h) comes after every hook,
	 * so it delays nothing of the turn. */
	ev_set_pause_us(a.loop, m->user_batch_us);
	/* Each tick reads the counters of every kernel stream: an eighth of
	 * the timeout is precise enough and keeps that cheap. */
	a.r.tick_ms = a.r.timeout_ms / 8 < 5000 ? a.r.timeout_ms / 8 : 5000;
	if (a.r.tick_ms < 100)
		a.r.tick_ms = 100;
	capacity(&a, false);

	a.state = state_open(a.conf.state_dir, err, sizeof(err));
	if (a.state == NULL)
		log_warnx("%s; streams will not survive a restart", err);
	a.r.state = a.state;
	if (m->kernel == PC_KERNEL_OFF)
		snprintf(why, sizeof(why), "media.kernel is \"off\"");
	if (m->kernel == PC_KERNEL_OFF || !kernel_setup(&a, why, sizeof(why))) {
		if (m->kernel == PC_KERNEL_ON)
			fatalx("media.kernel is \"on\" but kernel forwarding "
			       "is unusable: %s",
			    why);
		a.r.is_kernel = false;
		log_warnx("relay: forwarding media in USER SPACE (%s)", why);
		snprintf(a.mode, sizeof(a.mode), "user space: %s", why);
		state_recover(a.state, &a.r, false);
	} else {
		snprintf(a.mode, sizeof(a.mode),
		    "kernel (nftables maps + conntrack)");
		log_info("relay: forwarding media in the KERNEL (nftables "
		         "table inet %s)",
		    NFT_TABLE_NAME);
	}
	capacity(&a, true);
	if (a.state != NULL)
		state_compact(a.state, &a.r);
	a.ban = ban_new(a.loop, a.r.is_kernel ? a.r.nft : NULL,
	    a.conf.relay.bans.default_timeout_s,
	    a.conf.relay.bans.max_timeout_s);
	a.r.ban = a.ban;
	a.cap = capture_new(a.loop, a.conf.relay.capture.dir,
	    a.conf.relay.capture.max_bytes, a.conf.relay.capture.max_seconds);
	if (a.ban == NULL || a.cap == NULL)
		fatalx("out of memory");

	mkdir(a.conf.runtime_dir, 0750);
	pcconf_path(&a.conf, "relay.sock", path, sizeof(path));
	a.edge = dispatch_edge_listen(&a, path, err, sizeof(err));
	if (a.edge == NULL)
		fatalx("relay.sock: %s", err);
	timeout_start(&a.r);
	ev_set_before_sleep(a.loop, before_sleep, &a);
	ev_signal_add(a.loop, SIGTERM, on_signal, &a);
	ev_signal_add(a.loop, SIGINT, on_signal, &a);

	if (a.conf.user != NULL)
		hand_over(&a, path);
	if (a.conf.user != NULL &&
	    priv_drop(a.conf.user, a.conf.group, caps, 2, err, sizeof(err)) < 0)
		log_warnx("relay: not dropping privileges: %s", err);
	if (ctl_fd >= 0 && dispatch_ctl_open(&a, ctl_fd) < 0)
		fatalx("ctl: cannot use fd %d", ctl_fd);
	log_info("relay: ready on %s, media %s ports %u-%u", path, m->address,
	    a.r.pool.lo, a.r.pool.hi);

	ev_run(a.loop);

	relay_flush(&a.r);
	if (a.state != NULL)
		state_flush(a.state, NULL);
	dispatch_edge_free(a.edge);
	if (a.ctl != NULL)
		ipc_chan_free(a.ctl);
	capture_free(a.cap);
	fwd_user_close();
	relay_free(&a.r);
	ban_free(a.ban);
	state_close(a.state);
	nft_close(a.r.nft);
	ct_close(a.r.ct);
	pcconf_free(&a.conf);
	ev_loop_free(a.loop);
	return 0;
}
