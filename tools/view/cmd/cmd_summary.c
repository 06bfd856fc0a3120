/* cmd_summary.c: "summary": wall time by category, models, endpoints, agents, processes, drops. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prices.h"
#include "pystack.h"
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

/* The exec chain of p, first image to p itself: "exec_chain": [{pid, exe, argv}, ...]. */
static void json_exec_chain(struct jw *w, const struct run *run, int32_t first,
			    const struct vproc *p)
{
	jw_key(w, "exec_chain");
	jw_arr(w);
	for (int32_t c = first, k = 0; c >= 0 && k <= (int)run->n_procs;
	     c = run->procs[c].exec_next, k++) {
		const struct vproc *q = &run->procs[c];

		jw_obj(w);
		jw_kint(w, "pid", q->pid);
		jw_kstr_opt(w, "exe", S(run, q->exe));
		jw_argv(w, run, q->argv, q->argc);
		jw_obj_end(w);
		if (q == p)
			break;
	}
	jw_arr_end(w);
}

/* chain_first: the first image of p's exec chain, to list it (--exec-chain), or -1. */
static void json_process(struct jw *w, const struct run *run, const struct vproc *p,
			 const int64_t *cw, int agent, int helper, int32_t chain_first)
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
	jw_key(w, "exit_code"); /* recorded, or the parent's wait status (end_by) */
	if (p->exit_code != AP_UNKNOWN)
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
	jw_kstr_opt(w, "end_by", p->end_by != PEND_NONE ? proc_end_by_name(p->end_by) : NULL);
	jw_key(w, "categories");
	jw_obj(w);
	for (int c = AP_CAT_LLM; c < AP_CAT_MAX; c++)
		jw_kint(w, ap_category_name((unsigned)c), cw[c]);
	jw_obj_end(w);
	jw_kstr(w, "file", run->files[p->file].path);
	jw_kbool(w, "agent", agent);   /* the last image of the chain with the most work */
	jw_kbool(w, "helper", helper); /* folded in the text table */
	if (chain_first >= 0)
		json_exec_chain(w, run, chain_first, p);
	jw_obj_end(w);
}

/* Folded helpers: one "N × prog" per program, most frequent first. */
struct fold_prog {
	const char *name;
	size_t n;
};

