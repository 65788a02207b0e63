#include "config.h"

/*
 * pcctl: the command-line client of mgmt.sock. Each subcommand becomes one
 * JSON request; the reply is printed as a table for people or verbatim
 * with --json. Exit status: 0 ok, 1 the daemon answered an error, 2 usage,
 * 3 no daemon to talk to. `pcctl config check FILE` runs locally.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "pcconf.h"
#include "table.h"

#define PCCTL_MAX_REPLY (512u << 20)
#define PCCTL_TIMEOUT_MS 300000

static const char *opt_socket;
static const char *opt_config;
static bool opt_json;

static void
usage(FILE *out)
{
	fputs(
	    "usage: pcctl [--socket PATH] [--config FILE] [--json] COMMAND "
	    "...\n"
	    "\n"
	    "  status                          processes, pids, uptime, "
	    "restarts\n"
	    "  stats [--prometheus]            counters of every process\n"
	    "  reg list [AOR]                  registrations\n"
	    "  reg remove AOR [CONTACT]        remove registrations\n"
	    "  calls [list]                    calls in progress\n"
	    "  calls hangup CALLID             end a call\n"
	    "  media [list]                    media streams\n"
	    "  trunks [list]                   carrier trunks and their state\n"
	    "  trunks add JSON | trunks remove NAME\n"
	    "  cdr [list] [--limit N]          call detail records\n"
	    "  bans [list]                     banned addresses\n"
	    "  bans add ADDR [--timeout S] [--reason TEXT]\n"
	    "  bans remove ADDR\n"
	    "  users list [--limit N]\n"
	    "  users add USER@DOMAIN [--password-stdin]\n"
	    "  users remove USER@DOMAIN\n"
	    "  users password USER@DOMAIN [--password-stdin]\n"
	    "  users import FILE               lines user@domain,password\n"
	    "  config check FILE               validate a file (no daemon "
	    "needed)\n"
	    "  config show | reload\n"
	    "  log level LEVEL [--process NAME]\n"
	    "  capture start --path FILE [--call CALLID] [--max-bytes N] "
	    "[--max-seconds N]\n"
	    "  capture stop --path FILE\n"
	    "  raw CMD [JSON-ARGS]             any management command\n"
	    "\n"
	    "Every command takes --help. The socket defaults to "
	    "RUNTIME_DIR/mgmt.sock of the\n"
	    "configuration (" PC_DEFAULT_CONFIG ").\n",
	    out);
}

static void
die_usage(const char *msg)
{
	fprintf(stderr, "pcctl: %s (see pcctl --help)\n", msg);
	exit(2);
}

static char *
default_socket(void)
{
	const char *path = opt_config;
	if (path == NULL && access(PC_DEFAULT_CONFIG, R_OK) == 0)
		path = PC_DEFAULT_CONFIG;
	struct pc_conf c;
	struct conf_errors errs = {0};
	char buf[PATH_MAX];
	memset(&c, 0, sizeof(c));
	if (pcconf_load_errs(path, &c, &errs) < 0) {
		conf_errors_free(&errs);
		snprintf(buf, sizeof(buf), "%s/portcullis/mgmt.sock",
		    PC_RUNSTATEDIR);
		return strdup(buf);
	}
	pcconf_path(&c, "mgmt.sock", buf, sizeof(buf));
	pcconf_free(&c);
	return strdup(buf);
}

static int
connect_mgmt(void)
{
	char *path = opt_socket ? strdup(opt_socket) : default_socket();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "pcctl: bad socket path\n");
		exit(3);
	}
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr,
		    "pcctl: cannot connect to %s: %s (is portcullisd "
		    "running?)\n",
		    path, strerror(errno));
		exit(3);
	}
	free(path);
	return fd;
}

static void
send_all(int fd, const char *buf, size_t len, int passfd)
{
	bool fd_sent = passfd < 0;
	while (len > 0) {
		struct iovec iov = {(void *)buf, len};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		char cbuf[CMSG_SPACE(sizeof(int))];
		if (!fd_sent) {
			memset(cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
		}
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "pcctl: send: %s\n", strerror(errno));
			exit(3);
		}
		fd_sent = true;
		buf += n;
		len -= (size_t)n;
	}
}

/* Reads one reply line; exits on failure. */
static char *
recv_line(int fd)
{
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (buf == NULL) {
			fprintf(stderr, "pcctl: out of memory\n");
			exit(3);
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, PCCTL_TIMEOUT_MS);
		if (pr == 0) {
			fprintf(stderr, "pcctl: no answer from portcullisd\n");
			exit(3);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr,
			    "pcctl: portcullisd closed the connection\n");
			exit(3);
		}
		len += (size_t)n;
		char *nl = memchr(buf, '\n', len);
		if (nl != NULL) {
			*nl = '\0';
			return buf;
		}
		if (len + 1 >= cap) {
			if (cap >= PCCTL_MAX_REPLY) {
				fprintf(stderr, "pcctl: reply too large\n");
				exit(3);
			}
			cap *= 2;
			buf = realloc(buf, cap);
		}
	}
}

