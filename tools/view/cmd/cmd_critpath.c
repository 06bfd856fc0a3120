/* cmd_critpath.c: "critical-path": the steps that determine the run's wall time. */
#include <string.h>

#include "critpath.h"
#include "report.h"

static void step_label(const struct run *run, const struct critpath *cp, const struct cp_step *s,
		       char *buf, size_t len)
{
	if (s->kind == CP_EXCHANGE) {
		const struct vxch *x = &run->xs[s->ref];
		char xl[900];

		x_short_label(run, x, xl, sizeof(xl));
		snprintf(buf, len, "%s%s%s%s", xl, x->span >= 0 ? "  [span " : "",
			 x->span >= 0 ? S(run, run->spans[x->span].name) : "",
			 x->span >= 0 ? "]" : "");
	} else if (s->kind == CP_SPAN) {
		const struct vspan *sp = &run->spans[s->ref];

		snprintf(buf, len, "%s (%s)", S(run, sp->name),
			 sp->cat ? ap_category_name(sp->cat) : "no category");
	} else if (s->kind == CP_PROCESS) {
		const struct pitem *p = &cp->pi[s->ref];

		snprintf(buf, len, "child pid %d%s%s%s%s%s%s", p->pid, *S(run, p->path) ? " " : "",
			 S(run, p->path), p->proc >= 0 ? "" : " (not profiled)",
			 s->span >= 0 ? "  [span " : "",
			 s->span >= 0 ? S(run, run->spans[s->span].name) : "",
			 s->span >= 0 ? "]" : "");
	} else {
		snprintf(buf, len, "no recorded I/O");
	}
}

/* What makes two steps "the same" for folding: kind and endpoint, span name or program. */
static uint64_t step_sig(const struct run *run, const struct critpath *cp, const struct cp_step *s)
{
	uint64_t h = (uint64_t)s->kind + 1;

	if (s->kind == CP_EXCHANGE) {
		const struct vxch *x = &run->xs[s->ref];

		h = h * 1000003u ^ x->cat;
		h = h * 1000003u ^ x->host;
		h = h * 1000003u ^ x->method;
		h = h * 1000003u ^ (x->cat == AP_CAT_LLM ? x_model(x) : x->path);
	} else if (s->kind == CP_SPAN) {
		h = h * 1000003u ^ run->spans[s->ref].name;
	} else if (s->kind == CP_PROCESS) {
		h = h * 1000003u ^ cp->pi[s->ref].path;
	}
	return h;
}

#define FOLD_MAXP 12 /* the longest repeated segment folded, in steps */

/* Repeats of the block of p steps at i (1 = no repeat). */
static size_t repeats_at(const uint64_t *sig, size_t n, size_t i, size_t p)
{
	size_t r = 1;

	while (i + (r + 1) * p <= n && !memcmp(sig + i, sig + i + r * p, p * sizeof(*sig)))
		r++;
	return r;
}

/* At step i: the period whose repeats cover the most steps (0 when nothing repeats 3 times). */
static size_t best_period(const uint64_t *sig, size_t n, size_t i, size_t *reps)
{
	size_t best = 0, cover = 0;

	*reps = 1;
	for (size_t p = 1; p <= FOLD_MAXP && i + 3 * p <= n; p++) {
		size_t r = repeats_at(sig, n, i, p);

		if (r >= 3 && r * p > cover) {
			best = p;
			cover = r * p;
			*reps = r;
		}
	}
	return best;
}

