/* cpu.c: the optional instruction sets, from the dynamic loader's CPU feature table. */
#include "cpu.h"

#if defined(__x86_64__)
#include <sys/platform/x86.h>
#endif

static int known = -1; /* a race only writes the same value twice */

int ap_cpu_avx2(void)
{
#if defined(__x86_64__)
	if (known < 0)
		known = CPU_FEATURE_ACTIVE(AVX2) && CPU_FEATURE_ACTIVE(POPCNT) &&
					CPU_FEATURE_ACTIVE(PCLMULQDQ)
				? 1
				: 0;
	return known;
#else
	return 0;
#endif
}

void ap_cpu_avx2_pretend(int avx2)
{
	known = avx2 ? -1 : 0;
}
