/* report.h: renderers shared by several commands: group tables, distributions, tokens, budgets. */
#ifndef AGENTPROF_VIEW_REPORT_H
#define AGENTPROF_VIEW_REPORT_H

#include "analysis.h"
#include "jsonw.h"
#include "text.h"

/* {"count":..,"mean":..,"min":..,"p50":..,"p90":..,"p95":..,"p99":..,"max":..} or null. */
void jw_dist(struct jw *w, const char *key, const struct dist *d);
/* {"input":..,...} with null for kinds no call reported; and the unknown counts. */
void jw_tokens(struct jw *w, const struct tokens *t);
void jw_group(struct jw *w, const struct run *run, enum group_kind kind, const struct group *g);
void jw_groups(struct jw *w, const char *key, const struct run *run, enum group_kind kind,
	       const struct group *g, size_t n);

/* "openai gpt-4o POST api.openai.com/v1/chat/completions", "tool GET host/path". */
void x_label(const struct run *run, const struct vxch *x, char *buf, size_t len);

/* "gpt-4o POST /v1/chat/completions", "GET host/path", with " [failed 429]" when it failed. */
void x_short_label(const struct run *run, const struct vxch *x, char *buf, size_t len);
/* An error status (>= 400) or no answer (an error without status). */
int x_failed(const struct vxch *x);

/* Token count for a table cell: "?" when every call's value is unknown, "N+?" when some. */
const char *tok_cell(struct tbuf *b, const struct tokens *t, int k);

/* Text table of groups with percentiles; at most limit rows (0 = all). */
void text_groups(FILE *f, const struct run *run, enum group_kind kind, const struct group *g,
		 size_t n, int width, int limit);

/* Scaled-for-sampling note, or nothing at full rate. */
void text_sampling(FILE *f, double rate);

/* Run totals the budgets are checked against. */
struct totals {
	struct breakdown bd;
	struct tokens tok;
	double cost;
	size_t cost_unknown;
};
void totals_compute(const struct vrun *r, struct totals *t);

/* Check --budget limits. Returns the number over. Writes "budgets":[...] (json) or text. */
int budgets_report(const struct view *v, const struct totals *t, struct jw *w, FILE *f);

#endif
