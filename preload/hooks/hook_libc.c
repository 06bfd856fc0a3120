/* hook_libc.c: libc socket, fd and DNS wrappers; a non-socket fd costs one table lookup. */
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rt.h"

/* The tracked connection for fd, or NULL when the call should just pass through. */
static inline struct ap_conn *tracked(int fd)
{
	struct ap_conn *c = ap_conn_for_fd(fd);

	if (AP_LIKELY(!c) || !ap_active())
		return NULL;
	return c;
}

/*
 * After the real call on a tracked socket: feed bytes, account our own time, restore errno.
 * ts is the time the bytes are stamped with: when a write began; 0 for reads, which are stamped
 * when they return. Inlined into each wrapper's tracked path: a call stack captured below it
 * has one frame fewer for libunwind to step through.
 */
static inline __attribute__((always_inline)) void
after_io(struct ap_conn *c, int dir, const void *buf, ssize_t rc, int err, int64_t ts)
{
	int64_t t1 = ap_now(), t2;
	struct ap_call_stripe *stripe;

	if (!ts)
		ts = t1; /* reads are stamped when they return */
	ap_tls.guard++;
	stripe = ap_call_stripe();
	atomic_fetch_add_explicit(&stripe->calls, 1, memory_order_relaxed);
	if (rc > 0)
		ap_conn_on_io(c, dir, buf, (size_t)rc, ts);
	else if (rc < 0)
		ap_conn_on_error(c, err, t1);
	ap_maybe_flush(t1);
	t2 = ap_now();
	atomic_fetch_add_explicit(&stripe->overhead_ns, t2 - t1, memory_order_relaxed);
	ap_tls.guard--;
	errno = err;
}

static inline __attribute__((always_inline)) void after_iov(struct ap_conn *c, int dir,
							    const struct iovec *iov, int cnt,
							    ssize_t rc, int err, int64_t ts)
{
	int64_t t1 = ap_now(), t2;
	struct ap_call_stripe *stripe;

	if (!ts)
		ts = t1; /* reads are stamped when they return */
	ap_tls.guard++;
	stripe = ap_call_stripe();
	atomic_fetch_add_explicit(&stripe->calls, 1, memory_order_relaxed);
	if (rc > 0)
		ap_conn_on_iov(c, dir, iov, cnt, (size_t)rc, ts);
	else if (rc < 0)
		ap_conn_on_error(c, err, t1);
	ap_maybe_flush(t1);
	t2 = ap_now();
	atomic_fetch_add_explicit(&stripe->overhead_ns, t2 - t1, memory_order_relaxed);
	ap_tls.guard--;
	errno = err;
}

/* --- connection set-up and tear-down -------------------------------------------------------------
 */

static int is_stream_socket(int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	int saved = errno;
	int ok = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;

	errno = saved;
	return ok;
}

AP_EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int64_t t0, t1;
	int rc, err;

	if (!ap_active())
		return AP_REAL(connect)(fd, sa, len);
	t0 = ap_now();
	rc = AP_REAL(connect)(fd, sa, len);
	err = errno;
	t1 = ap_now();
	ap_tls.guard++;
	if (is_stream_socket(fd))
		ap_conn_on_connect(fd, sa, len, t0, t1, rc, err);
	ap_tls.guard--;
	errno = err;
	return rc;
}

static int after_accept(int rc)
{
	int err = errno;

	if (rc >= 0 && ap_active()) {
		ap_tls.guard++;
		ap_conn_on_accept(rc, ap_now());
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

AP_EXPORT int accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return after_accept(AP_REAL(accept)(fd, sa, len));
}

AP_EXPORT int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	return after_accept(AP_REAL(accept4)(fd, sa, len, flags));
}

AP_EXPORT int close(int fd)
{
	struct ap_conn *c = ap_conn_for_fd(fd);
	int rc, err;

	if (AP_LIKELY(!c) || !ap_active() || ap_getpid_raw() != ap_rt.pid)
		return AP_REAL(close)(fd);
	ap_tls.guard++;
	ap_conn_on_close(fd, ap_now());
	ap_tls.guard--;
	rc = AP_REAL(close)(fd);
	err = errno;
	errno = err;
	return rc;
}

AP_EXPORT int shutdown(int fd, int how)
{
	struct ap_conn *c = tracked(fd);
	int rc = AP_REAL(shutdown)(fd, how);
	int err = errno;

	if (c && (how == SHUT_RDWR || how == SHUT_WR)) {
		ap_tls.guard++;
		ap_maybe_flush(ap_now());
		ap_tls.guard--;
	}
	errno = err;
	return rc;
}

