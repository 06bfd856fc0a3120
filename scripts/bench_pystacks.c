/* bench_pystacks.c: the stand-in runtime and entry points that scripts/bench-pystacks.sh links
 * with preload/runtime/rt_pystack.c into a small shared object, loaded by a Python driver with
 * ctypes (which releases the GIL around the call, as a blocking socket call does): the cost of
 * one Python stack capture at the driver's current depth. */
#include <dlfcn.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ap_codec.h"
#include "rt.h"
#include "rt_pystack.h"

struct ap_runtime ap_rt = {.cfg = {.pystacks = 1}};
__thread struct ap_thread ap_tls __attribute__((tls_model("initial-exec")));
static uint8_t sink[1 << 16];
static size_t sink_len;
unsigned long bench_records __attribute__((visibility("default")));

/* Like the writer: encode into a buffer (no file I/O, which the real writer batches). */
void ap_record(const struct ap_record *r)
{
	size_t n = ap_encode(sink + sink_len, sizeof(sink) - sink_len, r);

	if (!n) {
		sink_len = 0;
		n = ap_encode(sink, sizeof(sink), r);
	}
	sink_len += n;
	bench_records++;
}

/* The resolver's filter (rt_resolve.c) is not linked here: plain dlsym answers the same. */
void *ap_dlsym_default(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

void ap_diag(unsigned code, const char *msg)
{
	fprintf(stderr, "bench: diagnostic %u: %s\n", code, msg);
}

int64_t ap_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void ap_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

__attribute__((visibility("default"))) int bench_py_init(void)
{
	ap_rt.pid = getpid();
	ap_pystack_init();
	return ap_pystack_python();
}

/* One capture, for a check that the stack was read: its id (0 = none). */
__attribute__((visibility("default"))) uint64_t bench_py_capture(void)
{
	return ap_pystack_capture();
}

static int instr_counter(void)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_HARDWARE;
	a.size = sizeof(a);
	a.config = PERF_COUNT_HW_INSTRUCTIONS;
	a.disabled = 1;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

/* reps captures; *ns_per = wall ns per capture, *instr_per = user instructions per capture
 * (-1 without hardware counters). Returns the last stack id. */
__attribute__((visibility("default"))) uint64_t bench_py_run(long reps, double *ns_per,
							     double *instr_per)
{
	int fd = instr_counter();
	uint64_t id = 0;
	long long instr = -1;
	int64_t t0;

	if (fd >= 0) {
		ioctl(fd, PERF_EVENT_IOC_RESET, 0);
		ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	}
	t0 = ap_now();
	for (long i = 0; i < reps; i++)
		id = ap_pystack_capture();
	*ns_per = (double)(ap_now() - t0) / (double)reps;
	if (fd >= 0) {
		ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
		if (read(fd, &instr, sizeof(instr)) != sizeof(instr))
			instr = -1;
		close(fd);
	}
	*instr_per = instr >= 0 ? (double)instr / (double)reps : -1;
	return id;
}
