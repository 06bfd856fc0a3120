/* sigprof.c: a 1 us ITIMER_PROF handler calls send() on a tracked TCP socket while main does
 * CPU-bound socket ping-pong on a second loopback connection and an HTTP exchange every 20000
 * round trips; checks that every byte the handler sent arrived (no deadlock).
 * Usage: sigprof PORT SECONDS. Prints "exchanges N", "handler_sent N", "delivered N", "ok". */
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "hcommon.h"

static int sig_fd = -1;
static volatile sig_atomic_t sent, failed;

static void on_prof(int sig)
{
	int saved = errno;

	(void)sig;
	if (send(sig_fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1)
		sent++;
	else
		failed++;
	errno = saved;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0, secs = argc > 2 ? atoi(argv[2]) : 10;
	int lfd, peer, http, pa, pb, n = 0, bad = 0;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	struct itimerval it = {.it_interval = {0, 1}, .it_value = {0, 1}};
	struct sigaction sa = {.sa_handler = on_prof, .sa_flags = SA_RESTART};
	long delivered = 0;
	char buf[4096];
	time_t end;

	/* the handler's target: a loopback TCP connection to ourselves (tracked by the preload) */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al))
		return 2;
	sig_fd = h_connect(ntohs(a.sin_port));
	peer = accept(lfd, NULL, NULL);
	pa = h_connect(ntohs(a.sin_port));
	pb = accept(lfd, NULL, NULL);
	http = h_connect(port);
	if (sig_fd < 0 || peer < 0 || http < 0 || pa < 0 || pb < 0)
		return 2;
	sigaction(SIGPROF, &sa, NULL);
	setitimer(ITIMER_PROF, &it, NULL);
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		for (int i = 0; i < 20000; i++) {
			char m[64];
			ssize_t got = 0, r;
			memset(m, 'p', sizeof(m));
			if (h_send_all(pa, m, sizeof(m)) < 0)
				bad++;
			while (got < (ssize_t)sizeof(m)) {
				r = recv(pb, m, sizeof(m) - (size_t)got, 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					bad++;
					break;
				}
				got += r;
			}
		}
		if (h_get(http, "/health", NULL, 0) != 200)
			bad++;
		n++;
		for (;;) {
			ssize_t r = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
			if (r <= 0)
				break;
			delivered += r;
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_PROF, &it, NULL);
	signal(SIGPROF, SIG_IGN);
	shutdown(sig_fd, SHUT_WR);
	for (;;) {
		ssize_t r = recv(peer, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		delivered += r;
	}
	printf("exchanges %d bad %d\nhandler_sent %ld (failed %ld)\ndelivered %ld\n", n, bad,
	       (long)sent, (long)failed, delivered);
	printf("%s\n", delivered == sent && !bad && sent > 0 ? "ok" : "MISMATCH");
	return delivered == sent && !bad && sent > 0 ? 0 : 1;
}
