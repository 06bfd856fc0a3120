/* price_table.h: the built-in LLM price table, lookup by model name, and an exchange's cost. */
#ifndef AGENTPROF_PRICE_TABLE_H
#define AGENTPROF_PRICE_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Date of the built-in table; stated in every view that shows a cost computed from it. */
#define AP_PRICES_BUILTIN_DATE "2025-11-01"

/* USD per token; NAN when the entry does not say. max_input: tokens, -1 when unknown. The
 * viewer's struct price (tools/view/analyze/prices.h) has this exact layout. */
struct ap_price {
	const char *name;
	double in, out, cache_read, cache_write, reasoning;
	double in_200k, out_200k, cache_read_200k; /* whole-request rates above 200k input */
	int64_t max_input;
};

extern const struct ap_price ap_price_builtin[]; /* sorted by name */
extern const size_t ap_price_builtin_n;

/* Built-in entry for a model: exact name, then the longest '-'-separated prefix ("gpt-4o" for
 * "gpt-4o-2024-08-06"); NULL if none. No allocation, no locks. */
const struct ap_price *ap_price_builtin_find(const char *model);

/*
 * Cost in USD of normalised usage (input includes cache reads and writes, output includes
 * reasoning; negative = unknown). Cache tokens are billed at their own rates when the entry has
 * them, else as input. NAN when the price or the usage is unknown.
 */
double ap_price_cost(const struct ap_price *pr, int64_t in, int64_t out, int64_t cache_read,
		     int64_t cache_write, int64_t reasoning);

#endif
