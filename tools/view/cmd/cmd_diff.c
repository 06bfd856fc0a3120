/* cmd_diff.c: "diff A B": per model and endpoint changes, category wall shares, --fail-on gates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "prices.h"
#include "pystack.h"
#include "report.h"

/* A row present in A, B or both (index -1 when absent). */
struct drow {
	int32_t a, b;
};

/* One side: totals and groups of one run. */
struct side {
	struct vrun *r;
	struct totals t;
	struct group *g[2]; /* G_MODEL, G_ENDPOINT */
	size_t n[2];
};

struct diff {
	struct view *v;
	struct side s[2];
	struct drow *rows[2];
	size_t nrows[2];
	struct jw w;
	int failed;
};

static const char *const kind_key[2] = {"models", "endpoints"};

/* --- by call site (Python programs) ----------------------------------------------------------- */

/* One call site of one side: its "called from" text, calls and summed duration. */
struct csite {
	char *name;
	double calls, total_ns;
	int side;
};

static int cmp_csite(const void *x, const void *y)
{
	const struct csite *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c : a->side - b->side;
}

/*
 * Every selected exchange with a Python stack, by its call site (the innermost frame of the
 * program's own code and two callers), for both runs, sorted by site then side; *n set. Sites
 * are compared by their text, so they match across runs whatever the stack ids.
 */
static struct csite *call_sites(struct diff *d, size_t *n)
{
	struct csite *cs = NULL;
	size_t len = 0, cap = 0, k = 0;

	for (int s = 0; s < 2; s++) {
		const struct vrun *r = d->s[s].r;
		struct pystacks *py = py_open(&r->run, NULL, 0);
		char buf[512];

		for (size_t i = 0; py && i < r->run.n_xs; i++) {
			const struct vxch *x = &r->run.xs[i];
			int64_t dur = x_duration(x);

			if (!r->xsel[i] || !x->pystack_id ||
			    !py_call_site(py, x->proc, x->pystack_id, 0, buf, sizeof(buf)))
				continue;
			if (len == cap) {
				cap = cap ? 2 * cap : 64;
				cs = xrealloc(cs, cap * sizeof(*cs));
			}
			cs[len++] =
				(struct csite){xstrdup(buf), 1, dur != UNK ? (double)dur : 0, s};
		}
		py_close(py);
	}
	if (len)
		qsort(cs, len, sizeof(*cs), cmp_csite);
	for (size_t i = 0; i < len; i++) { /* add up equal (site, side) neighbours */
		if (k && cs[k - 1].side == cs[i].side && !strcmp(cs[k - 1].name, cs[i].name)) {
			cs[k - 1].calls += cs[i].calls;
			cs[k - 1].total_ns += cs[i].total_ns;
			free(cs[i].name);
			continue;
		}
		cs[k++] = cs[i];
	}
	*n = k;
	return cs;
}

static void call_sites_free(struct csite *cs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cs[i].name);
	free(cs);
}

/* Walk the sites as pairs: *a / *b point at A's and B's row of one site (NULL when absent). */
static size_t next_site(struct csite *cs, size_t n, size_t i, struct csite **a, struct csite **b)
{
	*a = *b = NULL;
	if (i >= n)
		return n;
	if (cs[i].side == 0) {
		*a = &cs[i];
		if (i + 1 < n && cs[i + 1].side == 1 && !strcmp(cs[i].name, cs[i + 1].name)) {
			*b = &cs[i + 1];
			return i + 2;
		}
		return i + 1;
	}
	*b = &cs[i];
	return i + 1;
}

static const char *change(struct tbuf *b, double a, double c);
static void jw_pair(struct jw *w, const char *key, double a, double b);