/* Sends {"cmd":cmd,"args":args} (args stolen) and returns the parsed
 * reply; *rawp gets the line for --json. */
static json_t *
request(const char *cmd, json_t *args, int passfd, char **rawp)
{
	json_t *req = json_pack("{s:s, s:o}", "cmd", cmd, "args",
	    args != NULL ? args : json_object());
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (text == NULL) {
		fprintf(stderr,
		    "pcctl: cannot encode the request (invalid "
		    "UTF-8 in an argument?)\n");
		exit(2);
	}
	int fd = connect_mgmt();
	size_t n = strlen(text);
	text = realloc(text, n + 2);
	text[n] = '\n';
	text[n + 1] = '\0';
	send_all(fd, text, n + 1, passfd);
	free(text);
	char *line = recv_line(fd);
	close(fd);
	json_error_t jerr;
	json_t *rep = json_loads(line, 0, &jerr);
	if (rep == NULL) {
		fprintf(stderr, "pcctl: malformed reply: %s\n", jerr.text);
		exit(3);
	}
	*rawp = line;
	return rep;
}

/* Prints the reply; returns the exit status. */
static int
finish(json_t *rep, char *raw, void (*human)(const json_t *result))
{
	int rc = json_is_true(json_object_get(rep, "ok")) ? 0 : 1;
	if (opt_json) {
		puts(raw);
	} else {
		json_t *res = json_object_get(rep, "result");
		if (res != NULL && !json_is_null(res) && human != NULL)
			human(res);
		else if (res != NULL && !json_is_null(res))
			table_print_object(stdout, res, NULL);
		if (rc != 0) {
			json_t *e = json_object_get(rep, "error");
			fprintf(stderr, "pcctl: %s: %s\n",
			    json_string_value(json_object_get(e, "code")),
			    json_string_value(json_object_get(e, "message")));
		}
	}
	json_decref(rep);
	free(raw);
	return rc;
}

static int
simple(const char *cmd, json_t *args, void (*human)(const json_t *))
{
	char *raw;
	json_t *rep = request(cmd, args, -1, &raw);
	return finish(rep, raw, human);
}

static void
human_rows(const json_t *r)
{
	table_print_rows(stdout, r);
}

static void
human_status(const json_t *r)
{
	static const char *const cols[] = {"name", "state", "pid", "uptime_s",
	    "restarts", "version", "last_exit", NULL};
	static const char *const heads[] = {"PROCESS", "STATE", "PID",
	    "UPTIME_S", "RESTARTS", "VERSION", "LAST_EXIT", NULL};
	table_print_cols(stdout, json_object_get(r, "processes"), cols, heads);
	json_t *k = json_object_get(r, "media_kernel");
	printf("media forwarding: %s\n",
	    json_is_true(k)        ? "kernel (nftables)"
	        : json_is_false(k) ? "user space"
	                           : "unknown");
}

static void
human_text(const json_t *r)
{
	fputs(json_string_value(r) ? json_string_value(r) : "", stdout);
}

/* --- argument helpers --- */

static bool
wants_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

/* Takes "--name VALUE" out of argv; returns VALUE or NULL. */
static const char *
take_opt(int *argc, char **argv, const char *name)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		if (i + 1 >= *argc) {
			fprintf(stderr, "pcctl: %s needs a value\n", name);
			exit(2);
		}
		const char *v = argv[i + 1];
		memmove(&argv[i], &argv[i + 2],
		    (size_t)(*argc - i - 2) * sizeof(char *));
		*argc -= 2;
		return v;
	}
	return NULL;
}

