/* select.c: apply the --pid/--category/--provider/--model/--host/--agent filters to a run. */
#include <fnmatch.h>
#include <stdlib.h>

#include "selection.h"

static int glob_any(const char *const *pats, int n, const char *s)
{
	if (!n)
		return 1;
	for (int i = 0; i < n; i++)
		if (fnmatch(pats[i], s, 0) == 0)
			return 1;
	return 0;
}

static int pid_ok(const struct filter *f, int32_t pid)
{
	if (!f->npids)
		return 1;
	for (int i = 0; i < f->npids; i++)
		if (f->pids[i] == pid)
			return 1;
	return 0;
}

static int x_ok(const struct filter *f, const struct run *run, const struct vxch *x)
{
	if (f->cats && !(f->cats & (1u << x->cat)))
		return 0;
	if (f->provs && !(f->provs & (1u << x->prov)))
		return 0;
	if (f->nmodels && !glob_any(f->models, f->nmodels, S(run, x->req_model)) &&
	    !glob_any(f->models, f->nmodels, S(run, x->resp_model)))
		return 0;
	if (!glob_any(f->hosts, f->nhosts, S(run, x->host)))
		return 0;
	return glob_any(f->agents, f->nagents, S(run, x->agent));
}

void vrun_select(const struct filter *f, struct vrun *r)
{
	struct run *run = &r->run;
	int narrow = f->provs || f->nmodels || f->nhosts; /* filters spans cannot match */

	r->exchange_filter = f->cats || narrow || f->nagents;
	r->proc_items = (!f->cats || (f->cats & (1u << AP_CAT_PROCESS))) && !narrow && !f->nagents;
	r->psel = xcalloc(run->n_procs, 1);
	r->xsel = xcalloc(run->n_xs, 1);
	r->ssel = xcalloc(run->n_spans, 1);
	r->start = r->end = UNK;
	for (size_t i = 0; i < run->n_procs; i++) {
		const struct vproc *p = &run->procs[i];
		int64_t s = p->start != UNK ? p->start : p->last_seen;
		int64_t e = p->end != UNK ? i64_max(p->end, p->last_seen) : p->last_seen;

		r->psel[i] = (uint8_t)pid_ok(f, p->pid);
		if (!r->psel[i] || s == UNK || e == UNK)
			continue;
		if (r->start == UNK || s < r->start)
			r->start = s;
		if (r->end == UNK || e > r->end)
			r->end = e;
	}
	if (r->start == UNK)
		r->start = r->end = run->start;
	for (size_t i = 0; i < run->n_xs; i++)
		r->xsel[i] = r->psel[run->xs[i].proc] && x_ok(f, run, &run->xs[i]);
	for (size_t i = 0; i < run->n_spans; i++) {
		const struct vspan *s = &run->spans[i];

		r->ssel[i] = r->psel[s->proc] && !narrow &&
			     (!f->cats || (f->cats & (1u << s->cat))) &&
			     glob_any(f->agents, f->nagents, S(run, s->agent));
	}
	/* a span that encloses a selected exchange stays visible as its parent */
	for (size_t i = 0; i < run->n_xs; i++) {
		int32_t s = run->xs[i].span;

		for (int d = 0; r->xsel[i] && s >= 0 && d < 65; d++, s = run->spans[s].parent)
			r->ssel[s] = 1;
	}
}

void vrun_free(struct vrun *r)
{
	free(r->xsel);
	free(r->psel);
	free(r->ssel);
	run_free(&r->run);
}
