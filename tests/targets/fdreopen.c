/* fdreopen.c: a host that closes every fd >= 3, opens its own file, listening socket and pipe,
 * then does HTTP (on the main thread and on new threads, whose stack pages no unwinder has seen
 * yet); after each exchange it checks that its fds still name what it opened and
 * that no fd it did not open exists. Usage: fdreopen PORT ROUNDS. It first closes the fds it
 * inherited and re-executes itself, so that any fd >= 3 open when main starts is a preload's.
 * Prints "fds ok" or why not. */
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "hcommon.h"

static int file_fd, listen_fd, pipe_fd[2], ipc_fd[2];
static ino_t file_ino;
static int bad;

/* 1 if fd is one this program opened (or stdio, or the directory being listed). */
static int ours(int fd, int extra, int dirfd_)
{
	return fd <= 2 || fd == file_fd || fd == listen_fd || fd == pipe_fd[0] ||
	       fd == pipe_fd[1] || fd == ipc_fd[0] || fd == ipc_fd[1] || fd == extra ||
	       fd == dirfd_;
}

/* Every fd in /proc/self/fd must be one of ours: report the others with what they name. */
static void no_foreign_fds(const char *when, int extra)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d) {
		printf("%s: cannot list /proc/self/fd\n", when);
		bad++;
		return;
	}
	while ((e = readdir(d))) {
		char path[64], target[256];
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (ours(fd, extra, dirfd(d)))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = 0;
		printf("%s: foreign fd %d -> %s\n", when, fd, target);
		bad++;
	}
	closedir(d);
}

/* The file, the socket and the pipe still work and are still what was opened. */
static void check_fds(const char *when)
{
	struct stat sb;
	char buf[16] = {0};
	int type = 0;
	socklen_t tl = sizeof(type);

	if (fstat(file_fd, &sb) < 0 || sb.st_ino != file_ino || pread(file_fd, buf, 5, 0) != 5 ||
	    memcmp(buf, "hello", 5)) {
		printf("%s: file fd %d broken (%s)\n", when, file_fd, strerror(errno));
		bad++;
	}
	if (getsockopt(listen_fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM) {
		printf("%s: socket fd %d broken (%s)\n", when, listen_fd, strerror(errno));
		bad++;
	}
	if (write(pipe_fd[1], "x", 1) != 1 || read(pipe_fd[0], buf, 1) != 1 || buf[0] != 'x') {
		printf("%s: pipe %d/%d broken (%s)\n", when, pipe_fd[0], pipe_fd[1],
		       strerror(errno));
		bad++;
	}
	if (write(ipc_fd[1], "y", 1) != 1 || read(ipc_fd[0], buf, 1) != 1 || buf[0] != 'y') {
		printf("%s: socket pair %d/%d broken (%s)\n", when, ipc_fd[0], ipc_fd[1],
		       strerror(errno));
		bad++;
	}
}

struct round {
	int port, ok;
};

/* One exchange on a thread of its own: its stack pages are new to any unwinder's caches. */
static void *thread_round(void *arg)
{
	struct round *r = arg;
	char body[256];
	int fd = h_connect(r->port);

	r->ok = fd >= 0 && h_get(fd, "/health", body, sizeof(body)) == 200;
	if (fd >= 0)
		close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	char tmpl[] = "/tmp/fdreopen.XXXXXX", body[256], when[64];
	int port, rounds;
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct stat sb;
	int fd;

	if (argc < 3)
		return 2;
	port = atoi(argv[1]);
	rounds = atoi(argv[2]);
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 4) {
		char *args[] = {argv[0], argv[1], argv[2], "clean", NULL};

		for (fd = 3; fd < 1024; fd++)
			close(fd);
		execv("/proc/self/exe", args);
		return 1;
	}
	no_foreign_fds("at start", -1);
	/* one exchange first, so that everything a preload sets up lazily exists */
	fd = h_connect(port);
	if (fd < 0 || h_get(fd, "/health", body, sizeof(body)) != 200) {
		printf("first exchange failed\n");
		return 1;
	}
	no_foreign_fds("before closing", fd);
	close(fd);
	for (fd = 3; fd < 1024; fd++)
		close(fd);

	/* first, on fds 3 and 4, a blocking socket pair with nothing to read, as libuv's IPC
	 * channel */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ipc_fd) < 0)
		return 1;
	file_fd = mkstemp(tmpl);
	if (file_fd < 0 || write(file_fd, "hello", 5) != 5 || fstat(file_fd, &sb) < 0)
		return 1;
	unlink(tmpl);
	file_ino = sb.st_ino;
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(listen_fd, 1) < 0 || pipe(pipe_fd) < 0)
		return 1;
	check_fds("after reopening");
	no_foreign_fds("after reopening", -1);
	for (int i = 0; i < rounds; i++) {
		struct round r = {port, 0};
		pthread_t t;

		snprintf(when, sizeof(when), "thread round %d", i);
		if (pthread_create(&t, NULL, thread_round, &r) || pthread_join(t, NULL) || !r.ok) {
			printf("%s: exchange failed\n", when);
			bad++;
		}
		check_fds(when);
		no_foreign_fds(when, -1);
		fd = h_connect(port);
		snprintf(when, sizeof(when), "round %d", i);
		if (fd < 0 || h_get(fd, "/health", body, sizeof(body)) != 200) {
			printf("%s: exchange failed\n", when);
			bad++;
		}
		no_foreign_fds(when, fd);
		if (fd >= 0)
			close(fd);
		check_fds(when);
	}
	no_foreign_fds("at the end", -1);
	printf(bad ? "fds broken: %d problems\n" : "fds ok\n", bad);
	return bad ? 1 : 0;
}
