/* spawnall.c: every way to start a child: posix_spawn (both symbol versions), posix_spawnp,
 * system, popen/pclose, fork+exec, each with a secret in its arguments. Usage: spawnall DIR
 * STATIC (DIR: a scratch directory; STATIC: a static binary, or "-"). Prints each result; the
 * output must be identical with and without the preload. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The GLIBC_2.2.5 versions, as an old binary would bind them. */
int posix_spawn_old(pid_t *, const char *, const posix_spawn_file_actions_t *,
		    const posix_spawnattr_t *, char *const[], char *const[]);
int posix_spawnp_old(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]);
__asm__(".symver posix_spawn_old, posix_spawn@GLIBC_2.2.5");
__asm__(".symver posix_spawnp_old, posix_spawnp@GLIBC_2.2.5");

static int wait_code(pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	const char *stat_bin = argc > 2 ? argv[2] : "-";
	char script[512], line[128];
	pid_t pid;
	int rc, fd;
	FILE *p;

	setvbuf(stdout, NULL, _IONBF, 0);
	{
		char *a[] = {"sh", "-c", "exit 4", "sh", "--api-key", "SECRET_CANARY_ARGV_1", NULL};
		rc = posix_spawn(&pid, "/bin/sh", NULL, NULL, a, environ);
		printf("posix_spawn rc=%d status=%d\n", rc, rc ? -1 : wait_code(pid));
	}
	{
		char *a[] = {"true", "--token=SECRET_CANARY_ARGV_2", NULL};
		rc = posix_spawnp(&pid, "true", NULL, NULL, a, environ);
		printf("posix_spawnp rc=%d status=%d\n", rc, rc ? -1 : wait_code(pid));
	}
	/* A script without "#!": the 2.15 versions report ENOEXEC, the 2.2.5 versions run it
	 * with /bin/sh. Each must behave like its own glibc version. */
	snprintf(script, sizeof(script), "%s/noshebang.sh", dir);
	fd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, "exit 9\n", 7) != 7)
		return 2;
	close(fd);
	{
		char *a[] = {"noshebang", NULL};
		rc = posix_spawn(&pid, script, NULL, NULL, a, environ);
		printf("posix_spawn@2.15 noshebang rc=%s status=%d\n",
		       rc ? strerrorname_np(rc) : "0", rc ? -1 : wait_code(pid));
		rc = posix_spawn_old(&pid, script, NULL, NULL, a, environ);
		printf("posix_spawn@2.2.5 noshebang rc=%s status=%d\n",
		       rc ? strerrorname_np(rc) : "0", rc ? -1 : wait_code(pid));
		rc = posix_spawnp_old(&pid, script, NULL, NULL, a, environ);
		printf("posix_spawnp@2.2.5 noshebang rc=%s status=%d\n",
		       rc ? strerrorname_np(rc) : "0", rc ? -1 : wait_code(pid));
	}
	{
		char *a[] = {"nope", NULL};
		rc = posix_spawn(&pid, "/nonexistent/nope", NULL, NULL, a, environ);
		printf("posix_spawn missing rc=%s\n", rc ? strerrorname_np(rc) : "0");
		rc = posix_spawnp(NULL, "true", NULL, NULL, (char *[]){"true", NULL}, environ);
		printf("posix_spawnp null-pid rc=%d\n", rc);
		while (wait(NULL) > 0)
			;
	}
	rc = system(": Authorization: Bearer SECRET_CANARY_SYS_3; exit 5");
	printf("system rc=%d exit=%d\n", rc, WEXITSTATUS(rc));
	rc = system("echo -H 'x-api-key: SECRET_CANARY_SYS_4' >/dev/null; exit 0");
	printf("system2 exit=%d\n", WEXITSTATUS(rc));
	printf("system(NULL)=%d\n", system(NULL) != 0);
	p = popen("echo popen-out; exit 6 # --password SECRET_CANARY_POPEN_5", "r");
	if (!p)
		return 2;
	while (fgets(line, sizeof(line), p))
		printf("popen read %s", line);
	rc = pclose(p);
	printf("pclose exit=%d\n", WEXITSTATUS(rc));
	errno = 0;
	printf("pclose(bogus)... skipped\n");
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 8", (char *)NULL);
		_exit(127);
	}
	printf("fork+exec status=%d\n", wait_code(pid));
	if (strcmp(stat_bin, "-")) {
		char *a[] = {(char *)stat_bin, "static-arg", NULL};
		char cmd[600];
		rc = posix_spawn(&pid, stat_bin, NULL, NULL, a, environ);
		printf("static posix_spawn rc=%d status=%d\n", rc, rc ? -1 : wait_code(pid));
		snprintf(cmd, sizeof(cmd), "%s via-system", stat_bin);
		rc = system(cmd);
		printf("static system exit=%d\n", WEXITSTATUS(rc));
		pid = fork();
		if (pid == 0) {
			execv(stat_bin, a);
			_exit(127);
		}
		printf("static fork+exec status=%d\n", wait_code(pid));
	}
	return 0;
}
