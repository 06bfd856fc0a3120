/* cmd_summary.c: "summary": wall time by category, models, endpoints, agents, processes, drops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prices.h"
#include "report.h"

static const int cat_order[] = {AP_CAT_LLM,	AP_CAT_TOOL,	AP_CAT_MEMORY,
				AP_CAT_PROCESS, AP_CAT_UNKNOWN, CAT_INTERNAL};

static const char *cat_label(int c)
{
	return c == CAT_INTERNAL ? "internal" : ap_category_name((unsigned)c);
}

/* --- processes ------------------------------------------------------------------------------ */

static int64_t proc_end(const struct vproc *p)
{
	return p->end != UNK ? i64_max(p->end, p->last_seen) : p->last_seen;
}

static void argv_join(const struct run *run, const struct vproc *p, char *buf, size_t len)
{
	const char *a = S(run, p->argv);
	size_t n = strtab_len(&run->st, p->argv), o = 0;

	for (size_t i = 0; i < n && o + 1 < len; i++)
		buf[o++] = a[i] ? a[i] : ' ';
	while (o && buf[o - 1] == ' ')
		o--;
	buf[o] = 0;
	if (!o)
		snprintf(buf, len, "%s", S(run, p->exe));
}

static void jw_argv(struct jw *w, const struct run *run, uint32_t argv, uint32_t argc)
{
	const char *a = S(run, argv);
	size_t n = strtab_len(&run->st, argv), o = 0;

	jw_key(w, "argv");
	if (!argc) {
		jw_null(w);
		return;
	}
	jw_arr(w);
	for (uint32_t i = 0; i < argc && o < n; i++) {
		size_t l = strnlen(a + o, n - o);

		jw_strn(w, a + o, l);
		o += l + 1;
	}
	jw_arr_end(w);
}

static void json_process(struct jw *w, const struct run *run, const struct vproc *p,
			 const int64_t *cw)
{
	int64_t e = proc_end(p);

	jw_obj(w);
	jw_kint(w, "pid", p->pid);
	jw_kint_opt(w, "ppid", p->ppid);
	jw_kstr_opt(w, "exe", S(run, p->exe));
	jw_argv(w, run, p->argv, p->argc);
	jw_kint_opt(w, "start_ns", p->start);
	jw_kint_opt(w, "end_ns", p->end);
	jw_kint_opt(w, "duration_ns", p->start != UNK && e != UNK ? e - p->start : UNK);
	jw_key(w, "exit_code");
	if (p->has_end && p->exit_code != AP_UNKNOWN)
		jw_int(w, p->exit_code);
	else
		jw_null(w);
	jw_kint_opt(w, "parent_pid", p->parent >= 0 ? run->procs[p->parent].pid : UNK);
	jw_kbool(w, "exec", p->exec_of >= 0);
	jw_kbool(w, "replaced_by_exec", p->exec_next >= 0);
	jw_kstr_opt(w, "agent", S(run, p->agent));
	jw_kdouble(w, "sample_rate", 1.0 / proc_weight(p));
	jw_kuint(w, "exchanges", p->nexchanges);
	jw_kuint(w, "threads", p->nthreads);
	jw_kuint(w, "dropped_records", p->dropped);
	jw_kint_opt(w, "overhead_ns", p->overhead_ns);
	jw_kint_opt(w, "peak_rss_bytes", p->peak_rss);
	jw_kint_opt(w, "cpu_ns",
		    p->cpu_user_ns >= 0 ? p->cpu_user_ns + i64_max(p->cpu_sys_ns, 0) : UNK);
	jw_kbool(w, "ended", p->has_end);
	jw_kbool(w, "end_inferred", !p->has_end);
	jw_key(w, "categories");
	jw_obj(w);
	for (int c = AP_CAT_LLM; c < AP_CAT_MAX; c++)
		jw_kint(w, ap_category_name((unsigned)c), cw[c]);
	jw_obj_end(w);
	jw_kstr(w, "file", run->files[p->file].path);
	jw_obj_end(w);
}

