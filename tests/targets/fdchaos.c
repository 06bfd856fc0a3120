/* fdchaos.c: a host that closes every fd, calls close_range/closefrom and dup2s over sockets
 * while doing HTTP. Usage: fdchaos PORT FAKEFILE. FAKEFILE holds a fake HTTP response (status
 * 299): it is read through fd numbers that a moment earlier named a socket waiting for a
 * response, so a stale fd table would record a 299 exchange. Prints "ok" when every real
 * exchange returned 200 with the mock's body; a foreign byte on a socket breaks that. */
#include <fcntl.h>

#include "hcommon.h"

static int bad;

static void exchange(int fd, const char *what)
{
	char body[256];
	int st = h_get(fd, "/health", body, sizeof(body));

	if (st != 200) {
		printf("%s: status %d\n", what, st);
		bad++;
	}
}

/* Send a request and leave its response unread: the connection waits for a response. */
static int pending(int port)
{
	int fd = h_connect(port);
	const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

	h_send_all(fd, req, strlen(req));
	usleep(50000);
	return fd;
}

static void read_fake(int fd, const char *fake)
{
	char buf[256];
	int extra[64], n = 0, f = -1;

	/* open() takes the lowest free number: open until the fake file sits on fd (no dup2,
	 * which would clear the table entry itself) */
	while (n < 64 && (f = open(fake, O_RDONLY)) >= 0 && f != fd)
		extra[n++] = f;
	if (f == fd)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	else
		printf("could not place the fake file on fd %d\n", fd), bad++;
	while (n)
		close(extra[--n]);
	close(fd);
}

int main(int argc, char **argv)
{
	int port, a, b, c;
	const char *fake;

	if (argc < 3)
		return 2;
	port = atoi(argv[1]);
	fake = argv[2];

	/* 1. the classic daemon loop */
	a = h_connect(port);
	exchange(a, "before");
	c = pending(port);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	read_fake(c, fake);
	a = h_connect(port);
	exchange(a, "after close loop");

	/* 2. close_range over everything */
	c = pending(port);
	close_range(3, ~0U, 0);
	read_fake(c, fake);
	a = h_connect(port);
	exchange(a, "after close_range");

	/* 3. closefrom */
	c = pending(port);
	closefrom(3);
	read_fake(c, fake);
	a = h_connect(port);
	exchange(a, "after closefrom");

	/* 4. dup2 / dup3 over sockets: b's number now names a's socket */
	a = h_connect(port);
	b = pending(port);
	dup2(a, b);
	exchange(b, "dup2 target");
	exchange(a, "dup2 source");
	c = pending(port);
	dup3(a, c, O_CLOEXEC);
	exchange(c, "dup3 target");

	/* 5. close_range with CLOSE_RANGE_CLOEXEC keeps the fds open */
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	exchange(a, "after cloexec range");
	printf("%s\n", bad ? "BAD" : "ok");
	return bad ? 1 : 0;
}
