/* sort.h: linear-time sorts for the viewer's large arrays (LSD radix on 64-bit keys). */
#ifndef AGENTPROF_VIEW_SORT_H
#define AGENTPROF_VIEW_SORT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Stable sort of n elements of elsz bytes by the 64-bit integer at byte offset key_off of each
 * element (signed when is_signed). Digits every key shares cost nothing, so small ranges
 * (ids, string ids, times within a run) take two to four passes. Small arrays use insertion.
 */
void radix_sort64(void *base, size_t n, size_t elsz, size_t key_off, int is_signed);

/* Reorder base so that element i becomes old element order[i]; in place, one spare element;
 * order is consumed (left permuted). */
void permute_in_place(void *base, size_t n, size_t elsz, size_t *order);

#endif