static void text_processes(FILE *f, const struct vrun *r, int width, int limit)
{
	const struct run *run = &r->run;
	int32_t *order = xmalloc((run->n_procs + 1) * sizeof(*order));
	int *depth = xmalloc((run->n_procs + 1) * sizeof(*depth));
	size_t n = procs_tree_order(r, order, depth);
	int64_t *cw = proc_cat_walls(r);
	char cmd[1200];
	struct tbuf b[4];

	fprintf(f,
		"\nProcesses (llm, tool: wall time of the process's own calls)\n  %-8s %-8s %8s "
		"%8s %5s %5s %3s %7s %7s  %s\n",
		"pid", "ppid", "start", "duration", "exit", "calls", "thr", "llm", "tool",
		"command");
	for (size_t i = 0; i < n; i++) {
		const struct vproc *p = &run->procs[order[i]];
		int64_t e = proc_end(p);
		char ex[16];

		if (limit && i == (size_t)limit) {
			fprintf(f, "  ... %zu more (--limit)\n", n - i);
			break;
		}
		if (p->has_end && p->exit_code != AP_UNKNOWN)
			snprintf(ex, sizeof(ex), "%d", p->exit_code);
		else if (p->exec_next >= 0)
			snprintf(ex, sizeof(ex), "exec");
		else
			snprintf(ex, sizeof(ex), p->has_end ? "?" : "-");
		argv_join(run, p, cmd, sizeof(cmd));
		fprintf(f, "  %-8d %-8d %8s %8s %5s %5u %3u %7s %7s  ", p->pid, p->ppid,
			p->start != UNK ? fmt_ns(&b[0], (double)(p->start - r->start)) : "-",
			p->start != UNK && e != UNK ? fmt_ns(&b[1], (double)(e - p->start)) : "-",
			ex, p->nexchanges, p->nthreads,
			fmt_ns(&b[2], (double)cw[(size_t)order[i] * AP_CAT_MAX + AP_CAT_LLM]),
			fmt_ns(&b[3], (double)cw[(size_t)order[i] * AP_CAT_MAX + AP_CAT_TOOL]));
		put_rep(f, ' ', 2 * (depth[i] > 8 ? 8 : depth[i]));
		if (p->exec_of >= 0)
			fputs("exec ", f);
		put_fit(f, cmd, width - 72 > 20 ? width - 72 : 20, 0);
		if (!p->has_end && p->exec_next < 0)
			fputs("  (no end record: killed, raw exit or still running; end inferred)",
			      f);
		fputc('\n', f);
	}
	free(order);
	free(depth);
	free(cw);
}

/* --- drops, overhead, coverage -------------------------------------------------------------- */

struct health {
	uint64_t dropped, dropped_bytes, calls;
	int64_t overhead;
	int overhead_known;
	size_t truncated, no_end, bad_times;
};

static void health_compute(const struct vrun *r, struct health *h)
{
	const struct run *run = &r->run;

	memset(h, 0, sizeof(*h));
	for (size_t i = 0; i < run->n_procs; i++) {
		const struct vproc *p = &run->procs[i];

		if (!r->psel[i])
			continue;
		h->dropped += p->dropped;
		h->dropped_bytes += p->dropped_bytes;
		h->calls += p->calls;
		h->no_end += !p->has_end && p->exec_next < 0;
		if (p->overhead_ns >= 0) {
			h->overhead = sat_add(h->overhead, p->overhead_ns);
			h->overhead_known = 1;
		}
	}
	for (size_t i = 0; i < run->n_files; i++)
		h->truncated += run->files[i].st.damaged != 0;
	h->bad_times = run->bad_times;
}

/* Diagnostics grouped by code: count and the first message. */
static void diag_counts(const struct vrun *r, size_t *cnt, int32_t *first)
{
	for (int c = 0; c < AP_DIAG_MAX; c++)
		cnt[c] = 0, first[c] = -1;
	for (size_t i = 0; i < r->run.n_diags; i++) {
		const struct vdiag *d = &r->run.diags[i];
		uint32_t c = d->code < AP_DIAG_MAX ? d->code : 0;

		if (!r->psel[d->proc])
			continue;
		if (!cnt[c]++)
			first[c] = (int32_t)i;
	}
}

