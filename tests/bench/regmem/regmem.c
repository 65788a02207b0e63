/*
 * regmem: measures portcullis-core's memory per registration (issue #3:
 * a million registrations in under 1 GiB). Why a driver of its own and
 * not sipp: a million distinct users behind NAT, each with its own flow,
 * is what core has to hold, and only a program speaking core.sock as the
 * edge does can hand core those flows without a million sockets.
 *
 *   regmem seed -D DB -n N -d DOMAIN
 *     puts N users (HA1s of every algorithm, as core computes them) into
 *     core's user table in one transaction, before core first starts.
 *   regmem run -b CORE_BIN -c CONF -R RUNTIME_DIR -S STATE_DIR -n N ...
 *     starts core (with a ctl channel, as portcullisd does), registers N
 *     AoRs through core.sock with digest credentials, reads core's
 *     memory, checks a sample of the bindings (registrar query and the
 *     ctl registrations.list), and with -k kills core (-9), times the
 *     restore of the bindings from SQLite and reads memory again.
 *
 * The REGISTERs are what core receives from the edge: the phone's private
 * address in Via and Contact, the edge's received/rport, a Path with an
 * outbound flow token where the phone asked for outbound, the flow of the
 * NAT's public address. The nonce comes from the edge's logic (core's own
 * minting code with core's key and epoch, is_edge set), so one SIP_IN per
 * registration reaches core as in deployment; -C makes core challenge
 * (two SIP_INs per registration). Nothing goes to a network: the
 * addresses are bytes in a Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/auth.h"
#include "core/store.h"
#include "ctl_rows.h"
#include "digest.h"
#include "ipc.h"
#include "ipc_msgs.h"

#define MAX_SAMPLE 1000
#define RESEND_MS 4000
#define MAX_TRIES 4

enum rstate { R_TODO, R_CHALLENGE, R_AUTH, R_DONE, R_FAILED };

struct drv {
	/* options */
	const char *core_bin, *conf, *rundir, *statedir, *domain;
	uint32_t n, window, sample, timeout_s, rate;
	enum digest_alg alg;
	bool core_challenge, restart;
	uint16_t port;
	/* core process */
	pid_t pid;
	int ctl, sock;
	uint64_t ctl_id;
	struct auth *minter;
	/* per registration */
	uint8_t *state, *tries, *resends;
	uint32_t *sent_ms;
	char (*nonce)[AUTH_NONCE_LEN + 1]; /* -C: nonce of core's 401 */
	uint32_t *slot; /* index -> window slot */
	uint32_t *inflight;
	uint32_t ninflight;
	/* counters */
	uint64_t ok, failed, challenged, resent, other, sip_in;
	uint8_t buf[IPC_MAX_MSG];
	/* core.sock's reader: core sends bundles (ipc.h), whose messages
	 * point into sbuf until the bundle is used up. */
	struct ipc_rx rx;
	uint8_t sbuf[IPC_MAX_MSG];
};

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("regmem: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- who registers: everything derived from the index ---- */

static void
user_name(uint32_t i, char *out, size_t cap)
{
	snprintf(out, cap, "1%09u", i); /* a ten-digit number, as carriers */
}

static void
user_password(uint32_t i, char *out, size_t cap)
{
	snprintf(out, cap, "pw%08x-%u", i * 2654435761u, i);
}

/* The phone's own (private) address and port. */
static void
ua_addr(uint32_t i, char *out, size_t cap, uint16_t *port)
{
	snprintf(out, cap, "192.168.%u.%u", (i >> 8) % 256, i % 254 + 1);
	*port = (i % 10) >= 7 ? (uint16_t)(32768 + i % 28000) : 5060;
}

/* The NAT's public side: sixteen phones per address (an office). Loopback
 * numbers: nothing is sent there, but no one else's address appears. */
static void
pub_addr(uint32_t i, struct ipc_addr *a)
{
	uint32_t h = i / 16;
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->port = (uint16_t)(1024 + (i * 7919u) % 64000);
	a->addr[0] = 127;
	a->addr[1] = (uint8_t)(64 + (h >> 16) % 64);
	a->addr[2] = (uint8_t)(h >> 8);
	a->addr[3] = (uint8_t)h;
}

static bool
is_tcp(uint32_t i)
{
	return (i % 10) >= 7; /* 30 % on TCP, the rest UDP */
}

/* RFC 5626 outbound (instance + reg-id, edge adds Path): a quarter;
 * instance alone (GRUU style): another quarter. */
static bool
is_outbound(uint32_t i)
{
	return i % 4 == 0;
}

static bool
has_instance(uint32_t i)
{
	return i % 4 <= 1;
}

static const char *const user_agents[] = {
    "Yealink SIP-T46S 66.86.0.15",
    "PolycomVVX-VVX_411-UA/6.4.3.6113",
    "Grandstream GXP2170 1.0.11.23",
    "Linphone/5.2.0 (belle-sip/5.2.0)",
    "Z 5.6.1 v2.10.19.6",
    "Cisco-CP8845/14.2.1",
};

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* The edge's flow token: 75 base64url characters (sbc/nat.c, OB_PLAIN
 * sealed); its content does not matter to core, its length does. */
