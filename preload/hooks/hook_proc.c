/* hook_proc.c: fork, exec, wait, exit and munmap wrappers: keep the writer right as the process
 * forks, changes image or ends. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "redact.h"
#include "rt.h"
#include "rt_pystack.h"
#include "rt_stack.h"

/* 1 in the process we initialised; 0 in a vfork child sharing our memory. */
static int own_process(void)
{
	return ap_active() && ap_getpid_raw() == ap_rt.pid;
}

static void proc_event(unsigned kind, const char *path, char *const argv[], pid_t child, int status,
		       int64_t t0, int64_t t1, int profiled)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_PROC_EVENT);
	r.u.proc_event.kind = (uint8_t)kind;
	r.u.proc_event.tid = ap_gettid();
	r.u.proc_event.time_ns = t0;
	r.u.proc_event.end_ns = t1;
	r.u.proc_event.child_pid = child;
	r.u.proc_event.status = status;
	r.u.proc_event.profiled = (uint8_t)profiled;
	r.u.proc_event.span_id = ap_current_span();
	r.u.proc_event.stack_id = ap_stack_capture();
	r.u.proc_event.pystack_id = ap_pystack_capture();
	if (path)
		ap_strlcpy(r.u.proc_event.path, path, sizeof(r.u.proc_event.path));
	ap_copy_argv(&r.u.proc_event, argv);
	ap_record(&r);
}

/* --- fork
 * ------------------------------------------------------------------------------------------ */

AP_EXPORT pid_t fork(void)
{
	int64_t t0;
	pid_t pid;
	int err;

	if (!own_process())
		return AP_REAL(fork)();
	t0 = ap_now();
	ap_tls.guard++;
	/* No flush: the child drops the parent's segment and its copies of parked exchanges,
	 * which stay parked here for libcurl to merge (flushing them now would write them twice).
	 */
	ap_tls.guard--;
	/* No flush: the parent's records are already in its file, and the atfork child handler
	 * drops the parent's segment in the child. */
	pid = AP_REAL(fork)();
	err = errno;
	if (pid > 0) {
		ap_tls.guard++;
		proc_event(AP_PEV_FORK, NULL, NULL, pid, AP_UNKNOWN, t0, ap_now(),
			   ap_rt.cfg.children);
		ap_tls.guard--;
	}
	errno = err;
	return pid;
}

AP_EXPORT pid_t __fork(void) __attribute__((alias("fork"), nothrow));

/* daemon() forks and _exits inside libc, where no wrapper sees it: write everything first. */
AP_EXPORT int daemon(int nochdir, int noclose)
{
	if (own_process()) {
		ap_tls.guard++;
		ap_conn_flush_parked();
		ap_flush(0);
		ap_tls.guard--;
	}
	return AP_REAL(daemon)(nochdir, noclose);
}

/* --- exec
 * ------------------------------------------------------------------------------------------ */

/*
 * Before the image is replaced: record the exec and compress what is left. A process that has
 * recorded nothing yet (a shell's child between fork and exec) writes nothing: the new image,
 * which keeps the pid, writes the one file of this process. It is kept when the new image
 * will not be profiled (a static or set-id binary, or an environment of its own without our
 * LD_PRELOAD), so the exec is not lost. With AGENTPROF_CHILDREN=0 the profiled process's own
 * execs are followed like any other; a child of it (forked or vforked) execs with
 * ap_env_for_child's environment, so the program it runs is not profiled.
 */
static int env_drops_preload(char *const envp[])
{
	return envp && envp != environ && !ap_env_has_preload(envp);
}

static void before_exec(const char *path, char *const argv[], char *const envp[])
{
	int unprofilable;

	if (!own_process()) {
		if (ap_active())
			ap_vfork_note_exec(path, path && !strchr(path, '/'));
		return;
	}
	ap_tls.guard++;
	unprofilable =
		ap_child_unprofilable(path, path && !strchr(path, '/')) || env_drops_preload(envp);
	if (ap_writer_has_file() || unprofilable) {
		proc_event(AP_PEV_EXEC, path, argv, ap_rt.pid, AP_UNKNOWN, ap_now(), AP_UNKNOWN,
			   !unprofilable);
		ap_conn_all_closed(ap_now());
		ap_write_process_end(AP_UNKNOWN, 1);
		ap_flush(0);
	}
	ap_tls.guard--;
}

/* AGENTPROF_CHILDREN=0, in a child of the profiled process: the exec'd program gets envp
 * without our variables (a copy on this stack: exec may follow vfork). */
#define CHILD_ENV(envp, call)                                                                     \
	do {                                                                                      \
		if (AP_UNLIKELY(ap_unprofiled_child()) && ap_env_count(envp) < AP_ENV_COPY_MAX) { \
			char *clean_[ap_env_count(envp) + 1], ld_[AP_ENV_LD_MAX];                 \
			char *const *env_ = ap_env_for_child(envp, clean_, ld_);                  \
			return call;                                                              \
		}                                                                                 \
	} while (0)

