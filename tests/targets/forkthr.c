/* forkthr.c: fork while another thread is inside wrappers (HTTP exchanges with flushes).
 * Usage: forkthr PORT FORKS. Each child does one exchange on a fresh connection and exits
 * (odd children with exit(), even ones with _exit()); the parent waits for each child with a
 * 10 s bound. Prints "parent_exchanges N", "children N ok". */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "hcommon.h"

static int port;
static atomic_int stop, thread_x;

static void *worker(void *arg)
{
	int fd = h_connect(port);

	(void)arg;
	while (fd >= 0 && !atomic_load(&stop))
		if (h_get(fd, "/health", NULL, 0) == 200)
			atomic_fetch_add(&thread_x, 1);
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int forks = argc > 2 ? atoi(argv[2]) : 20, good = 0;
	pthread_t th;

	port = argc > 1 ? atoi(argv[1]) : 0;
	pthread_create(&th, NULL, worker, NULL);
	for (int i = 0; i < forks; i++) {
		pid_t pid;
		int st = 0, waited = 0;

		usleep(20000);
		pid = fork();
		if (pid == 0) {
			int fd = h_connect(port);
			int ok = fd >= 0 && h_get(fd, "/tool/weather", NULL, 0) == 200;
			if (i % 2)
				exit(ok ? 0 : 1);
			_exit(ok ? 0 : 1);
		}
		for (int t = 0; t < 1000; t++) { /* 10 s bound */
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid) {
				waited = 1;
				break;
			}
			usleep(10000);
		}
		if (!waited) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			printf("child %d hung\n", i);
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			good++;
		}
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("parent_exchanges %d\nchildren %d of %d ok\n", atomic_load(&thread_x), good, forks);
	return good == forks ? 0 : 1;
}
