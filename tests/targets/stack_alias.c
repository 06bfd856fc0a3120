/*
 * stack_alias.c: LLM calls from two call paths that reach send() at the same stack depth, from
 * the same call site, through two functions of the same frame size (tests/integration/t35):
 *   main -> run -> via_alpha -> ask("model-alpha") -> send/recv
 *   main -> run -> via_beta  -> ask("model-beta")  -> send/recv
 * Only the return address into via_alpha or via_beta tells the stacks apart, so a stack
 * reused by stack pointer alone would put one path's calls under the other.
 *   stack_alias PORT PATTERN    PATTERN of 'a' and 'b': one call per letter, in that order
 * Built like a distro binary (-O2, no frame pointers): the host frames are unwound from DWARF.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PATH_FN __attribute__((noinline, noipa))

static volatile int sink;

/* One POST to 127.0.0.1:port with "Connection: close"; reads the whole response. */
PATH_FN int ask(int port, const char *model)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	char req[512], body[128], resp[4096];
	int fd, n, b;
	ssize_t r, got = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b = snprintf(body, sizeof(body), "{\"model\":\"%s\",\"messages\":[]}", model);
	n = snprintf(req, sizeof(req),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		     "Content-Type: application/json\r\nConnection: close\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     port, b, body);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (send(fd, req, (size_t)n, 0) != n) {
		close(fd);
		return -1;
	}
	/* to the end of the body (Content-Length) or of the connection */
	while ((size_t)got < sizeof(resp) - 1 &&
	       (r = recv(fd, resp + got, sizeof(resp) - 1 - (size_t)got, 0)) > 0) {
		const char *end, *cl;

		got += r;
		resp[got] = 0;
		end = strstr(resp, "\r\n\r\n");
		cl = strcasestr(resp, "content-length:");
		if (end && cl && cl < end && got - (end + 4 - resp) >= atol(cl + 15))
			break;
	}
	close(fd);
	return got > 0 ? 0 : -1;
}

/* The two paths: the same code and frame size, different return addresses. The store after the
 * call keeps each function's frame on the stack (no tail call). */
PATH_FN int via_alpha(int port)
{
	int rc = ask(port, "model-alpha");
	sink = rc;
	return rc;
}

PATH_FN int via_beta(int port)
{
	int rc = ask(port, "model-beta");
	sink = rc;
	return rc;
}

PATH_FN int run(int port, const char *pattern)
{
	int failed = 0;

	for (const char *p = pattern; *p; p++)
		failed |= (*p == 'a' ? via_alpha(port) : via_beta(port)) != 0;
	return failed;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stack_alias PORT PATTERN\n");
		return 2;
	}
	if (run(atoi(argv[1]), argv[2]))
		return 1;
	printf("ok\n");
	return 0;
}