AP_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	before_exec(path, argv, envp);
	CHILD_ENV(envp, AP_REAL(execve)(path, argv, env_));
	return AP_REAL(execve)(path, argv, envp);
}

AP_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	before_exec(path, argv, envp);
	CHILD_ENV(envp, AP_REAL(execveat)(dirfd, path, argv, env_, flags));
	return AP_REAL(execveat)(dirfd, path, argv, envp, flags);
}

AP_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	before_exec(NULL, argv, envp);
	CHILD_ENV(envp, AP_REAL(fexecve)(fd, argv, env_));
	return AP_REAL(fexecve)(fd, argv, envp);
}

/* execv, execvp, execvpe and the execl family call execve inside libc, where no wrapper sees
 * it, so they are wrapped here and forwarded to the real functions. */
AP_EXPORT int execv(const char *path, char *const argv[])
{
	before_exec(path, argv, NULL);
	CHILD_ENV(environ, AP_REAL(execve)(path, argv, env_));
	return AP_REAL(execv)(path, argv);
}

AP_EXPORT int execvp(const char *file, char *const argv[])
{
	before_exec(file, argv, NULL);
	CHILD_ENV(environ, AP_REAL(execvpe)(file, argv, env_));
	return AP_REAL(execvp)(file, argv);
}

AP_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	before_exec(file, argv, envp);
	CHILD_ENV(envp, AP_REAL(execvpe)(file, argv, env_));
	return AP_REAL(execvpe)(file, argv, envp);
}

/*
 * The execl family, as glibc does it: count the variadic arguments (up to the NULL) with a
 * copy of the list, then copy them into an array on the stack of exactly that size. No limit
 * of our own (the kernel's ARG_MAX is the only one), no malloc (exec may follow vfork).
 */
static size_t execl_count(va_list *ap)
{
	size_t n = 1;

	while (va_arg(*ap, char *))
		n++;
	return n; /* arguments before the NULL, the first one included */
}

/* argv[0] = first, argv[1..n] = the variadic arguments, the ending NULL included. */
static void execl_collect(char **argv, size_t n, const char *first, va_list *ap)
{
	argv[0] = (char *)first;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(*ap, char *);
}

/* The exec the execl family ends in, called with the collected argv (envp: execle's, else NULL). */
typedef int (*exec_final_fn)(const char *file, char *const argv[], char *const envp[]);

static int exec_final_path(const char *path, char *const argv[], char *const envp[])
{
	(void)envp;
	return execv(path, argv);
}

static int exec_final_search(const char *file, char *const argv[], char *const envp[])
{
	(void)envp;
	return execvp(file, argv);
}

/* execle: record the exec with the caller's environment, then the real execve. */
static int exec_final_env(const char *path, char *const argv[], char *const envp[])
{
	before_exec(path, argv, envp);
	CHILD_ENV(envp, AP_REAL(execve)(path, argv, env_));
	return AP_REAL(execve)(path, argv, envp);
}

/* Collect arg and the variadic arguments up to the NULL (then execle's envp) into an array on
 * the stack, and make the final call from here while the array lives. */
static int execl_common(const char *file, const char *arg, va_list *ap, int takes_envp,
			exec_final_fn final)
{
	char **envp = NULL;
	va_list count;
	size_t n;

	va_copy(count, *ap);
	n = execl_count(&count);
	va_end(count);
	{
		char *argv[n + 1];

		execl_collect(argv, n, arg, ap);
		if (takes_envp)
			envp = va_arg(*ap, char **);
		return final(file, argv, envp);
	}
}

AP_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = execl_common(path, arg, &ap, 0, exec_final_path);
	va_end(ap);
	return rc;
}

AP_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = execl_common(file, arg, &ap, 0, exec_final_search);
	va_end(ap);
	return rc;
}

AP_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = execl_common(path, arg, &ap, 1, exec_final_env);
	va_end(ap);
	return rc;
}

/* --- wait
 * ------------------------------------------------------------------------------------------ */

/* A child was reaped (pid, its wait status): the wait event the viewer takes a child's end and
 * exit status from when the child wrote none (a raw exit_group, kill -9). */
static void reaped(pid_t pid, int st, int64_t t0)
{
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : -1;

	ap_tls.guard++;
	proc_event(AP_PEV_WAIT, NULL, NULL, pid, code, t0, ap_now(), ap_rt.cfg.children);
	ap_tls.guard--;
}

/* After the real waitpid, wait, wait3 or wait4 (called with our own status word st, so that the
 * caller's is untouched when nothing was reaped, like glibc): the caller's status, then the
 * event. A stopped or continued child (WUNTRACED, WCONTINUED) was not reaped: no event. */