static void json_step(struct jw *w, const struct run *run, const struct critpath *cp,
		      const struct cp_step *s)
{
	int64_t wall = cp->end - cp->start;

	jw_obj(w);
	jw_kstr(w, "kind", cp_kind_name(s->kind));
	jw_kint(w, "ns", s->b - s->a);
	jw_kint(w, "start_ns", s->a);
	jw_kint(w, "end_ns", s->b);
	jw_kdouble(w, "share", share(s->b - s->a, wall));
	if (s->kind == CP_EXCHANGE) {
		const struct vxch *x = &run->xs[s->ref];

		jw_kuint(w, "id", x->id);
		jw_kint(w, "pid", run->procs[x->proc].pid);
		jw_kint(w, "tid", x->tid);
		jw_kstr_opt(w, "category", x->cat ? ap_category_name(x->cat) : NULL);
		jw_kstr_opt(w, "provider", x->prov ? ap_provider_name(x->prov) : NULL);
		jw_kstr_opt(w, "model", S(run, x_model(x)));
		jw_kstr_opt(w, "host", S(run, x->host));
		jw_kstr_opt(w, "method", S(run, x->method));
		jw_kstr_opt(w, "path", S(run, x->path));
		jw_kstr_opt(w, "span", x->span >= 0 ? S(run, run->spans[x->span].name) : NULL);
		jw_kstr_opt(w, "agent", S(run, x->agent));
	} else if (s->kind == CP_SPAN) {
		const struct vspan *sp = &run->spans[s->ref];

		jw_kuint(w, "span_id", sp->id);
		jw_kstr(w, "name", S(run, sp->name));
		jw_kstr_opt(w, "category", sp->cat ? ap_category_name(sp->cat) : NULL);
		jw_kint(w, "pid", run->procs[sp->proc].pid);
		jw_kint(w, "tid", sp->tid);
		jw_kstr_opt(w, "agent", S(run, sp->agent));
	} else if (s->kind == CP_PROCESS) {
		const struct pitem *p = &cp->pi[s->ref];

		jw_kint_opt(w, "pid", p->pid);
		jw_kint(w, "parent_pid", run->procs[p->parent].pid);
		jw_kstr_opt(w, "exe", S(run, p->path));
		jw_kbool(w, "profiled", p->proc >= 0);
		jw_kint_opt(w, "tid", p->tid ? (int64_t)p->tid : UNK);
		jw_kstr_opt(w, "span", s->span >= 0 ? S(run, run->spans[s->span].name) : NULL);
	}
	jw_obj_end(w);
}

static void totals(const struct critpath *cp, int64_t *tot)
{
	memset(tot, 0, 4 * sizeof(*tot));
	for (size_t i = 0; i < cp->n; i++)
		tot[cp->steps[i].kind] += cp->steps[i].b - cp->steps[i].a;
}

static void print_json(struct view *v, const struct critpath *cp)
{
	const struct run *run = &v->a.run;
	int64_t tot[4];
	struct jw w;

	totals(cp, tot);
	jw_init(&w, v->out, 1);
	jw_obj(&w);
	jw_kint(&w, "wall_ns", cp->end - cp->start);
	jw_kint(&w, "start_ns", cp->start);
	jw_kint(&w, "end_ns", cp->end);
	jw_key(&w, "totals");
	jw_obj(&w);
	for (int k = 0; k < 4; k++)
		jw_kint(&w, cp_kind_name((enum cp_kind)k), tot[k]);
	jw_obj_end(&w);
	jw_key(&w, "steps");
	jw_arr(&w);
	for (size_t i = 0; i < cp->n; i++)
		json_step(&w, run, cp, &cp->steps[i]);
	jw_arr_end(&w);
	jw_obj_end(&w);
	jw_end(&w);
}

static char step_fill(const struct run *run, const struct critpath *cp, const struct cp_step *s)
{
	if (s->kind == CP_EXCHANGE)
		return cat_fill(run->xs[s->ref].cat);
	if (s->kind == CP_SPAN)
		return cat_fill(run->spans[s->ref].cat);
	return s->kind == CP_PROCESS ? cat_fill(AP_CAT_PROCESS) : cat_fill(CAT_INTERNAL);
}