static bool
take_flag(int *argc, char **argv, const char *name)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		memmove(&argv[i], &argv[i + 1],
		    (size_t)(*argc - i - 1) * sizeof(char *));
		(*argc)--;
		return true;
	}
	return false;
}

static void
no_more(int argc, char **argv)
{
	if (argc > 0) {
		fprintf(stderr, "pcctl: unexpected argument \"%s\"\n", argv[0]);
		exit(2);
	}
}

static json_int_t
number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0) {
		fprintf(
		    stderr, "pcctl: %s must be a non-negative number\n", what);
		exit(2);
	}
	return (json_int_t)v;
}

/* "alice@example.com" -> {"user":"alice","domain":"example.com"}. */
static json_t *
user_args(const char *aor)
{
	const char *at = strrchr(aor, '@');
	if (at == NULL || at == aor || at[1] == '\0')
		die_usage("users need USER@DOMAIN");
	json_t *a = json_object();
	json_object_set_new(a, "user", json_stringn(aor, (size_t)(at - aor)));
	json_object_set_new(a, "domain", json_string(at + 1));
	if (json_object_get(a, "user") == NULL ||
	    json_object_get(a, "domain") == NULL)
		die_usage("USER@DOMAIN must be valid UTF-8");
	return a;
}

static char *
read_line_fd(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static char *
prompt_password(const char *prompt)
{
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL) {
		fprintf(stderr,
		    "pcctl: no terminal to ask for the password; "
		    "use --password-stdin\n");
		exit(2);
	}
	struct termios old, quiet;
	int fd = fileno(tty);
	tcgetattr(fd, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, tty);
	fflush(tty);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	char *pw = read_line_fd(tty);
	tcsetattr(fd, TCSAFLUSH, &old);
	fputc('\n', tty);
	fclose(tty);
	return pw;
}

static char *
get_password(bool from_stdin)
{
	char *pw;
	if (from_stdin) {
		pw = read_line_fd(stdin);
	} else {
		pw = prompt_password("Password: ");
		char *again = prompt_password("Again: ");
		if (pw != NULL && (again == NULL || strcmp(pw, again) != 0)) {
			fprintf(stderr, "pcctl: the passwords differ\n");
			exit(2);
		}
		free(again);
	}
	if (pw == NULL || *pw == '\0') {
		fprintf(stderr, "pcctl: empty password\n");
		exit(2);
	}
	return pw;
}

/* --- commands --- */

static int
cmd_status(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl status\n  processes, pids, uptime, "
		     "restarts, versions, media mode;\n  exit 1 unless all "
		     "processes run");
		return 0;
	}
	no_more(argc, argv);
	return simple("status", NULL, human_status);
}

static int
cmd_stats(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl stats [--prometheus]\n  counters of every "
		     "process (Prometheus text format with --prometheus)");
		return 0;
	}
	bool prom = take_flag(&argc, argv, "--prometheus");
	no_more(argc, argv);
	if (prom)
		return simple("stats.prometheus", NULL, human_text);
	return simple("stats", NULL, NULL);
}

static int
cmd_reg(int argc, char **argv)
{
	if (wants_help(argc, argv) || argc == 0) {
		puts("usage: pcctl reg list [AOR] [--limit N]\n"
		     "       pcctl reg remove AOR [CONTACT]");
		return argc == 0 ? 2 : 0;
	}
	json_t *a = json_object();
	const char *limit = take_opt(&argc, argv, "--limit");
	if (limit)
		json_object_set_new(
		    a, "limit", json_integer(number(limit, "--limit")));
	if (strcmp(argv[0], "list") == 0) {
		if (argc > 1)
			json_object_set_new(a, "aor", json_string(argv[1]));
		no_more(argc - 2 > 0 ? argc - 2 : 0, argv + 2);
		return simple("registrations.list", a, human_rows);
	}
	if (strcmp(argv[0], "remove") == 0 && argc >= 2) {
		json_object_set_new(a, "aor", json_string(argv[1]));
		if (argc > 2)
			json_object_set_new(a, "contact", json_string(argv[2]));
		no_more(argc - 3 > 0 ? argc - 3 : 0, argv + 3);
		return simple("registrations.remove", a, NULL);
	}
	die_usage("reg list|remove");
	return 2;
}

