/*
 * relayctl: a small client of portcullis-relay for tests and operators.
 * Builds one relay.sock request from its arguments and prints the reply;
 * also a tiny supervisor for tests that have no portcullisd: it starts the
 * relay with --ctl-fd, restarts it when it dies, and passes ctl requests
 * from `relayctl ctl` clients through.
 *
 *   relayctl -s RELAY.SOCK offer|answer CALL FROMTAG TOTAG ADDR:PORT
 *            [nat] [mux] [hold] [index=N]
 *   relayctl -s RELAY.SOCK delete|query CALL
 *   relayctl -s RELAY.SOCK ban|unban ADDR [TIMEOUT_S]
 *   relayctl -s RELAY.SOCK capture-start CALL|- PATH [MAX_BYTES MAX_S]
 *   relayctl -s RELAY.SOCK capture-stop PATH
 *   relayctl -s RELAY.SOCK wait-timeout SECONDS
 *   relayctl -s RELAY.SOCK bench N [nat] offer+answer+delete N calls
 *   relayctl -s RELAY.SOCK setup N A:PORT B:PORT OUTFILE   N calls a<->b
 *   relayctl supervise CTL.SOCK -- RELAY-COMMAND...
 *   relayctl ctl CTL.SOCK COMMAND [key=value|key:=number ...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_rows.h"
#include "ipc.h"
#include "ipc_msgs.h"

static uint8_t rbuf[IPC_MAX_MSG];

static void
die(const char *what)
{
	fprintf(stderr, "relayctl: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int
connect_relay(const char *path)
{
	int fd = ipc_connect(path);
	struct ipc_msg m;
	struct pollfd p = {0};

	if (fd < 0)
		die(path);
	if (ipc_send_hello(fd, IPC_ROLE_TEST, "relayctl") < 0)
		die("hello");
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, 5000) <= 0 ||
	    ipc_recv(fd, &ipc_cat_relay, rbuf, sizeof(rbuf), &m) != 1 ||
	    m.hdr.type != IPC_HELLO) {
		fprintf(stderr, "relayctl: no HELLO from relay\n");
		exit(1);
	}
	return fd;
}

/* Waits for the reply with this id (skipping MEDIA_TIMEOUT). */
static struct ipc_msg
await(int fd, uint64_t id, int timeout_ms)
{
	struct ipc_msg m;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	for (;;) {
		int rc;

		if (poll(&p, 1, timeout_ms) <= 0) {
			fprintf(stderr, "relayctl: no reply\n");
			exit(1);
		}
		rc = ipc_recv(fd, &ipc_cat_relay, rbuf, sizeof(rbuf), &m);
		if (rc < 0 && errno == EAGAIN)
			continue;
		if (rc != 1) {
			fprintf(stderr, "relayctl: relay closed\n");
			exit(1);
		}
		if ((id == 0 || m.hdr.id == id) &&
		    m.hdr.type != IPC_MEDIA_TIMEOUT)
			return m;
	}
}

static bool
parse_hostport(const char *s, struct ipc_addr *a)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (colon == NULL)
		return false;
	n = (size_t)(colon - s);
	if (s[0] == '[' && n > 2 && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return false;
	memcpy(host, s, n);
	host[n] = '\0';
	return ipc_addr_parse(a, host, (uint16_t)atoi(colon + 1));
}

static void
print_reply(const struct ipc_msg *m)
{
	char a[64], b[64];

	if (m->hdr.type == IPC_RESULT) {
		struct ipc_result r;

		memcpy(&r, m->body, sizeof(r));
		r.message[sizeof(r.message) - 1] = '\0';
		printf("status=%d message=%s\n", r.status, r.message);
		return;
	}
	if (m->hdr.type == IPC_MEDIA_REPLY) {
		struct ipc_media_reply r;

		memcpy(&r, m->body, sizeof(r));
		r.message[sizeof(r.message) - 1] = '\0';
		printf("status=%d kernel=%u packets=%llu bytes=%llu%s%s\n",
		    r.status, r.is_kernel, (unsigned long long)r.packets,
		    (unsigned long long)r.bytes, r.status ? " message=" : "",
		    r.status ? r.message : "");
		for (int i = 0; i < r.nstreams && i < IPC_MEDIA_MAX_STREAMS;
		     i++)
			printf("stream index=%u rtp=%s rtcp=%s port=%u\n",
			    r.streams[i].index,
			    ipc_addr_str(&r.streams[i].rtp, a, sizeof(a)),
			    ipc_addr_str(&r.streams[i].rtcp, b, sizeof(b)),
			    r.streams[i].rtp.port);
	}
}