static void text_call_sites(struct diff *d, int width)
{
	size_t n, i = 0;
	struct csite *cs = call_sites(d, &n), *a, *b;
	FILE *f = d->v->out;
	struct tbuf x[5];
	int namew = width - 50, narrow = namew < 20; /* narrow: the numbers go on a second line */

	if (n) {
		fputc('\n', f);
		put_wrapf(
			f, width, 0,
			"By call site (Python: the program's own innermost frame and its callers)");
		if (!narrow)
			fprintf(f, "  %-*s %15s %19s %9s\n", namew, "called from", "calls A -> B",
				"total A -> B", "change");
	}
	while (i < n) {
		const char *chg;

		i = next_site(cs, n, i, &a, &b);
		chg = a && b ? change(&x[4], a->total_ns, b->total_ns) : (a ? "gone" : "new");
		fprintf(f, "  ");
		put_fit(f, (a ? a : b)->name, narrow ? width - 2 : namew, 1);
		if (narrow)
			fprintf(f, "\n    calls %s -> %s, total %s -> %s (%s)\n",
				a ? fmt_count(&x[0], a->calls) : "-",
				b ? fmt_count(&x[1], b->calls) : "-",
				a ? fmt_ns(&x[2], a->total_ns) : "-",
				b ? fmt_ns(&x[3], b->total_ns) : "-", chg);
		else
			fprintf(f, " %6s -> %-6s %8s -> %-8s %9s\n",
				a ? fmt_count(&x[0], a->calls) : "-",
				b ? fmt_count(&x[1], b->calls) : "-",
				a ? fmt_ns(&x[2], a->total_ns) : "-",
				b ? fmt_ns(&x[3], b->total_ns) : "-", chg);
	}
	call_sites_free(cs, n);
}

static void json_call_sites(struct diff *d)
{
	size_t n, i = 0;
	struct csite *cs = call_sites(d, &n), *a, *b;
	struct jw *w = &d->w;

	jw_key(w, "call_sites");
	jw_arr(w);
	while (i < n) {
		i = next_site(cs, n, i, &a, &b);
		jw_obj(w);
		jw_kstr(w, "called_from", (a ? a : b)->name);
		jw_pair(w, "calls", a ? a->calls : NAN, b ? b->calls : NAN);
		jw_pair(w, "total_ns", a ? a->total_ns : NAN, b ? b->total_ns : NAN);
		jw_obj_end(w);
	}
	jw_arr_end(w);
	call_sites_free(cs, n);
}

/* --- matching ------------------------------------------------------------------------------- */

/* Endpoints match by category, host, method and path; the port only when ports is set. */
static int same_key(const struct side *x, const struct group *g, const struct side *y,
		    const struct group *h, enum group_kind k, int ports)
{
	const struct run *rx = &x->r->run, *ry = &y->r->run;

	if (k == G_MODEL)
		return g->prov == h->prov && !strcmp(S(rx, g->model), S(ry, h->model));
	return g->cat == h->cat && (!ports || g->port == h->port) &&
	       !strcmp(S(rx, g->host), S(ry, h->host)) &&
	       !strcmp(S(rx, g->method), S(ry, h->method)) &&
	       !strcmp(S(rx, g->path), S(ry, h->path));
}

/*
 * Pair A's groups with B's: first with the port as part of an endpoint's key, then what is left
 * without it, so the same agent against a provider on another port keeps its endpoints while
 * two endpoints that differ only by port stay apart.
 */
static void match(struct diff *d, int k)
{
	struct side *a = &d->s[0], *b = &d->s[1];
	uint8_t *used = xcalloc(b->n[k] + 1, 1);
	int32_t *pair = xmalloc((a->n[k] + 1) * sizeof(*pair));
	size_t cap = 0;

	for (size_t i = 0; i < a->n[k]; i++)
		pair[i] = -1;
	for (int ports = 1; ports >= 0; ports--)
		for (size_t i = 0; i < a->n[k]; i++)
			for (size_t j = 0; j < b->n[k] && pair[i] < 0; j++)
				if (!used[j] && same_key(a, &a->g[k][i], b, &b->g[k][j],
							 (enum group_kind)k, ports)) {
					used[j] = 1;
					pair[i] = (int32_t)j;
				}
	for (size_t i = 0; i < a->n[k]; i++) {
		struct drow *r = VEC_PUSH(d->rows[k], d->nrows[k], cap);

		r->a = (int32_t)i;
		r->b = pair[i];
	}
	for (size_t j = 0; j < b->n[k]; j++) {
		if (!used[j]) {
			struct drow *r = VEC_PUSH(d->rows[k], d->nrows[k], cap);

			r->a = -1;
			r->b = (int32_t)j;
		}
	}
	free(pair);
	free(used);
}

