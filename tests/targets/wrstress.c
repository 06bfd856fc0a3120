/* wrstress.c: the writer under hostile interleavings: exit races, signal exits, cancellation,
 * fork with busy threads, kill -9 during streams, unmapped segments, fd exhaustion, raw exits.
 * Usage: wrstress MODE PORT N. Modes:
 *   race      8 threads make exchanges without pause; main makes N and calls exit(0)
 *   burst     16 threads make N exchanges each on their own connections; exit 0 if all of
 *             them got a 200
 *   sigexit   a 100 us interval timer whose handler writes and, at the Nth signal, _exit(7)s,
 *             while the thread makes streamed LLM calls (each one a flush point)
 *   cancel    N rounds: 4 threads making exchanges are cancelled at random points and joined
 *   fork      4 threads make exchanges while main forks N children (each makes one exchange
 *             and exits 0) and reaps them; exit 3 (and a line on stderr) if a child did not
 *             exit 0 (a crash, a failed exchange)
 *   stream    N streamed LLM calls one after another; "done I" on stdout after each finished one
 *   seq       N tool exchanges (GET /health) one after another, "done I" after each
 *   timed     N tool exchanges 20 ms apart, then exit 0
 *   munmap    N exchanges, munmap of our span file's mapping (found in /proc/self/maps), N more
 *   emfile    one connection, every free fd taken, N exchanges 40 ms apart, fds given back, 1 more
 *   emfilecreate  the same without the pauses: only the span file's creation fails
 *   quick     N exchanges, at_quick_exit handler makes one more, quick_exit(5)
 *   exitgroup N exchanges, then syscall(SYS_exit_group, 6): no handler runs
 *   quickopen N exchanges, a request whose response is never read, quick_exit(5)
 *   forkgroup a child makes N exchanges and ends with syscall(SYS_exit_group, 6); the parent
 *             reaps it with waitpid (or with $REAPER: wait, wait3, wait4, waitid) and exits 0 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "hcommon.h"

static int port;
static atomic_int stop;
static atomic_long sigs;
static long sig_limit;
static int devnull = -1;

static int exchanges(int fd, int n)
{
	int good = 0;

	for (int i = 0; i < n; i++)
		good += h_get(fd, "/health", NULL, 0) == 200;
	return good;
}

static int stream_call(void);

static int burst_n;

/* burst: burst_n exchanges on a connection of its own; returns how many got a 200. */
static void *burst_worker(void *arg)
{
	int fd = h_connect(port), good;

	(void)arg;
	good = fd < 0 ? 0 : exchanges(fd, burst_n);
	if (fd >= 0)
		close(fd);
	return (void *)(long)good;
}

/* Reap child with the named wait function (default waitpid); its pid, or -1. */
static pid_t reap(pid_t child, int *st, const char *how)
{
	siginfo_t si = {0};

	if (!how || !strcmp(how, "waitpid"))
		return waitpid(child, st, 0);
	if (!strcmp(how, "wait"))
		return wait(st);
	if (!strcmp(how, "wait3"))
		return wait3(st, 0, NULL);
	if (!strcmp(how, "wait4"))
		return wait4(child, st, 0, NULL);
	if (!strcmp(how, "waitid")) {
		if (waitid(P_PID, (id_t)child, &si, WEXITED) != 0 || si.si_code != CLD_EXITED)
			return -1;
		*st = W_EXITCODE(si.si_status, 0);
		return si.si_pid;
	}
	return -1;
}

/* Threads alternate tool exchanges and streamed LLM calls (each LLM call is a flush point). */
static void *worker(void *arg)
{
	int fd = h_connect(port);

	(void)arg;
	while (!atomic_load(&stop) && fd >= 0) {
		if (h_get(fd, "/health", NULL, 0) != 200) {
			close(fd);
			fd = h_connect(port);
		}
		stream_call();
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	if (write(devnull, "x", 1) < 0) {
	}
	if (atomic_fetch_add(&sigs, 1) + 1 >= sig_limit)
		_exit(7);
}

static void *cancel_worker(void *arg)
{
	int fd = h_connect(port);

	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, NULL);
	for (;;) {
		if (fd < 0 || h_get(fd, "/health", NULL, 0) != 200) {
			if (fd >= 0)
				close(fd);
			fd = h_connect(port);
		}
		pthread_testcancel();
	}
	return NULL;
}

/* One streamed chat completion read to its end; 1 if the stream finished ([DONE] seen). */
static int stream_call(void)
{
	static const char body[] = "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{"
				   "\"include_usage\":true},\"messages\":[{\"role\":\"user\","
				   "\"content\":\"hi\"}]}";
	char req[512], buf[16384];
	size_t have = 0;
	int fd = h_connect(port), n;

	if (fd < 0)
		return 0;
	n = snprintf(req, sizeof(req),
		     "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
		     "application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     sizeof(body) - 1, body);
	h_send_all(fd, req, (size_t)n);
	for (;;) {
		ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
		if (have >= sizeof(buf) - 1)
			have = 0;
		buf[have] = 0;
	}
	close(fd);
	return 1;
}

static void unmap_span_file(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	void *lo[8];
	size_t len[8];
	int n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (strstr(line, "/agentprof.") && sscanf(line, "%lx-%lx", &a, &b) == 2 && n < 8) {
			lo[n] = (void *)a;
			len[n++] = b - a;
		}
	}
	if (f)
		fclose(f);
	for (int i = 0; i < n; i++)
		munmap(lo[i], len[i]);
	printf("unmapped %d\n", n);
}

static int quick_fd = -1;

