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

		x_label(run, x, xl, sizeof(xl));
		snprintf(buf, len, "%s  pid %d tid %u%s%s%s", xl, run->procs[x->proc].pid, x->tid,
			 x->span >= 0 ? "  [span " : "",
			 x->span >= 0 ? S(run, run->spans[x->span].name) : "",
			 x->span >= 0 ? "]" : "");
	} else if (s->kind == CP_SPAN) {
		const struct vspan *sp = &run->spans[s->ref];

		snprintf(buf, len, "%s (%s)  pid %d tid %u", S(run, sp->name),
			 sp->cat ? ap_category_name(sp->cat) : "no category",
			 run->procs[sp->proc].pid, sp->tid);
	} else if (s->kind == CP_PROCESS) {
		const struct pitem *p = &cp->pi[s->ref];

		snprintf(buf, len, "child pid %d %s%s", p->pid, S(run, p->path),
			 p->proc >= 0 ? "" : " (not profiled)");
	} else {
		snprintf(buf, len, "no recorded I/O");
	}
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
	int width = term_width(v->o.width, v->out), bw = width / 4;
	int64_t wall = cp->end - cp->start, tot[4];
	struct tbuf b[7];
	char label[1200];
	FILE *f = v->out;

	totals(cp, tot);
	fprintf(f,
		"Critical path: %zu steps over wall %s: exchanges %s (%s), spans %s, child "
		"processes %s, internal %s (%s)\n",
		cp->n, fmt_ns(&b[0], (double)wall), fmt_ns(&b[1], (double)tot[CP_EXCHANGE]),
		fmt_pct(&b[2], share(tot[CP_EXCHANGE], wall)), fmt_ns(&b[3], (double)tot[CP_SPAN]),
		fmt_ns(&b[4], (double)tot[CP_PROCESS]), fmt_ns(&b[5], (double)tot[CP_INTERNAL]),
		fmt_pct(&b[6], share(tot[CP_INTERNAL], wall)));
	fprintf(f, "  %9s %9s %6s  %-*s  %-8s %s\n", "at", "duration", "share", bw, "timeline",
		"step", "what");
	for (size_t i = 0; i < cp->n; i++) {
		const struct cp_step *s = &cp->steps[i];
		int c0 = wall > 0 ? (int)((double)(s->a - cp->start) * bw / (double)wall) : 0;
		int c1 = wall > 0 ? (int)((double)(s->b - cp->start) * bw / (double)wall + 0.999)
				  : 0;

		if (v->o.limit && i == (size_t)v->o.limit) {
			fprintf(f, "  ... %zu more steps (--limit)\n", cp->n - i);
			break;
		}
		if (c1 <= c0)
			c1 = c0 + 1;
		if (c1 > bw)
			c1 = bw, c0 = c0 < bw ? c0 : bw - 1;
		fprintf(f, "  %9s %9s %6s  ", fmt_ns(&b[0], (double)(s->a - cp->start)),
			fmt_ns(&b[1], (double)(s->b - s->a)),
			fmt_pct(&b[2], share(s->b - s->a, wall)));
		put_rep(f, ' ', c0);
		put_rep(f, step_fill(run, cp, s), c1 - c0);
		put_rep(f, ' ', bw - c1);
		step_label(run, cp, s, label, sizeof(label));
		fprintf(f, "  %-8s ", cp_kind_name(s->kind));
		put_fit(f, label, width - bw - 41 > 20 ? width - bw - 41 : 20, 0);
		fputc('\n', f);
	}
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
