/* progress.c: the stderr progress line (files read, exchanges, bytes sent) for long commands. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "progress.h"

static int prog_enabled, prog_shown;
static double prog_t0, prog_last;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(int enabled)
{
	prog_enabled = enabled;
	prog_t0 = now_s();
	prog_last = 0;
}

void progress(const char *fmt, ...)
{
	va_list ap;
	double t;

	if (!prog_enabled)
		return;
	t = now_s();
	if (t - prog_t0 < 1.0 || t - prog_last < 0.1)
		return;
	prog_last = t;
	fputs("\r\033[K", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	prog_shown = 1;
}

void progress_clear(void)
{
	if (!prog_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	prog_shown = 0;
}
