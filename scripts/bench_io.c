/* bench_io.c: micro-workloads timed by scripts/bench.sh with and without the preload. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int full_io(int fd, char *buf, size_t n, int out)
{
	size_t o = 0;

	while (o < n) {
		ssize_t r = out ? send(fd, buf + o, n - o, 0) : recv(fd, buf + o, n - o, 0);
		if (r <= 0)
			return -1;
		o += (size_t)r;
	}
	return 0;
}

/* Echo server on 127.0.0.1: prints its port, serves connections one after another. */
static int echo_server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char buf[65536];

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 16) < 0)
		return 1;
	getsockname(s, (struct sockaddr *)&a, &al);
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		ssize_t r;
		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((r = recv(c, buf, sizeof(buf), 0)) > 0)
			if (full_io(c, buf, (size_t)r, 1) < 0)
				break;
		close(c);
	}
}

/* N round trips of a 64-byte message. */
static int pingpong(int port, long n)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	char msg[64];
	double t0;

	memset(msg, 'x', sizeof(msg));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 1;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	t0 = now_s();
	for (long i = 0; i < n; i++)
		if (full_io(s, msg, sizeof(msg), 1) < 0 || full_io(s, msg, sizeof(msg), 0) < 0)
			return 1;
	printf("%.6f\n", now_s() - t0);
	close(s);
	return 0;
}

/* N write+read pairs of 64 bytes through a pipe. */
static int pipe_rw(long n)
{
	int p[2];
	char msg[64] = { 0 };
	double t0;

	if (pipe(p) < 0)
		return 1;
	t0 = now_s();
	for (long i = 0; i < n; i++)
		if (write(p[1], msg, sizeof(msg)) != sizeof(msg) ||
		    read(p[0], msg, sizeof(msg)) != sizeof(msg))
			return 1;
	printf("%.6f\n", now_s() - t0);
	return 0;
}

/* N 4 KiB reads of a file (from the page cache), rewinding with pread-free lseek. */
static int file_read(const char *path, long n)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	double t0;

	if (fd < 0)
		return 1;
	t0 = now_s();
	for (long i = 0; i < n; i++) {
		if (read(fd, buf, sizeof(buf)) <= 0)
			lseek(fd, 0, SEEK_SET);
	}
	printf("%.6f\n", now_s() - t0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "echo-server"))
		return echo_server();
	if (argc >= 4 && !strcmp(argv[1], "pingpong"))
		return pingpong(atoi(argv[2]), atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "pipe"))
		return pipe_rw(atol(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "file"))
		return file_read(argv[2], atol(argv[3]));
	fprintf(stderr, "usage: bench_io echo-server | pingpong PORT N | pipe N | file PATH N\n");
	return 2;
}