static int cmp_fold_prog(const void *a, const void *b)
{
	const struct fold_prog *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

static const char *prog_name(const struct run *run, const struct vproc *p)
{
	const char *e = S(run, p->exe), *sl = strrchr(e, '/');

	if (!*e)
		e = S(run, p->argv);
	sl = strrchr(e, '/');
	return sl && sl[1] ? sl + 1 : *e ? e : "?";
}

static void text_folded(FILE *f, const struct vrun *r, const struct pfold *pf, int width)
{
	const struct run *run = &r->run;
	struct fold_prog *fp = xcalloc(run->n_procs + 1, sizeof(*fp));
	size_t nfp = 0, total = 0;
	int64_t ns = 0;
	char line[2000];
	int o;
	struct tbuf b;

	for (size_t i = 0; i < run->n_procs; i++) {
		const struct vproc *first = &run->procs[pf->chain[i]];
		const struct vproc *last = &run->procs[i];
		const char *name;
		size_t k;

		if (!pf->helper[i] || pf->last[i] != (int32_t)i || !r->psel[i])
			continue;
		name = prog_name(run, last);
		for (k = 0; k < nfp && strcmp(fp[k].name, name); k++)
			;
		if (k == nfp)
			fp[nfp++].name = name;
		fp[k].n++;
		total++;
		if (first->start != UNK && proc_end(last) != UNK)
			ns += proc_end(last) - first->start;
	}
	if (total) {
		qsort(fp, nfp, sizeof(*fp), cmp_fold_prog);
		o = snprintf(line, sizeof(line), "folded: ");
		for (size_t k = 0; k < nfp && o < (int)sizeof(line) - 100; k++)
			o += snprintf(line + o, sizeof(line) - (size_t)o, "%s%zu \xc3\x97 %s",
				      k ? ", " : "", fp[k].n, fp[k].name);
		snprintf(line + o, sizeof(line) - (size_t)o,
			 ": %s (%zu short helper process%s without exchanges or spans, not counted "
			 "as process calls)",
			 fmt_ns(&b, (double)ns), total, total == 1 ? "" : "es");
		put_wrap(f, line, width, 2);
	}
	free(fp);
}

/*
 * One row per exec chain (its last image; the chain's start, end and calls), the agent first,
 * then the others in tree order; short helpers folded into one line.
 */
/* The rows marked "(end inferred)", by where their end comes from (load.c infer_ends). */
struct inferred {
	char pids[2][160]; /* [0] parent's wait, [1] last record */
	size_t n[2];
};

static void note_inferred(struct inferred *inf, const struct vproc *p)
{
	int k = p->end_by == PEND_PARENT_WAIT ? 0 : 1;
	size_t l = strlen(inf->pids[k]);

	if (inf->n[k]++ < 12 && l + 16 < sizeof(inf->pids[k]))
		snprintf(inf->pids[k] + l, sizeof(inf->pids[k]) - l, "%s%d", l ? ", " : "", p->pid);
}

static void text_inferred(FILE *f, const struct inferred *inf, int width)
{
	char line[512];

	for (int k = 0; k < 2; k++) {
		if (!inf->n[k])
			continue;
		snprintf(line, sizeof(line), "end inferred (%s)%s: %s%s",
			 k ? "last record" : "parent's wait",
			 k ? "" : ", exit status from the wait", inf->pids[k],
			 inf->n[k] > 12 ? ", ..." : "");
		put_wrap(f, line, width, 2);
	}
}

/* --exec-chain: under a process row, every image of its chain with its command line. */
static void text_exec_chain(FILE *f, const struct run *run, int32_t first, int32_t last, int width)
{
	size_t cap = 64 + 1400 * 8, o;
	char *line = xmalloc(cap), one[1400];

	o = (size_t)snprintf(line, cap, "exec chain: ");
	for (int32_t c = first, k = 0; c >= 0 && k <= (int)run->n_procs && o + 8 < cap;
	     c = run->procs[c].exec_next, k++) {
		argv_join(run, &run->procs[c], one, sizeof(one));
		o += (size_t)snprintf(line + o, cap - o, "%s%s", c == first ? "" : " -> ", one);
		if (o >= cap)
			o = cap - 1;
		if (c == last)
			break;
	}
	put_wrap(f, line, width, 4);
	free(line);
}

static void text_processes(FILE *f, const struct vrun *r, int width, int limit, int exec_chain)
{
	const struct run *run = &r->run;
	int32_t *order = xmalloc((run->n_procs + 2) * sizeof(*order));
	int *depth = xmalloc((run->n_procs + 2) * sizeof(*depth));
	size_t n = procs_tree_order(r, order, depth), rows = 0;
	int64_t *cw = proc_cat_walls(r);
	int wide = width >= 100, cmdw = width - (wide ? 72 : 37);
	struct pfold pf;
	struct inferred inf = {0};
	char cmd[1400];
	struct tbuf b[4];

	pfold_build(run, &pf);
	if (pf.agent >= 0 && r->psel[pf.agent]) { /* the agent first */
		size_t k = 0;

		while (k < n && order[k] != pf.agent)
			k++;
		if (k < n) {
			memmove(order + 1, order, k * sizeof(*order));
			memmove(depth + 1, depth, k * sizeof(*depth));
			order[0] = pf.agent;
			depth[0] = 0;
		}
	}
	fputc('\n', f);
	put_wrap(f,
		 "Processes (one row per exec chain, the agent first; llm, tool: wall time of its "
		 "own calls)",
		 width, 0);
	if (wide)
		fprintf(f, "  %-8s %-8s %8s %8s %5s %5s %3s %7s %7s  %s\n", "pid", "ppid", "start",
			"duration", "exit", "calls", "thr", "llm", "tool", "command");
	else
		fprintf(f, "  %-8s %8s %5s %7s  %s\n", "pid", "duration", "calls", "llm",
			"command");
	for (size_t i = 0; i < n; i++) {
		int32_t li = order[i], fi = pf.chain[li];
		const struct vproc *p = &run->procs[li], *first = &run->procs[fi];
		int64_t e = proc_end(p), llm = 0, tool = 0;
		uint32_t calls = 0;
		int o = 0, nchain = 0;
		char ex[16];

		if (pf.last[li] != li || pf.helper[li])
			continue;
		if (limit && rows == (size_t)limit) {
			fprintf(f, "  ... more (--limit)\n");
			break;
		}
		rows++;
		for (int32_t c = fi, k = 0; c >= 0 && k <= (int)run->n_procs;
		     c = run->procs[c].exec_next, k++) {
			llm += cw[(size_t)c * AP_CAT_MAX + AP_CAT_LLM];
			tool += cw[(size_t)c * AP_CAT_MAX + AP_CAT_TOOL];
			calls += run->procs[c].nexchanges;
			nchain++;
		}
		if (p->exit_code != AP_UNKNOWN) /* recorded, or the status the parent's wait saw */
			snprintf(ex, sizeof(ex), "%d", p->exit_code);
		else
			snprintf(ex, sizeof(ex), p->has_end ? "?" : "-");
		/* first, so that a long command line cannot push it out of the column */
		o = !p->has_end && p->exec_next < 0 ? snprintf(cmd, sizeof(cmd), "(end inferred) ")
						    : 0;
		if (o)
			note_inferred(&inf, p);
		argv_join(run, p, cmd + o, sizeof(cmd) - 200 - (size_t)o);
		o = (int)strlen(cmd);
		if (nchain > 1 && o + 16 * nchain < cmdw) { /* the exec chain, when it fits */
			for (int32_t c = fi; c != li && c >= 0 && o < (int)sizeof(cmd) - 60;
			     c = run->procs[c].exec_next)
				o += snprintf(cmd + o, sizeof(cmd) - (size_t)o, "%s%s",
					      c == fi ? "  (exec'd by " : " > ",
					      prog_name(run, &run->procs[c]));
			o += snprintf(cmd + o, sizeof(cmd) - (size_t)o, ")");
		}

		if (wide)
			fprintf(f, "  %-8d %-8d %8s %8s %5s %5u %3u %7s %7s  ", p->pid, first->ppid,
				first->start != UNK
					? fmt_ns(&b[0], (double)(first->start - r->start))
					: "-",
				first->start != UNK && e != UNK
					? fmt_ns(&b[1], (double)(e - first->start))
					: "-",
				ex, calls, p->nthreads, fmt_ns(&b[2], (double)llm),
				fmt_ns(&b[3], (double)tool));
		else
			fprintf(f, "  %-8d %8s %5u %7s  ", p->pid,
				first->start != UNK && e != UNK
					? fmt_ns(&b[1], (double)(e - first->start))
					: "-",
				calls, fmt_ns(&b[2], (double)llm));
		{
			int ind = i ? 2 * (depth[i] > 4 ? 4 : depth[i]) : 0;

			put_rep(f, ' ', ind);
			put_fit(f, cmd, cmdw - ind > 12 ? cmdw - ind : 12, 0);
		}
		fputc('\n', f);
		if (exec_chain && nchain > 1)
			text_exec_chain(f, run, fi, li, width);
	}
	text_inferred(f, &inf, width);
	text_folded(f, r, &pf, width);
	pfold_free(&pf);
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
	int bw = width - 62; /* no bar below 62 columns */
	int overlap = 0;
	struct tbuf b[3];

	if (bw < 0)
		bw = 0;
	fputc('\n', f);
	put_wrap(f,
		 "Time by category: wall share counts overlapping calls once; sum adds up each "
		 "call",
		 width, 0);
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
		put_wrapf(f, width, 2,
			  "Sum > wall where calls overlapped (concurrency); categories can also "
			  "overlap each other, so wall shares may add up to more than the busy "
			  "time (%s of %s).",
			  fmt_ns(&b[0], (double)bd->busy), fmt_ns(&b[1], (double)bd->wall));
}

/* Failed calls per endpoint and status ("2 x 429"), the most frequent first. */
struct err_row {
	uint32_t host, method, path;
	int32_t port, status;
	size_t n;
};

static int cmp_err_row(const void *a, const void *b)
{
	const struct err_row *x = a, *y = b;

	return x->n != y->n ? (x->n > y->n ? -1 : 1)
			    : (x->status > y->status) - (x->status < y->status);
}

static void text_errors(FILE *f, const struct vrun *r, int width)
{
	const struct run *run = &r->run;
	struct err_row *e = NULL;
	size_t n = 0, cap = 0, total = 0;

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		size_t k;

		if (!r->xsel[i] || !x_failed(x))
			continue;
		total++;
		for (k = 0; k < n; k++)
			if (e[k].host == x->host && e[k].method == x->method &&
			    e[k].path == x->path && e[k].port == x->port &&
			    e[k].status == x->status)
				break;
		if (k == n) {
			struct err_row *nr = VEC_PUSH(e, n, cap);

			*nr = (struct err_row){x->host, x->method, x->path, x->port, x->status, 0};
		}
		e[k].n++;
	}
	if (total) {
		qsort(e, n, sizeof(*e), cmp_err_row);
		fprintf(f, "Errors: %zu failed call%s\n", total, total == 1 ? "" : "s");
		for (size_t k = 0; k < n && k < 10; k++) {
			char label[700], st[32];

			snprintf(label, sizeof(label), "%s%s%s%s", S(run, e[k].method),
				 *S(run, e[k].method) ? " " : "", S(run, e[k].host),
				 S(run, e[k].path));
			if (e[k].status > 0)
				snprintf(st, sizeof(st), "%zu \xc3\x97 %d", e[k].n, e[k].status);
			else
				snprintf(st, sizeof(st), "%zu \xc3\x97 no answer", e[k].n);
			fprintf(f, "  %-16s ", st);
			put_fit(f, label, width - 21 > 12 ? width - 21 : 12, 0);
			fputc('\n', f);
		}
		if (n > 10)
			fprintf(f, "  ... %zu more endpoint/status pairs (--json lists errors)\n",
				n - 10);
	}
	free(e);
}

