/* stats.c: nearest-rank percentiles and interval unions; pure code, unit-tested directly. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "sort.h"
#include "stats.h"

size_t pct_rank(size_t n, double p)
{
	double r = ceil(p / 100.0 * (double)n - 1e-9);

	if (r < 1)
		r = 1;
	if (r > (double)n)
		r = (double)n;
	return (size_t)r - 1;
}

static int cmp_f64(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void dist_empty(struct dist *d)
{
	d->count = 0;
	d->mean = d->min = d->p50 = d->p90 = d->p95 = d->p99 = d->max = NAN;
}

void dist_i64(int64_t *v, size_t n, struct dist *d)
{
	double sum = 0;

	if (!n) {
		dist_empty(d);
		return;
	}
	radix_sort64(v, n, sizeof(*v), 0, 1);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	d->count = n;
	d->mean = sum / (double)n;
	d->min = (double)v[0];
	d->max = (double)v[n - 1];
	d->p50 = (double)v[pct_rank(n, 50)];
	d->p90 = (double)v[pct_rank(n, 90)];
	d->p95 = (double)v[pct_rank(n, 95)];
	d->p99 = (double)v[pct_rank(n, 99)];
}

void dist_f64(double *v, size_t n, struct dist *d)
{
	double sum = 0;

	if (!n) {
		dist_empty(d);
		return;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_f64);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	d->count = n;
	d->mean = sum / (double)n;
	d->min = v[0];
	d->max = v[n - 1];
	d->p50 = v[pct_rank(n, 50)];
	d->p90 = v[pct_rank(n, 90)];
	d->p95 = v[pct_rank(n, 95)];
	d->p99 = v[pct_rank(n, 99)];
}

size_t ival_merge(struct ival *iv, size_t n)
{
	size_t w = 0;

	/* by start (stable; the order of equal starts does not change the union) */
	radix_sort64(iv, n, sizeof(*iv), offsetof(struct ival, a), 1);
	for (size_t i = 0; i < n; i++) {
		if (iv[i].b <= iv[i].a)
			continue;
		if (w && iv[i].a <= iv[w - 1].b) {
			if (iv[i].b > iv[w - 1].b)
				iv[w - 1].b = iv[i].b;
		} else {
			iv[w++] = iv[i];
		}
	}
	return w;
}

int64_t ival_total(const struct ival *iv, size_t n)
{
	int64_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += iv[i].b - iv[i].a;
	return t;
}

int64_t ival_overlap(const struct ival *iv, size_t n, int64_t a, int64_t b)
{
	size_t lo = 0, hi = n;
	int64_t t = 0;

	/* first interval whose end is after a */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (iv[mid].b <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && iv[i].a < b; i++) {
		int64_t s = iv[i].a > a ? iv[i].a : a, e = iv[i].b < b ? iv[i].b : b;

		if (e > s)
			t += e - s;
	}
	return t;
}
