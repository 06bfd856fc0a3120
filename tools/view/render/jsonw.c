/* jsonw.c: streaming JSON writer with correct escaping of arbitrary bytes. */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "jsonw.h"

void jw_init(struct jw *w, FILE *f, int pretty)
{
	memset(w, 0, sizeof(*w));
	w->f = f;
	w->pretty = pretty;
}

static void newline(struct jw *w)
{
	if (!w->pretty)
		return;
	putc_unlocked('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs_unlocked("  ", w->f);
}

/* Before any value or key: the comma and indentation that belong in front of it. */
static void sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth > 0) {
		int d = w->depth < JW_MAX_DEPTH ? w->depth : JW_MAX_DEPTH - 1;

		if (w->nonempty[d])
			putc_unlocked(',', w->f);
		w->nonempty[d] = 1;
		newline(w);
	}
}

static void open_(struct jw *w, int c)
{
	sep(w);
	putc_unlocked(c, w->f);
	w->depth++;
	if (w->depth < JW_MAX_DEPTH)
		w->nonempty[w->depth] = 0;
}

static void close_(struct jw *w, int c)
{
	int had = w->depth < JW_MAX_DEPTH ? w->nonempty[w->depth] : 1;

	w->depth--;
	if (had)
		newline(w);
	putc_unlocked(c, w->f);
}

void jw_obj(struct jw *w)
{
	open_(w, '{');
}

void jw_obj_end(struct jw *w)
{
	close_(w, '}');
}

void jw_arr(struct jw *w)
{
	open_(w, '[');
}

void jw_arr_end(struct jw *w)
{
	close_(w, ']');
}

/* Length of a valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* Bytes that stand for themselves in a JSON string: printable ASCII but '"' and '\\'. */
static const unsigned char plain[256] = {
	[' ' ... '!'] = 1,
	['#' ... '['] = 1,
	[']' ... '~'] = 1,
};

static void put_escaped(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	putc_unlocked('"', f);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;

		if (plain[c]) { /* a run of plain ASCII */
			for (k = i + 1; k < n && plain[s[k]]; k++)
				;
			fwrite_unlocked(s + i, 1, k - i, f);
			i = k;
		} else if (c == '"' || c == '\\') {
			putc_unlocked('\\', f);
			putc_unlocked((int)c, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			static const char *const named[] = {['\b'] = "\\b",
							    ['\f'] = "\\f",
							    ['\n'] = "\\n",
							    ['\r'] = "\\r",
							    ['\t'] = "\\t"};
			if (c < sizeof(named) / sizeof(named[0]) && named[c])
				fputs_unlocked(named[c], f);
			else
				fprintf(f, "\\u%04x", c);
			i++;
		} else if ((k = utf8_len(s + i, n - i)) > 0) {
			fwrite_unlocked(s + i, 1, k, f);
			i += k;
		} else {
			fputs_unlocked("\\ufffd", f);
			i++;
		}
	}
	putc_unlocked('"', f);
}