/* --- checks --------------------------------------------------------------------------------- */

static double group_metric(const struct group *g, const char *key)
{
	static const struct {
		const char *k;
		size_t off;
	} dm[] = {
		{"p50", offsetof(struct dist, p50)},   {"p90", offsetof(struct dist, p90)},
		{"p95", offsetof(struct dist, p95)},   {"p99", offsetof(struct dist, p99)},
		{"mean", offsetof(struct dist, mean)}, {"max", offsetof(struct dist, max)},
	};

	for (size_t i = 0; i < sizeof(dm) / sizeof(dm[0]); i++)
		if (!strcmp(key, dm[i].k))
			return g->dur.count ? *(const double *)((const char *)&g->dur + dm[i].off)
					    : NAN;
	if (!strcmp(key, "ttfb_p50"))
		return g->ttfb.count ? g->ttfb.p50 : NAN;
	if (!strcmp(key, "ttfb_p95"))
		return g->ttfb.count ? g->ttfb.p95 : NAN;
	if (!strcmp(key, "calls"))
		return g->calls;
	if (!strcmp(key, "tokens"))
		return g->tok.v[T_IN] + g->tok.v[T_OUT];
	if (!strcmp(key, "input_tokens"))
		return g->tok.v[T_IN];
	if (!strcmp(key, "output_tokens"))
		return g->tok.v[T_OUT];
	if (!strcmp(key, "cost"))
		return g->cost_unknown == g->n ? NAN : g->cost;
	return NAN;
}

static double run_metric(const struct totals *t, const char *key)
{
	int c;

	if (!strcmp(key, "wall"))
		return (double)t->bd.wall;
	if (!strcmp(key, "tokens"))
		return t->tok.v[T_IN] + t->tok.v[T_OUT];
	if (!strcmp(key, "input_tokens"))
		return t->tok.v[T_IN];
	if (!strcmp(key, "output_tokens"))
		return t->tok.v[T_OUT];
	if (!strcmp(key, "cost"))
		return t->cost_unknown == t->tok.calls && t->tok.calls ? NAN : t->cost;
	if (!strcmp(key, "calls"))
		return t->tok.wcalls;
	if (!strcmp(key, "internal"))
		return (double)t->bd.cat[CAT_INTERNAL].wall;
	c = ap_category_parse(key);
	return c > 0 ? (double)t->bd.cat[c].wall : NAN;
}

static int crossed(const struct failon *fo, double a, double b, double *pct)
{
	*pct = a > 0 ? (b - a) / a * 100 : NAN;
	if (isnan(a) || isnan(b))
		return 0;
	if (fo->relative)
		return a > 0 ? *pct > fo->value : b > 0 && fo->value < INFINITY && a == 0 && b > 0;
	return b - a > fo->value;
}

static void check_one(struct diff *d, const struct failon *fo, const char *scope, double a,
		      double b)
{
	double pct;
	int bad = crossed(fo, a, b, &pct);
	FILE *f = d->v->out;
	struct tbuf x, y;

	d->failed |= bad;
	if (d->v->o.json) {
		jw_obj(&d->w);
		jw_kstr(&d->w, "limit", fo->spec);
		jw_kstr(&d->w, "scope", scope);
		jw_kdouble(&d->w, "a", a);
		jw_kdouble(&d->w, "b", b);
		jw_kdouble(&d->w, "change_pct", pct);
		jw_kbool(&d->w, "failed", bad);
		jw_obj_end(&d->w);
		return;
	}
	if (!bad)
		return;
	if (failon_is_time(fo->key))
		fprintf(f, "  FAIL %-18s %s: %s -> %s", fo->spec, scope, fmt_ns(&x, a),
			fmt_ns(&y, b));
	else if (!strcmp(fo->key, "cost"))
		fprintf(f, "  FAIL %-18s %s: %s -> %s", fo->spec, scope, fmt_usd(&x, a),
			fmt_usd(&y, b));
	else
		fprintf(f, "  FAIL %-18s %s: %s -> %s", fo->spec, scope, fmt_count(&x, a),
			fmt_count(&y, b));
	if (!isnan(pct))
		fprintf(f, " (%+.1f%%)", pct);
	fputc('\n', f);
}

