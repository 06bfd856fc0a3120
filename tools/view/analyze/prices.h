/* prices.h: model prices and context windows (built-in table or a LiteLLM-shaped file); cost. */
#ifndef AGENTPROF_VIEW_PRICES_H
#define AGENTPROF_VIEW_PRICES_H

#include "model.h"
#include "price_table.h"

/* Date of the built-in table; stated in every view that shows a cost computed from it. */
#define PRICES_BUILTIN_DATE AP_PRICES_BUILTIN_DATE

/* USD per token; NAN when the entry does not say. max_input: tokens, -1 when unknown. */
struct price {
	const char *name;
	double in, out, cache_read, cache_write, reasoning;
	double in_200k, out_200k, cache_read_200k; /* whole-request rates above 200k input */
	int64_t max_input;
};

struct prices;

/* Load file (NULL: the built-in table). NULL with the reason in msg on a bad file. */
struct prices *prices_load(const char *file, char *msg, size_t msglen);
void prices_free(struct prices *p);
/* "built-in table (2025-11-01)" or the file name. */
const char *prices_source(const struct prices *p);

/*
 * Look a model up: exact name, then "<provider>/<name>", then the longest entry that is a
 * prefix of the name followed by '-' (dated versions). NULL if none.
 */
const struct price *prices_find(const struct prices *p, const char *model, int provider);
/* The entry for an exchange: response model first, then request model. */
const struct price *prices_for(const struct prices *p, const struct run *run, const struct vxch *x);

/* Cost of one exchange in USD; NAN when the price or the usage is unknown. */
double price_cost(const struct price *pr, const struct vxch *x);
/* Fill x->cost for every exchange of the run. */
void prices_apply(struct prices *p, struct run *run);
/* Context window (max input tokens) of an exchange's model, -1 if unknown. */
int64_t prices_context(const struct prices *p, const struct run *run, const struct vxch *x);

#endif
