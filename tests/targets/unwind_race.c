/* unwind_race.c: threads open and close fds without pause while the main thread makes the
 * process's first tracked exchange (where a preload loads its unwinder, which opens a pipe);
 * after the churn stops, no fd but stdio may be open. Usage: unwind_race PORT.
 * Prints "fds ok" or each foreign fd with what it names. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "hcommon.h"

static atomic_int stop;

/* Open and close fds as fast as possible: sockets, pipes and files, each a fresh lowest fd. */
static void *churn(void *arg)
{
	unsigned long n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		int p[2], s = socket(AF_INET, SOCK_STREAM, 0), f = open("/dev/null", O_RDONLY);

		if (pipe2(p, O_CLOEXEC) == 0) {
			close(p[0]);
			close(p[1]);
		}
		if (s >= 0)
			close(s);
		if (f >= 0)
			close(f);
		n++;
	}
	return (void *)n;
}

int main(int argc, char **argv)
{
	pthread_t t[3];
	char body[256];
	DIR *d;
	struct dirent *e;
	int fd, bad = 0, status;

	if (argc < 2)
		return 2;
	setvbuf(stdout, NULL, _IONBF, 0);
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	usleep(2000);
	fd = h_connect(atoi(argv[1]));
	status = fd < 0 ? -1 : h_get(fd, "/health", body, sizeof(body));
	if (fd >= 0)
		close(fd);
	atomic_store(&stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	if (status != 200) {
		printf("exchange failed (%d)\n", status);
		return 1;
	}
	d = opendir("/proc/self/fd");
	if (!d)
		return 1;
	while ((e = readdir(d))) {
		char path[64], target[256];
		ssize_t n;

		fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		printf("foreign fd %d -> %s\n", fd, target);
		bad++;
	}
	closedir(d);
	printf(bad ? "fds leaked\n" : "fds ok\n");
	return bad ? 1 : 0;
}
