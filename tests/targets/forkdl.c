/* forkdl.c: fork while another thread is inside dl_iterate_phdr (it holds the loader's list lock,
 * which glibc does not reset in the child). Usage: forkdl PORT MODE, MODE "cold" (the parent
 * records nothing before the fork: the child sets up stacks itself) or "warm" (the parent makes
 * exchanges first). The child makes a tool exchange and a gzip-encoded LLM call (the first body
 * zlib decodes in the process), never calls the loader itself, and exits 0; the parent waits 10 s
 * at most. The holder returns after 300 ms. Prints "child ok" or "child hung", then "parent ok"
 * once the holder thread returned. */
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "hcommon.h"

static atomic_int inside, release_holder;

static int hold_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	const struct timespec ms = {0, 1000000};

	(void)info;
	(void)size;
	(void)data;
	atomic_store(&inside, 1);
	/* 300 ms: the fork happens meanwhile; the parent's own loader calls after it then wait for
	 * this thread, as they would without the preload, and go on */
	for (int i = 0; i < 300 && !atomic_load(&release_holder); i++)
		nanosleep(&ms, NULL);
	return 1; /* one object is enough */
}

static void *holder(void *arg)
{
	(void)arg;
	dl_iterate_phdr(hold_cb, NULL);
	return NULL;
}

/* One gzip-forced chat completion on a fresh connection (Connection: close); 1 when the whole
 * response arrived with status 200. */
static int gzip_call(int port)
{
	static const char body[] = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\","
				   "\"content\":\"hello from a forked child\"}]}";
	char req[1024], buf[16384];
	size_t have = 0;
	int fd = h_connect(port), status = -1;

	if (fd < 0)
		return 0;
	snprintf(req, sizeof(req),
		 "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
		 "application/json\r\nAccept-Encoding: gzip\r\nx-mock-gzip: force\r\nConnection: "
		 "close\r\nContent-Length: %zu\r\n\r\n%s",
		 sizeof(body) - 1, body);
	if (h_send_all(fd, req, strlen(req)) == 0) {
		for (;;) {
			ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0 || (have += (size_t)r) >= sizeof(buf) - 1)
				break;
		}
		buf[have] = 0;
		if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
			status = -1;
	}
	close(fd);
	return status == 200;
}

int main(int argc, char **argv)
{
	const struct timespec ms = {0, 1000000};
	int port = argc > 2 ? atoi(argv[1]) : 0, st = 0, waited = 0;
	pthread_t t;
	pid_t c;

	if (!port || (strcmp(argv[2], "cold") && strcmp(argv[2], "warm"))) {
		fprintf(stderr, "usage: forkdl PORT cold|warm\n");
		return 2;
	}
	if (!strcmp(argv[2], "warm")) {
		int fd = h_connect(port);

		if (fd < 0 || h_get(fd, "/health", NULL, 0) != 200)
			return 3;
		close(fd);
	}
	pthread_create(&t, NULL, holder, NULL);
	while (!atomic_load(&inside))
		nanosleep(&ms, NULL);
	c = fork();
	if (c == 0) {
		int fd = h_connect(port), good;

		good = fd >= 0 && h_get(fd, "/tool/weather", NULL, 0) == 200;
		if (fd >= 0)
			close(fd);
		good &= gzip_call(port);
		exit(good ? 0 : 1);
	}
	while (c > 0 && waitpid(c, &st, WNOHANG) == 0 && waited < 10000) {
		nanosleep(&ms, NULL);
		waited++;
	}
	if (c > 0 && waited >= 10000) {
		printf("child hung\n");
		kill(c, SIGKILL);
		waitpid(c, &st, 0);
	} else {
		printf("child %s\n", c > 0 && WIFEXITED(st) && !WEXITSTATUS(st) ? "ok" : "failed");
	}
	atomic_store(&release_holder, 1);
	pthread_join(t, NULL);
	printf("parent ok\n");
	return 0;
}
