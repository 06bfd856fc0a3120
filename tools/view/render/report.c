/* report.c: shared text and JSON renderers: group tables, distributions, tokens, budgets. */
#include <math.h>
#include <string.h>

#include "report.h"

void jw_dist(struct jw *w, const char *key, const struct dist *d)
{
	jw_key(w, key);
	if (!d->count) {
		jw_null(w);
		return;
	}
	jw_obj(w);
	jw_kuint(w, "count", d->count);
	jw_kdouble(w, "mean", d->mean);
	jw_kdouble(w, "min", d->min);
	jw_kdouble(w, "p50", d->p50);
	jw_kdouble(w, "p90", d->p90);
	jw_kdouble(w, "p95", d->p95);
	jw_kdouble(w, "p99", d->p99);
	jw_kdouble(w, "max", d->max);
	jw_obj_end(w);
}

void jw_tokens(struct jw *w, const struct tokens *t)
{
	jw_key(w, "tokens");
	jw_obj(w);
	for (int k = 0; k < T_MAX; k++) {
		jw_key(w, tok_names[k]);
		if (t->unknown[k] == t->calls && t->calls)
			jw_null(w);
		else
			jw_double(w, round(t->v[k]));
	}
	jw_obj_end(w);
	jw_key(w, "tokens_unknown_calls");
	jw_obj(w);
	for (int k = 0; k < T_MAX; k++)
		jw_kuint(w, tok_names[k], t->unknown[k]);
	jw_obj_end(w);
}

void jw_group(struct jw *w, const struct run *run, enum group_kind kind, const struct group *g)
{
	jw_obj(w);
	if (kind == G_MODEL) {
		jw_kstr_opt(w, "provider", g->prov ? ap_provider_name(g->prov) : NULL);
		jw_kstr_opt(w, "model", S(run, g->model));
	} else if (kind == G_ENDPOINT) {
		jw_kstr_opt(w, "category", g->cat ? ap_category_name(g->cat) : NULL);
		jw_kstr_opt(w, "provider", g->prov ? ap_provider_name(g->prov) : NULL);
		jw_kstr_opt(w, "host", S(run, g->host));
		jw_kint_opt(w, "port", g->port);
		jw_kstr_opt(w, "method", S(run, g->method));
		jw_kstr_opt(w, "path", S(run, g->path));
	} else {
		jw_kstr_opt(w, "agent", S(run, g->agent));
	}
	jw_kdouble(w, "calls", round(g->calls));
	jw_kuint(w, "recorded_calls", g->n);
	jw_kuint(w, "errors", g->errors);
	jw_kint(w, "total_ns", g->total);
	jw_dist(w, "duration_ns", &g->dur);
	jw_dist(w, "ttfb_ns", &g->ttfb);
	jw_dist(w, "tokens_per_s", &g->tps);
	jw_tokens(w, &g->tok);
	jw_kdouble(w, "cost_usd", g->cost_unknown == g->n ? NAN : g->cost);
	jw_kuint(w, "cost_unknown_calls", g->cost_unknown);
	jw_obj_end(w);
}

void jw_groups(struct jw *w, const char *key, const struct run *run, enum group_kind kind,
	       const struct group *g, size_t n)
{
	jw_key(w, key);
	jw_arr(w);
	for (size_t i = 0; i < n; i++)
		jw_group(w, run, kind, &g[i]);
	jw_arr_end(w);
}

void x_label(const struct run *run, const struct vxch *x, char *buf, size_t len)
{
	const char *m = S(run, x_model(x)), *meth = S(run, x->method);
	char port[16] = "";

	if (x->port > 0 && x->port != 80 && x->port != 443)
		snprintf(port, sizeof(port), ":%d", x->port);
	snprintf(buf, len, "%s%s%s %s%s%s%s%s",
		 x->prov ? ap_provider_name(x->prov) : ap_category_name(x->cat), *m ? " " : "", m,
		 meth, *meth ? " " : "", S(run, x->host), port, S(run, x->path));
}

void x_short_label(const struct run *run, const struct vxch *x, char *buf, size_t len)
{
	const char *m = S(run, x_model(x)), *meth = S(run, x->method);

	if (*m)
		snprintf(buf, len, "%s %s%s%s", m, meth, *meth ? " " : "", S(run, x->path));
	else if (*meth)
		snprintf(buf, len, "%s %s%s", meth, S(run, x->host), S(run, x->path));
	else /* no HTTP: redis, a database, a raw socket */
		snprintf(buf, len, "%s %s:%d", ap_category_name(x->cat), S(run, x->host), x->port);
	if (x_failed(x))
		snprintf(buf + strlen(buf), len - strlen(buf), " [failed %d]", x->status);
}

int x_failed(const struct vxch *x)
{
	return x->status >= 400 || (x->error && x->status <= 0);
}

const char *tok_cell(struct tbuf *b, const struct tokens *t, int k)
{
	if (t->calls && t->unknown[k] == t->calls)
		return "?";
	fmt_count(b, t->v[k]);
	if (t->unknown[k])
		strncat(b->s, "+?", sizeof(b->s) - strlen(b->s) - 1);
	return b->s;
}

