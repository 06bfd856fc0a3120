/* critpath.h: the critical path: the chain of work and gaps that determines the wall time. */
#ifndef AGENTPROF_VIEW_CRITPATH_H
#define AGENTPROF_VIEW_CRITPATH_H

#include "analysis.h"

enum cp_kind { CP_EXCHANGE, CP_SPAN, CP_PROCESS, CP_INTERNAL };

struct cp_step {
	enum cp_kind kind;
	int32_t ref; /* exchange, span or pitem index; -1 for internal */
	int64_t a, b;
	int32_t span; /* process steps: the manual span the tool ran in (its own or an ancestor's
			 process's), -1 */
};

struct critpath {
	struct cp_step *steps; /* in time order; durations add up to end - start exactly */
	size_t n;
	struct pitem *pi; /* the process items CP_PROCESS steps refer to */
	size_t npi;
	int64_t start, end;
};

/*
 * The standard backward walk from the end of the window: before the current step (at time t),
 * the step is the exchange that finished last at t (the one that ran longest on ties); calls
 * still running at t ran concurrently and are never spliced in. When no exchange ends at t,
 * the time back to the latest end of anything before t is the innermost manual span active at
 * t, else the active child process, else internal; a child process of the span's process that
 * started inside that span (a tool the span ran) is taken before the span: a step under it. Steps
 * are merged when adjacent and identical; they are contiguous and add up to the window exactly.
 */
void critpath_compute(const struct vrun *r, struct critpath *cp);
void critpath_free(struct critpath *cp);
/* Per exchange index: nanoseconds it spends on the critical path (caller frees). */
int64_t *critpath_per_exchange(const struct critpath *cp, size_t n_xs);
const char *cp_kind_name(enum cp_kind k);

#endif
