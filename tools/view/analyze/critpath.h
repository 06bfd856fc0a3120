/* critpath.h: the critical path: the chain of work and gaps that determines the wall time. */
#ifndef AGENTPROF_VIEW_CRITPATH_H
#define AGENTPROF_VIEW_CRITPATH_H

#include "analysis.h"

enum cp_kind { CP_EXCHANGE, CP_SPAN, CP_PROCESS, CP_INTERNAL };

struct cp_step {
	enum cp_kind kind;
	int32_t ref; /* exchange, span or pitem index; -1 for internal */
	int64_t a, b;
};

struct critpath {
	struct cp_step *steps; /* in time order; durations add up to end - start exactly */
	size_t n;
	struct pitem *pi; /* the process items CP_PROCESS steps refer to */
	size_t npi;
	int64_t start, end;
};

/*
 * Walk back from the end of the window. At each time t the step is, in order of preference:
 * the active exchange that started earliest (it ran until at least t), else the innermost active
 * manual span, else the active child process, else an internal gap back to the latest end of
 * anything before t. A span or process step stops where a more specific item ended, so an
 * exchange inside a span is a step of its own. Steps are merged when adjacent and identical.
 */
void critpath_compute(const struct vrun *r, struct critpath *cp);
void critpath_free(struct critpath *cp);
/* Per exchange index: nanoseconds it spends on the critical path (caller frees). */
int64_t *critpath_per_exchange(const struct critpath *cp, size_t n_xs);
const char *cp_kind_name(enum cp_kind k);

#endif
