/* agentprof.c: the launcher: runs a command under libagentprof.so and prints the run's summary. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VERSION "0.1.0"
/* Where `make install` puts the library (the Makefile passes the real one). */
#ifndef AP_PKGLIBDIR
#define AP_PKGLIBDIR "/usr/local/lib/agentprof"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: agentprof run [-o DIR] [--unsafe-out] [--no-summary] -- CMD [ARGS...]\n"
		   "       agentprof --version\n"
		   "\n"
		   "Runs CMD with libagentprof.so preloaded (no code change, no root), passes its\n"
		   "exit status through, then prints `agentprof-view summary DIR` on stderr.\n"
		   "\n"
		   "  -o DIR          write span files to DIR (created if missing; default:\n"
		   "                  ./agentprof-YYYYmmdd-HHMMSS.mmm-PID). One directory holds "
		   "one run.\n"
		   "                  An existing DIR must be yours and writable by you only.\n"
		   "  --unsafe-out    accept an existing DIR that other users own or can write\n"
		   "                  (they could read or replace the profiles), with a warning\n"
		   "  --no-summary    do not print the summary afterwards\n"
		   "\n"
		   "The environment variables AGENTPROF_* (see README) are passed through.\n");
}

/* Why an existing output directory is unsafe for our files, or NULL. A directory we just
 * created (0700 under the umask) passes. */
static const char *out_dir_risk(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) < 0)
		return strerror(errno);
	if (S_ISLNK(st.st_mode) && stat(dir, &st) < 0)
		return strerror(errno);
	if (!S_ISDIR(st.st_mode))
		return "not a directory";
	if (st.st_uid != geteuid())
		return "owned by another user";
	if (st.st_mode & S_IWOTH)
		return "world-writable";
	if (st.st_mode & S_IWGRP)
		return "group-writable";
	return NULL;
}

/* Directory holding this executable, so that the library and viewer beside it are found. */
static int self_dir(char *out, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", out, cap - 1);
	char *slash;

	if (n <= 0)
		return -1;
	out[n] = 0;
	slash = strrchr(out, '/');
	if (!slash)
		return -1;
	*slash = 0;
	return 0;
}

static int find_sibling(const char *dir, const char *const *cands, char *out, size_t cap)
{
	for (int i = 0; cands[i]; i++) {
		snprintf(out, cap, "%s/%s", dir, cands[i]);
		if (access(out, R_OK) == 0) {
			char real[PATH_MAX];
			if (realpath(out, real))
				snprintf(out, cap, "%s", real);
			return 0;
		}
	}
	return -1;
}

/* Search PATH like execvp does, to inspect the binary before running it. */
static int resolve_cmd(const char *cmd, char *out, size_t cap)
{
	const char *path = getenv("PATH");

	if (strchr(cmd, '/')) {
		snprintf(out, cap, "%s", cmd);
		return access(out, X_OK);
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(out, cap, "%.*s/%s", (int)n, path, cmd);
		if (access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

/* 1 if the ELF file has no program interpreter (statically linked): the preload cannot enter. */
static int is_static_elf(const char *file)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(file, O_RDONLY | O_CLOEXEC), st = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		goto out;
	st = 1;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph),
			  (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != sizeof(ph)) {
			st = 0;
			break;
		}
		if (ph.p_type == PT_INTERP) {
			st = 0;
			break;
		}
	}
out:
	close(fd);
	return st;
}

static int wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 127;
}

