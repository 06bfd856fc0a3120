/* jsonw.c: streaming JSON writer with correct escaping of arbitrary bytes. */
#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "jsonw.h"

void jw_init(struct jw *w, FILE *f, int pretty)
{
	/* field by field: the staging buffer needs no zeroing */
	w->f = f;
	w->pretty = pretty;
	w->depth = w->after_key = w->batching = 0;
	memset(w->nonempty, 0, sizeof(w->nonempty));
	w->stage.f = f;
	w->stage.n = 0;
}

/*
 * One call's output, staged and then copied into the stream's buffer as putc_unlocked would
 * (one fwrite where the buffer lacks room, or for a string longer than ours): a million
 * exchanges exported made some fifty fwrite calls each, a fifth of the export's time. Outside
 * jw_batch nothing stays staged between calls, so callers may write to the FILE themselves
 * between them.
 */
/* No initialiser: zeroing the buffer would cost more than the write. */
static void o_init(struct jw_out *o, FILE *f)
{
	o->f = f;
	o->n = 0;
}

static void o_flush(struct jw_out *o)
{
#if defined(__GLIBC__)
	/* what n putc_unlocked calls do, at once: into the stream's buffer while it has room (a
	 * line-buffered or unbuffered stream never shows room: its write end stays at or below
	 * the write pointer, the difference negative, so it still goes through stdio) */
	FILE *f = o->f;

	if (f->_IO_write_ptr && f->_IO_write_end - f->_IO_write_ptr >= (ptrdiff_t)o->n) {
		memcpy(f->_IO_write_ptr, o->b, o->n);
		f->_IO_write_ptr += o->n;
		o->n = 0;
		return;
	}
#endif
	if (o->n)
		fwrite_unlocked(o->b, 1, o->n, o->f);
	o->n = 0;
}

static void o_byte(struct jw_out *o, char c)
{
	if (o->n == sizeof(o->b))
		o_flush(o);
	o->b[o->n++] = c;
}

static void o_mem(struct jw_out *o, const void *p, size_t n)
{
	if (n > sizeof(o->b) - o->n) {
		o_flush(o);
		if (n > sizeof(o->b)) {
			fwrite_unlocked(p, 1, n, o->f);
			return;
		}
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

/* The staging of one call: the batch's, or the call's own (lo). */
static struct jw_out *o_begin(struct jw *w, struct jw_out *lo)
{
	if (w->batching)
		return &w->stage;
	o_init(lo, w->f);
	return lo;
}

static void o_end(struct jw *w, struct jw_out *o)
{
	if (o != &w->stage)
		o_flush(o);
}

void jw_batch(struct jw *w, int on)
{
	if (w->batching && !on)
		o_flush(&w->stage);
	if (on && !w->batching)
		o_init(&w->stage, w->f);
	w->batching = on;
}

#define O_LIT(o, lit) o_mem((o), (lit), sizeof(lit) - 1)

static void newline(struct jw *w, struct jw_out *o)
{
	if (!w->pretty)
		return;
	o_byte(o, '\n');
	for (int i = 0; i < w->depth; i++)
		O_LIT(o, "  ");
}

/* Before any value or key: the comma and indentation that belong in front of it. */
static void sep(struct jw *w, struct jw_out *o)
{
	if (w->after_key) {
		w->after_key = 0;
		return;
	}
	if (w->depth > 0) {
		int d = w->depth < JW_MAX_DEPTH ? w->depth : JW_MAX_DEPTH - 1;

		if (w->nonempty[d])
			o_byte(o, ',');
		w->nonempty[d] = 1;
		newline(w, o);
	}
}

static void open_(struct jw *w, int c)
{
	struct jw_out lo, *o = o_begin(w, &lo);

	sep(w, o);
	o_byte(o, (char)c);
	o_end(w, o);
	w->depth++;
	if (w->depth < JW_MAX_DEPTH)
		w->nonempty[w->depth] = 0;
}

static void close_(struct jw *w, int c)
{
	struct jw_out lo, *o = o_begin(w, &lo);
	int had = w->depth < JW_MAX_DEPTH ? w->nonempty[w->depth] : 1;

	w->depth--;
	if (had)
		newline(w, o);
	o_byte(o, (char)c);
	o_end(w, o);
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

static void put_escaped(struct jw_out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	o_byte(o, '"');
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;

		if (plain[c]) { /* a run of plain ASCII, copied while checked */
			size_t room = sizeof(o->b) - o->n, lim = n - i < room ? n : i + room;
			char *d = o->b + o->n;

			k = i;
#if defined(__SSE2__)
			/* 16 at a time: a byte below 0x20 or above 0x7e (signed: below 0x20), a
			 * quote or a backslash ends the run */
			for (; k + 16 <= lim; k += 16, d += 16) {
				__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
				__m128i bad = _mm_or_si128(
					_mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
						     _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))),
					_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
						     _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));

				if (_mm_movemask_epi8(bad))
					break;
				_mm_storeu_si128((__m128i *)(void *)d, x);
			}
#endif
			for (; k < lim && plain[s[k]]; k++)
				*d++ = (char)s[k];
			o->n = (size_t)(d - o->b);
			i = k;
			if (o->n == sizeof(o->b))
				o_flush(o);
		} else if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};

			o_mem(o, e, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			static const char *const named[] = {['\b'] = "\\b",
							    ['\f'] = "\\f",
							    ['\n'] = "\\n",
							    ['\r'] = "\\r",
							    ['\t'] = "\\t"};
			static const char hex[] = "0123456789abcdef";

			if (c < sizeof(named) / sizeof(named[0]) && named[c]) {
				o_mem(o, named[c], 2);
			} else {
				char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

				o_mem(o, u, 6);
			}
			i++;
		} else if ((k = utf8_len(s + i, n - i)) > 0) {
			o_mem(o, s + i, k);
			i += k;
		} else {
			O_LIT(o, "\\ufffd");
			i++;
		}
	}
	o_byte(o, '"');
}