static int
reply_status(const struct ipc_msg *m)
{
	int32_t st;

	memcpy(&st, m->body, sizeof(st));
	return st;
}

static void
fill_req(struct ipc_media_req *q, int argc, char **argv)
{
	memset(q, 0, sizeof(*q));
	snprintf(q->call_id, sizeof(q->call_id), "%s", argv[0]);
	snprintf(q->from_tag, sizeof(q->from_tag), "%s", argv[1]);
	snprintf(q->to_tag, sizeof(q->to_tag), "%s",
	    strcmp(argv[2], "-") ? argv[2] : "");
	q->nstreams = 1;
	if (!parse_hostport(argv[3], &q->streams[0].rtp)) {
		fprintf(stderr, "relayctl: %s: not ADDR:PORT\n", argv[3]);
		exit(2);
	}
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "nat") == 0)
			q->streams[0].flags |= IPC_MSF_NAT;
		else if (strcmp(argv[i], "mux") == 0)
			q->streams[0].flags |= IPC_MSF_RTCP_MUX;
		else if (strcmp(argv[i], "hold") == 0)
			q->streams[0].flags |= IPC_MSF_HOLD;
		else if (strncmp(argv[i], "index=", 6) == 0)
			q->streams[0].index = (uint8_t)atoi(argv[i] + 6);
	}
}