/* The health notes, wrapped line by line to the width. */
static void wrapped_health(FILE *f, const struct vrun *r, const struct breakdown *bd, int width)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *mf = open_memstream(&buf, &n);

	if (!mf)
		return;
	text_health(mf, r, bd);
	fclose(mf);
	put_wrap_lines(f, buf, width);
	free(buf);
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

static void text_header(FILE *f, const struct vrun *r, const struct breakdown *bd, int width)
{
	const struct run *run = &r->run;
	size_t np = 0, nx = 0;
	struct tbuf b[2];

	for (size_t i = 0; i < run->n_procs; i++)
		np += r->psel[i];
	for (size_t i = 0; i < run->n_xs; i++)
		nx += r->xsel[i];
	put_wrapf(f, width, 0,
		  "Run: %zu process%s, %zu exchange%s, %zu file%s; started %s; wall %s", np,
		  np == 1 ? "" : "es", nx, nx == 1 ? "" : "s", run->n_files,
		  run->n_files == 1 ? "" : "s", fmt_epoch(&b[0], bd->start),
		  fmt_ns(&b[1], (double)bd->wall));
	text_sampling(f, run_sample_rate(r));
}

/* --- called from (Python call sites per endpoint) ------------------------------------------ */

#define MAX_SITES 8

