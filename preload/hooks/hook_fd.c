/* hook_fd.c: close_range, closefrom, dup2 and dup3 wrappers that keep the fd table right, and
 * pipe2, which tells our libunwind loader which pipe its library opened. */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * A host may close whole ranges of fds (daemons, Python's subprocess children, close_fds=True)
 * or dup2() another fd over a socket we track. Without these wrappers the fd table would still
 * name a connection for a number the kernel has already reused, and the next traffic on that
 * number would be attributed to the old connection.
 *
 * The real functions come from the resolver table (rt_syms.h); a call that arrives before our
 * constructor resolved it (another library's constructor), or a libc without the function, is
 * forwarded as the raw system call. A vfork child (same memory, other pid) and a finished or
 * disabled runtime pass straight through.
 */

/* Recording is on and this is the process we initialised (not a vfork child). */
static int own_process(void)
{
	return ap_active() && ap_rt.fd_conn && ap_getpid_raw() == ap_rt.pid;
}

/* Forget every tracked connection on fds first..last (inclusive). */
static void forget_range(unsigned int first, unsigned int last)
{
	int64_t now = ap_now();

	if (last >= AP_FD_MAX)
		last = AP_FD_MAX - 1;
	for (unsigned int fd = first; fd <= last; fd++)
		if (AP_UNLIKELY(ap_conn_for_fd((int)fd) != NULL))
			ap_conn_on_close((int)fd, now);
}

AP_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	int rc, err;

	if (AP_UNLIKELY(!ap_real.close_range))
		rc = (int)syscall(SYS_close_range, first, last, flags);
	else
		rc = ap_real.close_range(first, last, flags);
	if (rc != 0 || (flags & CLOSE_RANGE_CLOEXEC) || first > last || !own_process())
		return rc;
	err = errno;
	ap_tls.guard++;
	forget_range(first, last);
	ap_tls.guard--;
	errno = err;
	return rc;
}

AP_EXPORT void closefrom(int lowfd)
{
	int err;

	if (AP_UNLIKELY(!ap_real.closefrom)) {
		/* before init: glibc's closefrom is close_range(lowfd, ~0U, 0) at heart */
		if (lowfd >= 0)
			syscall(SYS_close_range, (unsigned int)lowfd, ~0U, 0);
	} else {
		ap_real.closefrom(lowfd);
	}
	if (lowfd < 0 || !own_process())
		return;
	err = errno;
	ap_tls.guard++;
	forget_range((unsigned int)lowfd, AP_FD_MAX - 1);
	ap_tls.guard--;
	errno = err;
}

/* newfd now names oldfd's file: a connection tracked on newfd has lost its socket. */
static void after_dup(int rc, int oldfd, int newfd)
{
	int err;

	if (rc < 0 || oldfd == newfd || !ap_conn_for_fd(newfd) || !own_process())
		return;
	err = errno;
	ap_tls.guard++;
	ap_conn_on_close(newfd, ap_now());
	ap_tls.guard--;
	errno = err;
}

static int do_dup2(int oldfd, int newfd)
{
	int rc;

	if (AP_UNLIKELY(!ap_real.dup2))
		rc = (int)syscall(SYS_dup2, oldfd, newfd);
	else
		rc = ap_real.dup2(oldfd, newfd);
	after_dup(rc, oldfd, newfd);
	return rc;
}

AP_EXPORT int dup2(int oldfd, int newfd)
{
	return do_dup2(oldfd, newfd);
}

/* glibc exports the same function as __dup2 (GLIBC_2.2.5) */
AP_EXPORT int __dup2(int oldfd, int newfd)
{
	return do_dup2(oldfd, newfd);
}

AP_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	int rc;

	if (AP_UNLIKELY(!ap_real.dup3))
		rc = (int)syscall(SYS_dup3, oldfd, newfd, flags);
	else
		rc = ap_real.dup3(oldfd, newfd, flags);
	after_dup(rc, oldfd, newfd);
	return rc;
}

/* Passed through. On the thread loading libunwind (rt_stack.c), the pipe its set-up opens is
 * reported there, so that exactly those two fds are closed whatever other threads open. */
AP_EXPORT int pipe2(int fds[2], int flags)
{
	int rc;

	if (AP_UNLIKELY(!ap_real.pipe2))
		rc = (int)syscall(SYS_pipe2, fds, flags);
	else
		rc = ap_real.pipe2(fds, flags);
	if (AP_UNLIKELY(ap_tls.pipe_catch != NULL) && rc == 0) {
		ap_tls.pipe_catch[0] = fds[0];
		ap_tls.pipe_catch[1] = fds[1];
		ap_tls.pipe_catch = NULL;
	}
	return rc;
}
