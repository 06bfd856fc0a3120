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
	fputc('\n', w->f);
	for (int i = 0; i < w->depth; i++)
		fputs("  ", w->f);
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
	fputc(c, w->f);
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
	fputc(c, w->f);
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

static void put_escaped(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	putc_unlocked('"', f);
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') { /* a run of plain ASCII */
			for (k = i + 1;
			     k < n && s[k] >= 0x20 && s[k] < 0x7f && s[k] != '"' && s[k] != '\\';
			     k++)
				;
			fwrite_unlocked(s + i, 1, k - i, f);
			i = k;
		} else if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			static const char *const named[] = {['\b'] = "\\b",
							    ['\f'] = "\\f",
							    ['\n'] = "\\n",
							    ['\r'] = "\\r",
							    ['\t'] = "\\t"};
			if (c < sizeof(named) / sizeof(named[0]) && named[c])
				fputs(named[c], f);
			else
				fprintf(f, "\\u%04x", c);
			i++;
		} else if ((k = utf8_len(s + i, n - i)) > 0) {
			fwrite(s + i, 1, k, f);
			i += k;
		} else {
			fputs("\\ufffd", f);
			i++;
		}
	}
	putc_unlocked('"', f);
}

void jw_key(struct jw *w, const char *k)
{
	sep(w);
	put_escaped(w->f, k, strlen(k));
	fputs(w->pretty ? ": " : ":", w->f);
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

void jw_double(struct jw *w, double v)
{
	sep(w);
	if (!isfinite(v))
		fputs("null", w->f);
	else if (fabs(v) < 9e15 && v == (double)(int64_t)v)
		put_u64(w->f, v < 0 ? (uint64_t) - (int64_t)v : (uint64_t)v, v < 0);
	else
		fprintf(w->f, "%.10g", v);
}

void jw_bool(struct jw *w, int v)
{
	sep(w);
	fputs(v ? "true" : "false", w->f);
}

void jw_null(struct jw *w)
{
	sep(w);
	fputs("null", w->f);
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
	fputc('\n', w->f);
}
