/* util.h: allocation, growable arrays, saturating arithmetic and a string table for the viewer. */
#ifndef AGENTPROF_VIEW_UTIL_H
#define AGENTPROF_VIEW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ap_records.h"

#define UNK ((int64_t)AP_UNKNOWN) /* unknown time, duration or count in the run model */

/* Allocation failure prints "agentprof-view: out of memory" and exits 2: a viewer cannot go on. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* snprintf that truncates silently (no -Wformat-truncation noise for deliberate truncation). */
void setf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The strings joined into dst (up to the NULL that ends the list), cut to cap - 1 bytes and
 * NUL-terminated, as snprintf("%s%s...") would, without its format parsing; returns the length. */
size_t setcat(char *dst, size_t cap, ...) __attribute__((sentinel));

/* Make room for one more element in a flat array; returns a pointer to the (zeroed) new slot. */
void *vec_push(void *pp, size_t *n, size_t *cap, size_t elsz);
#define VEC_PUSH(arr, n, cap) ((__typeof__(arr))vec_push(&(arr), &(n), &(cap), sizeof(*(arr))))

/* qsort/qsort_r/bsearch that accept an empty (NULL) array. */
static inline void sort_n(void *b, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(b, n, sz, cmp);
}

static inline void sort_r(void *b, size_t n, size_t sz,
			  int (*cmp)(const void *, const void *, void *), void *ctx)
{
	if (n > 1)
		qsort_r(b, n, sz, cmp, ctx);
}

static inline void *find_n(const void *key, const void *b, size_t n, size_t sz,
			   int (*cmp)(const void *, const void *))
{
	return n ? bsearch(key, b, n, sz, cmp) : NULL;
}

static inline int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static inline int64_t i64_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static inline int64_t i64_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * String table: interned byte strings (may contain '\0', e.g. joined argv), addressed by a
 * 32-bit id that stays valid while the table grows. Id 0 is the empty string ("unknown").
 */
struct strtab {
	char *buf; /* entries: uint32 length, bytes, '\0' */
	size_t len, cap;
	uint32_t *hash; /* open addressing: ids, 0 = free */
	size_t hcap, count;
};

void strtab_init(struct strtab *t);
void strtab_free(struct strtab *t);
uint32_t strtab_addn(struct strtab *t, const char *s, size_t n);
uint32_t strtab_add(struct strtab *t, const char *s);
static inline const char *strtab_get(const struct strtab *t, uint32_t id)
{
	return t->buf + id + 4;
}
size_t strtab_len(const struct strtab *t, uint32_t id);

#endif
