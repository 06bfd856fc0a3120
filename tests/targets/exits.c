/* exits.c: every way a process can end, after N HTTP exchanges on one connection.
 * Usage: exits MODE PORT N [ARG]. Modes:
 *   exit _exit _Exit return abort       end that way (exit status 3 where there is one)
 *   threads8    8 threads blocked in recv() on a silent socket; main calls exit(0)
 *   kill9       N exchanges, a pause longer than the flush interval, one more exchange, an
 *               LLM call, then "ready" on stdout and sleep until killed
 *   tlsdtor     a thread whose TLS destructors (pthread key, __cxa_thread_atexit_impl) send()
 *   late        a destructor that runs after exit() sends and closes a tracked socket
 *   exec        exec /bin/true (ARG: "thread" = exec from a second thread)
 *   spawn       posix_spawn "sh -c 'exit 3'" and wait for it
 *   daemon      N exchanges, daemon(); the daemon does N more and writes "pid n ppid n" to ARG */
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "hcommon.h"

extern char **environ;
extern void *__dso_handle;
int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);

static int port, conn = -1, silent_port;
static atomic_int blocked;

static int exchanges(int n)
{
	int good = 0;

	if (conn < 0)
		conn = h_connect(port);
	for (int i = 0; i < n; i++)
		good += h_get(conn, "/health", NULL, 0) == 200;
	return good;
}

static int llm_call(void)
{
	static const char body[] =
		"{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
	char req[512], buf[8192];
	int fd = h_connect(port), n;

	n = snprintf(req, sizeof(req),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
		     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     sizeof(body) - 1, body);
	h_send_all(fd, req, (size_t)n);
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	return 0;
}

static void *blocker(void *arg)
{
	char b[16];
	int fd = h_connect(silent_port);
	struct timeval tv = {0, 0}; /* no timeout: block for good */

	(void)arg;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	send(fd, "GET / HTTP/1.1\r\n\r\n", 18, 0);
	atomic_fetch_add(&blocked, 1);
	recv(fd, b, sizeof(b), 0);
	return NULL;
}

static void tls_send(void *arg)
{
	int fd = (int)(long)arg;
	const char *req = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";

	send(fd, req, strlen(req), MSG_NOSIGNAL);
}

static void *tls_thread(void *arg)
{
	static pthread_key_t key;
	int fd = h_connect(port);

	(void)arg;
	h_get(fd, "/health", NULL, 0);
	pthread_key_create(&key, tls_send);
	pthread_setspecific(key, (void *)(long)fd);
	__cxa_thread_atexit_impl(tls_send, (void *)(long)fd, &__dso_handle);
	return NULL;
}

static int late_fd = -1;
__attribute__((destructor)) static void late_dtor(void)
{
	if (late_fd >= 0) {
		h_get(late_fd, "/health", NULL, 0);
		close(late_fd);
	}
}

static void *exec_thread(void *arg)
{
	(void)arg;
	execl("/bin/true", "true", (char *)NULL);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "exit";
	int n = argc > 3 ? atoi(argv[3]) : 5, good;

	port = argc > 2 ? atoi(argv[2]) : 0;
	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(mode, "daemon")) {
		FILE *f;
		pid_t parent = getpid();
		int before = exchanges(n); /* in the parent, which daemon() ends with _exit */
		if (daemon(1, 1) < 0)	   /* keep cwd and stdio: the test reads both */
			return 1;
		close(conn);
		conn = -1;
		good = exchanges(n);
		f = fopen(argv[4], "w");
		fprintf(f, "%d %d %d %d\n", (int)getpid(), good, (int)parent, before);
		fclose(f);
		return 0;
	}
	good = exchanges(n);
	printf("exchanges %d\n", good);
	if (!strcmp(mode, "exit"))
		exit(3);
	if (!strcmp(mode, "_exit"))
		_exit(3);
	if (!strcmp(mode, "_Exit"))
		_Exit(3);
	if (!strcmp(mode, "return"))
		return 3;
	if (!strcmp(mode, "abort"))
		abort();
	if (!strcmp(mode, "threads8")) {
		struct sockaddr_in a = {.sin_family = AF_INET};
		socklen_t al = sizeof(a);
		int lfd = socket(AF_INET, SOCK_STREAM, 0);
		pthread_t t;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(lfd, (struct sockaddr *)&a, sizeof(a));
		listen(lfd, 16);
		getsockname(lfd, (struct sockaddr *)&a, &al);
		silent_port = ntohs(a.sin_port);
		for (int i = 0; i < 8; i++)
			pthread_create(&t, NULL, blocker, NULL);
		while (atomic_load(&blocked) < 8)
			usleep(1000);
		usleep(50000);
		exit(0);
	}
	if (!strcmp(mode, "kill9")) {
		usleep(300000); /* longer than the flush interval the test sets */
		exchanges(1);
		llm_call();
		printf("ready\n");
		for (;;)
			pause();
	}
	if (!strcmp(mode, "tlsdtor")) {
		pthread_t t;
		pthread_create(&t, NULL, tls_thread, NULL);
		pthread_join(t, NULL);
		printf("after thread %d\n", exchanges(1));
		return 0;
	}
	if (!strcmp(mode, "late")) {
		late_fd = h_connect(port);
		exit(0);
	}
	if (!strcmp(mode, "exec")) {
		if (argc > 4 && !strcmp(argv[4], "thread")) {
			pthread_t t;
			pthread_create(&t, NULL, exec_thread, NULL);
			pthread_join(t, NULL);
		}
		execl("/bin/true", "true", (char *)NULL);
		return 1;
	}
	if (!strcmp(mode, "spawn")) {
		char *args[] = {"sh", "-c", "exit 3", NULL};
		pid_t pid;
		int st = 0;
		if (posix_spawn(&pid, "/bin/sh", NULL, NULL, args, environ))
			return 1;
		waitpid(pid, &st, 0);
		printf("spawned %d status %d\n", pid, WEXITSTATUS(st));
		return 0;
	}
	return 2;
}
