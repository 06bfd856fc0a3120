/* rt_proc.c: process logic shared by the exec, spawn and fork wrappers: argv copies, exec target
 * checks (static or set-id binaries, PATH search), the vfork mailbox, the preload in an envp. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redact.h"
#include "rt.h"

/* argv into a process event, each argument redacted (redact.h) and cut to 255 bytes. */
void ap_copy_argv(struct ap_proc_event *e, char *const argv[])
{
	size_t o = 0;
	int prev_secret = 0;

	for (int i = 0; argv && argv[i]; i++) {
		char arg[256];
		size_t len;

		ap_strlcpy(arg, argv[i], sizeof(arg));
		prev_secret = ap_redact_arg(arg, sizeof(arg), prev_secret);
		len = strlen(arg);
		if (o + len + 1 > sizeof(e->argv))
			break;
		memcpy(e->argv + o, arg, len + 1);
		o += len + 1;
		e->argc++;
	}
}

/* --- the static / setuid child check ------------------------------------------------------------
 */

/* Classify an executable: 0 dynamic (or unknown), 1 static ELF (no PT_INTERP), 2 set-id to
 * another user (the loader ignores LD_PRELOAD). A "#!" script is judged by its interpreter. */
static int exe_kind(const char *path, int depth)
{
	union {
		Elf64_Ehdr e64;
		Elf32_Ehdr e32;
		char line[256];
	} h;
	uint8_t ph[64 * sizeof(Elf64_Phdr)];
	struct stat st;
	size_t phent, phnum, need;
	uint64_t phoff;
	ssize_t n;
	int fd, kind = 0;

	/* only regular files, opened non-blocking: exec'ing a FIFO fails with EACCES, and our
	 * look at it must neither hang nor open it (that would wake a writer waiting there) */
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	if ((((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
	     ((st.st_mode & S_ISGID) && st.st_gid != getegid()))) {
		kind = 2;
		goto out;
	}
	n = pread(fd, &h, sizeof(h), 0);
	if (n > 2 && h.line[0] == '#' && h.line[1] == '!' && depth == 0) {
		char interp[256];
		size_t i = 2, o = 0;

		while (i < (size_t)n && (h.line[i] == ' ' || h.line[i] == '\t'))
			i++;
		while (i < (size_t)n && o + 1 < sizeof(interp) && h.line[i] != ' ' &&
		       h.line[i] != '\t' && h.line[i] != '\n' && h.line[i] != '\r')
			interp[o++] = h.line[i++];
		interp[o] = 0;
		AP_REAL(close)(fd);
		return o ? exe_kind(interp, depth + 1) : 0;
	}
	if (n < (ssize_t)sizeof(Elf32_Ehdr) || memcmp(h.e64.e_ident, ELFMAG, SELFMAG))
		goto out;
	if (h.e64.e_ident[EI_CLASS] == ELFCLASS64 && n >= (ssize_t)sizeof(Elf64_Ehdr)) {
		phoff = h.e64.e_phoff;
		phent = h.e64.e_phentsize;
		phnum = h.e64.e_phnum;
		if (phent < sizeof(Elf64_Phdr))
			goto out;
	} else if (h.e32.e_ident[EI_CLASS] == ELFCLASS32) {
		phoff = h.e32.e_phoff;
		phent = h.e32.e_phentsize;
		phnum = h.e32.e_phnum;
		if (phent < sizeof(Elf32_Phdr))
			goto out;
	} else {
		goto out;
	}
	if (h.e64.e_type != ET_EXEC && h.e64.e_type != ET_DYN)
		goto out;
	if (!phnum || phent > sizeof(ph) || phnum > sizeof(ph) / phent)
		goto out; /* unusual layout: assume dynamic */
	need = phent * phnum;
	if (pread(fd, ph, need, (off_t)phoff) != (ssize_t)need)
		goto out;
	kind = 1;
	for (size_t i = 0; i < phnum; i++) {
		uint32_t type;
		memcpy(&type, ph + i * phent, sizeof(type)); /* p_type leads both layouts */
		if (type == PT_INTERP) {
			kind = 0;
			break;
		}
	}
out:
	AP_REAL(close)(fd);
	return kind;
}

/* Find file the way execvp/posix_spawnp do (the caller's PATH); 1 if found. */
static int search_path(const char *file, char *out, size_t cap)
{
	const char *p = getenv("PATH");
	size_t fl = strlen(file);

	if (!*file)
		return 0;
	if (strchr(file, '/')) {
		ap_strlcpy(out, file, cap);
		return 1;
	}
	if (!p)
		p = "/bin:/usr/bin";
	for (;;) {
		size_t dl = strcspn(p, ":");

		if (dl + fl + 2 <= cap) {
			if (dl) {
				memcpy(out, p, dl);
				out[dl] = '/';
				memcpy(out + dl + 1, file, fl + 1);
			} else {
				memcpy(out, file, fl + 1); /* empty entry: the current directory */
			}
			if (access(out, X_OK) == 0)
				return 1;
		}
		if (!p[dl])
			return 0;
		p += dl + 1;
	}
}

/* The exec'd file cannot carry the preload: say so once per exec (errno preserved). Returns the
 * kind (0 dynamic or unknown). Called before an exec and after a successful spawn. */
int ap_child_unprofilable(const char *file, int use_path)
{
	char path[AP_PATH_MAX], msg[AP_STR_MSG];
	int err = errno, kind = 0;

	if (!file)
		return 0;
	if (use_path ? search_path(file, path, sizeof(path))
		     : (ap_strlcpy(path, file, sizeof(path)), 1))
		kind = exe_kind(path, 0);
	if (kind) {
		snprintf(msg, sizeof(msg), "not profiled: %s: %.200s",
			 kind == 1 ? "static binary" : "set-user-ID binary", path);
		ap_diag(AP_DIAG_STATIC_CHILD, msg);
	}
	errno = err;
	return kind;
}

/* Written by vfork children (ap_vfork_note_exec), drained by the parent in ap_flush. */
struct ap_vfork_note ap_vfork_notes[AP_VFORK_NOTES];

/* In a vfork child about to exec: note a static or set-id target for the parent. Uses only the
 * stack and the mailbox. */
void ap_vfork_note_exec(const char *file, int use_path)
{
	char path[AP_PATH_MAX];
	int err = errno, kind = 0;

	if (!file)
		return;
	if (use_path ? search_path(file, path, sizeof(path))
		     : (ap_strlcpy(path, file, sizeof(path)), 1))
		kind = exe_kind(path, 0);
	for (int i = 0; kind && i < AP_VFORK_NOTES; i++) {
		struct ap_vfork_note *n = &ap_vfork_notes[i];
		int expect = 0;
		if (atomic_compare_exchange_strong(&n->state, &expect, 1)) {
			n->kind = kind;
			ap_strlcpy(n->path, path, sizeof(n->path));
			atomic_store(&n->state, 2);
			break;
		}
	}
	errno = err;
}

/* 1 when envp hands the preload to the child. */
int ap_env_has_preload(char *const envp[])
{
	for (int i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], "LD_PRELOAD=", 11))
			return strstr(envp[i], "libagentprof") != NULL;
	return 0;
}

