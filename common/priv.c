/*
 * priv: the switch from root to the service account. libcap is not a
 * dependency, so capabilities are set with the raw capset(2) system call;
 * the sequence is the classic one: drop unwanted capabilities from the
 * bounding set while still privileged, PR_SET_KEEPCAPS so setuid() keeps
 * the permitted set, switch groups then user, reduce permitted and
 * effective to exactly the kept ones, and forbid regaining privileges.
 */
#include "config.h"

#include "priv.h"

#include "log.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PRIV_LOOKUP_BUF 16384

/* Writes the reason, with strerror(errno) when errno is set. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (e != 0)
		snprintf(err, errlen, "%s: %s", buf, strerror(e));
	else
		snprintf(err, errlen, "%s", buf);
	return -1;
}

static bool
is_kept(const int *keep, size_t n, int cap)
{
	for (size_t i = 0; i < n; i++)
		if (keep[i] == cap)
			return true;
	return false;
}

static int
set_caps(const int *keep, size_t n)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof data);
	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned)keep[i];
		data[c / 32].permitted |= 1u << (c % 32);
		data[c / 32].effective |= 1u << (c % 32);
	}
	return (int)syscall(SYS_capset, &hdr, data);
}

int
priv_drop(const char *user, const char *group, const int *keep_caps,
    size_t ncaps, char *err, size_t errlen)
{
	if (geteuid() != 0)
		return 0;
	errno = 0;
	if (user == NULL || *user == '\0')
		return fail(err, errlen, "no user to switch to");
	for (size_t i = 0; i < ncaps; i++)
		if (keep_caps[i] < 0 || keep_caps[i] > CAP_LAST_CAP ||
		    keep_caps[i] >= 64) {
			errno = 0;
			snprintf(err, errlen, "invalid capability number %d",
			    keep_caps[i]);
			return -1;
		}

	char *buf = malloc(PRIV_LOOKUP_BUF);
	if (buf == NULL)
		return fail(err, errlen, "looking up user \"%s\"", user);
	struct passwd pw, *pwp = NULL;
	int rc = getpwnam_r(user, &pw, buf, PRIV_LOOKUP_BUF, &pwp);
	if (pwp == NULL) {
		free(buf);
		errno = rc;
		if (rc == 0)
			return fail(err, errlen,
			    "user \"%s\" does not exist (create it, or set "
			    "\"user\" in the configuration)",
			    user);
		return fail(err, errlen, "looking up user \"%s\"", user);
	}
	uid_t uid = pw.pw_uid;
	gid_t gid = pw.pw_gid;
	if (group != NULL && *group != '\0') {
		struct group gr, *grp = NULL;
		rc = getgrnam_r(group, &gr, buf, PRIV_LOOKUP_BUF, &grp);
		if (grp == NULL) {
			free(buf);
			errno = rc;
			if (rc == 0)
				return fail(err, errlen,
				    "group \"%s\" does not exist (create it, "
				    "or set \"group\" in the configuration)",
				    group);
			return fail(
			    err, errlen, "looking up group \"%s\"", group);
		}
		gid = gr.gr_gid;
	}
	free(buf);

	/* The bounding set can only shrink while we hold CAP_SETPCAP. */
	for (int c = 0; c <= CAP_LAST_CAP; c++) {
		if (is_kept(keep_caps, ncaps, c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return fail(err, errlen,
			    "dropping capability %d from the bounding set", c);
	}
	if (prctl(PR_SET_KEEPCAPS, ncaps > 0 ? 1 : 0, 0, 0, 0) < 0)
		return fail(err, errlen, "PR_SET_KEEPCAPS");
	if (setgroups(1, &gid) < 0)
		return fail(err, errlen, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return fail(err, errlen, "setresgid");
	if (setresuid(uid, uid, uid) < 0)
		return fail(err, errlen, "setresuid to \"%s\"", user);

	uid_t ru, eu, su;
	if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid ||
	    su != uid) {
		errno = 0;
		return fail(
		    err, errlen, "user ids did not change to \"%s\"", user);
	}
	/* Paranoia: root must be out of reach now. */
	if (uid != 0 && setuid(0) == 0) {
		errno = 0;
		return fail(err, errlen,
		    "could regain root after switching to "
		    "\"%s\"",
		    user);
	}
	if (set_caps(keep_caps, ncaps) < 0)
		return fail(err, errlen, "capset");
	if (ncaps > 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail(err, errlen, "clearing PR_SET_KEEPCAPS");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(err, errlen, "PR_SET_NO_NEW_PRIVS");
	return 0;
}

void
priv_hand_over(const char *user, const char *group, const char *const *paths,
    size_t npaths)
{
	if (geteuid() != 0 || user == NULL)
		return;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL)
		return;
	struct group *gr = group != NULL ? getgrnam(group) : NULL;
	gid_t gid = gr != NULL ? gr->gr_gid : pw->pw_gid;
	for (size_t i = 0; i < npaths; i++) {
		if (paths[i] == NULL)
			continue;
		if (chown(paths[i], pw->pw_uid, gid) < 0 && errno != ENOENT)
			log_warn("chown %s", paths[i]);
	}
}
