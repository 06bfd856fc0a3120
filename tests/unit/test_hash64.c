/* test_hash64.c: the streamed XXH64 against xxhsum's values, whatever the cuts. */
#include "unit.h"

#include <stdlib.h>

#include "../../preload/core/hash64.h"

static uint64_t whole(const void *p, size_t n)
{
	struct ap_hash64 h;

	ap_hash64_init(&h);
	ap_hash64_update(&h, p, n);
	return ap_hash64_digest(&h);
}

int main(void)
{
	/* (i * 7 + 3) % 251, the bytes the reference values below were taken over with
	 * xxhsum -H1 (xxhash 0.8.1) */
	static const struct {
		size_t n;
		uint64_t want;
	} ref[] = {
		{31, 0xa2aa5f33cc4a6119ull},   {32, 0x23c3c17ef790fd97ull},
		{33, 0x50a7cfc7ba588784ull},   {63, 0xf1438f15b9ed16e9ull},
		{64, 0x2cd990a1beed6894ull},   {65, 0xc763da59981e980eull},
		{100, 0x778e26df8290f456ull},  {257, 0xdb12467136cda502ull},
		{1000, 0x021f7a7424085ea4ull},
	};
	uint8_t bytes[1000];
	struct ap_hash64 zero = {0}, h;

	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)((i * 7 + 3) % 251);
	CHECK(whole("", 0) == 0xef46db3751d8e999ull);
	CHECK(whole("a", 1) == 0xd24ec4f1a98c6e5bull);
	CHECK(whole("abc", 3) == 0x44bc2cf5ad770999ull);
	CHECK(ap_hash64_digest(&zero) == 0xef46db3751d8e999ull); /* a zeroed state is empty */
	ap_hash64_update(&zero, "abc", 3);			 /* ... and starts itself */
	CHECK(ap_hash64_digest(&zero) == 0x44bc2cf5ad770999ull);
	for (size_t i = 0; i < sizeof(ref) / sizeof(ref[0]); i++) {
		int bad = 0;

		CHECK(whole(bytes, ref[i].n) == ref[i].want);
		/* every piece size, and random cuts (empty pieces too) */
		for (size_t piece = 1; piece <= ref[i].n; piece++) {
			ap_hash64_init(&h);
			for (size_t o = 0; o < ref[i].n; o += piece)
				ap_hash64_update(&h, bytes + o,
						 ref[i].n - o < piece ? ref[i].n - o : piece);
			bad += ap_hash64_digest(&h) != ref[i].want;
		}
		srand((unsigned)i);
		for (int r = 0; r < 200; r++) {
			size_t o = 0;

			ap_hash64_init(&h);
			while (o < ref[i].n) {
				size_t k = (size_t)rand() % 40;

				if (k > ref[i].n - o)
					k = ref[i].n - o;
				ap_hash64_update(&h, bytes + o, k);
				o += k;
			}
			bad += ap_hash64_digest(&h) != ref[i].want;
		}
		CHECK_EQ_INT(bad, 0);
	}
	UNIT_DONE();
}
