/* util.c: allocation helpers, flat-array growth and the interned string table. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void oom(void)
{
	fputs("agentprof-view: out of memory\n", stderr);
	exit(2);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom();
	return q;
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

void setf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
}

size_t setcat(char *dst, size_t cap, ...)
{
	va_list ap;
	const char *s;
	size_t o = 0;

	if (!cap)
		return 0;
	va_start(ap, cap);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t k = strlen(s);

		if (k > cap - 1 - o)
			k = cap - 1 - o;
		memcpy(dst + o, s, k);
		o += k;
	}
	va_end(ap);
	dst[o] = 0;
	return o;
}

void *vec_push(void *pp, size_t *n, size_t *cap, size_t elsz)
{
	char **p = pp;
	char *slot;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;

		if (nc > SIZE_MAX / elsz)
			oom();
		*p = xrealloc(*p, nc * elsz);
		*cap = nc;
	}
	slot = *p + *n * elsz;
	memset(slot, 0, elsz);
	(*n)++;
	return slot;
}

/* --- string table --------------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint32_t entry_len(const struct strtab *t, uint32_t id)
{
	uint32_t n;

	memcpy(&n, t->buf + id, 4);
	return n;
}

size_t strtab_len(const struct strtab *t, uint32_t id)
{
	return entry_len(t, id);
}

static uint32_t append(struct strtab *t, const char *s, uint32_t n)
{
	size_t need = (size_t)n + 5, id;

	while (t->len + need > t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4096;
		t->buf = xrealloc(t->buf, t->cap);
	}
	if (t->len + need > UINT32_MAX)
		oom();
	id = t->len;
	memcpy(t->buf + id, &n, 4);
	memcpy(t->buf + id + 4, s, n);
	t->buf[id + 4 + n] = 0;
	t->len += need;
	return (uint32_t)id;
}

void strtab_init(struct strtab *t)
{
	memset(t, 0, sizeof(*t));
	append(t, "", 0); /* id 0 */
	t->hcap = 1024;
	t->hash = xcalloc(t->hcap, sizeof(*t->hash));
}

void strtab_free(struct strtab *t)
{
	free(t->buf);
	free(t->hash);
	memset(t, 0, sizeof(*t));
}

static void rehash(struct strtab *t)
{
	size_t ncap = t->hcap * 2;
	uint32_t *nh = xcalloc(ncap, sizeof(*nh));

	for (size_t i = 0; i < t->hcap; i++) {
		uint32_t id = t->hash[i];
		size_t j;

		if (!id)
			continue;
		j = fnv1a(strtab_get(t, id), entry_len(t, id)) & (ncap - 1);
		while (nh[j])
			j = (j + 1) & (ncap - 1);
		nh[j] = id;
	}
	free(t->hash);
	t->hash = nh;
	t->hcap = ncap;
}

uint32_t strtab_addn(struct strtab *t, const char *s, size_t n)
{
	size_t j;

	if (!n)
		return 0;
	if (n > UINT32_MAX / 2)
		n = UINT32_MAX / 2;
	if ((t->count + 1) * 2 > t->hcap)
		rehash(t);
	j = fnv1a(s, n) & (t->hcap - 1);
	while (t->hash[j]) {
		uint32_t id = t->hash[j];

		if (entry_len(t, id) == n && memcmp(strtab_get(t, id), s, n) == 0)
			return id;
		j = (j + 1) & (t->hcap - 1);
	}
	t->hash[j] = append(t, s, (uint32_t)n);
	t->count++;
	return t->hash[j];
}

uint32_t strtab_add(struct strtab *t, const char *s)
{
	return strtab_addn(t, s, strlen(s));
}