#if defined(__SSE2__)
/* 16 bytes at p, which the caller knows do not cross a page: past a string's end they may be
 * outside its object, which AddressSanitizer would report though the page is mapped. */
__attribute__((no_sanitize_address)) static __m128i load16_in_page(const char *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}
#endif

/* "key": (or "key": with a space when pretty), after the separator. */
static void key_to(struct jw *w, struct jw_out *o, const char *k)
{
	size_t at, i = 0;

	sep(w, o);
	if (sizeof(o->b) - o->n < 80)
		o_flush(o);
	/* a plain name, as keys are: copied while checked, in one pass */
	at = o->n;
	o->b[at++] = '"';
#if defined(__SSE2__)
	/* a key of at most 15 bytes in one 16-byte load where that cannot leave the page (a
	 * read past the NUL stays in memory the page holds): the NUL, then any byte that needs
	 * escaping before it */
	if (((uintptr_t)k & 4095) <= 4096 - 16) {
		__m128i x = load16_in_page(k);
		unsigned nul = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128()));

		if (nul) {
			unsigned len = (unsigned)__builtin_ctz(nul), before = (1u << len) - 1;
			__m128i bad =
				_mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
							  _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f))),
					     _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
							  _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));

			if (!((unsigned)_mm_movemask_epi8(bad) & before)) {
				_mm_storeu_si128((__m128i *)(void *)(o->b + at), x);
				o->b[at + len] = '"';
				o->n = at + len + 1;
				goto colon;
			}
		}
	}
#endif
	for (; k[i] && i < 64 && plain[(unsigned char)k[i]]; i++)
		o->b[at++] = k[i];
	if (k[i]) { /* long or needs escaping: from the start again */
		put_escaped(o, k, strlen(k));
	} else {
		o->b[at++] = '"';
		o->n = at;
	}
#if defined(__SSE2__)
colon:
#endif
	o_byte(o, ':');
	if (w->pretty)
		o_byte(o, ' ');
	w->after_key = 1;
}

