/* fortify.c: built with -O2 -D_FORTIFY_SOURCE=2 and fixed-size buffers, so recv, read and
 * recvfrom compile to __recv_chk, __read_chk and __recvfrom_chk. Does one HTTP exchange read
 * with each. Usage: fortify PORT. Prints "status 200" three times. */
#include "hcommon.h"

static volatile size_t want = 4096; /* unknown at compile time: the _chk call stays */

static int exchange(int fd, int how)
{
	const char *req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	char buf[4096];
	ssize_t r;
	int st = -1;

	h_send_all(fd, req, strlen(req));
	usleep(50000);
	if (how == 0)
		r = recv(fd, buf, want, 0);
	else if (how == 1)
		r = read(fd, buf, want);
	else
		r = recvfrom(fd, buf, want, 0, NULL, NULL);
	if (r > 0) {
		buf[r < (ssize_t)sizeof(buf) ? r : (ssize_t)sizeof(buf) - 1] = 0;
		sscanf(buf, "HTTP/1.1 %d", &st);
	}
	return st;
}

int main(int argc, char **argv)
{
	int fd = h_connect(argc > 1 ? atoi(argv[1]) : 0);

	for (int how = 0; how < 3; how++)
		printf("status %d\n", exchange(fd, how));
	return 0;
}