/* --- AGENTPROF_CHILDREN=0: one process, through its execs ----------------------------------- */

extern char **environ;

/* The LD_PRELOAD entry environ points to once cleaned in the constructor. */
static char ld[AP_ENV_LD_MAX] AP_COLD_BSS;

/* The LD_PRELOAD value without libagentprof, into ld; 0 if nothing else is left. */
static size_t ld_preload_without_us(const char *v, char *out)
{
	size_t o = 0;

	while (*v) {
		size_t n = strcspn(v, ": ");

		if (n && !memmem(v, n, "libagentprof", 12) && o + n + 2 < AP_ENV_LD_MAX) {
			if (o)
				out[o++] = ':';
			memcpy(out + o, v, n);
			o += n;
		}
		v += n;
		v += strspn(v, ": ");
	}
	out[o] = 0;
	return o;
}

size_t ap_env_count(char *const envp[])
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	return n;
}

/* in without our variables into out (out may be in itself: it is written behind the read). */
static void env_without_us(char *const in[], char **out, char *ldbuf)
{
	size_t w = 0;

	for (size_t r = 0; in && in[r]; r++) {
		if (!strncmp(in[r], "AGENTPROF_", 10))
			continue;
		if (!strncmp(in[r], "LD_PRELOAD=", 11)) {
			if (!strstr(in[r], "libagentprof")) {
				out[w++] = in[r];
				continue;
			}
			memcpy(ldbuf, "LD_PRELOAD=", 11);
			if (ld_preload_without_us(in[r] + 11, ldbuf + 11))
				out[w++] = ldbuf;
			continue;
		}
		out[w++] = in[r];
	}
	out[w] = NULL;
}

char *const *ap_env_for_child(char *const envp[], char **out, char *ldbuf)
{
	if (!envp)
		return envp;
	env_without_us(envp, out, ldbuf);
	return out;
}

/* environ itself is left alone: a host may keep its own count of it (bash does), so an
 * array shortened under it would crash it. The exec and spawn wrappers clean a copy. */
int ap_unprofiled_child(void)
{
	return AP_UNLIKELY(!ap_rt.cfg.children) && ap_rt.cfg.only_pid &&
	       ap_getpid_raw() != ap_rt.cfg.only_pid;
}

void ap_unprofiled_after_fork(void)
{
	atomic_store(&ap_rt.finished, 1); /* records nothing of its own, writes no file */
}

int ap_children_policy_init(void)
{
	const char *v = getenv("AGENTPROF_ONLY_PID");
	pid_t me = ap_getpid_raw();
	char num[24];

	if (v && *v && atol(v) != me) {
		/* a child that carries the preload anyway (system, popen, an exec we did not see):
		 * not profiled, and neither are its own children */
		ap_rt.cfg.only_pid = (pid_t)atol(v);
		/* before main: nobody holds a count of environ yet */
		if (environ)
			env_without_us(environ, environ, ld);
		return 1;
	}
	ap_rt.cfg.only_pid = me;
	snprintf(num, sizeof(num), "%ld", (long)me);
	setenv("AGENTPROF_ONLY_PID", num, 1);
	return 0;
}
