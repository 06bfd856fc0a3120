/* errno_new.c: errno and EINTR through the fd and spawn wrappers (close_range, closefrom, dup2,
 * dup3, posix_spawn, system, popen, pclose) and through tracked TCP sockets. Each failing call
 * prints its errno name; each successful call runs with errno preset to EDOM and prints errno
 * afterwards. Output must be identical with and without the preload (no pids or ports).
 * Usage: errno_new PORT (a plain HTTP server on 127.0.0.1). */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include "hcommon.h"

extern char **environ;

static void show(const char *what, long rc)
{
	int e = errno;

	printf("%-28s rc=%-3ld errno=%s\n", what, rc, e ? strerrorname_np(e) : "0");
}

#define TRY(what, expr)             \
	do {                        \
		long rc_;           \
		errno = EDOM;       \
		rc_ = (long)(expr); \
		show(what, rc_);    \
	} while (0)

static void on_alarm(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0, a, b, lfd, silent;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct sigaction act = {.sa_handler = on_alarm}; /* no SA_RESTART */
	char buf[64];
	pid_t pid;
	FILE *p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	a = h_connect(port);
	b = h_connect(port);
	TRY("dup2 bad oldfd", dup2(-1, 50));
	TRY("dup2 same fd", dup2(a, a) == a);
	TRY("dup2 over tracked socket", dup2(a, b) == b);
	TRY("dup3 same fd", dup3(a, a, 0));
	TRY("dup3 bad flags", dup3(a, 60, 12345));
	TRY("dup3 cloexec", dup3(a, 60, O_CLOEXEC) == 60);
	TRY("close_range inverted", close_range(70, 60, 0));
	TRY("close_range bad flags", close_range(60, 70, 0x4000));
	TRY("close_range cloexec", close_range(60, 70, CLOSE_RANGE_CLOEXEC));
	TRY("close_range ok", close_range(60, 70, 0));
	errno = EDOM;
	closefrom(900);
	show("closefrom", 0);
	TRY("close tracked dup", close(b));
	TRY("send tracked", send(a, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 34, 0));
	usleep(100000);
	TRY("recv tracked", recv(a, buf, 8, 0));
	while (recv(a, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	TRY("recv tracked EAGAIN", recv(a, buf, sizeof(buf), MSG_DONTWAIT));
	TRY("read tracked EAGAIN", ({
		    fcntl(a, F_SETFL, O_NONBLOCK);
		    read(a, buf, sizeof(buf));
	    }));
	TRY("close tracked", close(a));
	TRY("recv closed", recv(a, buf, 1, 0));
	TRY("send closed", send(a, buf, 1, 0));

	/* EINTR: a blocking recv on a tracked socket whose peer never answers */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(lfd, (struct sockaddr *)&sa, sizeof(sa));
	listen(lfd, 4);
	getsockname(lfd, (struct sockaddr *)&sa, &sl);
	silent = h_connect(ntohs(sa.sin_port));
	sigaction(SIGALRM, &act, NULL);
	alarm(1);
	TRY("recv EINTR", recv(silent, buf, sizeof(buf), 0));
	alarm(1);
	TRY("read EINTR", read(silent, buf, sizeof(buf)));
	close(silent);

	TRY("posix_spawn ok",
	    posix_spawn(&pid, "/bin/true", NULL, NULL, (char *[]){"true", NULL}, environ));
	waitpid(pid, NULL, 0);
	TRY("posix_spawn ENOENT",
	    posix_spawn(&pid, "/nonexistent", NULL, NULL, (char *[]){"x", NULL}, environ));
	TRY("posix_spawnp ok",
	    posix_spawnp(&pid, "true", NULL, NULL, (char *[]){"true", NULL}, environ));
	waitpid(pid, NULL, 0);
	TRY("system exit 3", system("exit 3"));
	TRY("popen bad mode", popen("true", "x") != NULL);
	errno = EDOM;
	p = popen("exit 2", "r");
	show("popen ok", p != NULL);
	TRY("pclose", pclose(p));
	{
		/* waitpid(WNOHANG) with nothing to reap must leave the caller's status alone */
		int st = 12345;
		pid_t kid = fork();
		if (kid == 0) {
			pause();
			_exit(0);
		}
		TRY("waitpid WNOHANG, none ready", waitpid(kid, &st, WNOHANG));
		printf("waitpid status untouched: %s\n", st == 12345 ? "yes" : "no");
		kill(kid, SIGKILL);
		waitpid(kid, &st, 0);
	}
	return 0;
}
