/* bench_calls.c: workloads for scripts/bench-extra.sh. Modes:
 *   sock N | pipe N | file PATH N   per-call cost: prints nanoseconds per call (one line)
 *   serve-small PORTFILE | serve-stream PORTFILE BYTES   HTTP servers (fork per connection)
 *   small PORT N                    N keep-alive GET exchanges; prints seconds
 *   download PORT                   one streamed response read to the end; prints seconds */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "hcommon.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int listen_any(const char *portfile)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	FILE *f;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&a, &al))
		exit(2);
	f = fopen(portfile, "w");
	fprintf(f, "%d\n", ntohs(a.sin_port));
	fclose(f);
	signal(SIGCHLD, SIG_IGN);
	return fd;
}

/* Read one request head (no bodies); 0 at EOF. */
static int read_head(int fd)
{
	char b[4096];
	size_t n = 0;

	for (;;) {
		ssize_t r = recv(fd, b + n, sizeof(b) - 1 - n, 0);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		b[n] = 0;
		if (strstr(b, "\r\n\r\n"))
			return 1;
		if (n >= sizeof(b) - 1)
			return 0;
	}
}

static void serve(const char *portfile, long long stream)
{
	int lfd = listen_any(portfile);

	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0) {
			static char blk[1 << 16];
			char hdr[256];
			int one = 1;
			setsockopt(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
			while (read_head(c)) {
				if (!stream) {
					static const char r[] =
						"HTTP/1.1 200 OK\r\nContent-Type: "
						"application/json\r\nContent-Length: 2\r\n\r\n{}";
					h_send_all(c, r, sizeof(r) - 1);
					continue;
				}
				snprintf(hdr, sizeof(hdr),
					 "HTTP/1.1 200 OK\r\nContent-Type: "
					 "application/octet-stream\r\n"
					 "Content-Length: %lld\r\n\r\n",
					 stream);
				h_send_all(c, hdr, strlen(hdr));
				for (long long left = stream; left > 0;) {
					size_t k = left < (long long)sizeof(blk) ? (size_t)left
										 : sizeof(blk);
					if (h_send_all(c, blk, k) < 0)
						break;
					left -= (long long)k;
				}
			}
			_exit(0);
		}
		close(c);
	}
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	char buf[65536];
	double t0;

	if (!strcmp(m, "serve-small"))
		serve(argv[2], 0);
	if (!strcmp(m, "serve-stream"))
		serve(argv[2], atoll(argv[3]));
	if (!strcmp(m, "sock") || !strcmp(m, "pipe")) {
		long n = atol(argv[2]);
		int a, b;
		if (!strcmp(m, "pipe")) {
			int p[2];
			if (pipe(p))
				return 2;
			b = p[0];
			a = p[1];
		} else {
			char pf[] = "/tmp/bench_calls.XXXXXX";
			struct sockaddr_in sa = {.sin_family = AF_INET};
			socklen_t sl = sizeof(sa);
			int l = socket(AF_INET, SOCK_STREAM, 0);
			(void)pf;
			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			bind(l, (struct sockaddr *)&sa, sizeof(sa));
			listen(l, 1);
			getsockname(l, (struct sockaddr *)&sa, &sl);
			a = h_connect(ntohs(sa.sin_port));
			b = accept(l, NULL, NULL);
		}
		t0 = now_s();
		for (long i = 0; i < n; i++) {
			if (!strcmp(m, "pipe")) {
				if (write(a, buf, 64) != 64 || read(b, buf, 64) != 64)
					return 1;
			} else if (send(a, buf, 64, 0) != 64 ||
				   recv(b, buf, 64, MSG_WAITALL) != 64) {
				return 1;
			}
		}
		printf("%.1f\n", (now_s() - t0) * 1e9 / (2.0 * n));
		return 0;
	}
	if (!strcmp(m, "file")) {
		long n = atol(argv[3]);
		int fd = open(argv[2], O_RDONLY);
		t0 = now_s();
		for (long i = 0; i < n; i++) {
			if (read(fd, buf, 4096) <= 0)
				lseek(fd, 0, SEEK_SET);
		}
		printf("%.1f\n", (now_s() - t0) * 1e9 / n);
		return 0;
	}
	if (!strcmp(m, "small")) {
		int fd = h_connect(atoi(argv[2]));
		long n = atol(argv[3]);
		t0 = now_s();
		for (long i = 0; i < n; i++)
			if (h_get(fd, "/v1/tool?x=1", NULL, 0) != 200)
				return 1;
		printf("%.4f\n", now_s() - t0);
		return 0;
	}
	if (!strcmp(m, "download")) {
		int fd = h_connect(atoi(argv[2]));
		const char *req = "GET /big HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
		long long total = 0, want = -1;
		char *eoh;
		size_t have = 0;
		t0 = now_s();
		h_send_all(fd, req, strlen(req));
		for (;;) {
			ssize_t r = recv(fd, buf + (want < 0 ? have : 0),
					 want < 0 ? sizeof(buf) - 1 - have : sizeof(buf), 0);
			if (r <= 0)
				return 1;
			if (want < 0) {
				have += (size_t)r;
				buf[have] = 0;
				eoh = strstr(buf, "\r\n\r\n");
				if (!eoh)
					continue;
				want = atoll(strcasestr(buf, "content-length:") + 15);
				total = (long long)(have - (size_t)(eoh + 4 - buf));
			} else {
				total += r;
			}
			if (total >= want)
				break;
		}
		printf("%.4f\n", now_s() - t0);
		return 0;
	}
	fprintf(stderr, "usage: see the header of bench_calls.c\n");
	return 2;
}