struct csite {
	char name[256];
	double calls;
};

static int x_in_endpoint(const struct run *run, const struct vxch *x, const struct group *g)
{
	const char *xp = S(run, x->path), *gp = S(run, g->path);
	size_t n = strcspn(xp, "?");

	return x->cat == g->cat && x->port == g->port && x->host == g->host &&
	       x->method == g->method && strlen(gp) == n && !strncmp(xp, gp, n);
}

static int cmp_site(const void *a, const void *b)
{
	const struct csite *x = a, *y = b;

	return x->calls < y->calls ? 1 : x->calls > y->calls ? -1 : strcmp(x->name, y->name);
}

/* The distinct call sites of an endpoint's selected exchanges, most calls first; *more counts
 * the calls whose site did not fit. */
static size_t call_sites(struct view *v, struct pystacks *ps, const struct group *g,
			 struct csite *cs, double *more)
{
	const struct run *run = &v->a.run;
	size_t n = 0;

	*more = 0;
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		char site[256];
		size_t k;

		if (!v->a.xsel[i] || !x->pystack_id || !x_in_endpoint(run, x, g) ||
		    !py_call_site(ps, x->proc, x->pystack_id, v->o.call_site_any, site,
				  sizeof(site)))
			continue;
		for (k = 0; k < n && strcmp(cs[k].name, site); k++)
			;
		if (k == n && n == MAX_SITES) {
			*more += proc_weight(&run->procs[x->proc]);
			continue;
		}
		if (k == n) {
			memcpy(cs[n].name, site, sizeof(site));
			cs[n++].calls = 0;
		}
		cs[k].calls += proc_weight(&run->procs[x->proc]);
	}
	qsort(cs, n, sizeof(*cs), cmp_site);
	return n;
}