static int
cmd_calls(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl calls [list]\n       pcctl calls hangup "
		     "CALLID");
		return 0;
	}
	if (argc == 0 || strcmp(argv[0], "list") == 0) {
		no_more(argc > 1 ? argc - 1 : 0, argv + 1);
		return simple("calls.list", NULL, human_rows);
	}
	if (strcmp(argv[0], "hangup") == 0 && argc == 2)
		return simple("calls.hangup",
		    json_pack("{s:s}", "call_id", argv[1]), NULL);
	die_usage("calls [list] | calls hangup CALLID");
	return 2;
}

static int
cmd_media(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl media [list]\n  media streams anchored by "
		     "relay (kernel or user-space forwarding)");
		return 0;
	}
	if (argc > 0 && strcmp(argv[0], "list") == 0) {
		argc--;
		argv++;
	}
	no_more(argc, argv);
	return simple("media.list", NULL, human_rows);
}

static int
cmd_trunks(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl trunks [list]\n"
		     "       pcctl trunks add JSON   (a \"trunks\" entry of "
		     "portcullis.json)\n"
		     "       pcctl trunks remove NAME");
		return 0;
	}
	if (argc == 0 || strcmp(argv[0], "list") == 0) {
		no_more(argc > 1 ? argc - 1 : 0, argv + 1);
		return simple("trunks.list", NULL, human_rows);
	}
	if (strcmp(argv[0], "add") == 0 && argc == 2)
		return simple(
		    "trunks.add", json_pack("{s:s}", "trunk", argv[1]), NULL);
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return simple(
		    "trunks.remove", json_pack("{s:s}", "name", argv[1]), NULL);
	die_usage("trunks [list] | trunks add JSON | trunks remove NAME");
	return 2;
}

static int
cmd_cdr(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl cdr [list] [--limit N]\n  call detail "
		     "records, newest first");
		return 0;
	}
	const char *limit = take_opt(&argc, argv, "--limit");
	if (argc > 0 && strcmp(argv[0], "list") == 0) {
		argc--;
		argv++;
	}
	no_more(argc, argv);
	json_t *a = NULL;
	if (limit != NULL)
		a = json_pack(
		    "{s:I}", "limit", (json_int_t)number(limit, "--limit"));
	return simple("cdr.list", a, human_rows);
}

static int
cmd_bans(int argc, char **argv)
{
	if (wants_help(argc, argv)) {
		puts("usage: pcctl bans [list]\n"
		     "       pcctl bans add ADDR [--timeout S] [--reason "
		     "TEXT]\n"
		     "       pcctl bans remove ADDR");
		return 0;
	}
	if (argc == 0 || strcmp(argv[0], "list") == 0) {
		no_more(argc > 1 ? argc - 1 : 0, argv + 1);
		return simple("bans.list", NULL, human_rows);
	}
	const char *to = take_opt(&argc, argv, "--timeout");
	const char *reason = take_opt(&argc, argv, "--reason");
	if (strcmp(argv[0], "add") == 0 && argc == 2) {
		json_t *a = json_pack("{s:s}", "addr", argv[1]);
		if (to)
			json_object_set_new(a, "timeout_s",
			    json_integer(number(to, "--timeout")));
		json_object_set_new(
		    a, "reason", json_string(reason ? reason : "pcctl"));
		return simple("bans.add", a, NULL);
	}
	if (strcmp(argv[0], "remove") == 0 && argc == 2)
		return simple(
		    "bans.remove", json_pack("{s:s}", "addr", argv[1]), NULL);
	die_usage("bans [list] | bans add ADDR | bans remove ADDR");
	return 2;
}