static void
flow_token(uint32_t i, char out[76])
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint64_t x = i + 1;
	for (int k = 0; k < 75; k++) {
		if (k % 10 == 0)
			x = mix(x + (uint64_t)k);
		out[k] = b64[x & 63];
		x >>= 6;
	}
	out[75] = '\0';
}

static void
flow_of(const struct drv *d, uint32_t i, struct ipc_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->transport = is_tcp(i) ? IPC_TP_TCP : IPC_TP_UDP;
	f->role = IPC_FLOW_ROLE_PUBLIC;
	f->listener = is_tcp(i) ? 1 : 0;
	f->conn_id = is_tcp(i) ? i + 1 : 0;
	ipc_addr_parse(&f->local, "127.0.0.1", d->port);
	pub_addr(i, &f->remote);
}

/* The Contact URI as the phone registers it. */
static int
contact_uri(uint32_t i, char *out, size_t cap)
{
	char user[16], ua[32];
	uint16_t port;
	user_name(i, user, sizeof(user));
	ua_addr(i, ua, sizeof(ua), &port);
	return snprintf(out, cap, "sip:%s@%s:%u%s", user, ua, port,
	    is_tcp(i) ? ";transport=tcp" : "");
}

/*
 * One REGISTER as core gets it from the edge. what: 0 = no credentials
 * (-C), 1 = with credentials, 2 = a query (no Contact) with credentials.
 */
static int
build_register(struct drv *d, uint32_t i, int what, uint32_t cseq,
    const char *nonce, char *buf, size_t cap)
{
	char user[16], pw[32], ua[32], cu[96], tok[76], pubtext[48];
	uint16_t port;
	struct ipc_flow f;

	user_name(i, user, sizeof(user));
	ua_addr(i, ua, sizeof(ua), &port);
	contact_uri(i, cu, sizeof(cu));
	flow_of(d, i, &f);
	ipc_addr_str(&f.remote, pubtext, sizeof(pubtext));
	char *colon = strrchr(pubtext, ':');
	if (colon != NULL)
		*colon = '\0';
	uint64_t h = mix(i + 0x5eed);
	int off = snprintf(buf, cap,
	    "REGISTER sip:%s SIP/2.0\r\n"
	    "Via: SIP/2.0/%s %s:%u;branch=z9hG4bK%08x%02x%04x;rport=%u;"
	    "received=%s\r\n"
	    "Max-Forwards: 70\r\n"
	    "From: <sip:%s@%s>;tag=%010" PRIx64 "\r\n"
	    "To: <sip:%s@%s>\r\n"
	    "Call-ID: %08x-%04x-4%03x-a%03x-%012" PRIx64 "@%s\r\n"
	    "CSeq: %u REGISTER\r\n",
	    d->domain, is_tcp(i) ? "TCP" : "UDP", ua, port, i, cseq,
	    (unsigned)(h & 0xffff), f.remote.port, pubtext, user, d->domain,
	    h & (uint64_t)0xffffffffff, user, d->domain, i, (unsigned)(h >> 48),
	    (unsigned)(h >> 36) & 0xfff, (unsigned)(h >> 24) & 0xfff,
	    (h >> 4) & (uint64_t)0xffffffffffff, ua, cseq);
	if (what != 2) {
		off +=
		    snprintf(buf + off, cap - (size_t)off, "Contact: <%s>", cu);
		if (has_instance(i))
			off += snprintf(buf + off, cap - (size_t)off,
			    ";+sip.instance=\"<urn:uuid:%08x-%04x-4%03x-"
			    "8%03x-%012" PRIx64 ">\"",
			    (unsigned)(h >> 32), (unsigned)(h >> 16) & 0xffff,
			    (unsigned)(h >> 4) & 0xfff, i % 4096,
			    ((uint64_t)i * 2654435761u) &
			        (uint64_t)0xffffffffffff);
		if (is_outbound(i))
			off +=
			    snprintf(buf + off, cap - (size_t)off, ";reg-id=1");
		off += snprintf(buf + off, cap - (size_t)off, "\r\n");
		if (is_outbound(i)) {
			flow_token(i, tok);
			/* The edge puts its Path first (sip_edit_prepend);
			 * the order among headers does not matter here. */
			off += snprintf(buf + off, cap - (size_t)off,
			    "Path: <sip:%s@127.0.0.1:%u%s;lr;ob>\r\n"
			    "Supported: outbound, path\r\n",
			    tok, d->port, is_tcp(i) ? ";transport=tcp" : "");
		}
		off +=
		    snprintf(buf + off, cap - (size_t)off, "Expires: 3600\r\n");
	}
	off += snprintf(buf + off, cap - (size_t)off,
	    "User-Agent: %s\r\n"
	    "Allow: INVITE, ACK, CANCEL, BYE, NOTIFY, REFER, OPTIONS, INFO, "
	    "SUBSCRIBE, UPDATE, MESSAGE\r\n",
	    user_agents[i % (sizeof(user_agents) / sizeof(user_agents[0]))]);
	if (what != 0) {
		char ha1[DIGEST_HEX_MAX], ha2[DIGEST_HEX_MAX],
		    resp[DIGEST_HEX_MAX], cnonce[16], uri[160];
		user_password(i, pw, sizeof(pw));
		snprintf(
		    cnonce, sizeof(cnonce), "%08x", (unsigned)mix(i + cseq));
		snprintf(uri, sizeof(uri), "sip:%s", d->domain);
		digest_ha1(d->alg, slice_cstr(user), slice_cstr(d->domain),
		    slice_cstr(pw), ha1);
		digest_ha2(
		    d->alg, slice_cstr("REGISTER"), slice_cstr(uri), ha2);
		digest_response(d->alg, slice_cstr(ha1), slice_cstr(nonce),
		    slice_cstr("00000001"), slice_cstr(cnonce),
		    slice_cstr("auth"), slice_cstr(ha2), resp);
		off += snprintf(buf + off, cap - (size_t)off,
		    "Authorization: Digest username=\"%s\", realm=\"%s\", "
		    "nonce=\"%s\", uri=\"%s\", response=\"%s\", "
		    "algorithm=%s, cnonce=\"%s\", qop=auth, nc=00000001\r\n",
		    user, d->domain, nonce, uri, resp, digest_alg_name(d->alg),
		    cnonce);
	}
	off +=
	    snprintf(buf + off, cap - (size_t)off, "Content-Length: 0\r\n\r\n");
	if (off < 0 || (size_t)off >= cap)
		die("REGISTER %u does not fit", i);
	return off;
}