static void text_health(FILE *f, const struct vrun *r, const struct breakdown *bd)
{
	struct health h;
	size_t cnt[AP_DIAG_MAX];
	int32_t first[AP_DIAG_MAX];
	struct tbuf b;

	health_compute(r, &h);
	fprintf(f, "\n");
	if (h.dropped)
		fprintf(f,
			"Drops: %llu records (%llu bytes) did not fit the profiler's buffer and "
			"were dropped.\n",
			(unsigned long long)h.dropped, (unsigned long long)h.dropped_bytes);
	else
		fprintf(f, "Drops: none%s.\n",
			h.no_end ? " recorded (processes without an end "
				   "record cannot report theirs)"
				 : "");
	if (h.overhead_known)
		fprintf(f, "Profiler overhead: %s in %llu intercepted calls (%.2f%% of wall).\n",
			fmt_ns(&b, (double)h.overhead), (unsigned long long)h.calls,
			100 * share(h.overhead, bd->wall));
	if (h.overhead_known && h.no_end)
		fprintf(f, "Profiler overhead unknown for %zu processes without an end record.\n",
			h.no_end);
	if (!h.overhead_known)
		fprintf(f, "Profiler overhead: %s.\n",
			h.no_end ? "unknown (a process has no end record)" : "not recorded");
	diag_counts(r, cnt, first);
	for (int c = 0; c < AP_DIAG_MAX; c++) {
		if (!cnt[c])
			continue;
		fprintf(f, "Coverage: %s x%zu: ", ap_diag_name((unsigned)c), cnt[c]);
		put_fit(f, S(&r->run, r->run.diags[first[c]].msg), 200, 0);
		fputc('\n', f);
	}
	if (h.truncated)
		fprintf(f, "Files: %zu damaged file%s; only their complete frames are shown.\n",
			h.truncated, h.truncated > 1 ? "s" : "");
	if (h.bad_times)
		fprintf(f,
			"Values: %zu out-of-range or out-of-order times or counts were treated as "
			"unknown.\n",
			h.bad_times);
}

static void json_health(struct jw *w, const struct vrun *r, const struct breakdown *bd)
{
	struct health h;
	size_t cnt[AP_DIAG_MAX];
	int32_t first[AP_DIAG_MAX];

	health_compute(r, &h);
	jw_key(w, "drops");
	jw_obj(w);
	jw_kuint(w, "records", h.dropped);
	jw_kuint(w, "bytes", h.dropped_bytes);
	jw_kuint(w, "processes_without_end", h.no_end);
	jw_obj_end(w);
	jw_key(w, "overhead");
	if (h.overhead_known) {
		jw_obj(w);
		jw_kint(w, "ns", h.overhead);
		jw_kuint(w, "calls", h.calls);
		jw_kdouble(w, "share", share(h.overhead, bd->wall));
		jw_obj_end(w);
	} else {
		jw_null(w);
	}
	diag_counts(r, cnt, first);
	jw_key(w, "diagnostics");
	jw_arr(w);
	for (int c = 0; c < AP_DIAG_MAX; c++) {
		if (!cnt[c])
			continue;
		jw_obj(w);
		jw_kstr(w, "code", ap_diag_name((unsigned)c));
		jw_kuint(w, "count", cnt[c]);
		jw_kstr_opt(w, "message", S(&r->run, r->run.diags[first[c]].msg));
		jw_obj_end(w);
	}
	jw_arr_end(w);
	jw_kuint(w, "ignored_times", h.bad_times);
}

/* --- files ---------------------------------------------------------------------------------- */

