/* cmd_bottlenecks.c: "bottlenecks": findings ranked by saving, with evidence and suggestions. */
#include <math.h>

#include "findings.h"
#include "report.h"

static void json_findings(struct view *v, const struct findings *fs)
{
	const struct run *run = &v->a.run;
	const struct thresholds *th = &v->o.th;
	struct jw w;

	jw_init(&w, v->out, 1);
	jw_obj(&w);
	jw_key(&w, "findings");
	jw_arr(&w);
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *f = &fs->f[i];

		jw_obj(&w);
		jw_kstr(&w, "kind", finding_kind_name(f->kind));
		jw_kint(&w, "saving_ns", f->saving_ns);
		jw_key(&w, "exchanges");
		jw_arr(&w);
		for (size_t k = 0; k < f->nev; k++) {
			const struct vxch *x = &run->xs[f->ev[k]];

			jw_obj(&w);
			jw_kint(&w, "pid", run->procs[x->proc].pid);
			jw_kuint(&w, "id", x->id);
			jw_kint(&w, "tid", x->tid);
			jw_kint_opt(&w, "start_ns", x->start);
			jw_kint_opt(&w, "end_ns", x->end);
			jw_obj_end(&w);
		}
		jw_arr_end(&w);
		jw_kstr(&w, "suggestion", f->suggestion);
		jw_kstr(&w, "title", f->title);
		jw_kdouble(&w, "saving_usd", f->saving_usd);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "thresholds");
	jw_obj(&w);
	jw_kdouble(&w, "seq_gap_ms", th->seq_gap_ms);
	jw_kdouble(&w, "slow_tool_ms", th->slow_tool_ms);
	jw_kdouble(&w, "slow_ttfb_ms", th->slow_ttfb_ms);
	jw_kdouble(&w, "llm_share", th->llm_share);
	jw_kdouble(&w, "call_count", th->call_count);
	jw_kdouble(&w, "prompt_ratio", th->prompt_ratio);
	jw_kdouble(&w, "prompt_min_tokens", th->prompt_min_tokens);
	jw_kdouble(&w, "context_share", th->context_share);
	jw_kdouble(&w, "new_conns", th->new_conns);
	jw_obj_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

static void text_findings(struct view *v, const struct findings *fs)
{
	const struct run *run = &v->a.run;
	int width = term_width(v->o.width, v->out);
	FILE *f = v->out;
	struct tbuf b[2];

	if (!fs->n) {
		fprintf(f, "No bottlenecks found above the thresholds (see 'agentprof-view "
			   "bottlenecks --help' to change them).\n");
		return;
	}
	fprintf(f, "Bottlenecks, ranked by the wall time they could save (estimates)\n");
	for (size_t i = 0; i < fs->n; i++) {
		const struct finding *x = &fs->f[i];

		if (v->o.limit && i == (size_t)v->o.limit) {
			fprintf(f, "... %zu more (--limit)\n", fs->n - i);
			break;
		}
		fprintf(f, "\n%2zu. %-19s saves ~%s", i + 1, finding_kind_name(x->kind),
			x->saving_ns ? fmt_ns(&b[0], (double)x->saving_ns)
				     : "0 on the critical path");
		if (!isnan(x->saving_usd))
			fprintf(f, ", %s", fmt_usd(&b[1], x->saving_usd));
		fprintf(f, "\n");
		put_wrap(f, x->title, width, 4);
		fprintf(f, "    evidence: pid %d exchange%s",
			run->procs[run->xs[x->ev[0]].proc].pid, x->nev > 1 ? "s" : "");
		for (size_t k = 0; k < x->nev && k < 12; k++)
			fprintf(f, " %llu", (unsigned long long)run->xs[x->ev[k]].id);
		if (x->nev > 12)
			fprintf(f, " ... (%zu in all)", x->nev);
		fprintf(f, "\n    suggestion:\n");
		put_wrap(f, x->suggestion, width, 6);
	}
}

int cmd_bottlenecks(struct view *v)
{
	struct findings fs;

	findings_detect(v, &v->a, &fs);
	if (v->o.json)
		json_findings(v, &fs);
	else
		text_findings(v, &fs);
	findings_free(&fs);
	return 0;
}
