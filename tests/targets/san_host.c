/* san_host.c: a host built with a sanitizer (t94): THREADS threads, each making CALLS keep-alive
 * LLM exchanges to a mock. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int port, calls;

/* One keep-alive connection, calls non-streaming chat completions; 0 when every one answered. */
static void *client(void *arg)
{
	static const char body[] =
		"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int s = socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)))
		return (void *)1;
	for (int i = 0; i < calls; i++) {
		char req[512], buf[65536];
		size_t have = 0, want = 0;
		int n = snprintf(req, sizeof(req),
				 "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
				 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
				 strlen(body), body);

		if (send(s, req, (size_t)n, 0) != n)
			return (void *)1;
		while (!want || have < want) {
			ssize_t r = recv(s, buf + have, sizeof(buf) - 1 - have, 0);
			char *e, *cl;

			if (r <= 0)
				return (void *)1;
			have += (size_t)r;
			buf[have] = 0;
			if (!want && (e = strstr(buf, "\r\n\r\n")) &&
			    (cl = strcasestr(buf, "content-length:")))
				want = (size_t)(e + 4 - buf) + strtoul(cl + 15, NULL, 10);
		}
	}
	close(s);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[16];
	int threads, bad = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: san_host PORT THREADS CALLS\n");
		return 2;
	}
	port = atoi(argv[1]);
	threads = atoi(argv[2]);
	calls = atoi(argv[3]);
	if (threads < 1 || threads > 16)
		return 2;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, client, NULL);
	for (int i = 0; i < threads; i++) {
		void *r;

		pthread_join(t[i], &r);
		bad += r != NULL;
	}
	printf("%d threads, %d calls each, %d failed\n", threads, calls, bad);
	return bad != 0;
}