static void json_files(struct jw *w, const struct run *run)
{
	jw_key(w, "files");
	jw_arr(w);
	for (size_t i = 0; i < run->n_files; i++) {
		const struct vfile *f = &run->files[i];

		jw_obj(w);
		jw_kstr(w, "path", f->path);
		jw_kuint(w, "bytes", f->size);
		jw_kuint(w, "frames", f->st.frames);
		jw_kuint(w, "records", f->st.records);
		jw_kstr(w, "state",
			f->st.damaged == 1   ? "truncated"
			: f->st.damaged == 2 ? "corrupt"
					     : "complete");
		jw_kuint(w, "bytes_ignored", f->st.bytes_ignored);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

/* --- categories ----------------------------------------------------------------------------- */

static void json_categories(struct jw *w, const struct breakdown *bd)
{
	jw_key(w, "categories");
	jw_obj(w);
	for (size_t k = 0; k < sizeof(cat_order) / sizeof(cat_order[0]); k++) {
		const struct catstat *c = &bd->cat[cat_order[k]];

		if (cat_order[k] == AP_CAT_UNKNOWN && !c->n)
			continue;
		jw_key(w, cat_label(cat_order[k]));
		jw_obj(w);
		jw_kint(w, "wall_ns", c->wall);
		jw_kdouble(w, "share", share(c->wall, bd->wall));
		if (cat_order[k] != CAT_INTERNAL) {
			jw_kint(w, "sum_ns", c->sum);
			jw_kint(w, "exclusive_ns", c->excl);
			jw_kdouble(w, "calls", round(c->calls));
			jw_kuint(w, "recorded_calls", c->n);
		}
		jw_obj_end(w);
	}
	jw_obj_end(w);
}

static void text_categories(FILE *f, const struct breakdown *bd, int width)
{
	int bw = width - 62;
	int overlap = 0;
	struct tbuf b[3];

	if (bw < 10)
		bw = 10;
	fprintf(f, "\nTime by category: wall share counts overlapping calls once; sum adds up each "
		   "call\n");
	for (size_t k = 0; k < sizeof(cat_order) / sizeof(cat_order[0]); k++) {
		int c = cat_order[k];
		const struct catstat *s = &bd->cat[c];
		double sh = share(s->wall, bd->wall);

		if (c != AP_CAT_LLM && c != CAT_INTERNAL && !s->n && !s->wall)
			continue;
		fprintf(f, "  %-9s %9s %6s  ", cat_label(c), fmt_ns(&b[0], (double)s->wall),
			fmt_pct(&b[1], sh));
		put_bar(f, sh, bw, cat_fill(c));
		if (c != CAT_INTERNAL)
			fprintf(f, "  sum %9s  %s %s", fmt_ns(&b[2], (double)s->sum),
				fmt_count(&b[1], s->calls), s->calls == 1 ? "call" : "calls");
		fputc('\n', f);
		overlap |= c != CAT_INTERNAL && s->sum > s->wall;
	}
	if (overlap)
		fprintf(f,
			"  Sum > wall where calls overlapped (concurrency); categories can also "
			"overlap each other,\n  so wall shares may add up to more than the busy "
			"time (%s of %s).\n",
			fmt_ns(&b[0], (double)bd->busy), fmt_ns(&b[1], (double)bd->wall));
}

/* --- the command ---------------------------------------------------------------------------- */

static void text_tokens(FILE *f, const struct view *v, const struct totals *t)
{
	const struct tokens *k = &t->tok;
	struct tbuf b[6];

	if (!k->calls)
		return;
	fprintf(f, "\nTokens: input %s, output %s, cache read %s, cache write %s, reasoning %s",
		tok_cell(&b[0], k, T_IN), tok_cell(&b[1], k, T_OUT), tok_cell(&b[2], k, T_CR),
		tok_cell(&b[3], k, T_CW), tok_cell(&b[4], k, T_RS));
	if (k->unknown[T_IN] || k->unknown[T_OUT])
		fprintf(f, "\n  (? = not reported; usage unknown on %zu of %zu calls)",
			k->unknown[T_IN] > k->unknown[T_OUT] ? k->unknown[T_IN] : k->unknown[T_OUT],
			k->calls);
	if (t->cost_unknown && t->cost_unknown == t->tok.calls)
		fprintf(f, "\nCost: unknown (no price for these models, or no usage)");
	else
		fprintf(f, "\nCost: %s", fmt_usd(&b[5], t->cost));
	if (t->cost_unknown && t->cost_unknown < t->tok.calls)
		fprintf(f, " + unknown for %zu calls (no price or no usage)", t->cost_unknown);
	fprintf(f, "; prices: %s\n", prices_source(v->prices));
}

static void text_header(FILE *f, const struct vrun *r, const struct breakdown *bd)
{
	const struct run *run = &r->run;
	size_t np = 0, nx = 0;
	struct tbuf b[2];

	for (size_t i = 0; i < run->n_procs; i++)
		np += r->psel[i];
	for (size_t i = 0; i < run->n_xs; i++)
		nx += r->xsel[i];
	fprintf(f, "Run: %zu process%s, %zu exchange%s, %zu file%s; started %s; wall %s\n", np,
		np == 1 ? "" : "es", nx, nx == 1 ? "" : "s", run->n_files,
		run->n_files == 1 ? "" : "s", fmt_epoch(&b[0], bd->start),
		fmt_ns(&b[1], (double)bd->wall));
	text_sampling(f, run_sample_rate(r));
}

static int summary_text(struct view *v, struct totals *t, struct group *gm, size_t nm,
			struct group *ge, size_t ne, struct group *ga, size_t na)
{
	FILE *f = v->out;
	int width = term_width(v->o.width, f), over;

	text_header(f, &v->a, &t->bd);
	text_categories(f, &t->bd, width);
	if (nm) {
		fprintf(f,
			"\nLLM calls by provider and model (durations: first request byte to last "
			"response byte)\n");
		text_groups(f, &v->a.run, G_MODEL, gm, nm, width, v->o.limit);
	}
	if (ne) {
		fprintf(f, "\nEndpoints (llm, tool and memory)\n");
		text_groups(f, &v->a.run, G_ENDPOINT, ge, ne, width, v->o.limit);
	}
	if (na > 1 || (na == 1 && ga[0].agent)) {
		fprintf(f, "\nAgents\n");
		text_groups(f, &v->a.run, G_AGENT, ga, na, width, v->o.limit);
	}
	text_tokens(f, v, t);
	text_processes(f, &v->a, width, v->o.limit);
	text_health(f, &v->a, &t->bd);
	over = budgets_report(v, t, NULL, f);
	return over ? 1 : 0;
}

static int summary_json(struct view *v, struct totals *t, struct group *gm, size_t nm,
			struct group *ge, size_t ne, struct group *ga, size_t na)
{
	const struct vrun *r = &v->a;
	const struct run *run = &r->run;
	int32_t *order = xmalloc((run->n_procs + 1) * sizeof(*order));
	int *depth = xmalloc((run->n_procs + 1) * sizeof(*depth));
	size_t np = procs_tree_order(r, order, depth);
	int64_t *cw = proc_cat_walls(r);
	struct jw w;
	int over;

	jw_init(&w, v->out, 1);
	jw_obj(&w);
	jw_kint(&w, "wall_ns", t->bd.wall);
	jw_kint(&w, "start_ns", t->bd.start);
	jw_kint(&w, "end_ns", t->bd.end);
	jw_kint(&w, "busy_ns", t->bd.busy);
	jw_kdouble(&w, "sample_rate", run_sample_rate(r));
	json_categories(&w, &t->bd);
	jw_groups(&w, "models", run, G_MODEL, gm, nm);
	jw_groups(&w, "endpoints", run, G_ENDPOINT, ge, ne);
	jw_groups(&w, "agents", run, G_AGENT, ga, na);
	jw_tokens(&w, &t->tok);
	jw_kdouble(&w, "cost_usd", t->cost_unknown && !t->cost ? NAN : t->cost);
	jw_kuint(&w, "cost_unknown_calls", t->cost_unknown);
	jw_kstr(&w, "prices", prices_source(v->prices));
	jw_key(&w, "processes");
	jw_arr(&w);
	for (size_t i = 0; i < np; i++)
		json_process(&w, run, &run->procs[order[i]], cw + (size_t)order[i] * AP_CAT_MAX);
	jw_arr_end(&w);
	json_health(&w, r, &t->bd);
	json_files(&w, run);
	over = budgets_report(v, t, &w, NULL);
	jw_obj_end(&w);
	jw_end(&w);
	free(cw);
	free(order);
	free(depth);
	return over ? 1 : 0;
}

int cmd_summary(struct view *v)
{
	struct totals t;
	struct group *gm, *ge, *ga;
	size_t nm, ne, na;
	int rc;

	totals_compute(&v->a, &t);
	nm = groups_build(&v->a, G_MODEL, NULL, &gm);
	ne = groups_build(&v->a, G_ENDPOINT, NULL, &ge);
	na = groups_build(&v->a, G_AGENT, NULL, &ga);
	if (v->o.json)
		rc = summary_json(v, &t, gm, nm, ge, ne, ga, na);
	else
		rc = summary_text(v, &t, gm, nm, ge, ne, ga, na);
	free(gm);
	free(ge);
	free(ga);
	return rc;
}
