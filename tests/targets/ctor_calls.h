/* ctor_calls.h: one run of every wrapped libc call, printing results (for ctor_lib/ctor_main). */
#ifndef CTOR_CALLS_H
#define CTOR_CALLS_H

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/*
 * Runs before main (from a library constructor, or the executable's .preinit_array, which runs
 * before every shared object's constructor, the preload's included). Uses write(2) only, never
 * stdio, so that output order does not depend on buffering. Output has no pids, ports or times.
 */
static void cc_line(const char *where, const char *what, long rc, int err)
{
	char b[160];
	int n = snprintf(b, sizeof(b), "%s %s rc=%ld errno=%s\n", where, what, rc,
			 rc < 0 ? strerrorname_np(err) : "-");
	if (write(1, b, (size_t)n) < 0)
		_exit(3);
}

static void cc_run(const char *w)
{
	int sv[2], pp[2], fd, rc;
	char buf[64];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1)};
	struct addrinfo *res = NULL;
	struct iovec iov = {.iov_base = buf, .iov_len = 4};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	pid_t pid;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a)); /* port 1: refused */
	cc_line(w, "connect", rc, errno);
	cc_line(w, "close", close(fd), errno);
	cc_line(w, "socketpair", socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), errno);
	cc_line(w, "send", send(sv[0], "ping", 4, 0), errno);
	cc_line(w, "recv", recv(sv[1], buf, 4, 0), errno);
	cc_line(w, "sendto", sendto(sv[0], "ping", 4, 0, NULL, 0), errno);
	cc_line(w, "recvfrom", recvfrom(sv[1], buf, 4, 0, NULL, NULL), errno);
	cc_line(w, "sendmsg", sendmsg(sv[0], &mh, 0), errno);
	cc_line(w, "recvmsg", recvmsg(sv[1], &mh, 0), errno);
	cc_line(w, "writev", writev(sv[0], &iov, 1), errno);
	cc_line(w, "readv", readv(sv[1], &iov, 1), errno);
	cc_line(w, "shutdown", shutdown(sv[0], SHUT_WR), errno);
	cc_line(w, "read-eof", read(sv[1], buf, sizeof(buf)), errno);
	cc_line(w, "pipe", pipe2(pp, O_CLOEXEC), errno);
	cc_line(w, "write", write(pp[1], "data", 4), errno);
	cc_line(w, "read", read(pp[0], buf, 4), errno);
	cc_line(w, "dup2", dup2(pp[0], sv[0]) >= 0, errno);
	cc_line(w, "dup3", dup3(pp[1], sv[1], O_CLOEXEC) >= 0, errno);
	cc_line(w, "read-badf", read(-1, buf, 1), errno);
	cc_line(w, "close-badf", close(-1), errno);
	rc = getaddrinfo("localhost", "80", NULL, &res);
	cc_line(w, "getaddrinfo", rc, errno);
	if (!rc)
		freeaddrinfo(res);
	rc = posix_spawn(&pid, "/bin/true", NULL, NULL, (char *[]){"true", NULL}, environ);
	cc_line(w, "posix_spawn", rc, errno);
	if (!rc)
		cc_line(w, "waitpid", waitpid(pid, NULL, 0) == pid, errno);
	pid = fork();
	if (pid == 0)
		_exit(7);
	{
		int st = 0;
		waitpid(pid, &st, 0);
		cc_line(w, "fork-child-exit", WEXITSTATUS(st), 0);
	}
	cc_line(w, "close_range", close_range(pp[0], pp[1] > sv[1] ? pp[1] : sv[1], 0), errno);
}

#endif