static pid_t wait_done(pid_t rc, int st, int *status, int64_t t0)
{
	int err = errno;

	if (status && rc > 0)
		*status = st;
	if (rc > 0 && (WIFEXITED(st) || WIFSIGNALED(st)))
		reaped(rc, st, t0);
	errno = err;
	return rc;
}

AP_EXPORT pid_t waitpid(pid_t pid, int *status, int options)
{
	int64_t t0;
	pid_t rc;
	int st = 0;

	if (!own_process())
		return AP_REAL(waitpid)(pid, status, options);
	t0 = ap_now();
	rc = AP_REAL(waitpid)(pid, &st, options);
	return wait_done(rc, st, status, t0);
}

AP_EXPORT pid_t wait(int *status)
{
	int64_t t0;
	pid_t rc;
	int st = 0;

	if (!own_process())
		return AP_REAL(wait)(status);
	t0 = ap_now();
	rc = AP_REAL(wait)(&st);
	return wait_done(rc, st, status, t0);
}

AP_EXPORT pid_t __wait(int *) __attribute__((alias("wait")));

AP_EXPORT pid_t wait3(int *status, int options, struct rusage *usage)
{
	int64_t t0;
	pid_t rc;
	int st = 0;

	if (!own_process())
		return AP_REAL(wait3)(status, options, usage);
	t0 = ap_now();
	rc = AP_REAL(wait3)(&st, options, usage);
	return wait_done(rc, st, status, t0);
}

AP_EXPORT pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
	int64_t t0;
	pid_t rc;
	int st = 0;

	if (!own_process())
		return AP_REAL(wait4)(pid, status, options, usage);
	t0 = ap_now();
	rc = AP_REAL(wait4)(pid, &st, options, usage);
	return wait_done(rc, st, status, t0);
}

/* waitid reports through siginfo: an exited, killed or dumped child, unless WNOWAIT left it
 * waitable (the later wait that reaps it gives the event). */
AP_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	int64_t t0;
	int rc, err, st;

	if (!own_process() || !info || (options & WNOWAIT))
		return AP_REAL(waitid)(idtype, id, info, options);
	t0 = ap_now();
	/* the kernel fills *info on success (si_pid 0 when WNOHANG found nothing); we write nothing
	 */
	rc = AP_REAL(waitid)(idtype, id, info, options);
	err = errno;
	if (rc == 0 && info->si_pid > 0 &&
	    (info->si_code == CLD_EXITED || info->si_code == CLD_KILLED ||
	     info->si_code == CLD_DUMPED)) {
		st = info->si_code == CLD_EXITED ? W_EXITCODE(info->si_status & 0xff, 0)
						 : info->si_status & 0x7f;
		reaped(info->si_pid, st, t0);
	}
	errno = err;
	return rc;
}

AP_EXPORT pid_t __waitpid(pid_t, int *, int) __attribute__((alias("waitpid")));

/* --- exit
 * ------------------------------------------------------------------------------------------ */

AP_EXPORT void exit(int code)
{
	/* The flush runs in our atexit handler, after the host's own handlers, so that their last
	 * calls are recorded too. */
	ap_exit_code_hint(code & 0xff);
	AP_REAL(exit)(code);
	__builtin_unreachable();
}

AP_EXPORT void _exit(int code)
{
	ap_final_flush(code & 0xff);
	AP_REAL(_exit)(code);
	__builtin_unreachable();
}

AP_EXPORT void _Exit(int code)
{
	ap_final_flush(code & 0xff);
	AP_REAL(_Exit)(code);
	__builtin_unreachable();
}

/* --- return from main --------------------------------------------------------------------------
 * A program that returns from main exits through libc's internal exit call, which no wrapper
 * sees, so main is wrapped to learn its status. Both exported versions of __libc_start_main
 * are the same function in glibc (2.34 and 2.2.5 share one address), so one wrapper serves
 * both. */
typedef int (*main_fn)(int, char **, char **);

/* Written once, before main runs. */
static main_fn real_main;

static int main_wrapper(int argc, char **argv, char **envp)
{
	int rc = real_main(argc, argv, envp);

	ap_exit_code_hint(rc & 0xff);
	return rc;
}

AP_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void),
				void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
	real_main = main;
	return AP_REAL(__libc_start_main)(main_wrapper, argc, argv, init, fini, rtld_fini,
					  stack_end);
}

/* --- munmap ----------------------------------------------------------------------------------
 * A host that unmaps memory it did not map (a sandbox clearing its address space) may take our
 * segment with it: the writer forgets it first and maps the file again on its next record. The
 * call itself goes straight to the kernel, exactly as libc's munmap does. */
AP_EXPORT int munmap(void *addr, size_t len)
{
	long rc;

	if (ap_rt.writer_ok)
		ap_writer_unmapped(addr, len);
	rc = syscall(SYS_munmap, addr, len);
	return (int)rc;
}