static int
cmd_users(int argc, char **argv)
{
	if (wants_help(argc, argv) || argc == 0) {
		puts("usage: pcctl users list [--limit N]\n"
		     "       pcctl users add USER@DOMAIN [--password-stdin]\n"
		     "       pcctl users remove USER@DOMAIN\n"
		     "       pcctl users password USER@DOMAIN "
		     "[--password-stdin]\n"
		     "       pcctl users import FILE   (lines "
		     "user@domain,password; '-' = stdin)\n"
		     "  Without --password-stdin the password is asked on the "
		     "terminal.");
		return argc == 0 ? 2 : 0;
	}
	bool pw_stdin = take_flag(&argc, argv, "--password-stdin");
	const char *limit = take_opt(&argc, argv, "--limit");
	const char *sub = argv[0];
	if (strcmp(sub, "list") == 0) {
		no_more(argc - 1, argv + 1);
		json_t *a = json_object();
		if (limit)
			json_object_set_new(
			    a, "limit", json_integer(number(limit, "--limit")));
		return simple("users.list", a, human_rows);
	}
	if (argc != 2)
		die_usage("users add|remove|password USER@DOMAIN, users "
		          "import FILE");
	if (strcmp(sub, "add") == 0 || strcmp(sub, "password") == 0) {
		json_t *a = user_args(argv[1]);
		char *pw = get_password(pw_stdin);
		json_t *p = json_string(pw);
		memset(pw, 0, strlen(pw));
		free(pw);
		if (p == NULL)
			die_usage("the password must be valid UTF-8");
		json_object_set_new(a, "password", p);
		return simple(
		    strcmp(sub, "add") == 0 ? "users.add" : "users.password", a,
		    NULL);
	}
	if (strcmp(sub, "remove") == 0)
		return simple("users.remove", user_args(argv[1]), NULL);
	if (strcmp(sub, "import") == 0) {
		/* The file goes as a descriptor: the daemon need not be able
		 * to open the path, and nothing limits the size. */
		int fd = strcmp(argv[1], "-") == 0
		    ? dup(0)
		    : open(argv[1], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "pcctl: %s: %s\n", argv[1],
			    strerror(errno));
			return 2;
		}
		char *raw;
		json_t *rep = request("users.import", NULL, fd, &raw);
		close(fd);
		return finish(rep, raw, NULL);
	}
	die_usage("users list|add|remove|password|import");
	return 2;
}

static int
config_check_local(const char *path)
{
	struct pc_conf c;
	struct conf_errors errs = {0};
	memset(&c, 0, sizeof(c));
	if (pcconf_load_errs(path, &c, &errs) < 0) {
		if (opt_json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < errs.n; i++)
				json_array_append_new(
				    arr, json_string(errs.msg[i]));
			json_t *o = json_pack("{s:b, s:{s:s, s:s}, s:{s:b, "
			                      "s:o}}",
			    "ok", 0, "error", "code", "invalid_config",
			    "message", errs.n ? errs.msg[0] : "invalid",
			    "result", "valid", 0, "errors", arr);
			char *s = json_dumps(o, JSON_COMPACT);
			puts(s ? s : "{\"ok\":false}");
			free(s);
			json_decref(o);
		} else {
			conf_errors_print(&errs, stderr);
		}
		conf_errors_free(&errs);
		return 1;
	}
	pcconf_free(&c);
	if (opt_json)
		puts("{\"ok\":true,\"result\":{\"valid\":true}}");
	else
		puts("configuration OK");
	return 0;
}