/* Where a --fail-on key is checked: 1 run totals, 2 each model and endpoint, 3 both. */
static int key_scope(const char *key)
{
	if (!strcmp(key, "wall") || !strcmp(key, "internal") || ap_category_parse(key) > 0)
		return 1;
	return failon_is_time(key) ? 2 : 3;
}

static void checks(struct diff *d)
{
	char scope[700];

	for (int i = 0; i < d->v->o.nfail; i++) {
		const struct failon *fo = &d->v->o.fail[i];
		int where = key_scope(fo->key);

		if (where & 1)
			check_one(d, fo, "run", run_metric(&d->s[0].t, fo->key),
				  run_metric(&d->s[1].t, fo->key));
		for (int k = 0; k < 2 && (where & 2); k++) {
			for (size_t r = 0; r < d->nrows[k]; r++) {
				const struct drow *row = &d->rows[k][r];
				const struct group *ga, *gb;

				if (row->a < 0 || row->b < 0)
					continue;
				ga = &d->s[0].g[k][row->a];
				gb = &d->s[1].g[k][row->b];
				group_label(&d->s[0].r->run, (enum group_kind)k, ga, scope,
					    sizeof(scope));
				check_one(d, fo, scope, group_metric(ga, fo->key),
					  group_metric(gb, fo->key));
			}
		}
	}
}

/* --- text ----------------------------------------------------------------------------------- */

static const char *change(struct tbuf *b, double a, double c)
{
	if (isnan(a) || isnan(c))
		return "";
	if (a == c)
		return "=";
	if (a > 0)
		snprintf(b->s, sizeof(b->s), "%+.0f%%", (c - a) / a * 100);
	else
		snprintf(b->s, sizeof(b->s), "new");
	return b->s;
}

/* Columns by width: calls and cost always, p95 from 80 columns, p50 from 120. */
static void text_rows(struct diff *d, int k, int width)
{
	FILE *f = d->v->out;
	int p95 = width >= 80, p50 = width >= 120;
	int lw = width - 2 - 19 - 21 - 7 - (p95 ? 26 : 0) - (p50 ? 26 : 0);
	char label[700];
	struct tbuf b[12];

	if (lw < 12)
		lw = 12;
	fprintf(f, "\n%s (A -> B, change)\n  %-*s %-18s ",
		k == G_MODEL ? "LLM models" : "Endpoints", lw,
		k == G_MODEL ? "provider model" : "endpoint", "calls");
	if (p50)
		fprintf(f, "%-25s ", "p50");
	if (p95)
		fprintf(f, "%-25s ", "p95");
	fprintf(f, "cost\n");
	for (size_t r = 0; r < d->nrows[k]; r++) {
		const struct drow *row = &d->rows[k][r];
		const struct group *ga = row->a >= 0 ? &d->s[0].g[k][row->a] : NULL;
		const struct group *gb = row->b >= 0 ? &d->s[1].g[k][row->b] : NULL;
		const struct group *g = ga ? ga : gb;
		double ca = ga ? ga->calls : 0, cb = gb ? gb->calls : 0;
		double pa = ga ? ga->dur.p50 : NAN, pb = gb ? gb->dur.p50 : NAN;
		double qa = ga ? ga->dur.p95 : NAN, qb = gb ? gb->dur.p95 : NAN;
		double ua = ga ? group_metric(ga, "cost") : NAN,
		       ub = gb ? group_metric(gb, "cost") : NAN;

		group_label(ga ? &d->s[0].r->run : &d->s[1].r->run, (enum group_kind)k, g, label,
			    sizeof(label));
		fputs("  ", f);
		put_fit(f, label, lw, 1);
		fprintf(f, " %5s -> %-5s %4s", fmt_count(&b[0], ca), fmt_count(&b[1], cb),
			change(&b[2], ca, cb));
		if (p50)
			fprintf(f, " %7s -> %-7s %5s", fmt_ns(&b[3], pa), fmt_ns(&b[4], pb),
				change(&b[5], pa, pb));
		if (p95)
			fprintf(f, " %7s -> %-7s %5s", fmt_ns(&b[6], qa), fmt_ns(&b[7], qb),
				change(&b[8], qa, qb));
		fprintf(f, " %s -> %s%s\n", fmt_usd(&b[9], ua), fmt_usd(&b[10], ub),
			!ga   ? " new"
			: !gb ? " gone"
			      : "");
	}
}

