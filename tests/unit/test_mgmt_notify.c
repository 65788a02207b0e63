/*
 * sd_notify without libsystemd: the datagram reaches a socket named by
 * $NOTIFY_SOCKET (path or '@' abstract), nothing happens without it, and a
 * bad value is an error rather than a crash.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mgmt/notify.h"
#include "tap.h"

static int
bind_dgram(const char *name, bool abstract)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(name);
	memcpy(sa.sun_path + (abstract ? 1 : 0), name, len);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + (abstract ? 1 : 0));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sl) < 0)
		return -1;
	return fd;
}

static void
test_path(void)
{
	char path[64];
	snprintf(path, sizeof(path), "/tmp/pc-notify-%d.sock", (int)getpid());
	unlink(path);
	int fd = bind_dgram(path, false);
	CHECK(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ_INT(notify_send("READY=1\nSTATUS=running"), 1);
	char buf[128];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK(n > 0);
	buf[n > 0 ? n : 0] = '\0';
	CHECK_STR(buf, "READY=1\nSTATUS=running");
	close(fd);
	unlink(path);
}

static void
test_abstract(void)
{
	char name[64];
	snprintf(name, sizeof(name), "pc-notify-abs-%d", (int)getpid());
	int fd = bind_dgram(name, true);
	CHECK(fd >= 0);
	char env[80];
	snprintf(env, sizeof(env), "@%s", name);
	setenv("NOTIFY_SOCKET", env, 1);
	CHECK_EQ_INT(notify_send("STOPPING=1"), 1);
	char buf[64];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	CHECK_EQ_INT(n, 10);
	close(fd);
}

static void
test_absent_and_bad(void)
{
	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ_INT(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_EQ_INT(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "/nonexistent/pc-notify.sock", 1);
	CHECK_EQ_INT(notify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	TEST_RUN(test_path);
	TEST_RUN(test_abstract);
	TEST_RUN(test_absent_and_bad);
	return tap_done();
}
