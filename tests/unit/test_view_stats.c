/* test_view_stats.c: nearest-rank percentiles and interval unions against hand-computed values. */
#include <math.h>

#include "stats.h"
#include "unit.h"

#define MS 1000000ll

static void test_rank(void)
{
	/* rank = ceil(p/100 * n), 1-based; returned 0-based */
	CHECK_EQ_INT(pct_rank(10, 50), 4); /* ceil(5.0) = 5 */
	CHECK_EQ_INT(pct_rank(10, 90), 8); /* ceil(9.0) = 9 */
	CHECK_EQ_INT(pct_rank(10, 95), 9); /* ceil(9.5) = 10 */
	CHECK_EQ_INT(pct_rank(10, 99), 9); /* ceil(9.9) = 10 */
	CHECK_EQ_INT(pct_rank(1, 50), 0);
	CHECK_EQ_INT(pct_rank(1, 99), 0);
	CHECK_EQ_INT(pct_rank(4, 50), 1);    /* ceil(2.0) = 2 */
	CHECK_EQ_INT(pct_rank(5, 50), 2);    /* ceil(2.5) = 3 */
	CHECK_EQ_INT(pct_rank(100, 95), 94); /* ceil(95.0) = 95: no float drift */
	CHECK_EQ_INT(pct_rank(100, 99), 98);
	CHECK_EQ_INT(pct_rank(20, 95), 18); /* ceil(19.0) = 19 */
	CHECK_EQ_INT(pct_rank(3, 0), 0);
	CHECK_EQ_INT(pct_rank(3, 100), 2);
}

static void test_dist(void)
{
	/* 100..1000 ms shuffled: the regress-a scenario */
	int64_t v[10] = {700, 100, 1000, 300, 500, 900, 200, 800, 400, 600};
	int64_t one[1] = {42};
	int64_t odd[7] = {5, 1, 9, 3, 7, 2, 8}; /* sorted 1 2 3 5 7 8 9 */
	double tps[4] = {10.5, 2.5, 7.0, 1.0};
	struct dist d;

	for (int i = 0; i < 10; i++)
		v[i] *= MS;
	dist_i64(v, 10, &d);
	CHECK_EQ_INT(d.count, 10);
	CHECK_EQ_INT(d.p50, 500 * MS);
	CHECK_EQ_INT(d.p90, 900 * MS);
	CHECK_EQ_INT(d.p95, 1000 * MS);
	CHECK_EQ_INT(d.p99, 1000 * MS);
	CHECK_EQ_INT(d.max, 1000 * MS);
	CHECK_EQ_INT(d.min, 100 * MS);
	CHECK_EQ_INT(d.mean, 550 * MS);

	dist_i64(one, 1, &d);
	CHECK(d.p50 == 42 && d.p99 == 42 && d.mean == 42);

	dist_i64(odd, 7, &d);
	CHECK_EQ_INT(d.p50, 5); /* ceil(3.5) = 4th = 5 */
	CHECK_EQ_INT(d.p90, 9); /* ceil(6.3) = 7th */
	CHECK_EQ_INT(d.p95, 9);
	CHECK(fabs(d.mean - 35.0 / 7) < 1e-12);

	dist_f64(tps, 4, &d);
	CHECK(d.p50 == 2.5 && d.p90 == 10.5 && d.max == 10.5 && d.mean == 5.25);

	dist_i64(NULL, 0, &d);
	CHECK(d.count == 0 && isnan(d.p50));
}

static void test_intervals(void)
{
	struct ival iv[] = {{100, 900},	  {150, 950}, {200, 1000}, {1100, 1700},
			    {1800, 1805}, {50, 50},   {1700, 1750}};
	struct ival sorted[] = {{0, 10}, {20, 30}, {40, 50}};
	size_t n = ival_merge(iv, sizeof(iv) / sizeof(iv[0]));

	/* [100,1000) [1100,1750) [1800,1805); the empty [50,50) is dropped */
	CHECK_EQ_INT(n, 3);
	CHECK(iv[0].a == 100 && iv[0].b == 1000);
	CHECK(iv[1].a == 1100 && iv[1].b == 1750);
	CHECK_EQ_INT(ival_total(iv, n), 900 + 650 + 5);
	CHECK_EQ_INT(ival_overlap(sorted, 3, 5, 45), 5 + 10 + 5);
	CHECK_EQ_INT(ival_overlap(sorted, 3, 10, 20), 0);
	CHECK_EQ_INT(ival_overlap(sorted, 3, -100, 100), 30);
	CHECK_EQ_INT(ival_merge(NULL, 0), 0);
}

int main(void)
{
	test_rank();
	test_dist();
	test_intervals();
	UNIT_DONE();
}