/* ---- seeding the user table ---- */

static void
seed(const char *db, uint32_t n, const char *domain)
{
	char err[256];
	struct store *s = store_open(db, err, sizeof(err));
	if (s == NULL)
		die("%s: %s", db, err);
	double t0 = now_s();
	if (store_begin(s) < 0)
		die("begin: %s", store_errmsg(s));
	for (uint32_t i = 0; i < n; i++) {
		struct store_user u;
		char pw[32];
		memset(&u, 0, sizeof(u));
		user_name(i, u.user, sizeof(u.user));
		snprintf(u.domain, sizeof(u.domain), "%s", domain);
		snprintf(u.realm, sizeof(u.realm), "%s", domain);
		user_password(i, pw, sizeof(pw));
		for (int a = 0; a < DIGEST__COUNT; a++)
			digest_ha1((enum digest_alg)a, slice_cstr(u.user),
			    slice_cstr(u.realm), slice_cstr(pw), u.ha1[a]);
		if (store_user_put(s, &u, true) < 0)
			die("user %u: %s", i, store_errmsg(s));
	}
	if (store_commit(s) < 0)
		die("commit: %s", store_errmsg(s));
	store_close(s);
	printf("seed_users=%u seed_s=%.2f\n", n, now_s() - t0);
}

/* ---- core's process and ctl channel ---- */

