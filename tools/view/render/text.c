/* text.c: number and duration formatting, bars and width detection for the text views. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ap_records.h"
#include "text.h"

const char *fmt_ns(struct tbuf *b, double ns)
{
	if (!(ns >= 0)) {
		strcpy(b->s, "-");
	} else if (ns == 0) {
		strcpy(b->s, "0");
	} else if (ns < 1e3) {
		snprintf(b->s, sizeof(b->s), "%.0f ns", ns);
	} else if (ns < 1e6) {
		snprintf(b->s, sizeof(b->s), "%.0f us", ns / 1e3);
	} else if (ns < 1e9) {
		snprintf(b->s, sizeof(b->s), "%.0f ms", ns / 1e6);
	} else if (ns < 10e9) {
		snprintf(b->s, sizeof(b->s), "%.2f s", ns / 1e9);
	} else if (ns < 100e9) {
		snprintf(b->s, sizeof(b->s), "%.1f s", ns / 1e9);
	} else if (ns < 3600e9) {
		long long s = llround(ns / 1e9);
		snprintf(b->s, sizeof(b->s), "%lldm%02llds", s / 60, s % 60);
	} else {
		long long m = llround(ns / 60e9);
		snprintf(b->s, sizeof(b->s), "%lldh%02lldm", m / 60, m % 60);
	}
	return b->s;
}

const char *fmt_count(struct tbuf *b, double v)
{
	if (!(v >= 0))
		strcpy(b->s, "-");
	else if (v < 1e5)
		snprintf(b->s, sizeof(b->s), "%.0f", v);
	else if (v < 999.95e3)
		snprintf(b->s, sizeof(b->s), "%.1fk", v / 1e3);
	else if (v < 99.95e6)
		snprintf(b->s, sizeof(b->s), "%.1fM", v / 1e6);
	else if (v < 999.5e6)
		snprintf(b->s, sizeof(b->s), "%.0fM", v / 1e6);
	else
		snprintf(b->s, sizeof(b->s), "%.1fG", v / 1e9);
	return b->s;
}

const char *fmt_usd(struct tbuf *b, double usd)
{
	if (isnan(usd))
		strcpy(b->s, "-");
	else if (usd >= 100)
		snprintf(b->s, sizeof(b->s), "$%.2f", usd);
	else
		snprintf(b->s, sizeof(b->s), "$%.4f", usd);
	return b->s;
}

const char *fmt_pct(struct tbuf *b, double frac)
{
	if (!isfinite(frac))
		strcpy(b->s, "-");
	else
		snprintf(b->s, sizeof(b->s), "%.1f%%", frac * 100);
	return b->s;
}

const char *fmt_epoch(struct tbuf *b, int64_t ns)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns <= 0 || !gmtime_r(&t, &tm)) {
		strcpy(b->s, "-");
		return b->s;
	}
	snprintf(b->s, sizeof(b->s), "%04d-%02d-%02d %02d:%02d:%02d.%03d UTC", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ns / 1000000 % 1000));
	return b->s;
}

char cat_fill(int cat)
{
	switch (cat) {
	case AP_CAT_LLM:
		return '#';
	case AP_CAT_TOOL:
		return '=';
	case AP_CAT_MEMORY:
		return '%';
	case AP_CAT_PROCESS:
		return '+';
	case AP_CAT_MAX:
		return '.';
	}
	return '~';
}

void put_rep(FILE *f, char c, int n)
{
	for (int i = 0; i < n; i++)
		fputc(c, f);
}

void put_bar(FILE *f, double frac, int width, char c)
{
	int n = 0;

	if (frac > 0 && isfinite(frac)) {
		n = (int)lround(frac * width);
		if (n < 1)
			n = 1;
		if (n > width)
			n = width;
	}
	put_rep(f, c, n);
	put_rep(f, ' ', width - n);
}

/* Length of the UTF-8 sequence at p (1 for a broken one, printed as '?'). */
static int seq_len(const unsigned char *p)
{
	int k = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC0 ? 2 : 1, avail = 0;

	while (avail < k && (avail == 0 || (p[avail] & 0xC0) == 0x80))
		avail++;
	return avail < k ? 1 : k;
}

/* Print code points [from, to) of s, terminal-safe; returns the end pointer. */
static const unsigned char *put_cols(FILE *f, const unsigned char *p, int from, int to)
{
	for (int c = 0; *p && c < to; c++) {
		int k = seq_len(p);

		if (c >= from) {
			if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && k == 1))
				fputc('?', f);
			else
				fwrite(p, 1, (size_t)k, f);
		}
		p += k;
	}
	return p;
}

/*
 * Terminal-safe: control characters and stray continuation bytes print as '?'. A string longer
 * than n columns keeps its start and its end around a '…' (so host and path both show).
 */
void put_fit(FILE *f, const char *s, int n, int pad)
{
	const unsigned char *p = (const unsigned char *)s;
	int cols = 0, head;

	for (const unsigned char *q = p; *q; q += seq_len(q))
		cols++;
	if (n <= 0)
		return;
	if (cols <= n) {
		put_cols(f, p, 0, cols);
	} else {
		head = (n - 1) / 2;
		put_cols(f, p, 0, head);
		fputs(n > 1 ? "\xe2\x80\xa6" : ">", f);
		if (n > 1)
			put_cols(f, p, cols - (n - 1 - head), cols);
		cols = n;
	}
	if (pad)
		put_rep(f, ' ', n - cols);
}

void put_wrap_lines(FILE *f, const char *s, int width)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		char line[4096];
		int indent = 0;

		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		while (line[indent] == ' ')
			indent++;
		if (!line[0])
			fputc('\n', f);
		else
			put_wrap(f, line + indent, width, indent);
		s += n + (nl != NULL);
	}
}

/* printf into a buffer, then put_wrap it. */
void put_wrapf(FILE *f, int width, int indent, const char *fmt, ...)
{
	char buf[2000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	put_wrap(f, buf, width, indent);
}

void put_wrap(FILE *f, const char *s, int width, int indent)
{
	int avail = width - indent > 20 ? width - indent : 20;

	while (*s) {
		int n = (int)strlen(s), cut = n;

		if (n > avail) {
			for (cut = avail; cut > 0 && s[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = avail;
		}
		put_rep(f, ' ', indent);
		for (int i = 0; i < cut; i++)
			fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], f);
		fputc('\n', f);
		s += cut;
		while (*s == ' ')
			s++;
	}
}

int term_width(int opt_width, FILE *out)
{
	struct winsize ws;
	const char *c;

	if (opt_width > 0)
		return opt_width;
	if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	c = getenv("COLUMNS");
	if (c && atoi(c) >= 40 && atoi(c) <= 1000)
		return atoi(c);
	return 100;
}