static void text_categories(struct diff *d, int width)
{
	static const int cats[] = {AP_CAT_LLM, AP_CAT_TOOL, AP_CAT_MEMORY, AP_CAT_PROCESS,
				   CAT_INTERNAL};
	const struct breakdown *a = &d->s[0].t.bd, *b = &d->s[1].t.bd;
	FILE *f = d->v->out;
	struct tbuf x[6];

	fputc('\n', f);
	put_wrap(f, "Wall time by category (union of intervals; share of each run's wall)", width,
		 0);
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		const struct catstat *ca = &a->cat[cats[i]], *cb = &b->cat[cats[i]];

		if (!ca->wall && !cb->wall && !ca->n && !cb->n && cats[i] != CAT_INTERNAL)
			continue;
		fprintf(f,
			width < 70 ? "  %-9s %9s -> %-9s %5s %6s -> %-6s\n"
				   : "  %-9s %9s -> %-9s %5s   share %6s -> %-6s\n",
			cats[i] == CAT_INTERNAL ? "internal" : ap_category_name((unsigned)cats[i]),
			fmt_ns(&x[0], (double)ca->wall), fmt_ns(&x[1], (double)cb->wall),
			change(&x[2], (double)ca->wall, (double)cb->wall),
			fmt_pct(&x[3], share(ca->wall, a->wall)),
			fmt_pct(&x[4], share(cb->wall, b->wall)));
	}
}

static void text(struct diff *d)
{
	const struct totals *a = &d->s[0].t, *b = &d->s[1].t;
	int width = term_width(d->v->o.width, d->v->out);
	FILE *f = d->v->out;
	struct tbuf x[10];
	char na[1024], nb[1024];

	put_wrapf(f, width, 0, "diff: A = %s, B = %s", name_esc(d->v->o.paths[0], na, sizeof(na)),
		  name_esc(d->v->o.paths[1], nb, sizeof(nb)));
	put_wrapf(f, width, 2,
		  "wall %s -> %s (%s), LLM calls %s -> %s, tokens %s -> %s (%s), cost %s -> %s",
		  fmt_ns(&x[0], (double)a->bd.wall), fmt_ns(&x[1], (double)b->bd.wall),
		  change(&x[2], (double)a->bd.wall, (double)b->bd.wall),
		  fmt_count(&x[3], a->tok.wcalls), fmt_count(&x[4], b->tok.wcalls),
		  fmt_count(&x[5], run_metric(a, "tokens")),
		  fmt_count(&x[6], run_metric(b, "tokens")),
		  change(&x[7], run_metric(a, "tokens"), run_metric(b, "tokens")),
		  fmt_usd(&x[8], run_metric(a, "cost")), fmt_usd(&x[9], run_metric(b, "cost")));
	text_categories(d, width);
	for (int k = 0; k < 2; k++)
		if (d->nrows[k])
			text_rows(d, k, width);
	text_call_sites(d, width);
	if (d->v->o.nfail) {
		fprintf(f, "\nChecks (--fail-on)\n");
		checks(d);
		fprintf(f, "  %s\n",
			d->failed ? "FAILED: B crossed a --fail-on limit (exit 1)"
				  : "ok: no limit crossed");
	}
}

/* --- json ----------------------------------------------------------------------------------- */

static void jw_pair(struct jw *w, const char *key, double a, double b)
{
	jw_key(w, key);
	jw_obj(w);
	jw_kdouble(w, "a", a);
	jw_kdouble(w, "b", b);
	jw_kdouble(w, "change_pct", a > 0 && !isnan(b) ? (b - a) / a * 100 : NAN);
	jw_obj_end(w);
}

