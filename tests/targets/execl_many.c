/* execl_many.c: execl, execlp and execle with 300 arguments (glibc has no limit of its own).
 * Each runs "/bin/sh -c 'echo $#' sh a1 ... a298" in a child and prints the count the shell saw,
 * or "FAIL <call>: <errno>" when the exec failed. Usage: execl_many. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define A10(p) p "0", p "1", p "2", p "3", p "4", p "5", p "6", p "7", p "8", p "9"
#define A100(p)                                                                             \
	A10(p "0"), A10(p "1"), A10(p "2"), A10(p "3"), A10(p "4"), A10(p "5"), A10(p "6"), \
		A10(p "7"), A10(p "8"), A10(p "9")
/* 300 arguments after argv[0]: "-c", the script, "sh", then 297 words */
#define ARGS                                                                                 \
	"-c", "echo $# \"$1\" \"${297}\"", "sh", A100("a"), A100("b"), A10("c0"), A10("c1"), \
		A10("c2"), A10("c3"), A10("c4"), A10("c5"), A10("c6"), A10("c7"), A10("c8"), \
		"c90", "c91", "c92", "c93", "c94", "c95", "c96"

static char *const env[] = {"PATH=/bin:/usr/bin", NULL};

static void run(const char *name, int which)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (which == 0)
			execl("/bin/sh", "sh", ARGS, (char *)NULL);
		else if (which == 1)
			execlp("sh", "sh", ARGS, (char *)NULL);
		else
			execle("/bin/sh", "sh", ARGS, (char *)NULL, env);
		printf("FAIL %s: %s\n", name, strerror(errno));
		fflush(stdout);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	run("execl", 0);
	run("execlp", 1);
	run("execle", 2);
	return 0;
}
