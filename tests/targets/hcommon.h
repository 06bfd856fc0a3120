/* hcommon.h: small helpers shared by the hardening fixtures: TCP connect, one HTTP/1.1 exchange. */
#ifndef HCOMMON_H
#define HCOMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* Connect to 127.0.0.1:port (5 s receive timeout as a safety net); -1 on failure. */
static inline int h_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int h_send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Send "GET path" with keep-alive; read the response (Content-Length bodies only).
 * Returns the status code, or -1. The body (NUL-terminated, truncated) goes to body. */
static inline int h_get(int fd, const char *path, char *body, size_t bodycap)
{
	char req[512], buf[16384];
	size_t have = 0;
	long clen = 0;
	int status = -1;
	char *eoh;

	snprintf(req, sizeof(req),
		 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n", path);
	if (h_send_all(fd, req, strlen(req)) < 0)
		return -1;
	for (;;) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = 0;
		eoh = strstr(buf, "\r\n\r\n");
		if (eoh)
			break;
		if (have >= sizeof(buf) - 1)
			return -1;
	}
	if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	{
		char *cl = strcasestr(buf, "\r\ncontent-length:");
		if (cl)
			clen = strtol(cl + 17, NULL, 10);
	}
	while ((long)(have - (size_t)(eoh + 4 - buf)) < clen) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	buf[have] = 0;
	if (body && bodycap) {
		snprintf(body, bodycap, "%s", eoh + 4);
	}
	return status;
}

#endif
