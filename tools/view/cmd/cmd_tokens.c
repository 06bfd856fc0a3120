/* cmd_tokens.c: "tokens": usage per model, per agent, per call and in total; context; cost. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prices.h"
#include "report.h"

/* Per exchange: input tokens / the model's context window, NAN when unknown. */
static double *context_shares(const struct view *v, const struct run *run, int64_t **windows)
{
	double *s = xmalloc((run->n_xs + 1) * sizeof(*s));
	int64_t *w = xmalloc((run->n_xs + 1) * sizeof(*w));

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];

		w[i] = x->cat == AP_CAT_LLM ? prices_context(v->prices, run, x) : -1;
		s[i] = w[i] > 0 && x->in >= 0 ? (double)x->in / (double)w[i] : NAN;
	}
	*windows = w;
	return s;
}

static int narrow; /* below 100 columns: no cache and reasoning columns */

static void text_row(FILE *f, const char *label, const struct tokens *t, double cost,
		     size_t cost_unknown, const struct dist *ctx, int lw)
{
	struct tbuf b[9];

	fputs("  ", f);
	put_fit(f, label, lw, 1);
	fprintf(f, " %5s %8s %8s", fmt_count(&b[8], t->wcalls), tok_cell(&b[0], t, T_IN),
		tok_cell(&b[1], t, T_OUT));
	if (!narrow)
		fprintf(f, " %8s %8s %8s", tok_cell(&b[2], t, T_CR), tok_cell(&b[3], t, T_CW),
			tok_cell(&b[4], t, T_RS));
	fprintf(f, " %7s %9s%s\n", ctx && ctx->count ? fmt_pct(&b[5], ctx->max) : "-",
		cost_unknown == t->calls && t->calls ? "?" : fmt_usd(&b[7], cost),
		cost_unknown && cost_unknown < t->calls ? "+?" : "");
}

static void text_header(FILE *f, const char *what, int lw)
{
	fprintf(f, "  %-*s %5s %8s %8s", lw, what, "calls", "input", "output");
	if (!narrow)
		fprintf(f, " %8s %8s %8s", "cache_rd", "cache_wr", "reason");
	fprintf(f, " %7s %9s\n", "ctx max", "cost");
}

static void text_calls(struct view *v, const double *ctx, int lw)
{
	const struct run *run = &v->a.run;
	FILE *f = v->out;
	size_t shown = 0;
	struct tbuf b;
	char label[700];

	fprintf(f, "\nCalls (time from run start)\n");
	text_header(f, "call", lw);
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		struct tokens t;
		struct dist d = {0};

		memset(&t, 0, sizeof(t));
		if (!v->a.xsel[i] || x->cat != AP_CAT_LLM)
			continue;
		if (v->o.limit && shown++ == (size_t)v->o.limit) {
			fprintf(f, "  ... more calls (--limit)\n");
			break;
		}
		tokens_add(&t, x, 1.0);
		if (!isnan(ctx[i]))
			d.count = 1, d.max = d.mean = ctx[i];
		setf(label, sizeof(label), "+%s pid %d #%llu %s",
		     fmt_ns(&b, (double)(x->t0 - v->a.start)), run->procs[x->proc].pid,
		     (unsigned long long)x->id, S(run, x_model(x)));
		text_row(f, label, &t, x->cost, isnan(x->cost), &d, lw);
	}
}

static void text(struct view *v, const struct totals *tot, const struct group *gm, size_t nm,
		 const struct group *ga, size_t na, const double *ctx)
{
	FILE *f = v->out;
	int width = term_width(v->o.width, f), lw;

	narrow = width < 100;
	lw = width - (narrow ? 45 : 72) < 12 ? 12 : width - (narrow ? 45 : 72);
	char label[600];

	put_wrap(f,
		 "Tokens (input includes cache reads/writes, output includes reasoning; ? = not "
		 "reported by the provider)",
		 term_width(v->o.width, v->out), 0);
	text_sampling(f, run_sample_rate(&v->a));
	fputc('\n', f);
	put_wrap(f, "By model (ctx max = the largest prompt's share of the model's context window)",
		 term_width(v->o.width, v->out), 0);
	text_header(f, "provider model", lw);
	for (size_t i = 0; i < nm; i++) {
		group_label(&v->a.run, G_MODEL, &gm[i], label, sizeof(label));
		text_row(f, label, &gm[i].tok, gm[i].cost, gm[i].cost_unknown, &gm[i].aux, lw);
	}
	if (na > 1 || (na == 1 && ga[0].agent)) {
		fprintf(f, "\nBy agent\n");
		text_header(f, "agent", lw);
		for (size_t i = 0; i < na; i++) {
			group_label(&v->a.run, G_AGENT, &ga[i], label, sizeof(label));
			text_row(f, label, &ga[i].tok, ga[i].cost, ga[i].cost_unknown, &ga[i].aux,
				 lw);
		}
	}
	fprintf(f, "\n");
	text_row(f, "total", &tot->tok, tot->cost, tot->cost_unknown, NULL, lw);
	put_wrapf(f, term_width(v->o.width, v->out), 0, "Prices: %s.%s", prices_source(v->prices),
		  tot->cost_unknown
			  ? " '?' / '+?': calls without a price for their model or without "
			    "usage (not counted as $0)."
			  : "");
	if (v->o.calls)
		text_calls(v, ctx, lw);
}

