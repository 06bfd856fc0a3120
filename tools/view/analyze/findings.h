/* findings.h: bottleneck detection: findings ranked by the wall time they could save. */
#ifndef AGENTPROF_VIEW_FINDINGS_H
#define AGENTPROF_VIEW_FINDINGS_H

#include "critpath.h"

struct prices;

enum finding_kind {
	FK_SEQUENTIAL_LLM,
	FK_SLOW_TOOL,
	FK_SLOW_FIRST_BYTE,
	FK_REPEATED_REQUEST,
	FK_LLM_DOMINANT,
	FK_HIGH_CALL_COUNT,
	FK_PROMPT_HEAVY,
	FK_CONTEXT_PRESSURE,
	FK_NO_CONNECTION_REUSE,
	FK_MAX
};

struct finding {
	enum finding_kind kind;
	int64_t saving_ns; /* estimated wall-time saving; 0 when the finding is about cost/risk */
	double saving_usd; /* estimated cost saving, NAN when not estimated */
	uint32_t *ev;	   /* evidence: exchange indexes in time order */
	size_t nev;
	char title[300];
	char suggestion[600];
};

struct findings {
	struct finding *f;
	size_t n, cap;
};

const char *finding_kind_name(enum finding_kind k);

/* Detect every kind with the thresholds in v->o.th; sorted by saving_ns, then kind. */
void findings_detect(const struct view *v, const struct vrun *r, struct findings *out);
void findings_free(struct findings *fs);

#endif