static int
cmd_config(int argc, char **argv)
{
	if (wants_help(argc, argv) || argc == 0) {
		puts("usage: pcctl config check FILE   validate FILE (no "
		     "daemon needed)\n"
		     "       pcctl config check        validate the running "
		     "daemon's file\n"
		     "       pcctl config show         effective "
		     "configuration\n"
		     "       pcctl config reload       reload; lists what "
		     "needs a restart");
		return argc == 0 ? 2 : 0;
	}
	if (strcmp(argv[0], "check") == 0) {
		if (argc == 2)
			return config_check_local(argv[1]);
		no_more(argc - 1, argv + 1);
		return simple("config.check", NULL, NULL);
	}
	no_more(argc - 1, argv + 1);
	if (strcmp(argv[0], "show") == 0) {
		char *raw;
		json_t *rep = request("config.show", NULL, -1, &raw);
		if (!opt_json && json_is_true(json_object_get(rep, "ok"))) {
			json_t *cfg = json_object_get(
			    json_object_get(rep, "result"), "config");
			json_dumpf(cfg, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(rep);
			free(raw);
			return 0;
		}
		return finish(rep, raw, NULL);
	}
	if (strcmp(argv[0], "reload") == 0)
		return simple("config.reload", NULL, NULL);
	die_usage("config check|show|reload");
	return 2;
}

static int
cmd_log(int argc, char **argv)
{
	if (wants_help(argc, argv) || argc == 0) {
		puts("usage: pcctl log level LEVEL [--process "
		     "all|portcullisd|edge|core|relay]\n  LEVEL: error, "
		     "warn, info, debug");
		return argc == 0 ? 2 : 0;
	}
	const char *proc = take_opt(&argc, argv, "--process");
	if (argc != 2 || strcmp(argv[0], "level") != 0)
		die_usage("log level LEVEL");
	json_t *a = json_pack("{s:s}", "level", argv[1]);
	if (proc)
		json_object_set_new(a, "process", json_string(proc));
	return simple("log.level", a, NULL);
}

static int
cmd_capture(int argc, char **argv)
{
	if (wants_help(argc, argv) || argc == 0) {
		puts("usage: pcctl capture start --path FILE [--call CALLID] "
		     "[--max-bytes N] [--max-seconds N]\n"
		     "       pcctl capture stop --path FILE\n"
		     "  Without --call the SIP ports are captured.");
		return argc == 0 ? 2 : 0;
	}
	const char *path = take_opt(&argc, argv, "--path");
	const char *call = take_opt(&argc, argv, "--call");
	const char *mb = take_opt(&argc, argv, "--max-bytes");
	const char *ms = take_opt(&argc, argv, "--max-seconds");
	if (path == NULL && argc == 2) {
		path = argv[1];
		argc--;
	}
	if (path == NULL || argc != 1)
		die_usage("capture start|stop --path FILE");
	json_t *a = json_pack("{s:s}", "path", path);
	if (strcmp(argv[0], "start") == 0) {
		if (call)
			json_object_set_new(a, "call_id", json_string(call));
		if (mb)
			json_object_set_new(a, "max_bytes",
			    json_integer(number(mb, "--max-bytes")));
		if (ms)
			json_object_set_new(a, "max_seconds",
			    json_integer(number(ms, "--max-seconds")));
		return simple("capture.start", a, NULL);
	}
	if (strcmp(argv[0], "stop") == 0)
		return simple("capture.stop", a, NULL);
	json_decref(a);
	die_usage("capture start|stop");
	return 2;
}

static int
cmd_raw(int argc, char **argv)
{
	if (wants_help(argc, argv) || argc == 0 || argc > 2) {
		puts("usage: pcctl raw CMD [JSON-ARGS]\n  e.g. pcctl raw "
		     "registrations.list '{\"limit\":10}'; pcctl raw help");
		return argc == 0 || argc > 2 ? 2 : 0;
	}
	json_t *a = NULL;
	if (argc == 2) {
		json_error_t jerr;
		a = json_loads(argv[1], 0, &jerr);
		if (!json_is_object(a))
			die_usage("JSON-ARGS must be a JSON object");
	}
	return simple(argv[0], a, NULL);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int ch;
	/* "+": options after the command belong to the command. */
	while ((ch = getopt_long(argc, argv, "+s:c:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			opt_socket = optarg;
			break;
		case 'c':
			opt_config = optarg;
			break;
		case 'j':
			opt_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("pcctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	int n = argc - optind - 1;
	char **rest = argv + optind + 1;
	/* --json may also follow the command. */
	if (take_flag(&n, rest, "--json"))
		opt_json = true;
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} table[] = {
	    {"status", cmd_status},
	    {"stats", cmd_stats},
	    {"reg", cmd_reg},
	    {"registrations", cmd_reg},
	    {"calls", cmd_calls},
	    {"media", cmd_media},
	    {"trunks", cmd_trunks},
	    {"cdr", cmd_cdr},
	    {"bans", cmd_bans},
	    {"users", cmd_users},
	    {"config", cmd_config},
	    {"log", cmd_log},
	    {"capture", cmd_capture},
	    {"raw", cmd_raw},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(cmd, table[i].name) == 0)
			return table[i].fn(n, rest);
	if (strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "pcctl: unknown command \"%s\"\n", cmd);
	usage(stderr);
	return 2;
}