static int
bench(int fd, long n, uint8_t flags)
{
	struct ipc_media_req q;
	struct ipc_media_ref ref;
	struct timespec t0, t1;
	uint64_t id = 1;
	long window = 16, sent = 0, replies = 0, total = 3 * n;
	int step = 0; /* next message of call `sent`: offer, answer, delete */
	double s;

	/* Pipelined: requests in flight up to a window, offer, answer and
	 * delete of each call in order on one connection (relay answers in
	 * order). A full socket means: read replies first. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (replies < total) {
		while (sent < n && 3 * sent + step - replies < 3 * window) {
			uint16_t type;
			const void *body;
			uint32_t len;

			memset(&q, 0, sizeof(q));
			snprintf(
			    q.call_id, sizeof(q.call_id), "bench-%ld", sent);
			q.nstreams = 1;
			ipc_addr_parse(&q.streams[0].rtp, "127.0.0.1",
			    (uint16_t)(10000 + sent % 20000));
			q.streams[0].flags = flags;
			if (step == 0) {
				snprintf(q.from_tag, sizeof(q.from_tag), "a");
				type = IPC_MEDIA_OFFER;
				body = &q;
				len = sizeof(q);
			} else if (step == 1) {
				snprintf(q.from_tag, sizeof(q.from_tag), "b");
				snprintf(q.to_tag, sizeof(q.to_tag), "a");
				type = IPC_MEDIA_ANSWER;
				body = &q;
				len = sizeof(q);
			} else {
				memset(&ref, 0, sizeof(ref));
				memcpy(ref.call_id, q.call_id,
				    sizeof(ref.call_id));
				type = IPC_MEDIA_DELETE;
				body = &ref;
				len = sizeof(ref);
			}
			if (ipc_send(fd, type, 0, id, body, len, NULL, 0) < 0) {
				if (errno != EAGAIN)
					die("send");
				break;
			}
			id++;
			if (++step == 3) {
				step = 0;
				sent++;
			}
		}
		await(fd, 0, 10000);
		replies++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("calls=%ld seconds=%.3f setups_per_s=%.0f\n", n, s, n / s);
	return 0;
}

/* N calls between the same two parties (not behind NAT, so the kernel
 * takes them at once with latch_wait_ms 0); writes to outfile the relay
 * port a must send to, one per line. For the benchmark. */
static int
setup(int fd, long n, const char *a, const char *b, const char *outfile)
{
	struct ipc_media_req q;
	FILE *f = fopen(outfile, "w");
	uint64_t id = 1;

	if (f == NULL)
		die(outfile);
	for (long i = 0; i < n; i++) {
		struct ipc_msg m;
		struct ipc_media_reply rep;
		char *args[4] = {NULL, "ta", "-", NULL};
		char cid[32];

		snprintf(cid, sizeof(cid), "s%ld", i);
		args[0] = cid;
		args[3] = (char *)a;
		fill_req(&q, 4, args);
		if (ipc_send(
		        fd, IPC_MEDIA_OFFER, 0, id, &q, sizeof(q), NULL, 0) < 0)
			die("send");
		m = await(fd, id++, 10000);
		args[1] = "tb";
		args[2] = "ta";
		args[3] = (char *)b;
		fill_req(&q, 4, args);
		if (ipc_send(fd, IPC_MEDIA_ANSWER, 0, id, &q, sizeof(q), NULL,
		        0) < 0)
			die("send");
		m = await(fd, id++, 10000);
		memcpy(&rep, m.body, sizeof(rep));
		if (rep.status != 0) {
			fprintf(
			    stderr, "relayctl: call %ld: %d\n", i, rep.status);
			return 1;
		}
		fprintf(f, "%u\n", rep.streams[0].rtp.port);
	}
	fclose(f);
	return 0;
}

static int
relay_cmd(const char *sock, int argc, char **argv)
{
	int fd = connect_relay(sock);
	const char *cmd = argv[0];
	struct ipc_msg m;

	argc--;
	argv++;
	if ((strcmp(cmd, "offer") == 0 || strcmp(cmd, "answer") == 0) &&
	    argc >= 4) {
		struct ipc_media_req q;

		fill_req(&q, argc, argv);
		if (ipc_send(fd,
		        strcmp(cmd, "offer") == 0 ? IPC_MEDIA_OFFER
		                                  : IPC_MEDIA_ANSWER,
		        0, 7, &q, sizeof(q), NULL, 0) < 0)
			die("send");
	} else if ((strcmp(cmd, "delete") == 0 || strcmp(cmd, "query") == 0) &&
	    argc >= 1) {
		struct ipc_media_ref ref;

		memset(&ref, 0, sizeof(ref));
		snprintf(ref.call_id, sizeof(ref.call_id), "%s", argv[0]);
		if (ipc_send(fd,
		        strcmp(cmd, "delete") == 0 ? IPC_MEDIA_DELETE
		                                   : IPC_MEDIA_QUERY,
		        0, 7, &ref, sizeof(ref), NULL, 0) < 0)
			die("send");
	} else if ((strcmp(cmd, "ban") == 0 || strcmp(cmd, "unban") == 0) &&
	    argc >= 1) {
		struct ipc_ban b;

		memset(&b, 0, sizeof(b));
		if (!ipc_addr_parse(&b.addr, argv[0], 0)) {
			fprintf(
			    stderr, "relayctl: %s: not an address\n", argv[0]);
			return 2;
		}
		b.timeout_s = argc > 1 ? (uint32_t)atol(argv[1]) : 0;
		snprintf(b.reason, sizeof(b.reason), "relayctl");
		if (ipc_send(fd,
		        strcmp(cmd, "ban") == 0 ? IPC_BAN_ADD : IPC_BAN_DEL, 0,
		        7, &b, sizeof(b), NULL, 0) < 0)
			die("send");
	} else if ((strcmp(cmd, "capture-start") == 0 && argc >= 2) ||
	    (strcmp(cmd, "capture-stop") == 0 && argc >= 1)) {
		struct ipc_capture c;
		bool is_start = strcmp(cmd, "capture-start") == 0;

		memset(&c, 0, sizeof(c));
		if (is_start) {
			if (strcmp(argv[0], "-") != 0)
				snprintf(c.call_id, sizeof(c.call_id), "%s",
				    argv[0]);
			snprintf(c.path, sizeof(c.path), "%s", argv[1]);
			c.max_bytes = argc > 2 ? (uint32_t)atol(argv[2]) : 0;
			c.max_seconds = argc > 3 ? (uint32_t)atol(argv[3]) : 0;
		} else {
			snprintf(c.path, sizeof(c.path), "%s", argv[0]);
		}
		if (ipc_send(fd,
		        is_start ? IPC_CAPTURE_START : IPC_CAPTURE_STOP, 0, 7,
		        &c, sizeof(c), NULL, 0) < 0)
			die("send");
	} else if (strcmp(cmd, "wait-timeout") == 0 && argc >= 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int left = atoi(argv[0]) * 1000;

		while (left > 0 && poll(&p, 1, 100) >= 0) {
			left -= 100;
			if (!(p.revents & POLLIN))
				continue;
			if (ipc_recv(fd, &ipc_cat_relay, rbuf, sizeof(rbuf),
			        &m) == 1 &&
			    m.hdr.type == IPC_MEDIA_TIMEOUT) {
				struct ipc_media_ref ref;

				memcpy(&ref, m.body, sizeof(ref));
				ref.call_id[255] = '\0';
				printf("timeout call_id=%s\n", ref.call_id);
				return 0;
			}
		}
		printf("no timeout\n");
		return 1;
	} else if (strcmp(cmd, "setup") == 0 && argc >= 4) {
		return setup(fd, atol(argv[0]), argv[1], argv[2], argv[3]);
	} else if (strcmp(cmd, "bench") == 0 && argc >= 1) {
		return bench(fd, atol(argv[0]),
		    argc > 1 && strcmp(argv[1], "nat") == 0 ? IPC_MSF_NAT : 0);
	} else {
		fprintf(stderr, "relayctl: bad command (see the source)\n");
		return 2;
	}
	m = await(fd, 7, 10000);
	print_reply(&m);
	close(fd);
	return reply_status(&m) == 0 ? 0 : 1;
}

/* ---- ctl client and supervisor ---- */

static int
ctl_cmd(const char *sock, int argc, char **argv)
{
	uint8_t args[4096], out[8192];
	struct ctl_rows rows;
	struct ipc_ctl_request q;
	int fd = ipc_connect(sock), rc = 0;

	if (fd < 0)
		die(sock);
	ctl_rows_init(&rows, args, sizeof(args));
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (eq > argv[i] && eq[-1] == ':') {
			eq[-1] = '\0';
			ctl_rows_u64(
			    &rows, argv[i], strtoull(eq + 1, NULL, 10));
		} else {
			ctl_rows_str(&rows, argv[i], eq + 1);
		}
	}
	ctl_rows_end_row(&rows);
	memset(&q, 0, sizeof(q));
	snprintf(q.cmd, sizeof(q.cmd), "%s", argv[0]);
	q.args_len = (uint32_t)rows.len;
	if (ipc_send(fd, IPC_CTL_REQUEST, 0, 1, &q, sizeof(q), args,
	        (uint32_t)rows.len) < 0)
		die("send");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct ipc_msg m;
		struct ipc_ctl_reply r;
		struct ctl_reader rd;
		struct ctl_field f;
		bool first = true;

		if (poll(&p, 1, 10000) <= 0) {
			fprintf(stderr, "relayctl: no ctl reply\n");
			return 1;
		}
		if (ipc_recv(fd, &ipc_cat_ctl, rbuf, sizeof(rbuf), &m) != 1) {
			fprintf(stderr, "relayctl: ctl closed\n");
			return 1;
		}
		memcpy(&r, m.body, sizeof(r));
		if (r.status != 0) {
			r.message[sizeof(r.message) - 1] = '\0';
			r.error_code[sizeof(r.error_code) - 1] = '\0';
			printf(
			    "error=%s message=%s\n", r.error_code, r.message);
			rc = 1;
		}
		ctl_reader_init(&rd, m.body + sizeof(r), r.rows_len);
		while (ctl_reader_next(&rd, &f) == 1) {
			if (f.type == CTL_T_END) {
				printf("\n");
				first = true;
				continue;
			}
			printf("%s%.*s=", first ? "" : " ", (int)f.name.len,
			    f.name.p);
			first = false;
			if (f.type == CTL_T_STR) {
				size_t n = f.str.len < sizeof(out) - 1
				    ? f.str.len
				    : sizeof(out) - 1;

				memcpy(out, f.str.p, n);
				for (size_t k = 0; k < n; k++)
					if (out[k] == ' ')
						out[k] = '_';
				printf("%.*s", (int)n, out);
			} else if (f.type == CTL_T_I64) {
				printf("%lld", (long long)f.i64);
			} else {
				printf("%llu", (unsigned long long)f.u64);
			}
		}
		if (!(m.hdr.flags & IPC_F_MORE))
			break;
	}
	close(fd);
	return rc;
}

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static pid_t
spawn(char **cmd, int *ctl, const char *pidfile)
{
	int sv[2];
	pid_t pid;
	char fdarg[16];
	char *argv[64];
	int n = 0;
	FILE *f;

	if (ipc_socketpair(sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int fl;

		close(sv[0]);
		fl = dup(sv[1]); /* without CLOEXEC */
		snprintf(fdarg, sizeof(fdarg), "%d", fl);
		for (; cmd[n] != NULL && n < 60; n++)
			argv[n] = cmd[n];
		argv[n++] = "--ctl-fd";
		argv[n++] = fdarg;
		argv[n] = NULL;
		execv(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	*ctl = sv[0];
	f = fopen(pidfile, "w");
	if (f != NULL) {
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
	ipc_send_hello(sv[0], IPC_ROLE_MGMT, "relayctl");
	return pid;
}

static int
supervise(const char *sock, char **cmd)
{
	char pidfile[512];
	int lfd = ipc_listen(sock, 0600), ctl = -1;
	pid_t pid;
	bool is_ready = false;

	if (lfd < 0)
		die(sock);
	snprintf(pidfile, sizeof(pidfile), "%s.pid", sock);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	signal(SIGPIPE, SIG_IGN);
	pid = spawn(cmd, &ctl, pidfile);
	while (!stopping) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
		    {.fd = ctl, .events = POLLIN}};
		int st;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr,
			    "relayctl: relay %d exited (%d); "
			    "restarting\n",
			    (int)pid, st);
			close(ctl);
			is_ready = false;
			usleep(100000);
			pid = spawn(cmd, &ctl, pidfile);
			continue;
		}
		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[1].revents & (POLLIN | POLLHUP)) {
			/* The relay's HELLO (readiness) or its exit. */
			ssize_t r = recv(ctl, rbuf, sizeof(rbuf), MSG_DONTWAIT);

			if (r > 0)
				is_ready = true;
			else
				usleep(50000);
		}
		if ((p[0].revents & POLLIN) && is_ready) {
			int c = ipc_accept(lfd);
			struct pollfd pc = {.fd = c, .events = POLLIN};
			ssize_t r;

			if (c < 0)
				continue;
			/* One request, then every reply part. */
			if (poll(&pc, 1, 5000) > 0 &&
			    (r = recv(c, rbuf, sizeof(rbuf), 0)) > 0 &&
			    send(ctl, rbuf, (size_t)r, 0) == r) {
				for (;;) {
					struct pollfd pr = {
					    .fd = ctl, .events = POLLIN};
					struct ipc_hdr h;

					if (poll(&pr, 1, 10000) <= 0)
						break;
					r = recv(ctl, rbuf, sizeof(rbuf), 0);
					if (r < (ssize_t)sizeof(h))
						break;
					send(c, rbuf, (size_t)r, 0);
					memcpy(&h, rbuf, sizeof(h));
					if (!(h.flags & IPC_F_MORE))
						break;
				}
			}
			close(c);
		}
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(sock);
	unlink(pidfile);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int i = 1;

	if (argc > 2 && strcmp(argv[1], "-s") == 0) {
		sock = argv[2];
		i = 3;
	}
	if (i >= argc)
		goto usage;
	if (strcmp(argv[i], "supervise") == 0 && i + 3 < argc &&
	    strcmp(argv[i + 2], "--") == 0)
		return supervise(argv[i + 1], argv + i + 3);
	if (strcmp(argv[i], "ctl") == 0 && i + 2 < argc)
		return ctl_cmd(argv[i + 1], argc - i - 2, argv + i + 2);
	if (sock != NULL)
		return relay_cmd(sock, argc - i, argv + i);
usage:
	fprintf(stderr,
	    "usage: see the comment at the top of "
	    "tests/tools/relayctl.c\n");
	return 2;
}
