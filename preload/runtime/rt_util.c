/* rt_util.c: clocks, ids, bounded string copy and the one-line warning used by the preload. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

#include "rt.h"

__thread struct ap_thread ap_tls __attribute__((tls_model("initial-exec")));

int64_t ap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ap_now_real(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint32_t ap_gettid(void)
{
	if (AP_UNLIKELY(!ap_tls.tid))
		ap_tls.tid = (uint32_t)syscall(SYS_gettid);
	return ap_tls.tid;
}

pid_t ap_getpid_raw(void)
{
	return (pid_t)syscall(SYS_getpid);
}

long ap_maxrss_now(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

void ap_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n;

	if (!cap)
		return;
	n = src ? strnlen(src, cap - 1) : 0;
	memcpy(dst, src, n);
	dst[n] = 0;
}

uint64_t ap_new_id(void)
{
	return atomic_fetch_add_explicit(&ap_rt.next_id, 1, memory_order_relaxed) + 1;
}

/* One line on stderr with the "agentprof:" prefix; formats into a stack buffer, no stdio. */
void ap_warn(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	memcpy(msg, "agentprof: ", 11);
	va_start(ap, fmt);
	n = vsnprintf(msg + 11, sizeof(msg) - 12, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 11;
	if (n > (int)sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	msg[n++] = '\n';
	ap_tls.guard++;
	if (AP_REAL(write)(2, msg, (size_t)n) < 0) {
		/* nothing more we can do */
	}
	ap_tls.guard--;
}

/* Deterministic sampling: keep exchanges so that the kept fraction tracks sample_ppm. */
int ap_sampled_out(void)
{
	uint32_t ppm = ap_rt.cfg.sample_ppm;
	uint64_t n;

	if (ppm >= 1000000)
		return 0;
	n = atomic_fetch_add(&ap_rt.sample_seq, 1);
	return (n * ppm) / 1000000 == ((n + 1) * ppm) / 1000000;
}

/* Straight to the kernel: the runtime never calls our own exported munmap wrapper. */
void ap_unmap_raw(void *p, size_t n)
{
	syscall(SYS_munmap, p, n);
}
