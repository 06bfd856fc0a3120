/* text.h: text rendering helpers: durations, counts, bars, terminal width, category fills. */
#ifndef AGENTPROF_VIEW_TEXT_H
#define AGENTPROF_VIEW_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct tbuf {
	char s[48];
};

/* Human durations: "15 ns", "410 us", "812 ms", "1.90 s", "2m05s"; "-" when unknown (< 0). */
const char *fmt_ns(struct tbuf *b, double ns);
/* Counts: exact below 100000, then "123.4k", "12.3M", "123M", "1.2G"; "-" when unknown (< 0). */
const char *fmt_count(struct tbuf *b, double v);
/* US dollars: "$0.0123"; "-" when NaN. */
const char *fmt_usd(struct tbuf *b, double usd);
/* Percent with one decimal: "57.2%". */
const char *fmt_pct(struct tbuf *b, double frac);
/* Epoch ns as "2025-11-21 04:40:00.123 UTC". */
const char *fmt_epoch(struct tbuf *b, int64_t ns);

/* Fill character of a category (enum ap_category), '.' for internal time (AP_CAT_MAX). */
char cat_fill(int cat);
/* Print a bar: frac of width cells filled with c, the rest with ' '. */
void put_bar(FILE *f, double frac, int width, char c);
/* Repeat c n times. */
void put_rep(FILE *f, char c, int n);
/* Print s in at most n columns (UTF-8 aware; a longer s is shortened in the middle with '…'),
 * padded with spaces to n when pad. */
void put_fit(FILE *f, const char *s, int n, int pad);
/* Each line of s word-wrapped to width, keeping its leading indentation. */
void put_wrap_lines(FILE *f, const char *s, int width);
/* printf, then word-wrap to width columns with indent (see put_wrap). */
void put_wrapf(FILE *f, int width, int indent, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Print s word-wrapped to width columns, every line indented by indent spaces. */
void put_wrap(FILE *f, const char *s, int width, int indent);

/* Output width: --width if given, else the terminal's, else $COLUMNS, else 100. */
int term_width(int opt_width, FILE *out);

#endif
