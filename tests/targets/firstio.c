/* firstio.c: a program whose first action is read() (or connect()), for the allocator-order
 * test with jemalloc in LD_PRELOAD. Usage: firstio read|connect [PORT]. */
#include "hcommon.h"

int main(int argc, char **argv)
{
	char buf[64];
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "connect")) {
		int fd = h_connect(argc > 2 ? atoi(argv[2]) : 1);
		int st = fd >= 0 ? h_get(fd, "/health", NULL, 0) : -1;
		void *p = malloc(1000);
		printf("connect status %d %s\n", st, p ? "malloc ok" : "malloc failed");
		free(p);
		return 0;
	}
	n = read(0, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("read %zd: %s\n", n, buf);
	free(malloc(100));
	return 0;
}