static void json_groups(struct jw *w, const char *key, const struct run *run, enum group_kind k,
			const struct group *g, size_t n)
{
	jw_key(w, key);
	jw_arr(w);
	for (size_t i = 0; i < n; i++) {
		jw_obj(w);
		if (k == G_MODEL) {
			jw_kstr_opt(w, "provider", g[i].prov ? ap_provider_name(g[i].prov) : NULL);
			jw_kstr_opt(w, "model", S(run, g[i].model));
		} else {
			jw_kstr_opt(w, "agent", S(run, g[i].agent));
		}
		jw_kdouble(w, "calls", round(g[i].calls));
		jw_tokens(w, &g[i].tok);
		jw_dist(w, "context_share", &g[i].aux);
		jw_kdouble(w, "cost_usd", g[i].cost_unknown == g[i].n ? NAN : g[i].cost);
		jw_kuint(w, "cost_unknown_calls", g[i].cost_unknown);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json_calls(struct jw *w, const struct vrun *r, const double *ctx, const int64_t *win)
{
	const struct run *run = &r->run;

	jw_key(w, "calls");
	jw_arr(w);
	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		struct tokens t;

		if (!r->xsel[i] || x->cat != AP_CAT_LLM)
			continue;
		memset(&t, 0, sizeof(t));
		tokens_add(&t, x, 1.0);
		jw_obj(w);
		jw_kint(w, "pid", run->procs[x->proc].pid);
		jw_kuint(w, "id", x->id);
		jw_kint_opt(w, "start_ns", x->start);
		jw_kstr_opt(w, "provider", x->prov ? ap_provider_name(x->prov) : NULL);
		jw_kstr_opt(w, "request_model", S(run, x->req_model));
		jw_kstr_opt(w, "response_model", S(run, x->resp_model));
		jw_kstr_opt(w, "agent", S(run, x->agent));
		jw_tokens(w, &t);
		jw_kint_opt(w, "context_window", win[i]);
		jw_kdouble(w, "context_share", ctx[i]);
		jw_kdouble(w, "cost_usd", x->cost);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static int json(struct view *v, const struct totals *tot, const struct group *gm, size_t nm,
		const struct group *ga, size_t na, const double *ctx, const int64_t *win)
{
	struct jw w;
	int over;

	jw_init(&w, v->out, 1);
	jw_obj(&w);
	jw_kstr(&w, "prices", prices_source(v->prices));
	jw_kdouble(&w, "sample_rate", run_sample_rate(&v->a));
	jw_key(&w, "total");
	jw_obj(&w);
	jw_kdouble(&w, "calls", round(tot->tok.wcalls));
	jw_tokens(&w, &tot->tok);
	jw_kdouble(&w, "cost_usd", tot->cost_unknown == tot->tok.calls ? NAN : tot->cost);
	jw_kuint(&w, "cost_unknown_calls", tot->cost_unknown);
	jw_obj_end(&w);
	json_groups(&w, "models", &v->a.run, G_MODEL, gm, nm);
	json_groups(&w, "agents", &v->a.run, G_AGENT, ga, na);
	json_calls(&w, &v->a, ctx, win);
	over = budgets_report(v, tot, &w, NULL);
	jw_obj_end(&w);
	jw_end(&w);
	return over;
}

int cmd_tokens(struct view *v)
{
	struct totals tot;
	struct group *gm, *ga;
	size_t nm, na;
	int64_t *win;
	double *ctx = context_shares(v, &v->a.run, &win);
	int over;

	totals_compute(&v->a, &tot);
	nm = groups_build(&v->a, G_MODEL, ctx, &gm);
	na = groups_build(&v->a, G_AGENT, ctx, &ga);
	if (v->o.json) {
		over = json(v, &tot, gm, nm, ga, na, ctx, win);
	} else {
		text(v, &tot, gm, nm, ga, na, ctx);
		over = budgets_report(v, &tot, NULL, v->out);
	}
	free(gm);
	free(ga);
	free(ctx);
	free(win);
	return over ? 1 : 0;
}
