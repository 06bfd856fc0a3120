/* stats.h: distribution summaries (nearest-rank percentiles) and unions of time intervals. */
#ifndef AGENTPROF_VIEW_STATS_H
#define AGENTPROF_VIEW_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Percentiles use the nearest-rank method: for n sorted values v[1..n], the p-th percentile is
 * v[ceil(p/100 * n)] (rank 1 for p = 0). It is always an observed value, and with n = 1 every
 * percentile is that value. The mean is the arithmetic mean. No interpolation.
 */
struct dist {
	size_t count;
	double mean;
	double min, p50, p90, p95, p99, max;
};

/* Summarise v[0..n) (sorted in place). count 0 leaves the other fields NAN. */
void dist_i64(int64_t *v, size_t n, struct dist *d);
void dist_f64(double *v, size_t n, struct dist *d);
/* Nearest-rank percentile of sorted v[0..n), n > 0, p in [0, 100]. */
size_t pct_rank(size_t n, double p);

struct ival {
	int64_t a, b; /* [a, b), a <= b */
};

/* Sort and merge iv[0..n) in place; returns the new count of disjoint intervals. */
size_t ival_merge(struct ival *iv, size_t n);
/* Total length of disjoint intervals. */
int64_t ival_total(const struct ival *iv, size_t n);
/* Length of the intersection of disjoint sorted iv[0..n) with [a, b). */
int64_t ival_overlap(const struct ival *iv, size_t n, int64_t a, int64_t b);

#endif
