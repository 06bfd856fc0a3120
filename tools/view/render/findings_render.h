/* findings_render.h: findings in words and as JSON (one serialisation for bottlenecks and html). */
#ifndef AGENTPROF_VIEW_FINDINGS_RENDER_H
#define AGENTPROF_VIEW_FINDINGS_RENDER_H

#include "findings.h"
#include "jsonw.h"

/* One-line description of what was found, with the call site's label. */
void finding_title(const struct run *run, const struct finding *f, char *buf, size_t len);
/* What to do about it. */
void finding_suggestion(const struct run *run, const struct finding *f, char *buf, size_t len);

/*
 * Keys "findings" (every instance, ranked, at most limit when limit > 0; evidence capped at
 * ev_max exchanges when ev_max > 0), "findings_total", "groups" (by kind and call site, ranked
 * by summed saving), "wall_ns" and "saving_total_ns" (the exclusive savings added up: at most
 * the wall time), written into the current object.
 */
void jw_findings(struct jw *w, const struct run *run, const struct findings *fs, size_t limit,
		 size_t ev_max);

#endif