static int
recv_wait(int fd, const struct ipc_catalogue *cat, uint8_t *buf,
    struct ipc_msg *m, int timeout_ms)
{
	for (;;) {
		int r = ipc_recv(fd, cat, buf, IPC_MAX_MSG, m);
		if (r != -1 || errno != EAGAIN)
			return r;
		struct pollfd p = {fd, POLLIN, 0};
		int pr = poll(&p, 1, timeout_ms);
		if (pr == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (pr < 0 && errno != EINTR)
			return -1;
	}
}

/* Starts core; returns seconds until its ctl HELLO (ready: bindings
 * restored, core.sock listening). */
static double
core_start(struct drv *d)
{
	int sv[2];
	if (ipc_socketpair(sv) < 0 ||
	    ipc_send_hello(sv[0], IPC_ROLE_MGMT, "regmem") < 0)
		die("socketpair: %s", strerror(errno));
	double t0 = now_s();
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		int fd = fcntl(sv[1], F_DUPFD, 3);
		if (fd < 0)
			_exit(126);
		fcntl(fd, F_SETFD, 0);
		char fdt[16];
		snprintf(fdt, sizeof(fdt), "%d", fd);
		execl(d->core_bin, d->core_bin, "-f", "-c", d->conf, "--ctl-fd",
		    fdt, (char *)NULL);
		dprintf(2, "regmem: cannot run %s: %s\n", d->core_bin,
		    strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	d->pid = pid;
	d->ctl = sv[0];
	struct ipc_msg m;
	int r = recv_wait(d->ctl, &ipc_cat_ctl, d->buf, &m, 600000);
	if (r != 1 || m.hdr.type != IPC_HELLO)
		die("core did not become ready (%s)",
		    r == 0 ? "it exited" : strerror(errno));
	return now_s() - t0;
}

typedef void (*row_cb)(const struct ctl_field *f, void *arg);

/* One ctl command; every field of every reply row goes to cb. */
static int
ctl_call(struct drv *d, const char *cmd, const char *aor, row_cb cb, void *arg)
{
	uint8_t args[512];
	struct ctl_rows rows;
	struct ipc_ctl_request rq;

	ctl_rows_init(&rows, args, sizeof(args));
	if (aor != NULL) {
		ctl_rows_str(&rows, "aor", aor);
		ctl_rows_end_row(&rows);
	}
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.cmd, sizeof(rq.cmd), "%s", cmd);
	rq.args_len = (uint32_t)rows.len;
	uint64_t id = ++d->ctl_id;
	if (ipc_send(d->ctl, IPC_CTL_REQUEST, 0, id, &rq, sizeof(rq), args,
	        (uint32_t)rows.len) < 0)
		die("ctl send: %s", strerror(errno));
	for (;;) {
		struct ipc_msg m;
		if (recv_wait(d->ctl, &ipc_cat_ctl, d->buf, &m, 120000) != 1)
			die("ctl %s: no reply", cmd);
		if (m.hdr.type != IPC_CTL_REPLY || m.hdr.id != id)
			continue;
		struct ipc_reader r;
		struct ipc_ctl_reply h;
		ipc_reader_init(&r, &m);
		if (!ipc_read(&r, &h, sizeof(h)))
			die("ctl: short reply");
		const uint8_t *p = ipc_read_ptr(&r, h.rows_len);
		if (p == NULL || h.status != 0)
			return -1;
		struct ctl_reader rd;
		struct ctl_field f;
		ctl_reader_init(&rd, p, h.rows_len);
		while (ctl_reader_next(&rd, &f) == 1)
			if (cb != NULL)
				cb(&f, arg);
		if (!(m.hdr.flags & IPC_F_MORE))
			return 0;
	}
}

struct statv {
	const char *name;
	uint64_t v;
	bool found;
};

static void
stat_cb(const struct ctl_field *f, void *arg)
{
	struct statv *s = arg;
	if (f->type == CTL_T_U64 && slice_eq_cstr(f->name, s->name)) {
		s->v = f->u64;
		s->found = true;
	}
}

static uint64_t
core_stat(struct drv *d, const char *name)
{
	struct statv s = {name, 0, false};
	if (ctl_call(d, "stats", NULL, stat_cb, &s) < 0 || !s.found)
		die("stats: no %s", name);
	return s.v;
}

/* ---- memory ---- */

struct mem {
	long rss_kb, pss_kb, pss_anon_kb, pss_file_kb, anon_kb, hwm_kb;
};

static long
field_kb(const char *path, const char *name)
{
	FILE *f = fopen(path, "r");
	char line[256];
	long v = -1;
	size_t nl = strlen(name);
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
			v = strtol(line + nl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static struct mem
mem_read(pid_t pid)
{
	char sm[64], st[64];
	struct mem m;
	snprintf(sm, sizeof(sm), "/proc/%d/smaps_rollup", (int)pid);
	snprintf(st, sizeof(st), "/proc/%d/status", (int)pid);
	m.rss_kb = field_kb(sm, "Rss");
	m.pss_kb = field_kb(sm, "Pss");
	m.pss_anon_kb = field_kb(sm, "Pss_Anon");
	m.pss_file_kb = field_kb(sm, "Pss_File");
	m.anon_kb = field_kb(sm, "Anonymous");
	m.hwm_kb = field_kb(st, "VmHWM");
	return m;
}

static void
mem_print(const char *tag, struct mem m, const struct mem *base, uint64_t n)
{
	printf("%s_rss_kb=%ld %s_pss_kb=%ld %s_pss_anon_kb=%ld "
	       "%s_pss_file_kb=%ld %s_hwm_kb=%ld",
	    tag, m.rss_kb, tag, m.pss_kb, tag, m.pss_anon_kb, tag,
	    m.pss_file_kb, tag, m.hwm_kb);
	if (base != NULL && n > 0)
		printf(" %s_pss_bytes_per_reg=%.0f %s_rss_bytes_per_reg=%.0f",
		    tag, (double)(m.pss_kb - base->pss_kb) * 1024.0 / (double)n,
		    tag,
		    (double)(m.rss_kb - base->rss_kb) * 1024.0 / (double)n);
	printf("\n");
	fflush(stdout);
}

static void
files_print(struct drv *d, const char *tag)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	long long total = 0;
	printf("%s_db_bytes:", tag);
	for (int k = 0; k < 3; k++) {
		char p[4200];
		struct stat sb;
		snprintf(
		    p, sizeof(p), "%s/portcullis.db%s", d->statedir, sfx[k]);
		long long sz = stat(p, &sb) == 0 ? (long long)sb.st_size : 0;
		total += sz;
		printf(" db%s=%lld", sfx[k], sz);
	}
	printf(" total=%lld\n", total);
}

/* User + system CPU seconds of a process so far. */
static double
cpu_s(pid_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return 0;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	const char *p = strrchr(line, ')');
	unsigned long ut = 0, st = 0;
	/* after the name: state, then fields 4..13, utime (14), stime */
	if (p == NULL ||
	    sscanf(p + 2,
	        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	        "%lu %lu",
	        &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the edge side of core.sock ---- */

static void
minter_load(struct drv *d)
{
	char path[4200], text[9] = {0};
	uint8_t secret[AUTH_SECRET_LEN];
	int fd;

	auth_free(d->minter);
	snprintf(path, sizeof(path), "%s/nonce.epoch", d->rundir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, text, 8) != 8)
		die("%s unreadable", path);
	close(fd);
	snprintf(path, sizeof(path), "%s/nonce.key", d->statedir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, secret, sizeof(secret)) != sizeof(secret))
		die("%s unreadable", path);
	close(fd);
	d->minter = auth_new(secret, 300);
	if (d->minter == NULL)
		die("auth_new");
	auth_set_algorithms(d->minter, &d->alg, 1);
	auth_set_epoch(d->minter, (uint32_t)strtoul(text, NULL, 16), true);
}

static void
sock_connect(struct drv *d)
{
	char path[4200];
	struct ipc_msg m;

	snprintf(path, sizeof(path), "%s/core.sock", d->rundir);
	d->sock = ipc_connect(path);
	memset(&d->rx, 0, sizeof(d->rx));
	if (d->sock < 0 || ipc_send_hello(d->sock, IPC_ROLE_EDGE, "regmem") < 0)
		die("%s: %s", path, strerror(errno));
	if (recv_wait(d->sock, &ipc_cat_core, d->buf, &m, 10000) != 1 ||
	    m.hdr.type != IPC_HELLO)
		die("core.sock: no HELLO");
}

static void
sip_in(struct drv *d, uint32_t i, const char *msg, int len)
{
	struct ipc_sip_in in;

	memset(&in, 0, sizeof(in));
	flow_of(d, i, &in.flow);
	in.sip_len = (uint32_t)len;
	for (;;) {
		if (ipc_send(d->sock, IPC_SIP_IN, 0, 0, &in, sizeof(in), msg,
		        (uint32_t)len) == 0)
			break;
		if (errno != EAGAIN)
			die("core.sock send: %s", strerror(errno));
		struct pollfd p = {d->sock, POLLOUT, 0};
		poll(&p, 1, 100);
	}
	d->sip_in++;
}

/* A header's value in a response (name with the colon, case-sensitive as
 * core writes them); NULL if absent. */
static const char *
hdr_find(const char *msg, size_t len, const char *name, const char *from)
{
	size_t nl = strlen(name);
	const char *p = from != NULL ? from : msg;
	const char *end = msg + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			return NULL;
		if ((size_t)(end - (eol + 1)) > nl &&
		    strncasecmp(eol + 1, name, nl) == 0)
			return eol + 1 + nl;
		p = eol + 1;
	}
	return NULL;
}

static void
send_one(struct drv *d, uint32_t i)
{
	char msg[4096], nonce[AUTH_NONCE_LEN + 1];
	int len;

	if (d->state[i] == R_CHALLENGE) {
		len = build_register(d, i, 0, 1, NULL, msg, sizeof(msg));
	} else {
		const char *nc = d->nonce != NULL ? d->nonce[i] : NULL;
		if (nc == NULL || nc[0] == '\0') {
			/* The edge's 401 (sbc/challenge.c) */
			auth_nonce_make(d->minter, slice_cstr(d->domain),
			    (uint64_t)time(NULL), nonce);
			nc = nonce;
		}
		len = build_register(
		    d, i, 1, 2 + d->tries[i], nc, msg, sizeof(msg));
	}
	d->sent_ms[i] = (uint32_t)now_ms();
	sip_in(d, i, msg, len);
}

static void
finish(struct drv *d, uint32_t i, enum rstate st)
{
	d->state[i] = (uint8_t)st;
	uint32_t s = d->slot[i];
	d->inflight[s] = d->inflight[--d->ninflight];
	d->slot[d->inflight[s]] = s;
	if (st == R_DONE)
		d->ok++;
	else
		d->failed++;
}

static void
on_response(struct drv *d, const char *sip, size_t len)
{
	if (len < 12 || memcmp(sip, "SIP/2.0 ", 8) != 0) {
		d->other++;
		return;
	}
	int code = atoi(sip + 8);
	const char *cid = hdr_find(sip, len, "Call-ID:", NULL);
	if (cid == NULL) {
		d->other++;
		return;
	}
	while (*cid == ' ')
		cid++;
	uint32_t i = (uint32_t)strtoul(cid, NULL, 16);
	if (i >= d->n || d->state[i] == R_DONE || d->state[i] == R_FAILED ||
	    d->state[i] == R_TODO) {
		d->other++; /* a late answer to a resent request */
		return;
	}
	if (code >= 100 && code < 200)
		return;
	if (code == 200 && d->state[i] == R_AUTH) {
		finish(d, i, R_DONE);
		return;
	}
	if (code == 401 && d->nonce != NULL) {
		/* Core's challenge (-C, or stale): take its nonce for our
		 * algorithm and answer it. */
		const char *p = NULL;
		const char *want = digest_alg_name(d->alg);
		while (
		    (p = hdr_find(sip, len, "WWW-Authenticate:", p)) != NULL) {
			const char *eol = strstr(p, "\r\n");
			const char *alg = strstr(p, "algorithm=");
			const char *nn = strstr(p, "nonce=\"");
			if (alg != NULL && nn != NULL && alg < eol &&
			    nn < eol &&
			    strncmp(alg + 10, want, strlen(want)) == 0 &&
			    (alg[10 + strlen(want)] == ',' ||
			        alg[10 + strlen(want)] == '\r') &&
			    eol - (nn + 7) > AUTH_NONCE_LEN) {
				memcpy(d->nonce[i], nn + 7, AUTH_NONCE_LEN);
				d->nonce[i][AUTH_NONCE_LEN] = '\0';
				break;
			}
		}
		d->challenged++;
		if (p != NULL && d->tries[i] < MAX_TRIES) {
			if (d->state[i] == R_AUTH)
				d->tries[i]++;
			d->state[i] = R_AUTH;
			send_one(d, i);
			return;
		}
	}
	fprintf(stderr, "regmem: registration %u: %d\n", i, code);
	finish(d, i, R_FAILED);
}

static void
drain(struct drv *d, int timeout_ms)
{
	struct pollfd p = {d->sock, POLLIN, 0};
	if (d->rx.left == 0 && poll(&p, 1, timeout_ms) <= 0)
		return;
	for (int k = 0; k < 4096; k++) {
		struct ipc_msg m;
		int r = ipc_rx_recv(
		    &d->rx, d->sock, &ipc_cat_core, d->sbuf, IPC_MAX_MSG, &m);
		if (r == 0)
			die("core closed core.sock");
		if (r < 0) {
			if (errno == EAGAIN)
				return;
			die("core.sock recv: %s", strerror(errno));
		}
		if (m.hdr.type != IPC_SIP_OUT)
			continue; /* SOURCE_TRUSTED and the like */
		struct ipc_reader rd;
		struct ipc_sip_out out;
		ipc_reader_init(&rd, &m);
		if (!ipc_read(&rd, &out, sizeof(out)))
			die("short SIP_OUT");
		const uint8_t *sip = ipc_read_ptr(&rd, out.sip_len);
		if (sip == NULL)
			die("bad SIP_OUT");
		on_response(d, (const char *)sip, out.sip_len);
	}
}

static void
resend_stale(struct drv *d)
{
	uint32_t now = (uint32_t)now_ms();
	for (uint32_t s = 0; s < d->ninflight; s++) {
		uint32_t i = d->inflight[s];
		if (now - d->sent_ms[i] < RESEND_MS)
			continue;
		if (d->resends[i] >= MAX_TRIES) {
			fprintf(
			    stderr, "regmem: registration %u: no answer\n", i);
			finish(d, i, R_FAILED);
			s--;
			continue;
		}
		/* A phone retransmits the same request; so do we (same
		 * branch: core absorbs it if it already answered). */
		d->resent++;
		d->resends[i]++;
		send_one(d, i);
	}
}

static void
register_all(struct drv *d)
{
	double t0 = now_s(), deadline = t0 + d->timeout_s;
	uint32_t next = 0;
	uint64_t last_check = now_ms();
	double cpu0 = cpu_s(d->pid);

	while (d->ok + d->failed < d->n) {
		if (now_s() > deadline)
			die("timeout: %" PRIu64 " of %u registered in %u s",
			    d->ok, d->n, d->timeout_s);
		while (next < d->n && d->ninflight < d->window) {
			if (d->rate > 0 &&
			    (double)next > (now_s() - t0) * d->rate)
				break;
			uint32_t i = next++;
			d->slot[i] = d->ninflight;
			d->inflight[d->ninflight++] = i;
			d->state[i] = d->core_challenge ? R_CHALLENGE : R_AUTH;
			send_one(d, i);
		}
		drain(d, 5);
		if (now_ms() - last_check > 1000) {
			last_check = now_ms();
			resend_stale(d);
		}
	}
	double el = now_s() - t0, cpu = cpu_s(d->pid) - cpu0;
	printf("registered_ok=%" PRIu64 " failed=%" PRIu64 " sip_in=%" PRIu64
	       " challenges=%" PRIu64 " resent=%" PRIu64 " other=%" PRIu64
	       " register_s=%.2f rate_per_s=%.0f "
	       "core_cpu_s=%.2f core_cpu_us_per_reg=%.1f\n",
	    d->ok, d->failed, d->sip_in, d->challenged, d->resent, d->other, el,
	    (double)d->ok / el, cpu, cpu * 1e6 / (double)d->n);
	fflush(stdout);
}

/* ---- checks of a sample ---- */

struct listck {
	const char *want;
	int rows, match;
};

static void
list_cb(const struct ctl_field *f, void *arg)
{
	struct listck *l = arg;
	if (f->type == CTL_T_END)
		l->rows++;
	else if (f->type == CTL_T_STR && slice_eq_cstr(f->name, "contact") &&
	    slice_eq_cstr(f->str, l->want))
		l->match++;
}

/* A registrar query (REGISTER without Contact) for AoR i: the 200 must
 * list its Contact. 1 ok, 0 not. */
static int
query_one(struct drv *d, uint32_t i, uint32_t cseq)
{
	char msg[4096], nonce[AUTH_NONCE_LEN + 1], cu[96], want[128];
	auth_nonce_make(
	    d->minter, slice_cstr(d->domain), (uint64_t)time(NULL), nonce);
	int len = build_register(d, i, 2, cseq, nonce, msg, sizeof(msg));
	sip_in(d, i, msg, len);
	contact_uri(i, cu, sizeof(cu));
	snprintf(want, sizeof(want), "<%s>", cu);
	uint64_t t0 = now_ms();
	while (now_ms() - t0 < 5000) {
		struct pollfd p = {d->sock, POLLIN, 0};
		if (d->rx.left == 0 && poll(&p, 1, 100) <= 0)
			continue;
		struct ipc_msg m;
		while (ipc_rx_recv(&d->rx, d->sock, &ipc_cat_core, d->sbuf,
		           IPC_MAX_MSG, &m) == 1) {
			if (m.hdr.type != IPC_SIP_OUT)
				continue;
			struct ipc_reader rd;
			struct ipc_sip_out out;
			ipc_reader_init(&rd, &m);
			if (!ipc_read(&rd, &out, sizeof(out)))
				die("short SIP_OUT");
			const char *sip =
			    (const char *)ipc_read_ptr(&rd, out.sip_len);
			const char *cid =
			    hdr_find(sip, out.sip_len, "Call-ID:", NULL);
			if (cid == NULL ||
			    strtoul(cid + strspn(cid, " "), NULL, 16) != i)
				continue;
			if (strncmp(sip, "SIP/2.0 200", 11) != 0) {
				fprintf(stderr, "regmem: query %u: %.12s\n", i,
				    sip);
				return 0;
			}
			const char *c =
			    hdr_find(sip, out.sip_len, "Contact:", NULL);
			while (c != NULL && *c == ' ')
				c++;
			if (c != NULL && strncmp(c, want, strlen(want)) == 0)
				return 1;
			fprintf(stderr, "regmem: query %u: no %s\n", i, want);
			return 0;
		}
	}
	fprintf(stderr, "regmem: query %u: no answer\n", i);
	return 0;
}

static void
check_sample(struct drv *d, const char *tag, uint32_t cseq)
{
	uint32_t k = d->sample < d->n ? d->sample : d->n, good = 0,
	         ctl_good = 0, nctl = k < 10 ? k : 10;
	for (uint32_t s = 0; s < k; s++) {
		uint32_t i = (uint32_t)(mix(s + 77) % d->n);
		good += (uint32_t)query_one(d, i, cseq);
		if (s < nctl) {
			char user[16], aor[160], cu[96];
			user_name(i, user, sizeof(user));
			snprintf(aor, sizeof(aor), "%s@%s", user, d->domain);
			contact_uri(i, cu, sizeof(cu));
			struct listck l = {cu, 0, 0};
			if (ctl_call(d, "registrations.list", aor, list_cb,
			        &l) == 0 &&
			    l.rows == 1 && l.match == 1)
				ctl_good++;
		}
	}
	printf("%s_sample=%u %s_query_ok=%u %s_ctl_checked=%u %s_ctl_ok=%u\n",
	    tag, k, tag, good, tag, nctl, tag, ctl_good);
	fflush(stdout);
	if (good != k || ctl_good != nctl)
		die("%s: sample check failed", tag);
}

static void
wait_stat(struct drv *d, const char *name, uint64_t want, int secs)
{
	double t0 = now_s();
	uint64_t v;
	while ((v = core_stat(d, name)) != want) {
		if (now_s() - t0 > secs)
			die("%s stays %" PRIu64 " (want %" PRIu64 ")", name, v,
			    want);
		drain(d, 200);
	}
}

static void
run(struct drv *d)
{
	size_t n = d->n;
	d->state = calloc(n, 1);
	d->tries = calloc(n, 1);
	d->resends = calloc(n, 1);
	d->sent_ms = calloc(n, sizeof(*d->sent_ms));
	d->slot = calloc(n, sizeof(*d->slot));
	d->inflight = calloc(d->window, sizeof(*d->inflight));
	d->nonce = calloc(n, sizeof(*d->nonce));
	if (!d->state || !d->tries || !d->resends || !d->sent_ms || !d->slot ||
	    !d->inflight || !d->nonce)
		die("out of memory");

	double ready = core_start(d);
	printf("core_pid=%d start_s=%.3f registrations_at_start=%" PRIu64 "\n",
	    (int)d->pid, ready, core_stat(d, "registrations"));
	minter_load(d);
	sock_connect(d);
	struct mem base = mem_read(d->pid);
	mem_print("base", base, NULL, 0);
	files_print(d, "base");

	register_all(d);
	if (d->ok != d->n)
		die("%" PRIu64 " registrations failed", d->n - d->ok);
	uint64_t regs = core_stat(d, "registrations");
	uint64_t txs = core_stat(d, "transactions");
	printf("core_registrations=%" PRIu64 " core_transactions=%" PRIu64 "\n",
	    regs, txs);
	if (regs != d->n)
		die("core holds %" PRIu64 " registrations, not %u", regs, d->n);
	mem_print("peak", mem_read(d->pid), &base, d->n);

	/* The 200s' transactions end (timer J, 32 s over UDP) and the
	 * write-behind catches up: the figure an operator sees later. */
	double t0 = now_s();
	wait_stat(d, "registrations_unsaved", 0, 300);
	printf("flush_catchup_s=%.2f\n", now_s() - t0);
	wait_stat(d, "transactions", 0, 120);
	printf("settle_s=%.2f\n", now_s() - t0);
	struct mem settled = mem_read(d->pid);
	mem_print("settled", settled, &base, d->n);
	files_print(d, "settled");
	check_sample(d, "settled", 3 + MAX_TRIES);

	if (!d->restart)
		return;
	wait_stat(d, "registrations_unsaved", 0, 60);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	close(d->sock);
	close(d->ctl);
	double restore = core_start(d);
	regs = core_stat(d, "registrations");
	printf("restart_pid=%d restore_s=%.3f restored=%" PRIu64 "\n",
	    (int)d->pid, restore, regs);
	if (regs != d->n)
		die("restored %" PRIu64 " of %u", regs, d->n);
	struct mem rest = mem_read(d->pid);
	mem_print("restored", rest, NULL, 0);
	printf("restored_pss_bytes_per_reg_total=%.0f "
	       "restored_rss_bytes_per_reg_total=%.0f\n",
	    (double)rest.pss_kb * 1024.0 / (double)d->n,
	    (double)rest.rss_kb * 1024.0 / (double)d->n);
	minter_load(d);
	sock_connect(d);
	check_sample(d, "restored", 4 + MAX_TRIES);
	mem_print("restored_after_sample", mem_read(d->pid), NULL, 0);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: regmem seed -D DB [-n N] [-d DOMAIN]\n"
	    "       regmem run -b CORE -c CONF -R RUNTIME_DIR -S STATE_DIR\n"
	    "              [-n N] [-d DOMAIN] [-p PORT] [-w WINDOW] [-r RATE]\n"
	    "              [-t TIMEOUT_S] [-s SAMPLE] [-a ALG] [-C] [-k]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct drv d;
	const char *db = NULL;
	int ch;

	if (argc < 2)
		usage();
	d.n = 1000000;
	d.window = 2000;
	d.sample = 200;
	d.timeout_s = 900;
	d.domain = "regmem.test";
	d.port = 5060;
	d.alg = DIGEST_MD5;
	d.pid = -1;
	optind = 2;
	while (
	    (ch = getopt(argc, argv, "a:b:c:Cd:D:kn:p:r:R:s:S:t:w:")) != -1) {
		switch (ch) {
		case 'a': {
			int a = digest_alg_parse(slice_cstr(optarg));
			if (a < 0)
				usage();
			d.alg = (enum digest_alg)a;
			break;
		}
		case 'b':
			d.core_bin = optarg;
			break;
		case 'c':
			d.conf = optarg;
			break;
		case 'C':
			d.core_challenge = true;
			break;
		case 'd':
			d.domain = optarg;
			break;
		case 'D':
			db = optarg;
			break;
		case 'k':
			d.restart = true;
			break;
		case 'n':
			d.n = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			d.port = (uint16_t)atoi(optarg);
			break;
		case 'r':
			d.rate = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'R':
			d.rundir = optarg;
			break;
		case 's':
			d.sample = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'S':
			d.statedir = optarg;
			break;
		case 't':
			d.timeout_s = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'w':
			d.window = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (d.n == 0 || d.n > 100000000 || d.window == 0 ||
	    d.sample > MAX_SAMPLE)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "seed") == 0) {
		if (db == NULL)
			usage();
		seed(db, d.n, d.domain);
		return 0;
	}
	if (strcmp(argv[1], "run") != 0 || !d.core_bin || !d.conf ||
	    !d.rundir || !d.statedir)
		usage();
	run(&d);
	/* Closing the ctl channel stops core (it flushes first). */
	close(d.ctl);
	close(d.sock);
	if (d.pid > 0)
		waitpid(d.pid, NULL, 0);
	auth_free(d.minter);
	return 0;
}
