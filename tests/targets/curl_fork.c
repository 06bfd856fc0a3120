/* curl_fork.c: fork() while libcurl multi transfers are finished but not yet collected. The
 * parent runs N transfers to PORT until none is running, forks, and both processes then read
 * the DONE messages and remove the handles; the child exits after that. Only the parent ran the
 * transfers, so only its span file may hold them. Usage: curl_fork PORT N [nofork]. Prints "parent
 * N done" and "child collected K" (K = the messages the child saw, inherited from the parent). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t sink(char *p, size_t s, size_t n, void *u)
{
	(void)p;
	(void)u;
	return s * n;
}

/* Read every DONE message and remove every handle; returns the number of DONE messages. */
static int collect(CURLM *m, CURL **h, int n)
{
	CURLMsg *msg;
	int left, done = 0;

	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			done++;
	for (int i = 0; i < n; i++)
		curl_multi_remove_handle(m, h[i]);
	return done;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0, n = argc > 2 ? atoi(argv[2]) : 4, running = 1, st;
	char url[128];
	CURL *h[32];
	CURLM *m;
	pid_t pid;

	if (n < 1 || n > 32 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 2;
	m = curl_multi_init();
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", port);
	for (int i = 0; i < n; i++) {
		h[i] = curl_easy_init();
		curl_easy_setopt(h[i], CURLOPT_URL, url);
		curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, sink);
		curl_multi_add_handle(m, h[i]);
	}
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			return 1;
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	fflush(stdout);
	if (argc > 3) { /* "nofork": the same without the fork, for comparison */
		printf("parent %d done\n", collect(m, h, n));
		return 0;
	}
	pid = fork();
	if (pid == 0) {
		printf("child collected %d\n", collect(m, h, n));
		fflush(stdout);
		exit(0);
	}
	waitpid(pid, &st, 0);
	printf("parent %d done\n", collect(m, h, n));
	for (int i = 0; i < n; i++)
		curl_easy_cleanup(h[i]);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return 0;
}