static int cmd_run(int argc, char **argv)
{
	static const char *const libs[] = {"libagentprof.so", "../lib/agentprof/libagentprof.so",
					   NULL};
	static const char *const views[] = {"agentprof-view", NULL};
	char dir[PATH_MAX], lib[PATH_MAX], view[PATH_MAX], out[PATH_MAX], bin[PATH_MAX];
	char preload[PATH_MAX * 2];
	const char *outarg = NULL, *old;
	int summary = 1, unsafe_ok = 0, i, status;
	const char *risk;
	pid_t pid;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			outarg = argv[++i];
		} else if (!strcmp(argv[i], "--unsafe-out")) {
			unsafe_ok = 1;
		} else if (!strcmp(argv[i], "--no-summary")) {
			summary = 0;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "agentprof: unknown option %s\n", argv[i]);
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "agentprof: no command given\n");
		usage(stderr);
		return 2;
	}
	if (self_dir(dir, sizeof(dir)) < 0 ||
	    (find_sibling(dir, libs, lib, sizeof(lib)) < 0 &&
	     find_sibling(AP_PKGLIBDIR, libs, lib, sizeof(lib)) < 0)) {
		fprintf(stderr,
			"agentprof: cannot find libagentprof.so next to %s, in %s/../lib/agentprof "
			"or in " AP_PKGLIBDIR "\n",
			dir, dir);
		return 2;
	}
	if (outarg) {
		snprintf(out, sizeof(out), "%s", outarg);
	} else { /* unique: milliseconds and our pid, so two runs never share a directory */
		struct timespec ts;
		struct tm tm;
		size_t n;

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		n = strftime(out, sizeof(out), "agentprof-%Y%m%d-%H%M%S", &tm);
		snprintf(out + n, sizeof(out) - n, ".%03ld-%d", ts.tv_nsec / 1000000,
			 (int)getpid());
	}
	if (mkdir(out, 0700) < 0 && (errno != EEXIST || !outarg)) {
		fprintf(stderr, "agentprof: cannot create %s: %s\n", out, strerror(errno));
		return 2;
	}
	risk = out_dir_risk(out);
	if (risk && !unsafe_ok) {
		fprintf(stderr,
			"agentprof: refusing output directory %s: %s (another user could read or "
			"replace the profiles); use a private directory or --unsafe-out\n",
			out, risk);
		return 2;
	}
	if (risk)
		fprintf(stderr,
			"agentprof: warning: output directory %s is unsafe (%s); using it "
			"because of --unsafe-out\n",
			out, risk);
	if (realpath(out, bin))
		snprintf(out, sizeof(out), "%s", bin);
	if (resolve_cmd(argv[i], bin, sizeof(bin)) == 0 && is_static_elf(bin))
		fprintf(stderr,
			"agentprof: %s is statically linked: not profiled (LD_PRELOAD cannot "
			"enter a static binary)\n",
			bin);
	old = getenv("LD_PRELOAD");
	if (old && *old)
		snprintf(preload, sizeof(preload), "%s:%s", lib, old);
	else
		snprintf(preload, sizeof(preload), "%s", lib);
	pid = fork();
	if (pid < 0) {
		perror("agentprof: fork");
		return 2;
	}
	if (pid == 0) {
		setenv("LD_PRELOAD", preload, 1);
		setenv("AGENTPROF_OUT", out, 1);
		if (risk)
			setenv("AGENTPROF_UNSAFE_OUT", out, 1);
		execvp(argv[i], argv + i);
		fprintf(stderr, "agentprof: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	/* Like a shell: the child gets ^C; we wait for it and report. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	status = wait_status(pid);
	if (summary && find_sibling(dir, views, view, sizeof(view)) == 0) {
		pid_t v = fork();
		if (v == 0) {
			dup2(2, 1); /* keep the command's stdout clean for pipes */
			execl(view, view, "summary", out, (char *)NULL);
			_exit(127);
		}
		if (v > 0) {
			fprintf(stderr, "\n");
			wait_status(v);
		}
	}
	fprintf(stderr, "agentprof: span files in %s (exit status %d)\n", out, status);
	fprintf(stderr,
		"agentprof: look further with\n  agentprof-view flame %s\n  agentprof-view "
		"bottlenecks %s\n  agentprof-view html -o report.html %s\n",
		out, out, out);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "--version")) {
		printf("agentprof %s\n", VERSION);
		return 0;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
