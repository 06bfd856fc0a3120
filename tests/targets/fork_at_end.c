/* fork_at_end.c: a quiet program (no tracked call) that forks in the middle of the profiler's
 * final flush, deterministically: it exports its own getrusage (-rdynamic), which the
 * profiler's last flush calls after main's atexit handler has run, and that getrusage forks
 * once, the child leaving at once through _exit. Prints the child's pid. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int exiting, done;

static void on_exit_begins(void)
{
	exiting = 1; /* registered after the profiler's handler: runs before it */
}

int getrusage(int who, struct rusage *ru)
{
	int (*real)(int, struct rusage *) =
		(int (*)(int, struct rusage *))dlsym(RTLD_NEXT, "getrusage");

	if (exiting && !done && who == RUSAGE_SELF) {
		pid_t (*real_fork)(void) = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
		pid_t p;

		done = 1;
		p = real_fork ? real_fork() : -1;
		if (p == 0)
			_exit(0);
		if (p > 0) {
			printf("child %d\n", (int)p);
			fflush(stdout);
		}
	}
	return real ? real(who, ru) : -1;
}

int main(void)
{
	atexit(on_exit_begins);
	return 0;
}
