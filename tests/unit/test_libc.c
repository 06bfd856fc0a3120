/* test_libc.c: the preload's own memcpy, memmove and memset (rt_libc.c) against the C library's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define AP_LIBC_TEST 1
#include "../../preload/runtime/rt_libc.c"

/* Every size from 0 to 600 and a few large ones, at every offset 0..15 of source and
 * destination, each in a heap block of exactly its size (AddressSanitizer stops any access
 * past it, or before it): the bytes written, the bytes around them and the result pointer
 * match the C library's. */
static const size_t big[] = {1023, 1024, 4095, 4096, 4097, 65536 + 7};

static size_t size_at(size_t k)
{
	return k <= 600 ? k : big[k - 601];
}
#define NSIZES (601 + sizeof(big) / sizeof(big[0]))

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 7 + (i >> 8));
}

static void test_memcpy(void)
{
	int bad = 0;

	for (size_t k = 0; k < NSIZES; k++) {
		size_t n = size_at(k);

		for (unsigned off = 0; off < 16; off += (n > 600 ? 5 : 1)) {
			unsigned char *src = malloc(n + off), *a = malloc(n + 2 * off + 1),
				      *b = malloc(n + 2 * off + 1);

			fill(src, n + off, (unsigned)k);
			memset(a, 0xa5, n + 2 * off + 1);
			memset(b, 0xa5, n + 2 * off + 1);
			bad += ap_test_memcpy(a + 2 * off, src + off, n) != a + 2 * off;
			memcpy(b + 2 * off, src + off, n);
			bad += memcmp(a, b, n + 2 * off + 1) != 0;
			free(src);
			free(a);
			free(b);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_memset(void)
{
	static const int values[] = {0, 1, 0x7f, 0x80, 0xff, -1, 0x1234};
	int bad = 0;

	for (size_t k = 0; k < NSIZES; k++) {
		size_t n = size_at(k);

		for (unsigned off = 0; off < 16; off += 3)
			for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
				unsigned char *a = malloc(n + off + 1), *b = malloc(n + off + 1);

				fill(a, n + off + 1, (unsigned)v);
				memcpy(b, a, n + off + 1);
				bad += ap_test_memset(a + off, values[v], n) != a + off;
				memset(b + off, values[v], n);
				bad += memcmp(a, b, n + off + 1) != 0;
				free(a);
				free(b);
			}
	}
	CHECK_EQ_INT(bad, 0);
}

/* Overlapping both ways, by every shift from -40 to 40, and apart. */
static void test_memmove(void)
{
	int bad = 0;

	for (size_t k = 0; k < NSIZES; k++) {
		size_t n = size_at(k), cap = n + 81;

		for (int shift = -40; shift <= 40; shift += (n > 600 ? 13 : 1)) {
			unsigned char *a = malloc(cap), *b = malloc(cap);
			size_t from = 40, to = (size_t)(40 + shift);

			fill(a, cap, (unsigned)(k + 3));
			memcpy(b, a, cap);
			bad += ap_test_memmove(a + to, a + from, n) != a + to;
			memmove(b + to, b + from, n);
			bad += memcmp(a, b, cap) != 0;
			free(a);
			free(b);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	test_memcpy();
	test_memset();
	test_memmove();
	UNIT_DONE();
}
