/* sort.c: stable LSD radix sort on 64-bit keys and an in-place permutation, for the viewer's
 * million-element arrays (qsort on 250-byte records was most of a summary's time). */
#include <stdlib.h>
#include <string.h>

#include "sort.h"
#include "util.h"

#define DIGIT_BITS 11
#define BUCKETS	   (1u << DIGIT_BITS)
#define PASSES	   ((64 + DIGIT_BITS - 1) / DIGIT_BITS)

static uint64_t key_at(const char *e, size_t off, uint64_t flip)
{
	uint64_t k;

	memcpy(&k, e + off, sizeof(k));
	return k ^ flip;
}

static void insertion(char *b, size_t n, size_t elsz, size_t off, uint64_t flip)
{
	char tmp[512], *t = elsz <= sizeof(tmp) ? tmp : xmalloc(elsz);

	for (size_t i = 1; i < n; i++) {
		uint64_t k = key_at(b + i * elsz, off, flip);
		size_t j = i;

		if (key_at(b + (i - 1) * elsz, off, flip) <= k)
			continue;
		memcpy(t, b + i * elsz, elsz);
		while (j > 0 && key_at(b + (j - 1) * elsz, off, flip) > k) {
			memcpy(b + j * elsz, b + (j - 1) * elsz, elsz);
			j--;
		}
		memcpy(b + j * elsz, t, elsz);
	}
	if (t != tmp)
		free(t);
}

void radix_sort64(void *base, size_t n, size_t elsz, size_t key_off, int is_signed)
{
	uint64_t flip = is_signed ? 1ull << 63 : 0, all_or = 0, all_and = ~0ull;
	size_t(*count)[BUCKETS];
	char *src = base, *dst;

	if (n < 2)
		return;
	if (n <= 32) {
		insertion(base, n, elsz, key_off, flip);
		return;
	}
	{
		/* already in order (times of exchanges read in time order): nothing to do */
		size_t i = 1;
		uint64_t prev = key_at(src, key_off, flip);

		for (; i < n; i++) {
			uint64_t k = key_at(src + i * elsz, key_off, flip);

			if (k < prev)
				break;
			prev = k;
		}
		if (i == n)
			return;
	}
	count = xcalloc(PASSES, sizeof(*count));
	for (size_t i = 0; i < n; i++) {
		uint64_t k = key_at(src + i * elsz, key_off, flip);

		all_or |= k;
		all_and &= k;
		for (int p = 0; p < PASSES; p++)
			count[p][(k >> (p * DIGIT_BITS)) & (BUCKETS - 1)]++;
	}
	dst = xmalloc(n * elsz);
	for (int p = 0; p < PASSES; p++) {
		size_t sum = 0;
		unsigned shift = (unsigned)p * DIGIT_BITS;

		if ((((all_or ^ all_and) >> shift) & (BUCKETS - 1)) == 0)
			continue; /* every key has the same digit here */
		for (size_t d = 0; d < BUCKETS; d++) {
			size_t c = count[p][d];

			count[p][d] = sum;
			sum += c;
		}
		if (elsz == 8) {
			for (size_t i = 0; i < n; i++) {
				uint64_t k = key_at(src + i * 8, key_off, flip);

				memcpy(dst + count[p][(k >> shift) & (BUCKETS - 1)]++ * 8,
				       src + i * 8, 8);
			}
		} else {
			for (size_t i = 0; i < n; i++) {
				uint64_t k = key_at(src + i * elsz, key_off, flip);

				memcpy(dst + count[p][(k >> shift) & (BUCKETS - 1)]++ * elsz,
				       src + i * elsz, elsz);
			}
		}
		{
			char *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != base) {
		memcpy(base, src, n * elsz);
		dst = src;
	}
	free(dst);
	free(count);
}

void permute_in_place(void *base, size_t n, size_t elsz, size_t *order)
{
	char *b = base, tmp[512], *t = elsz <= sizeof(tmp) ? tmp : xmalloc(elsz);

	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		if (order[i] == i || order[i] == SIZE_MAX)
			continue;
		/* follow the cycle starting at i: slot j receives element order[j] */
		memcpy(t, b + i * elsz, elsz);
		while (order[j] != i) {
			size_t k = order[j];

			memcpy(b + j * elsz, b + k * elsz, elsz);
			order[j] = SIZE_MAX;
			j = k;
		}
		memcpy(b + j * elsz, t, elsz);
		order[j] = SIZE_MAX;
	}
	if (t != tmp)
		free(t);
}
