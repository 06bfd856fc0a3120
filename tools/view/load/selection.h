/* selection.h: a loaded run with its selection under the --pid/--category/... filters. */
#ifndef AGENTPROF_VIEW_SELECTION_H
#define AGENTPROF_VIEW_SELECTION_H

#include "model.h"

#define MAX_LIST 32

struct filter {
	int32_t pids[MAX_LIST];
	int npids;
	uint32_t cats;	/* bit per enum ap_category; 0 = all */
	uint32_t provs; /* bit per enum ap_provider; 0 = all */
	const char *models[MAX_LIST], *hosts[MAX_LIST], *agents[MAX_LIST]; /* fnmatch globs */
	int nmodels, nhosts, nagents;
};

/* One loaded run with its selection under the filters. */
struct vrun {
	struct run run;
	uint8_t *xsel;	     /* per exchange: passes the filters */
	uint8_t *psel;	     /* per process: passes --pid/--agent */
	uint8_t *ssel;	     /* per span */
	int64_t start, end;  /* the window the analyses use */
	int exchange_filter; /* a filter narrower than --pid is active */
	int proc_items;	     /* child processes count as "process" time under the filters */
};

/* Build the selection bitmaps and window of a loaded run under the filters f. */
void vrun_select(const struct filter *f, struct vrun *r);
void vrun_free(struct vrun *r);

#endif