/* --- send side -----------------------------------------------------------------------------------
 */

#define STRIP(...) __VA_ARGS__

/*
 * The wrapper NAME(PARAMS) (ARGS: the same names in a call) with its tracked path in a function
 * of its own, NAME_tracked, entered by a tail call. A non-socket fd then costs the table lookup
 * and a jump to libc: with the tracked path inlined, the wrapper's prologue saved six registers
 * on every call (33 instructions a write or read). The tail call replaces the wrapper's frame,
 * so a stack captured below it has no more frames than before. NAME_tracked with no connection
 * is the call made before libc is resolved (ap_resolve_libc), kept out of the fast path too.
 * Writes are stamped when they begin, reads when they return; a MSG_PEEK read is passed
 * through untracked.
 */
#define IO_OUT_WRAPPER(name, params, args)                                                       \
	static __attribute__((noinline)) ssize_t name##_tracked(struct ap_conn *c, STRIP params) \
	{                                                                                        \
		int64_t t0;                                                                      \
		ssize_t rc;                                                                      \
		if (!c) /* before libc is resolved */                                            \
			return AP_REAL(name) args;                                               \
		t0 = ap_now();                                                                   \
		rc = AP_REAL(name) args;                                                         \
		after_io(c, 0, buf, rc, errno, t0);                                              \
		return rc;                                                                       \
	}                                                                                        \
	AP_EXPORT ssize_t name params                                                            \
	{                                                                                        \
		struct ap_conn *c = tracked(fd);                                                 \
		if (AP_LIKELY(!c && ap_real.name))                                               \
			return ap_real.name args;                                                \
		return name##_tracked(c, STRIP args);                                            \
	}

#define IO_IN_WRAPPER(name, params, args, peek)                                                  \
	static __attribute__((noinline)) ssize_t name##_tracked(struct ap_conn *c, STRIP params) \
	{                                                                                        \
		ssize_t rc;                                                                      \
		if (!c) /* before libc is resolved */                                            \
			return AP_REAL(name) args;                                               \
		rc = AP_REAL(name) args;                                                         \
		after_io(c, 1, buf, rc, errno, 0);                                               \
		return rc;                                                                       \
	}                                                                                        \
	AP_EXPORT ssize_t name params                                                            \
	{                                                                                        \
		struct ap_conn *c = tracked(fd);                                                 \
		if (AP_LIKELY(!c || (peek)) && ap_real.name)                                     \
			return ap_real.name args;                                                \
		return name##_tracked((peek) ? NULL : c, STRIP args);                            \
	}

IO_OUT_WRAPPER(send, (int fd, const void *buf, size_t n, int flags), (fd, buf, n, flags))
IO_OUT_WRAPPER(sendto,
	       (int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
		socklen_t sl),
	       (fd, buf, n, flags, sa, sl))
IO_OUT_WRAPPER(write, (int fd, const void *buf, size_t n), (fd, buf, n))
IO_IN_WRAPPER(recv, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags),
	      (flags & MSG_PEEK))
IO_IN_WRAPPER(recvfrom,
	      (int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *sl),
	      (fd, buf, n, flags, sa, sl), (flags & MSG_PEEK))
IO_IN_WRAPPER(read, (int fd, void *buf, size_t n), (fd, buf, n), 0)
IO_IN_WRAPPER(__recv_chk, (int fd, void *buf, size_t n, size_t buflen, int flags),
	      (fd, buf, n, buflen, flags), (flags & MSG_PEEK))
IO_IN_WRAPPER(__read_chk, (int fd, void *buf, size_t n, size_t buflen), (fd, buf, n, buflen), 0)
IO_IN_WRAPPER(__recvfrom_chk,
	      (int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *sa,
	       socklen_t *sl),
	      (fd, buf, n, buflen, flags, sa, sl), (flags & MSG_PEEK))

/* --- scatter/gather ------------------------------------------------------------------------------
 */

AP_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct ap_conn *c = tracked(fd);
	int64_t t0;
	ssize_t rc;

	if (AP_LIKELY(!c))
		return AP_REAL(writev)(fd, iov, cnt);
	t0 = ap_now();
	rc = AP_REAL(writev)(fd, iov, cnt);
	after_iov(c, 0, iov, cnt, rc, errno, t0);
	return rc;
}

AP_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct ap_conn *c = tracked(fd);
	ssize_t rc;

	if (AP_LIKELY(!c))
		return AP_REAL(readv)(fd, iov, cnt);
	rc = AP_REAL(readv)(fd, iov, cnt);
	after_iov(c, 1, iov, cnt, rc, errno, 0);
	return rc;
}

