/* bench_stacks.c: cost of one stack capture (preload/runtime/rt_stack.c), with libunwind and with
 * the frame-pointer fallback. Built twice by scripts/bench-stacks.sh: with -DBENCH_LIB it is the
 * stand-in runtime linked into a small shared object together with rt_stack.c and the codec
 * (so that the capture code, like the real preload, lives in its own object); without it, the
 * driver below. Prints one line per measurement: "stacks MODE KIND ns_per_capture". */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "ap_codec.h"
#include "rt.h"
#include "rt_stack.h"

#ifdef BENCH_LIB

struct ap_runtime ap_rt = {.cfg = {.stacks = 1}};
__thread struct ap_thread ap_tls __attribute__((tls_model("initial-exec")));
static uint8_t sink[1 << 16];
static size_t sink_len;
static uint64_t next_id;
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

uint64_t ap_new_id(void)
{
	return ++next_id;
}

uint32_t ap_gettid(void)
{
	return (uint32_t)syscall(SYS_gettid);
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

void ap_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("agentprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Like the writer: a diagnostic is one record. */
void ap_diag(unsigned code, const char *msg)
{
	struct ap_record r;

	ap_record_init(&r, AP_REC_DIAG);
	r.u.diag.code = code;
	ap_strlcpy(r.u.diag.msg, msg, sizeof(r.u.diag.msg));
	ap_record(&r);
}

/* Exported entry points for the driver (the library is built -fvisibility=hidden). */
__attribute__((visibility("default"))) void bench_init(void)
{
	const char *how = getenv("AGENTPROF_UNWIND"); /* as the preload's configuration reads it */

	ap_rt.cfg.unwind_fp = how && !strcmp(how, "fp");
	/* the first capture runs the set-up once, as in the preload (calling ap_stack_init here
	 * too ran it twice: the second found libunwind "loaded by the host" and fell back to
	 * frame pointers, so "libunwind" measured the frame-pointer walk) */
	(void)ap_stack_capture();
}

__attribute__((visibility("default"))) uint64_t bench_capture(void)
{
	return ap_stack_capture();
}

__attribute__((visibility("default"))) int bench_mode(void)
{
	return ap_stack_mode();
}

#else /* the driver */

void bench_init(void);
uint64_t bench_capture(void);
int bench_mode(void);
extern unsigned long bench_records;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static volatile uint64_t keep;

/* Recurse `depth` frames, then capture `reps` times; returns the mean ns per capture. */
__attribute__((noinline)) static double chain(int depth, int reps)
{
	double t0, t;

	if (depth > 0) {
		t = chain(depth - 1, reps);
		keep += (uint64_t)depth; /* not a tail call */
		return t;
	}
	t0 = now_ns();
	for (int i = 0; i < reps; i++)
		keep += bench_capture();
	return (now_ns() - t0) / reps;
}

/* A distinct stack per call: the recursion depth differs each time. */
__attribute__((noinline)) static double distinct(int n)
{
	double total = 0;

	for (int i = 0; i < n; i++)
		total += chain(i, 1);
	return total / n;
}

int main(int argc, char **argv)
{
	int depth = argc > 1 ? atoi(argv[1]) : 30, reps = argc > 2 ? atoi(argv[2]) : 200000;
	const char *mode;
	double hit, miss;
	unsigned long rec0;

	bench_init();
	mode = bench_mode() == 1 ? "libunwind" : bench_mode() == 2 ? "frame-pointer" : "off";
	chain(depth, 1000); /* warm-up: the stack is new once */
	hit = chain(depth, reps);
	rec0 = bench_records;
	miss = distinct(48);
	printf("stacks %-13s seen-before(depth %d)  %8.0f ns/capture\n", mode, depth, hit);
	printf("stacks %-13s new-stack(written)     %8.0f ns/capture  (%lu records)\n", mode, miss,
	       bench_records - rec0);
	return 0;
}

#endif