/* Wide terminals get mean, p90, max and ttfb p95 as well. */
void text_groups(FILE *f, const struct run *run, enum group_kind kind, const struct group *g,
		 size_t n, int width, int limit)
{
	int wide = width >= 150, narrow = width < 90;
	int lw = width - (wide ? 97 : narrow ? 41 : 65);
	struct tbuf b[14];
	char label[600];

	if (lw < 16)
		lw = 16;
	fprintf(f, "  %-*s %5s %7s", lw,
		kind == G_MODEL	  ? "provider model"
		: kind == G_AGENT ? "agent"
				  : "endpoint",
		"calls", "total");
	if (wide)
		fprintf(f, " %7s %7s %7s %7s %7s %7s %7s %7s", "mean", "p50", "p90", "p95", "p99",
			"max", "ttfb50", "ttfb95");
	else if (narrow)
		fprintf(f, " %7s", "p50");
	else
		fprintf(f, " %7s %7s %7s %7s", "p50", "p95", "p99", "ttfb50");
	fprintf(f, " %7s %7s\n", "in", "out");
	for (size_t i = 0; i < n; i++) {
		const struct group *x = &g[i];

		if (limit && i == (size_t)limit) {
			fprintf(f, "  ... %zu more (--limit)\n", n - i);
			break;
		}
		group_label(run, kind, x, label, sizeof(label));
		fputs("  ", f);
		put_fit(f, label, lw, 1);
		fprintf(f, " %5s %7s", fmt_count(&b[0], x->calls), fmt_ns(&b[1], (double)x->total));
		if (wide)
			fprintf(f, " %7s %7s %7s %7s %7s %7s %7s %7s", fmt_ns(&b[2], x->dur.mean),
				fmt_ns(&b[3], x->dur.p50), fmt_ns(&b[4], x->dur.p90),
				fmt_ns(&b[5], x->dur.p95), fmt_ns(&b[6], x->dur.p99),
				fmt_ns(&b[7], x->dur.max), fmt_ns(&b[8], x->ttfb.p50),
				fmt_ns(&b[9], x->ttfb.p95));
		else if (narrow)
			fprintf(f, " %7s", fmt_ns(&b[3], x->dur.p50));
		else
			fprintf(f, " %7s %7s %7s %7s", fmt_ns(&b[3], x->dur.p50),
				fmt_ns(&b[5], x->dur.p95), fmt_ns(&b[6], x->dur.p99),
				fmt_ns(&b[8], x->ttfb.p50));
		fprintf(f, " %7s %7s\n", tok_cell(&b[10], &x->tok, T_IN),
			tok_cell(&b[11], &x->tok, T_OUT));
	}
}

void text_sampling(FILE *f, double rate)
{
	if (rate < 1.0)
		fprintf(f,
			"Sampling: exchanges were recorded at %.4g%% (AGENTPROF_SAMPLE); call "
			"counts, "
			"tokens and cost are scaled by %.4g.\n",
			rate * 100, 1 / rate);
}

void totals_compute(const struct vrun *r, struct totals *t)
{
	const struct run *run = &r->run;

	memset(t, 0, sizeof(*t));
	breakdown_compute(r, &t->bd);
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		double w = proc_weight(&run->procs[x->proc]);

		if (!r->xsel[i])
			continue;
		if (x->cat == AP_CAT_LLM || x->in >= 0 || x->out >= 0)
			tokens_add(&t->tok, x, w);
		if (x->cat == AP_CAT_LLM && isnan(x->cost))
			t->cost_unknown++;
		else if (!isnan(x->cost))
			t->cost += x->cost * w;
	}
}

/* The measured value of a budget; NAN if unknown. *is_time for formatting. */
static double budget_value(const struct budget *b, const struct totals *t, int *is_time,
			   int *is_cost)
{
	const struct tokens *k = &t->tok;

	*is_time = *is_cost = 0;
	switch (b->kind) {
	case B_TOKENS:
		return k->v[T_IN] + k->v[T_OUT];
	case B_INPUT:
		return k->v[T_IN];
	case B_OUTPUT:
		return k->v[T_OUT];
	case B_COST:
		*is_cost = 1;
		return t->cost;
	case B_WALL:
		*is_time = 1;
		return (double)t->bd.wall;
	case B_CAT_TIME:
		*is_time = 1;
		return (double)t->bd.cat[b->cat].wall;
	case B_CAT_CALLS:
		return t->bd.cat[b->cat].calls;
	}
	return NAN;
}

int budgets_report(const struct view *v, const struct totals *t, struct jw *w, FILE *f)
{
	int over = 0;

	if (!v->o.nbudgets)
		return 0;
	if (w) {
		jw_key(w, "budgets");
		jw_arr(w);
	} else {
		fprintf(f, "\nBudgets\n");
	}
	for (int i = 0; i < v->o.nbudgets; i++) {
		const struct budget *b = &v->o.budgets[i];
		int is_time, is_cost, o;
		double val = budget_value(b, t, &is_time, &is_cost);
		int partial =
			(b->kind == B_COST && t->cost_unknown) ||
			(b->kind <= B_OUTPUT && (t->tok.unknown[T_IN] || t->tok.unknown[T_OUT]));
		struct tbuf x, y;

		o = val > b->limit;
		over += o;
		if (w) {
			jw_obj(w);
			jw_kstr(w, "budget", b->spec);
			jw_kdouble(w, "limit", b->limit);
			jw_kdouble(w, "value", val);
			jw_kstr(w, "status", o ? "over" : "within");
			jw_kbool(w, "partial", partial);
			jw_obj_end(w);
			continue;
		}
		if (is_time)
			fprintf(f, "  %-28s %10s of %-10s", b->spec, fmt_ns(&x, val),
				fmt_ns(&y, b->limit));
		else if (is_cost)
			fprintf(f, "  %-28s %10s of %-10s", b->spec, fmt_usd(&x, val),
				fmt_usd(&y, b->limit));
		else
			fprintf(f, "  %-28s %10s of %-10s", b->spec, fmt_count(&x, val),
				fmt_count(&y, b->limit));
		fprintf(f, " %s%s\n", o ? "OVER" : "within",
			partial ? " (some calls have unknown usage or price: a lower bound)" : "");
	}
	if (w)
		jw_arr_end(w);
	return over;
}