AP_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct ap_conn *c = tracked(fd);
	int64_t t0;
	ssize_t rc;

	if (AP_LIKELY(!c))
		return AP_REAL(sendmsg)(fd, m, flags);
	t0 = ap_now();
	rc = AP_REAL(sendmsg)(fd, m, flags);
	after_iov(c, 0, m->msg_iov, (int)m->msg_iovlen, rc, errno, t0);
	return rc;
}

AP_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	struct ap_conn *c = tracked(fd);
	ssize_t rc;

	if (AP_LIKELY(!c) || (flags & MSG_PEEK))
		return AP_REAL(recvmsg)(fd, m, flags);
	rc = AP_REAL(recvmsg)(fd, m, flags);
	after_iov(c, 1, m->msg_iov, (int)m->msg_iovlen, rc, errno, 0);
	return rc;
}

AP_EXPORT int sendmmsg(int fd, struct mmsghdr *v, unsigned int vlen, int flags)
{
	struct ap_conn *c = tracked(fd);
	int rc, err;
	int64_t t1;

	if (AP_LIKELY(!c))
		return AP_REAL(sendmmsg)(fd, v, vlen, flags);
	t1 = ap_now(); /* the send began here */
	rc = AP_REAL(sendmmsg)(fd, v, vlen, flags);
	err = errno;
	for (int i = 0; i < rc; i++)
		after_iov(c, 0, v[i].msg_hdr.msg_iov, (int)v[i].msg_hdr.msg_iovlen,
			  (ssize_t)v[i].msg_len, err, t1);
	errno = err;
	return rc;
}

AP_EXPORT int recvmmsg(int fd, struct mmsghdr *v, unsigned int vlen, int flags,
		       struct timespec *tmo)
{
	struct ap_conn *c = tracked(fd);
	int rc, err;
	int64_t t1;

	if (AP_LIKELY(!c) || (flags & MSG_PEEK))
		return AP_REAL(recvmmsg)(fd, v, vlen, flags, tmo);
	rc = AP_REAL(recvmmsg)(fd, v, vlen, flags, tmo);
	err = errno;
	t1 = ap_now();
	for (int i = 0; i < rc; i++)
		after_iov(c, 1, v[i].msg_hdr.msg_iov, (int)v[i].msg_hdr.msg_iovlen,
			  (ssize_t)v[i].msg_len, err, t1);
	errno = err;
	return rc;
}

/* --- DNS
 * ------------------------------------------------------------------------------------------- */

AP_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			  struct addrinfo **res)
{
	struct ap_record r;
	int64_t t0, t1;
	int rc, err, k = 0;

	if (!ap_active() || !node)
		return AP_REAL(getaddrinfo)(node, service, hints, res);
	t0 = ap_now();
	rc = AP_REAL(getaddrinfo)(node, service, hints, res);
	err = errno;
	t1 = ap_now();
	ap_tls.guard++;
	ap_record_init(&r, AP_REC_DNS);
	r.u.dns.tid = ap_gettid();
	ap_strlcpy(r.u.dns.host, node, sizeof(r.u.dns.host));
	r.u.dns.start_ns = t0;
	r.u.dns.end_ns = t1;
	r.u.dns.result = rc;
	if (rc == 0 && res && *res) {
		for (struct addrinfo *a = *res; a && k < 8; a = a->ai_next, k++)
			if (a->ai_addr)
				ap_dns_remember(node, a->ai_addr, t1 - t0);
		if ((*res)->ai_addr &&
		    ((*res)->ai_family == AF_INET || (*res)->ai_family == AF_INET6)) {
			char host[NI_MAXHOST];
			if (getnameinfo((*res)->ai_addr, (*res)->ai_addrlen, host, sizeof(host),
					NULL, 0, NI_NUMERICHOST) == 0)
				ap_strlcpy(r.u.dns.addr, host, sizeof(r.u.dns.addr));
		}
	}
	ap_record(&r);
	ap_tls.guard--;
	errno = err;
	return rc;
}

/* glibc also exports these double-underscore aliases; a program may call them directly. */
AP_EXPORT int __connect(int, const struct sockaddr *, socklen_t) __attribute__((alias("connect")));
AP_EXPORT int __close(int) __attribute__((alias("close")));
AP_EXPORT ssize_t __send(int, const void *, size_t, int) __attribute__((alias("send")));
AP_EXPORT ssize_t __read(int, void *, size_t) __attribute__((alias("read")));
AP_EXPORT ssize_t __write(int, const void *, size_t) __attribute__((alias("write")));
