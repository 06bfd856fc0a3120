/* analysis.h: the shared analyses: category breakdown, child-process items, grouped statistics. */
#ifndef AGENTPROF_VIEW_ANALYSIS_H
#define AGENTPROF_VIEW_ANALYSIS_H

#include "stats.h"
#include "context.h"

/* Category index AP_CAT_MAX stands for "internal" (wall time no I/O explains). */
#define CAT_INTERNAL AP_CAT_MAX

struct catstat {
	int64_t wall; /* union of the category's intervals inside the window */
	int64_t sum;  /* summed durations of its calls (overlaps counted again) */
	int64_t excl; /* exclusive time by priority llm > tool > memory > process > unknown */
	double calls; /* calls, scaled for sampling */
	size_t n;     /* recorded calls */
};

struct breakdown {
	int64_t start, end, wall;
	struct catstat cat[AP_CAT_MAX + 1]; /* [CAT_INTERNAL].wall = internal */
	int64_t busy;			    /* union of all categories */
};

/*
 * A child process as a unit of "process" time: a profiled child's lifetime, or a spawn/wait
 * interval of a child the preload did not enter.
 */
struct pitem {
	int64_t a, b;
	int32_t proc;	/* the child's process index, -1 if not profiled */
	int32_t parent; /* the process that started it */
	int32_t pid;
	uint32_t path;
	/* where it was started: the parent's event that names the child (its spawn or fork, else
	 * the wait that reaped it: Python's vfork is invisible), -1 if none; that event's thread
	 * (0 if none) and enclosing manual span index (-1 if none, or not selected) */
	int32_t pev;
	uint32_t tid;
	int32_t span;
};

/* Child-process items of the selected processes, helpers left out, each with the thread and
 * manual span that started it (caller frees *out). */
size_t pitems_build(const struct vrun *r, struct pitem **out);

/* Intervals of one category clipped to the window and merged (caller frees *out). */
size_t cat_intervals(const struct vrun *r, int cat, struct ival **out);
void breakdown_compute(const struct vrun *r, struct breakdown *b);

enum tok_kind { T_IN, T_OUT, T_CR, T_CW, T_RS, T_MAX };
extern const char *const tok_names[T_MAX]; /* input, output, cache_read, cache_write, reasoning */

struct tokens {
	double v[T_MAX];       /* sums of known values, scaled for sampling */
	size_t unknown[T_MAX]; /* calls where the value is unknown */
	size_t calls;	       /* recorded calls */
	double wcalls;	       /* calls scaled for sampling */
};

static inline int64_t x_tok(const struct vxch *x, int k)
{
	const int64_t v[T_MAX] = {x->in, x->out, x->cache_read, x->cache_write, x->reasoning};

	return v[k];
}

void tokens_add(struct tokens *t, const struct vxch *x, double w);

enum group_kind { G_MODEL, G_ENDPOINT, G_AGENT };

struct group {
	uint8_t cat, prov;
	uint32_t model, host, method, path, agent; /* the key fields of the group's kind */
	int32_t port;
	size_t n, errors;
	double calls; /* scaled for sampling */
	int64_t total;
	struct dist dur, ttfb, tps; /* tps: output tokens/s after the first byte, streamed */
	struct tokens tok;
	double cost;	     /* known part, scaled */
	size_t cost_unknown; /* calls without a cost */
	struct dist aux;     /* of the optional per-exchange values given to groups_build */
};

/*
 * Groups of the selected exchanges, sorted by total time (largest first). kind G_MODEL: only llm.
 * aux (optional, per exchange index, NAN = none) is summarised into group.aux.
 */
size_t groups_build(struct vrun *r, enum group_kind kind, const double *aux, struct group **out);
/* "provider model", "METHOD host/path" or the agent label, for text output. */
void group_label(const struct run *run, enum group_kind kind, const struct group *g, char *buf,
		 size_t len);

/* Per process: wall time (union) of its own selected exchanges and spans by category;
 * out[proc * AP_CAT_MAX + cat] (caller frees). */
int64_t *proc_cat_walls(const struct vrun *r);

/* Selected processes depth-first from the roots (children under parents, exec images under the
 * image they replaced); depth[i] is the tree depth. Arrays hold run->n_procs entries. */
size_t procs_tree_order(const struct vrun *r, int32_t *order, int *depth);

/*
 * Process folding. An exec chain (one pid, image after image) is one unit; a helper is a chain
 * that is not a root, records no exchange and no span (nor does any descendant), and lasts less
 * than HELPER_NS, and was started by a wrapper: an image that later exec'd into something else
 * (a pyenv-style shim), or another helper. Shells, env, readlink run by wrapper scripts fold;
 * what the final program spawns stays a subprocess tool. The agent is the last image of
 * the chain with the most recorded work (exchanges and spans).
 */
#define HELPER_NS (1000 * 1000000LL)
struct pfold {
	int32_t *chain;	 /* per process: the first image of its chain */
	int32_t *last;	 /* per process: the last image of its chain */
	uint8_t *helper; /* per process: its chain is a helper */
	int64_t *work;	 /* per chain's first image: exchanges + spans of the chain */
	int32_t agent;	 /* -1 when the run has no process */
};
void pfold_build(const struct run *run, struct pfold *pf);
void pfold_free(struct pfold *pf);

/* Sampling: the lowest rate among the selected processes (1.0 = everything recorded). */
double run_sample_rate(const struct vrun *r);

/* The window's wall time, never 0 (for shares). */
static inline double share(int64_t part, int64_t whole)
{
	return whole > 0 ? (double)part / (double)whole : 0;
}

#endif
