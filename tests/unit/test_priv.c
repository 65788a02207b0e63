/* Unit tests of priv: each drop runs in a forked child, which reports what
 * it then is through its exit status, so the test process keeps root. */
#include "config.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv.h"
#include "tap.h"

static bool is_root;
static struct passwd nobody;
static bool has_nobody;

static void
caps_now(uint32_t eff[2], uint32_t perm[2])
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof d);
	syscall(SYS_capget, &hdr, d);
	eff[0] = d[0].effective;
	eff[1] = d[1].effective;
	perm[0] = d[0].permitted;
	perm[1] = d[1].permitted;
}

/* Runs fn in a child; returns its exit status (or 100 + signal). */
static int
in_child(int (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static int
child_keep_net_admin(void)
{
	char err[256] = "";
	int keep[] = {CAP_NET_ADMIN};
	if (priv_drop("nobody", NULL, keep, 1, err, sizeof err) != 0) {
		printf("# priv_drop: %s\n", err);
		return 1;
	}
	uid_t r, e, s;
	getresuid(&r, &e, &s);
	if (r != nobody.pw_uid || e != nobody.pw_uid || s != nobody.pw_uid)
		return 2;
	if (getgid() != nobody.pw_gid || getegid() != nobody.pw_gid)
		return 3;
	gid_t groups[8];
	int ng = getgroups(8, groups);
	if (ng != 1 || groups[0] != nobody.pw_gid)
		return 4;
	uint32_t eff[2], perm[2];
	caps_now(eff, perm);
	if (eff[0] != 1u << CAP_NET_ADMIN || eff[1] != 0 ||
	    perm[0] != 1u << CAP_NET_ADMIN || perm[1] != 0)
		return 5;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 6;
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 ||
	    prctl(PR_CAPBSET_READ, CAP_NET_ADMIN, 0, 0, 0) != 1)
		return 7;
	if (setuid(0) == 0)
		return 8;
	return 0;
}

static int
child_keep_none(void)
{
	char err[256] = "";
	if (priv_drop("nobody", "nogroup", NULL, 0, err, sizeof err) != 0) {
		printf("# priv_drop: %s\n", err);
		return 1;
	}
	uint32_t eff[2], perm[2];
	caps_now(eff, perm);
	if (eff[0] || eff[1] || perm[0] || perm[1])
		return 2;
	if (getuid() != nobody.pw_uid)
		return 3;
	struct group *g = getgrnam("nogroup");
	if (g == NULL || getgid() != g->gr_gid)
		return 4;
	return 0;
}

static void
test_drop(void)
{
	if (!is_root || !has_nobody) {
		printf("# skipped: needs root and user nobody\n");
		return;
	}
	CHECK_EQ_INT(in_child(child_keep_net_admin), 0);
	CHECK_EQ_INT(in_child(child_keep_none), 0);
}

static int
child_errors(void)
{
	char err[256] = "";
	if (priv_drop("no-such-user-pc", NULL, NULL, 0, err, sizeof err) !=
	        -1 ||
	    strstr(err, "user \"no-such-user-pc\" does not exist") == NULL)
		return 1;
	if (priv_drop("nobody", "no-such-group-pc", NULL, 0, err, sizeof err) !=
	        -1 ||
	    strstr(err, "group \"no-such-group-pc\" does not exist") == NULL)
		return 2;
	int bad[] = {999};
	if (priv_drop("nobody", NULL, bad, 1, err, sizeof err) != -1 ||
	    strstr(err, "invalid capability number 999") == NULL)
		return 3;
	/* None of that changed anything. */
	if (geteuid() != 0)
		return 4;
	return 0;
}

static void
test_errors(void)
{
	if (!is_root) {
		printf("# skipped: needs root\n");
		return;
	}
	CHECK_EQ_INT(in_child(child_errors), 0);
}

static int
child_not_root(void)
{
	/* Become nobody by hand, then priv_drop is a no-op. */
	if (setgid(nobody.pw_gid) < 0 || setuid(nobody.pw_uid) < 0)
		return 10;
	char err[64] = "";
	if (priv_drop("no-such-user-pc", NULL, NULL, 0, err, sizeof err) != 0)
		return 1;
	if (getuid() != nobody.pw_uid || err[0] != '\0')
		return 2;
	return 0;
}

static void
test_not_root(void)
{
	if (is_root && has_nobody) {
		CHECK_EQ_INT(in_child(child_not_root), 0);
		return;
	}
	char err[64] = "";
	CHECK_EQ_INT(priv_drop("nobody", NULL, NULL, 0, err, sizeof err), 0);
}

int
main(void)
{
	is_root = geteuid() == 0;
	struct passwd *p = getpwnam("nobody");
	if (p != NULL) {
		nobody = *p;
		has_nobody = true;
	}
	TEST_RUN(test_drop);
	TEST_RUN(test_errors);
	TEST_RUN(test_not_root);
	return tap_done();
}
