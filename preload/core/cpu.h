/* cpu.h: which optional x86 instruction sets the scanners may use, as the loader found them. */
#ifndef AGENTPROF_CPU_H
#define AGENTPROF_CPU_H

/*
 * 1 if AVX2, POPCNT and PCLMULQDQ are usable (CPU and kernel), else 0; always 0 off x86-64. Read
 * from what the dynamic loader found at start-up: no CPUID of ours, and no constructor of libgcc's
 * (__builtin_cpu_supports) in every process. Cached; safe from any thread or signal handler.
 */
int ap_cpu_avx2(void);

/* Tests only: 0 makes ap_cpu_avx2 answer 0 (the SSE2 paths run); anything else: what the CPU
 * has again. */
void ap_cpu_avx2_pretend(int avx2);

#endif