void jw_key(struct jw *w, const char *k)
{
	struct jw_out lo, *o = o_begin(w, &lo);

	key_to(w, o, k);
	o_end(w, o);
}

static void strn_to(struct jw *w, struct jw_out *o, const char *s, size_t n)
{
	sep(w, o);
	put_escaped(o, s, n);
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
	struct jw_out lo, *o = o_begin(w, &lo);

	strn_to(w, o, s, n);
	o_end(w, o);
}

void jw_str(struct jw *w, const char *s)
{
	jw_strn(w, s, strlen(s));
}

static void put_u64(struct jw_out *o, uint64_t v, int neg)
{
	char buf[24];
	int i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (neg)
		buf[--i] = '-';
	o_mem(o, buf + i, sizeof(buf) - (size_t)i);
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

static void int_to(struct jw *w, struct jw_out *o, int64_t v)
{
	sep(w, o);
	put_u64(o, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0);
}

static void uint_to(struct jw *w, struct jw_out *o, uint64_t v)
{
	sep(w, o);
	put_u64(o, v, 0);
}

static void put_g10(struct jw_out *o, double v)
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
					o_mem(o, b, n);
					return;
				}
			}
		}
	}
	n = (size_t)snprintf(b, sizeof(b), "%.10g", v);
	o_mem(o, b, n < sizeof(b) ? n : sizeof(b) - 1);
}

static void double_to(struct jw *w, struct jw_out *o, double v)
{
	sep(w, o);
	if (!isfinite(v))
		O_LIT(o, "null");
	else if (fabs(v) < 9e15 && v == (double)(int64_t)v)
		put_u64(o, v < 0 ? (uint64_t) - (int64_t)v : (uint64_t)v, v < 0);
	else
		put_g10(o, v);
}

static void bool_to(struct jw *w, struct jw_out *o, int v)
{
	sep(w, o);
	if (v)
		O_LIT(o, "true");
	else
		O_LIT(o, "false");
}

static void null_to(struct jw *w, struct jw_out *o)
{
	sep(w, o);
	O_LIT(o, "null");
}

/* jw_X(w, ...) and jw_kX(w, key, ...): X_to into one staged write */
#define JW_VALUE(name, call, ...)                       \
	void jw_##name(struct jw *w, __VA_ARGS__)       \
	{                                               \
		struct jw_out lo, *o = o_begin(w, &lo); \
		call;                                   \
		o_end(w, o);                            \
	}

JW_VALUE(int, int_to(w, o, v), int64_t v)
JW_VALUE(uint, uint_to(w, o, v), uint64_t v)
JW_VALUE(double, double_to(w, o, v), double v)
JW_VALUE(bool, bool_to(w, o, v), int v)
JW_VALUE(kstr, (key_to(w, o, k), strn_to(w, o, s ? s : "", s ? strlen(s) : 0)), const char *k,
	 const char *s)
JW_VALUE(kstr_opt, (key_to(w, o, k), s &&*s ? strn_to(w, o, s, strlen(s)) : null_to(w, o)),
	 const char *k, const char *s)
JW_VALUE(kint, (key_to(w, o, k), int_to(w, o, v)), const char *k, int64_t v)
JW_VALUE(kint_opt, (key_to(w, o, k), v < 0 ? null_to(w, o) : int_to(w, o, v)), const char *k,
	 int64_t v)
JW_VALUE(kuint, (key_to(w, o, k), uint_to(w, o, v)), const char *k, uint64_t v)
JW_VALUE(kdouble, (key_to(w, o, k), double_to(w, o, v)), const char *k, double v)
JW_VALUE(kbool, (key_to(w, o, k), bool_to(w, o, v)), const char *k, int v)
JW_VALUE(knull, (key_to(w, o, k), null_to(w, o)), const char *k)

void jw_null(struct jw *w)
{
	struct jw_out lo, *o = o_begin(w, &lo);

	null_to(w, o);
	o_end(w, o);
}

void jw_end(struct jw *w)
{
	jw_batch(w, 0); /* a batch left open ends here, before the newline */
	putc_unlocked('\n', w->f);
}