static void text_called_from(FILE *f, struct view *v, const struct group *ge, size_t ne)
{
	struct pystacks *ps = py_open(&v->a.run, NULL, 0);
	struct csite cs[MAX_SITES];
	int header = 0;

	for (size_t i = 0; i < ne && (!v->o.limit || i < (size_t)v->o.limit); i++) {
		char label[600];
		double more;
		size_t n = call_sites(v, ps, &ge[i], cs, &more);

		if (!n)
			continue;
		if (!header)
			fprintf(f, "\nCalled from (Python: %s)\n",
				v->o.call_site_any ? "the innermost frame"
						   : "the innermost frame of the program's own "
						     "code and its callers; "
						     "--call-site any for any frame");
		header = 1;
		group_label(&v->a.run, G_ENDPOINT, &ge[i], label, sizeof(label));
		fprintf(f, "  %s\n", label);
		for (size_t k = 0; k < n; k++)
			fprintf(f, "    %8.0f  %s\n", cs[k].calls, cs[k].name);
		if (more > 0)
			fprintf(f, "    %8.0f  (other call sites)\n", more);
	}
	py_close(ps);
}

static void json_called_from(struct jw *w, struct view *v, const struct group *ge, size_t ne)
{
	struct pystacks *ps = py_open(&v->a.run, NULL, 0);
	struct csite cs[MAX_SITES];

	jw_key(w, "called_from");
	jw_arr(w);
	for (size_t i = 0; i < ne; i++) {
		char label[600];
		double more;
		size_t n = call_sites(v, ps, &ge[i], cs, &more);

		if (!n)
			continue;
		group_label(&v->a.run, G_ENDPOINT, &ge[i], label, sizeof(label));
		jw_obj(w);
		jw_kstr(w, "endpoint", label);
		jw_key(w, "sites");
		jw_arr(w);
		for (size_t k = 0; k < n; k++) {
			jw_obj(w);
			jw_kstr(w, "site", cs[k].name);
			jw_kdouble(w, "calls", cs[k].calls);
			jw_obj_end(w);
		}
		jw_arr_end(w);
		jw_kdouble(w, "other_calls", more);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	py_close(ps);
}

static int summary_text(struct view *v, struct totals *t, struct group *gm, size_t nm,
			struct group *ge, size_t ne, struct group *ga, size_t na)
{
	FILE *f = v->out;
	int width = term_width(v->o.width, f), over;

	text_header(f, &v->a, &t->bd, width);
	text_categories(f, &t->bd, width);
	if (nm) {
		fputc('\n', f);
		put_wrap(f,
			 "LLM calls by provider and model (durations: first request byte to last "
			 "response byte)",
			 width, 0);
		text_groups(f, &v->a.run, G_MODEL, gm, nm, width, v->o.limit);
	}
	if (ne) {
		fprintf(f, "\nEndpoints (llm, tool and memory)\n");
		text_groups(f, &v->a.run, G_ENDPOINT, ge, ne, width, v->o.limit);
		text_called_from(f, v, ge, ne);
		text_errors(f, &v->a, width);
	}
	if (na > 1 || (na == 1 && ga[0].agent)) {
		fprintf(f, "\nAgents\n");
		text_groups(f, &v->a.run, G_AGENT, ga, na, width, v->o.limit);
	}
	{ /* prose: written whole, then wrapped line by line to the width */
		char *buf = NULL;
		size_t n = 0;
		FILE *mf = open_memstream(&buf, &n);

		if (mf) {
			text_tokens(mf, v, t);
			fclose(mf);
			put_wrap_lines(f, buf, width);
			free(buf);
		}
	}
	text_processes(f, &v->a, width, v->o.limit, v->o.exec_chain);
	wrapped_health(f, &v->a, &t->bd, width);
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
	json_called_from(&w, v, ge, ne);
	jw_groups(&w, "agents", run, G_AGENT, ga, na);
	jw_tokens(&w, &t->tok);
	jw_kdouble(&w, "cost_usd", t->cost_unknown && !t->cost ? NAN : t->cost);
	jw_kuint(&w, "cost_unknown_calls", t->cost_unknown);
	jw_kstr(&w, "prices", prices_source(v->prices));
	jw_key(&w, "processes");
	jw_arr(&w);
	{
		struct pfold pf;

		pfold_build(run, &pf);
		for (size_t i = 0; i < np; i++) {
			json_process(&w, run, &run->procs[order[i]],
				     cw + (size_t)order[i] * AP_CAT_MAX, order[i] == pf.agent,
				     pf.helper[order[i]],
				     v->o.exec_chain ? pf.chain[order[i]] : -1);
		}
		pfold_free(&pf);
	}
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
