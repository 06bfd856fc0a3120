/* cmd_bottlenecks.c: "bottlenecks": findings grouped by kind and call site, ranked by saving. */
#include <math.h>
#include <string.h>

#include "findings_render.h"
#include "report.h"

static void json_findings(struct view *v, const struct findings *fs)
{
	const struct thresholds *th = &v->o.th;
	struct jw w;

	jw_init(&w, v->out, 1);
	jw_obj(&w);
	jw_findings(&w, &v->a.run, fs, 0, 0);
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

/* "    evidence: pid 4 exchanges 1 2 3 ... (40 in all)", fitted to width. */
static void put_evidence(FILE *f, const struct run *run, const struct finding *x, int width)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "    evidence: pid %d exchange%s",
			 run->procs[run->xs[x->ev[0]].proc].pid, x->nev > 1 ? "s" : "");
	size_t k;

	for (k = 0; k < x->nev && k < 12; k++) {
		char id[32];
		int m = snprintf(id, sizeof(id), " %llu", (unsigned long long)run->xs[x->ev[k]].id);

		if (n + m + 20 > width || n + m >= (int)sizeof(line))
			break;
		memcpy(line + n, id, (size_t)m + 1);
		n += m;
	}
	fputs(line, f);
	if (k < x->nev)
		fprintf(f, " ... (%zu in all)", x->nev);
	fputc('\n', f);
}

/* "    called from agent.py:Http.request:79 < Agent.chat:120", when the site has a Python stack. */
static void put_call_site(FILE *out, const struct findings *fs, const struct run *run,
			  const struct finding *f, int width)
{
	char site[700], line[760];

	if (!*finding_call_site(fs, run, f, site, sizeof(site)))
		return;
	snprintf(line, sizeof(line), "called from %s", site);
	put_wrap(out, line, width, 4);
}

static void put_instance(struct view *v, const struct findings *fs, size_t i, int width,
			 const char *num)
{
	const struct run *run = &v->a.run;
	const struct finding *x = &fs->f[i];
	const struct color *c = &v->color;
	struct tbuf b[2];
	char text[1000];

	fprintf(v->out, "\n%s%s %s%-19s%s saves ~%s", c->bold, num, c->kind,
		finding_kind_name(x->kind), c->off,
		x->saving_ns ? fmt_ns(&b[0], (double)x->saving_ns) : "0 on the critical path");
	if (!isnan(x->saving_usd))
		fprintf(v->out, ", %s", fmt_usd(&b[1], x->saving_usd));
	fputc('\n', v->out);
	finding_title(run, x, text, sizeof(text));
	put_wrap(v->out, text, width, 4);
	put_call_site(v->out, fs, run, x, width);
	if (x->overlaps >= 0 && x->exclusive_ns < x->saving_ns) {
		snprintf(text, sizeof(text),
			 "overlaps finding %d: together they save %s less; this one adds %s.",
			 x->overlaps + 1, fmt_ns(&b[0], (double)(x->saving_ns - x->exclusive_ns)),
			 fmt_ns(&b[1], (double)x->exclusive_ns));
		put_wrap(v->out, text, width, 4);
	}
	if (x->nev)
		put_evidence(v->out, run, x, width);
	fprintf(v->out, "    suggestion:\n");
	finding_suggestion(run, x, text, sizeof(text));
	put_wrap(v->out, text, width, 6);
}

static void text_all(struct view *v, const struct findings *fs, int width)
{
	char num[32];

	for (size_t i = 0; i < fs->n; i++) {
		if (v->o.limit && i == (size_t)v->o.limit) {
			fprintf(v->out, "... %zu more (--limit)\n", fs->n - i);
			break;
		}
		snprintf(num, sizeof(num), "%2zu.", i + 1);
		put_instance(v, fs, i, width, num);
	}
}

static void text_groups_out(struct view *v, const struct findings *fs, int width)
{
	const struct run *run = &v->a.run;
	const struct color *c = &v->color;
	struct tbuf b[3];
	char text[1000];

	for (size_t i = 0; i < fs->ng; i++) {
		const struct fgroup *g = &fs->g[i];
		char num[32];

		if (v->o.limit && i == (size_t)v->o.limit) {
			fprintf(v->out, "... %zu more groups (--limit)\n", fs->ng - i);
			break;
		}
		snprintf(num, sizeof(num), "%2zu.", i + 1);
		if (g->count == 1) {
			put_instance(v, fs, g->first, width, num);
			continue;
		}
		fprintf(v->out, "\n%s%s %s%s%s %s%zu%s times, saves ~%s in all", c->bold, num,
			c->kind, finding_kind_name(g->kind), c->off, c->bold, g->count, c->off,
			g->saving_ns ? fmt_ns(&b[0], (double)g->saving_ns)
				     : "0 on the critical path");
		if (!isnan(g->saving_usd))
			fprintf(v->out, ", %s", fmt_usd(&b[1], g->saving_usd));
		fputc('\n', v->out);
		finding_title(run, &fs->f[g->first], text, sizeof(text));
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 " (the largest of %zu; --all lists each)", g->count);
		put_wrap(v->out, text, width, 4);
		put_call_site(v->out, fs, run, &fs->f[g->first], width);
		if (g->exclusive_ns < g->saving_ns) {
			snprintf(text, sizeof(text),
				 "overlaps higher-ranked findings: adds %s beyond them.",
				 fmt_ns(&b[2], (double)g->exclusive_ns));
			put_wrap(v->out, text, width, 4);
		}
		fprintf(v->out, "    suggestion:\n");
		finding_suggestion(run, &fs->f[g->first], text, sizeof(text));
		put_wrap(v->out, text, width, 6);
	}
}

static void text_findings(struct view *v, const struct findings *fs)
{
	int width = term_width(v->o.width, v->out);
	struct tbuf b[3];
	char text[300];

	if (!fs->n) {
		put_wrap(v->out,
			 "No bottlenecks found above the thresholds (see 'agentprof-view "
			 "bottlenecks --help' to change them).",
			 term_width(v->o.width, v->out), 0);
		return;
	}
	snprintf(text, sizeof(text),
		 "Bottlenecks by estimated saving: %zu finding%s in %zu group%s, together at most "
		 "%s of %s wall time",
		 fs->n, fs->n == 1 ? "" : "s", fs->ng, fs->ng == 1 ? "" : "s",
		 fmt_ns(&b[0], (double)fs->exclusive_ns), fmt_ns(&b[1], (double)fs->wall_ns));
	put_wrap(v->out, text, width, 0);
	if (v->o.all)
		text_all(v, fs, width);
	else
		text_groups_out(v, fs, width);
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