static void json_rows(struct diff *d, int k)
{
	struct jw *w = &d->w;

	jw_key(w, kind_key[k]);
	jw_arr(w);
	for (size_t r = 0; r < d->nrows[k]; r++) {
		const struct drow *row = &d->rows[k][r];
		const struct group *ga = row->a >= 0 ? &d->s[0].g[k][row->a] : NULL;
		const struct group *gb = row->b >= 0 ? &d->s[1].g[k][row->b] : NULL;
		const struct group *g = ga ? ga : gb;
		const struct run *run = ga ? &d->s[0].r->run : &d->s[1].r->run;

		jw_obj(w);
		if (k == G_MODEL) {
			jw_kstr_opt(w, "provider", g->prov ? ap_provider_name(g->prov) : NULL);
			jw_kstr_opt(w, "model", S(run, g->model));
		} else {
			jw_kstr_opt(w, "category", g->cat ? ap_category_name(g->cat) : NULL);
			jw_kstr_opt(w, "host", S(run, g->host));
			jw_kint_opt(w, "port", g->port);
			jw_kstr_opt(w, "method", S(run, g->method));
			jw_kstr_opt(w, "path", S(run, g->path));
		}
		jw_kstr(w, "status", ga && gb ? "both" : ga ? "only_a" : "only_b");
		jw_pair(w, "calls", ga ? ga->calls : 0, gb ? gb->calls : 0);
		jw_pair(w, "p50_ns", ga ? group_metric(ga, "p50") : NAN,
			gb ? group_metric(gb, "p50") : NAN);
		jw_pair(w, "p95_ns", ga ? group_metric(ga, "p95") : NAN,
			gb ? group_metric(gb, "p95") : NAN);
		jw_pair(w, "tokens", ga ? group_metric(ga, "tokens") : NAN,
			gb ? group_metric(gb, "tokens") : NAN);
		jw_pair(w, "cost_usd", ga ? group_metric(ga, "cost") : NAN,
			gb ? group_metric(gb, "cost") : NAN);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void json(struct diff *d)
{
	static const char *const cats[] = {"llm", "tool", "memory", "process", "internal"};
	const struct totals *a = &d->s[0].t, *b = &d->s[1].t;
	struct jw *w = &d->w;

	jw_init(w, d->v->out, 1);
	jw_obj(w);
	jw_kstr(w, "a", d->v->o.paths[0]);
	jw_kstr(w, "b", d->v->o.paths[1]);
	jw_pair(w, "wall_ns", (double)a->bd.wall, (double)b->bd.wall);
	jw_pair(w, "llm_calls", a->tok.wcalls, b->tok.wcalls);
	jw_pair(w, "tokens", run_metric(a, "tokens"), run_metric(b, "tokens"));
	jw_pair(w, "cost_usd", run_metric(a, "cost"), run_metric(b, "cost"));
	jw_key(w, "categories");
	jw_obj(w);
	for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++) {
		double wa = run_metric(a, cats[i]), wb = run_metric(b, cats[i]);

		jw_key(w, cats[i]);
		jw_obj(w);
		jw_kdouble(w, "a_wall_ns", wa);
		jw_kdouble(w, "b_wall_ns", wb);
		jw_kdouble(w, "a_share", a->bd.wall > 0 ? wa / (double)a->bd.wall : 0);
		jw_kdouble(w, "b_share", b->bd.wall > 0 ? wb / (double)b->bd.wall : 0);
		jw_obj_end(w);
	}
	jw_obj_end(w);
	json_rows(d, G_MODEL);
	json_rows(d, G_ENDPOINT);
	json_call_sites(d);
	jw_key(w, "checks");
	jw_arr(w);
	checks(d);
	jw_arr_end(w);
	jw_kbool(w, "failed", d->failed);
	jw_obj_end(w);
	jw_end(w);
}

int cmd_diff(struct view *v)
{
	struct diff d = {.v = v};

	d.s[0].r = &v->a;
	d.s[1].r = &v->b;
	for (int i = 0; i < 2; i++) {
		totals_compute(d.s[i].r, &d.s[i].t);
		d.s[i].n[0] = groups_build(d.s[i].r, G_MODEL, NULL, &d.s[i].g[0]);
		d.s[i].n[1] = groups_build(d.s[i].r, G_ENDPOINT, NULL, &d.s[i].g[1]);
	}
	match(&d, G_MODEL);
	match(&d, G_ENDPOINT);
	if (v->o.json)
		json(&d);
	else
		text(&d);
	for (int i = 0; i < 2; i++) {
		free(d.s[i].g[0]);
		free(d.s[i].g[1]);
		free(d.rows[i]);
	}
	return d.failed ? 1 : 0;
}
