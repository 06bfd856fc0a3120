/* test_view_sort.c: radix_sort64 agrees with a comparison sort (signed, unsigned, stable,
 * presorted, small and large arrays) and permute_in_place applies any permutation. */
#include <stdlib.h>

#include "sort.h"
#include "unit.h"

struct rec {
	int64_t key;
	uint32_t seq;
	char pad[20];
};

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq; /* stability: input order */
}

static void one(size_t n, uint64_t mask, int presorted)
{
	struct rec *a = malloc((n + 1) * sizeof(*a)), *b = malloc((n + 1) * sizeof(*b));
	int same = 1;

	for (size_t i = 0; i < n; i++) {
		a[i].key = (int64_t)(next() & mask) - (int64_t)(mask >> 1); /* negatives too */
		if (presorted)
			a[i].key = (int64_t)i / 3;
		a[i].seq = (uint32_t)i;
	}
	memcpy(b, a, n * sizeof(*a));
	radix_sort64(a, n, sizeof(*a), 0, 1);
	if (n > 1)
		qsort(b, n, sizeof(*b), cmp_rec);
	for (size_t i = 0; i < n; i++)
		same &= a[i].key == b[i].key && a[i].seq == b[i].seq;
	CHECK(same);
	free(a);
	free(b);
}

static void test_radix(void)
{
	size_t sizes[] = {0, 1, 2, 31, 33, 1000, 100000};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		one(sizes[i], 0xff, 0);		   /* many equal keys: stability */
		one(sizes[i], 0xffffffffffull, 0); /* ns-like times */
		one(sizes[i], ~0ull >> 1, 0);	   /* the full range */
		one(sizes[i], 0, 1);		   /* already in order */
	}
	{ /* unsigned keys above INT64_MAX sort after smaller ones */
		uint64_t v[40];

		for (int i = 0; i < 40; i++)
			v[i] = i % 2 ? ~0ull - (uint64_t)i : (uint64_t)i;
		radix_sort64(v, 40, sizeof(v[0]), 0, 0);
		CHECK(v[0] == 0 && v[19] == 38 && v[20] == ~0ull - 39 && v[39] == ~0ull - 1);
	}
}

static void test_permute(void)
{
	enum { N = 5000 };
	static struct rec r[N];
	static size_t order[N], want[N];
	int ok = 1;

	for (size_t i = 0; i < N; i++) {
		r[i].key = (int64_t)i;
		order[i] = i;
	}
	for (size_t i = N - 1; i > 0; i--) { /* a random permutation */
		size_t j = next() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	memcpy(want, order, sizeof(order));
	permute_in_place(r, N, sizeof(r[0]), order);
	for (size_t i = 0; i < N; i++)
		ok &= r[i].key == (int64_t)want[i];
	CHECK(ok);
}

int main(void)
{
	test_radix();
	test_permute();
	UNIT_DONE();
}