static void print_text(struct view *v, const struct critpath *cp)
{
	const struct run *run = &v->a.run;
	int width = term_width(v->o.width, v->out), bw = width < 80 ? 0 : width / 4;
	int64_t wall = cp->end - cp->start, tot[4];
	struct tbuf b[7];
	char label[1200];
	FILE *f = v->out;
	uint64_t *sig;
	size_t rows = 0;

	totals(cp, tot);
	put_wrapf(f, width, 0,
		  "Critical path: %zu steps over wall %s: exchanges %s (%s), spans %s, child "
		  "processes %s, internal %s (%s)",
		  cp->n, fmt_ns(&b[0], (double)wall), fmt_ns(&b[1], (double)tot[CP_EXCHANGE]),
		  fmt_pct(&b[2], share(tot[CP_EXCHANGE], wall)),
		  fmt_ns(&b[3], (double)tot[CP_SPAN]), fmt_ns(&b[4], (double)tot[CP_PROCESS]),
		  fmt_ns(&b[5], (double)tot[CP_INTERNAL]),
		  fmt_pct(&b[6], share(tot[CP_INTERNAL], wall)));
	fprintf(f, "  %9s %9s %6s  %-*s%s%-8s %s\n", "at", "duration", "share", bw,
		bw ? "timeline" : "", bw ? "  " : "", "step", "what");
	sig = xmalloc((cp->n + 1) * sizeof(*sig));
	for (size_t i = 0; i < cp->n; i++)
		sig[i] = step_sig(run, cp, &cp->steps[i]);
	for (size_t i = 0; i < cp->n; rows++) {
		const struct cp_step *s = &cp->steps[i];
		size_t reps, p = best_period(sig, cp->n, i, &reps), next = p ? i + p * reps : i + 1;
		int64_t a = s->a, e = cp->steps[next - 1].b;
		int c0 = wall > 0 ? (int)((double)(a - cp->start) * bw / (double)wall) : 0;
		int c1 = wall > 0 ? (int)((double)(e - cp->start) * bw / (double)wall + 0.999) : 0;

		if (v->o.limit && rows == (size_t)v->o.limit) {
			fprintf(f, "  ... %zu more steps (--limit)\n", cp->n - i);
			break;
		}
		if (c1 <= c0)
			c1 = c0 + 1;
		if (c1 > bw)
			c1 = bw, c0 = c0 < bw ? c0 : bw - 1;
		fprintf(f, "  %9s %9s %6s%s", fmt_ns(&b[0], (double)(a - cp->start)),
			fmt_ns(&b[1], (double)(e - a)), fmt_pct(&b[2], share(e - a, wall)),
			bw ? "  " : "");
		fputs(v->color.cat[p			    ? CAT_INTERNAL
				   : s->kind == CP_EXCHANGE ? run->xs[s->ref].cat
				   : s->kind == CP_PROCESS  ? AP_CAT_PROCESS
				   : s->kind == CP_SPAN	    ? run->spans[s->ref].cat
							    : CAT_INTERNAL],
		      f);
		if (bw > 0) {
			put_rep(f, ' ', c0);
			put_rep(f, p ? '*' : step_fill(run, cp, s), c1 - c0);
			put_rep(f, ' ', bw - c1);
		}
		fputs(v->color.off, f);
		if (p) {
			snprintf(label, sizeof(label), "\xc3\x97 %zu iterations of:", reps);
			fprintf(f, "  %-8s ", "repeat");
		} else {
			step_label(run, cp, s, label, sizeof(label));
			fprintf(f, "  %-8s ", cp_kind_name(s->kind));
		}
		put_fit(f, label,
			width - bw - (bw ? 41 : 39) > 12 ? width - bw - (bw ? 41 : 39) : 12, 0);
		fputc('\n', f);
		for (size_t k = 0; k < p; k++) { /* one iteration, with times summed over all */
			int64_t sum = 0;

			for (size_t r = 0; r < reps; r++)
				sum += cp->steps[i + r * p + k].b - cp->steps[i + r * p + k].a;
			fprintf(f, "  %9s %9s %6s%s", "", fmt_ns(&b[1], (double)sum),
				fmt_pct(&b[2], share(sum, wall)), bw ? "  " : "");
			put_rep(f, ' ', bw);
			step_label(run, cp, &cp->steps[i + k], label, sizeof(label));
			fprintf(f, "  %-8s ", cp_kind_name(cp->steps[i + k].kind));
			put_rep(f, ' ', 2);
			put_fit(f, label,
				width - bw - (bw ? 43 : 41) > 12 ? width - bw - (bw ? 43 : 41) : 12,
				0);
			fputc('\n', f);
		}
		i = next;
	}
	free(sig);
}

int cmd_critical_path(struct view *v)
{
	struct critpath cp;

	critpath_compute(&v->a, &cp);
	if (v->o.json)
		print_json(v, &cp);
	else
		print_text(v, &cp);
	critpath_free(&cp);
	return 0;
}