static void quick_handler(void)
{
	exchanges(quick_fd, 1);
}

int main(int argc, char **argv)
{
	const char *mode;
	int n, fd;

	if (argc < 4)
		return 2;
	mode = argv[1];
	port = atoi(argv[2]);
	n = atoi(argv[3]);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "burst")) {
		pthread_t t[16];
		long good = 0;

		burst_n = n;
		for (int i = 0; i < 16; i++)
			pthread_create(&t[i], NULL, burst_worker, NULL);
		for (int i = 0; i < 16; i++) {
			void *r;

			pthread_join(t[i], &r);
			good += (long)r;
		}
		return good == 16L * n ? 0 : 3;
	}
	if (!strcmp(mode, "race")) {
		pthread_t t[8];

		for (int i = 0; i < 8; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		fd = h_connect(port);
		exchanges(fd, n);
		exit(0);
	}
	if (!strcmp(mode, "sigexit")) {
		struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
		struct itimerval it = {{0, 100}, {0, 100}};

		sig_limit = n;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		for (;;)
			stream_call();
	}
	if (!strcmp(mode, "cancel")) {
		unsigned seed = (unsigned)getpid();

		for (int r = 0; r < n; r++) {
			pthread_t t[4];

			for (int i = 0; i < 4; i++)
				pthread_create(&t[i], NULL, cancel_worker, NULL);
			usleep(1000 + rand_r(&seed) % 20000);
			for (int i = 0; i < 4; i++)
				pthread_cancel(t[i]);
			for (int i = 0; i < 4; i++)
				pthread_join(t[i], NULL);
		}
		fd = h_connect(port);
		printf("after cancel: %d\n", exchanges(fd, 3));
		return 0;
	}
	if (!strcmp(mode, "fork")) {
		pthread_t t[4];
		int failed = 0;

		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		for (int i = 0; i < n; i++) {
			pid_t c = fork();

			if (c == 0) {
				int cfd = h_connect(port);
				exit(exchanges(cfd, 1) == 1 ? 0 : 1);
			}
			if (c > 0) {
				int st = 0;
				waitpid(c, &st, 0);
				if (!WIFEXITED(st) || WEXITSTATUS(st)) {
					fprintf(stderr, "child %d failed (wait status %#x)\n", i,
						st);
					failed++;
				}
			}
		}
		atomic_store(&stop, 1);
		for (int i = 0; i < 4; i++)
			pthread_join(t[i], NULL);
		return failed ? 3 : 0;
	}
	if (!strcmp(mode, "stream")) {
		for (int i = 1; i <= n; i++)
			if (stream_call())
				printf("done %d\n", i);
		pause();
		return 0;
	}
	if (!strcmp(mode, "seq")) {
		fd = h_connect(port);
		for (int i = 1; i <= n; i++)
			if (h_get(fd, "/health", NULL, 0) == 200)
				printf("done %d\n", i);
		pause();
		return 0;
	}
	if (!strcmp(mode, "timed")) {
		int got = 0;

		fd = h_connect(port);
		for (int i = 0; i < n; i++) {
			got += exchanges(fd, 1);
			usleep(20000);
		}
		printf("exchanges %d\n", got);
		return 0;
	}
	if (!strcmp(mode, "munmap")) {
		fd = h_connect(port);
		exchanges(fd, n);
		unmap_span_file();
		printf("after: %d\n", exchanges(fd, n));
		return 0;
	}
	if (!strcmp(mode, "emfile") || !strcmp(mode, "emfilecreate")) {
		struct rlimit rl = {64, 64};
		int got = 0, last = -1;
		/* emfilecreate: no pause, so only the file's creation finds no fd (no flush runs)
		 */
		useconds_t gap = strcmp(mode, "emfile") ? 0 : 40000;

		setrlimit(RLIMIT_NOFILE, &rl);
		fd = h_connect(port);
		while ((last = dup(0)) >= 0)
			;
		for (int i = 0; i < n; i++) { /* 40 ms apart: flushes fail while no fd is free */
			got += exchanges(fd, 1);
			if (gap)
				usleep(gap);
		}
		for (int i = 64 - 1; i > fd; i--)
			if (i != devnull && i != 1 && i != 2)
				close(i);
		got += exchanges(fd, 1);
		usleep(20000);
		got += exchanges(fd, 1);
		printf("exchanges %d\n", got);
		return 0;
	}
	if (!strcmp(mode, "quick")) {
		quick_fd = fd = h_connect(port);
		at_quick_exit(quick_handler);
		exchanges(fd, n);
		quick_exit(5);
	}
	if (!strcmp(mode, "quickopen")) {
		static const char req[] =
			"GET /tool/weather?city=open HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
		int open_fd;

		fd = h_connect(port);
		exchanges(fd, n);
		open_fd = h_connect(port);
		h_send_all(open_fd, req, sizeof(req) - 1);
		usleep(50000); /* the response is in the socket, never read */
		quick_exit(5);
	}
	if (!strcmp(mode, "forkgroup")) {
		pid_t child = fork();
		int st = 0;

		if (child == 0) {
			fd = h_connect(port);
			exchanges(fd, n);
			syscall(SYS_exit_group, 6);
		}
		if (child < 0 || reap(child, &st, getenv("REAPER")) != child)
			return 2;
		printf("child %d status %d\n", (int)child, WEXITSTATUS(st));
		return 0;
	}
	if (!strcmp(mode, "exitgroup")) {
		fd = h_connect(port);
		exchanges(fd, n);
		syscall(SYS_exit_group, 6);
	}
	return 2;
}