void jw_key(struct jw *w, const char *k)
{
	char b[64];
	size_t n = 0;

	sep(w);
	/* keys are short plain names: one write for "key": */
	b[n++] = '"';
	for (; *k && n < sizeof(b) - 4; k++) {
		unsigned char c = (unsigned char)*k;

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			break;
		b[n++] = (char)c;
	}
	if (*k) { /* long or needs escaping */
		put_escaped(w->f, k - (n - 1), strlen(k) + n - 1);
		n = 0;
	} else {
		b[n++] = '"';
	}
	b[n++] = ':';
	if (w->pretty)
		b[n++] = ' ';
	fwrite_unlocked(b, 1, n, w->f);
	w->after_key = 1;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put_escaped(w->f, s, n);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

static void put_u64(FILE *f, uint64_t v, int neg)
{
	char buf[24];
	int i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		buf[--i] = '-';
	fwrite_unlocked(buf + i, 1, sizeof(buf) - (size_t)i, f);
}

size_t jw_fmt_int(char *b, int64_t v)
{
	char t[24];
	int i = sizeof(t);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	size_t n;

	do {
		t[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		t[--i] = '-';
	n = sizeof(t) - (size_t)i;
	memcpy(b, t + i, n);
	b[n] = 0;
	return n;
}

size_t jw_fmt_hex64(char *b, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, v >>= 4)
		b[i] = hex[v & 15];
	b[16] = 0;
	return 16;
}

void jw_int(struct jw *w, int64_t v)
{
	sep(w);
	put_u64(w->f, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

void jw_uint(struct jw *w, uint64_t v)
{
	sep(w);
	put_u64(w->f, v, 0);
}

/*
 * printf("%.10g", v), byte for byte, without printf's exact decimal expansion for the common
 * case: v times a power of ten (exact up to 1e22) rounded to ten digits is the correctly rounded
 * value unless the product lies within its rounding error of a tie; then, and for exponents
 * that %g prints in e-notation, printf does it.
 */
static void put_g10(FILE *f, double v)
{
	static const double p10[] = {1e0,  1e1,	 1e2,  1e3,  1e4,  1e5,	 1e6,  1e7,
				     1e8,  1e9,	 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	double a = fabs(v), m, fl;
	int e = 0, k;
	uint64_t digits;
	char b[32];
	size_t n = 0;

	if (a >= 1e-4 && a < 1e9) {
		while (e < 9 && a >= p10[e + 1])
			e++;
		if (a < 1)
			for (e = -1; a * p10[-e] < 1; e--)
				;
		k = 9 - e; /* digits after the point before trimming: 10 significant */
		if (k <= 22) {
			m = a * p10[k];
			fl = floor(m);
			if (fabs(m - fl - 0.5) > 1e-4 && m >= 1e9 && m < 1e10) {
				digits = (uint64_t)fl + (m - fl > 0.5);
				if (digits < 10000000000ull) {
					char d[12];
					int nd = 0, point = 10 - k; /* digits before the point */

					for (uint64_t t = digits; nd < 10; t /= 10)
						d[9 - nd++] = (char)('0' + t % 10);
					if (v < 0)
						b[n++] = '-';
					if (point <= 0) {
						b[n++] = '0';
						b[n++] = '.';
						for (int i = point; i < 0; i++)
							b[n++] = '0';
						point = 0;
					}
					int last = 9;

					while (last >= point && d[last] == '0')
						last--;
					for (int i = 0; i <= last || i < point; i++) {
						if (i == point && point > 0)
							b[n++] = '.';
						b[n++] = d[i];
					}
					fwrite_unlocked(b, 1, n, f);
					return;
				}
			}
		}
	}
	fprintf(f, "%.10g", v);
}

void jw_double(struct jw *w, double v)
{
	sep(w);
	if (!isfinite(v))
		fputs_unlocked("null", w->f);
	else if (fabs(v) < 9e15 && v == (double)(int64_t)v)
		put_u64(w->f, v < 0 ? (uint64_t) - (int64_t)v : (uint64_t)v, v < 0);
	else
		put_g10(w->f, v);
}

void jw_bool(struct jw *w, int v)
{
	sep(w);
	fputs_unlocked(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w)
{
	sep(w);
	fputs_unlocked("null", w->f);
}

void jw_kstr(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	jw_str(w, s ? s : "");
}

void jw_kstr_opt(struct jw *w, const char *k, const char *s)
{
	jw_key(w, k);
	if (s && *s)
		jw_str(w, s);
	else
		jw_null(w);
}

void jw_kint(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	jw_int(w, v);
}

void jw_kint_opt(struct jw *w, const char *k, int64_t v)
{
	jw_key(w, k);
	if (v < 0)
		jw_null(w);
	else
		jw_int(w, v);
}

void jw_kuint(struct jw *w, const char *k, uint64_t v)
{
	jw_key(w, k);
	jw_uint(w, v);
}

void jw_kdouble(struct jw *w, const char *k, double v)
{
	jw_key(w, k);
	jw_double(w, v);
}

void jw_kbool(struct jw *w, const char *k, int v)
{
	jw_key(w, k);
	jw_bool(w, v);
}

void jw_knull(struct jw *w, const char *k)
{
	jw_key(w, k);
	jw_null(w);
}

void jw_end(struct jw *w)
{
	putc_unlocked('\n', w->f);
}
