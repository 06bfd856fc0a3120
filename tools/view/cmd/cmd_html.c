/* cmd_html.c: "html -o report.html": one self-contained report page (no network): interactive
 * flame graph, waterfall, breakdown, percentiles, tokens and cost, bottleneck findings. The
 * run's analyses are embedded as JSON into the page (tools/view/render/page/). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "findings_render.h"
#include "jsonw.h"
#include "page.h"
#include "prices.h"
#include "report.h"
#include "sort.h"

/*
 * Size stays bounded at any run size: the flame graph is the merged folded stacks, the tables
 * are per model and endpoint, and the waterfall embeds at most WF_ROWS exchanges (the longest,
 * in time order) with a note saying so. Findings carry at most EV_MAX evidence indexes.
 */
#define WF_ROWS	   2000
#define EV_MAX	   20
#define WF_BUCKETS 400

static void meta(struct jw *w, struct view *v, const struct totals *t, const struct folded *f)
{
	const struct run *run = &v->a.run;
	size_t procs = 0, xs = 0, llm = 0;
	double rate = run_sample_rate(&v->a);
	struct tbuf tb;
	char note[300];

	for (size_t i = 0; i < run->n_procs; i++)
		procs += v->a.psel[i];
	for (size_t i = 0; i < run->n_xs; i++) {
		xs += v->a.xsel[i];
		llm += v->a.xsel[i] && run->xs[i].cat == AP_CAT_LLM;
	}
	jw_key(w, "meta");
	jw_obj(w);
	jw_kint(w, "start_ns", v->a.start);
	jw_kint(w, "wall_ns", t->bd.wall);
	jw_kstr(w, "started", v->a.start != UNK ? fmt_epoch(&tb, v->a.start) : "");
	jw_kuint(w, "processes", procs);
	jw_kuint(w, "exchanges", xs);
	jw_kuint(w, "llm_calls", llm);
	jw_key(w, "paths");
	jw_arr(w);
	for (int i = 0; i < v->o.npaths; i++)
		jw_str(w, v->o.paths[i]);
	if (!v->o.npaths)
		jw_str(w, ".");
	jw_arr_end(w);
	jw_key(w, "notes");
	jw_arr(w);
	if (rate < 1) {
		snprintf(note, sizeof(note),
			 "Sampled run: %.1f%% of exchanges recorded in detail; counts are scaled.",
			 rate * 100);
		jw_str(w, note);
	}
	if (f->exchanges && !f->with_stack)
		jw_str(w,
		       "No call stacks were recorded (AGENTPROF_STACKS=0?): the flame graph shows "
		       "endpoints only.");
	if (v->prices) {
		snprintf(note, sizeof(note), "Costs from %s.", prices_source(v->prices));
		jw_str(w, note);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

static void totals_json(struct jw *w, const struct totals *t)
{
	static const char *const keys[T_MAX] = {"input_tokens", "output_tokens",
						"cache_read_tokens", "cache_write_tokens",
						"reasoning_tokens"};

	jw_key(w, "totals");
	jw_obj(w);
	for (int k = 0; k < T_MAX; k++) {
		if (t->tok.calls && t->tok.unknown[k] == t->tok.calls)
			jw_knull(w, keys[k]);
		else
			jw_kdouble(w, keys[k], round(t->tok.v[k]));
	}
	jw_kdouble(w, "cost_usd", t->cost_unknown == t->tok.calls && t->tok.calls ? NAN : t->cost);
	jw_obj_end(w);
}

static void breakdown_json(struct jw *w, const struct breakdown *bd)
{
	jw_key(w, "breakdown");
	jw_arr(w);
	for (int c = 1; c <= AP_CAT_MAX; c++) {
		const struct catstat *cs = &bd->cat[c];

		if (c < AP_CAT_MAX && !cs->n)
			continue;
		jw_obj(w);
		jw_kstr(w, "category", c == CAT_INTERNAL ? "internal" : ap_category_name(c));
		jw_kint(w, "wall_ns", cs->wall);
		jw_kdouble(w, "share", share(cs->wall, bd->wall));
		jw_kdouble(w, "calls", round(cs->calls));
		jw_kint(w, "sum_ns", cs->sum);
		jw_obj_end(w);
	}
	jw_arr_end(w);
}

static void groups_json(struct jw *w, struct view *v, const char *key, enum group_kind kind)
{
	struct group *g = NULL;
	size_t n = groups_build(&v->a, kind, NULL, &g);

	if (v->o.limit > 0 && n > (size_t)v->o.limit)
		n = (size_t)v->o.limit;
	jw_groups(w, key, &v->a.run, kind, g, n);
	free(g);
}

static void findings_json(struct jw *w, struct view *v)
{
	struct findings fs = {0};

	findings_detect(v, &v->a, &fs);
	jw_key(w, "bottlenecks");
	jw_obj(w);
	jw_findings(w, &v->a.run, &fs, v->o.limit > 0 ? (size_t)v->o.limit : 0, EV_MAX);
	jw_obj_end(w);
	findings_free(&fs);
}

static void flame_json(struct jw *w, const struct folded *f)
{
	jw_key(w, "flame");
	jw_obj(w);
	jw_kuint(w, "exchanges", f->exchanges);
	jw_kuint(w, "with_stack", f->with_stack);
	jw_key(w, "names");
	jw_arr(w);
	for (size_t i = 0; i < f->n_names; i++)
		jw_str(w, f->names[i]);
	jw_arr_end(w);
	jw_key(w, "stacks");
	jw_arr(w);
	for (size_t i = 0; i < f->n_st; i++) {
		const struct fstack *s = &f->st[i];

		jw_arr(w);
		jw_arr(w);
		for (uint32_t k = 0; k < s->n; k++)
			jw_uint(w, s->fr[k]);
		jw_arr_end(w);
		for (int k = 0; k < FW_N; k++)
			jw_double(w, round(s->w[k] * 1000) / 1000);
		jw_arr_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
}

struct wfx {
	size_t i;
	int64_t key;
};

static int cmp_wfx(const void *a, const void *b)
{
	const struct wfx *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Every selected exchange counted per time bucket: [llm, tool, memory, other] each (overview). */
static void wf_buckets(struct jw *w, struct view *v)
{
	const struct run *run = &v->a.run;
	int64_t t0 = v->a.start, span = v->a.end - v->a.start;
	uint32_t(*c)[4] = xcalloc(WF_BUCKETS, sizeof(*c));

	for (size_t i = 0; i < run->n_xs && span > 0; i++) {
		const struct vxch *x = &run->xs[i];
		int64_t k;

		if (!v->a.xsel[i] || x->t0 == UNK)
			continue;
		k = (x->t0 - t0) * WF_BUCKETS / span;
		k = k < 0 ? 0 : k >= WF_BUCKETS ? WF_BUCKETS - 1 : k;
		c[k][x->cat == AP_CAT_LLM      ? 0
		     : x->cat == AP_CAT_TOOL   ? 1
		     : x->cat == AP_CAT_MEMORY ? 2
					       : 3]++;
	}
	jw_key(w, "buckets");
	jw_arr(w);
	for (int k = 0; k < WF_BUCKETS; k++) {
		jw_arr(w);
		for (int j = 0; j < 4; j++)
			jw_uint(w, c[k][j]);
		jw_arr_end(w);
	}
	jw_arr_end(w);
	free(c);
}

static void waterfall_json(struct jw *w, struct view *v)
{
	const struct run *run = &v->a.run;
	struct wfx *sel = xcalloc(run->n_xs + 1, sizeof(*sel));
	size_t n = 0, total;
	int64_t t0 = v->a.start, t1 = v->a.end;
	char title[400];

	for (size_t i = 0; i < run->n_xs; i++)
		if (v->a.xsel[i] && run->xs[i].t0 != UNK)
			sel[n++] = (struct wfx){i, -(run->xs[i].t1 - run->xs[i].t0)};
	total = n;
	if (n > WF_ROWS) { /* keep the longest (stable: in index order on ties, as cmp_wfx) */
		radix_sort64(sel, n, sizeof(*sel), offsetof(struct wfx, key), 1);
		n = WF_ROWS;
	}
	for (size_t k = 0; k < n; k++)
		sel[k].key = run->xs[sel[k].i].t0;
	qsort(sel, n, sizeof(*sel), cmp_wfx);
	jw_key(w, "waterfall");
	jw_obj(w);
	jw_kuint(w, "total", total);
	jw_kuint(w, "shown", n);
	jw_kint(w, "start_ns", 0);
	jw_kint(w, "end_ns", t1 != UNK && t0 != UNK ? t1 - t0 : 0);
	wf_buckets(w, v);
	jw_key(w, "rows");
	jw_arr(w);
	for (size_t k = 0; k < n; k++) {
		const struct vxch *x = &run->xs[sel[k].i];
		struct xphase ph[XPHASE_MAX];
		size_t np = x_phases(x, ph);

		x_short_label(run, x, title, sizeof(title));
		jw_arr(w);
		jw_int(w, x->t0 - t0);
		jw_int(w, x->t1 - t0);
		jw_str(w, x->cat ? ap_category_name(x->cat) : "other");
		jw_str(w, title);
		jw_int(w, run->procs[x->proc].pid);
		jw_uint(w, x->tid);
		jw_arr(w);
		for (size_t p = 0; p < np; p++) {
			jw_arr(w);
			jw_str(w, ph[p].name);
			jw_int(w, ph[p].a - t0);
			jw_int(w, ph[p].b - t0);
			jw_arr_end(w);
		}
		jw_arr_end(w);
		jw_int(w, x->status);
		jw_arr_end(w);
	}
	jw_arr_end(w);
	jw_obj_end(w);
	free(sel);
}

int cmd_html(struct view *v)
{
	struct symbolizer *sym = sym_open(&v->a.run, v->err);
	struct totals t;
	struct folded f;
	struct jw w;
	char *json = NULL;
	size_t n = 0;
	FILE *mf, *out = v->out;
	int rc = 0;

	folded_build(v, sym, FR_NONE, &f);
	totals_compute(&v->a, &t);
	mf = open_memstream(&json, &n);
	if (!mf) {
		perror("agentprof-view: open_memstream");
		rc = 2;
		goto out;
	}
	jw_init(&w, mf, 0);
	jw_obj(&w);
	meta(&w, v, &t, &f);
	totals_json(&w, &t);
	breakdown_json(&w, &t.bd);
	groups_json(&w, v, "models", G_MODEL);
	groups_json(&w, v, "endpoints", G_ENDPOINT);
	findings_json(&w, v);
	flame_json(&w, &f);
	waterfall_json(&w, v);
	jw_obj_end(&w);
	jw_end(&w);
	fclose(mf);
	if (v->o.output) {
		out = fopen(v->o.output, "w");
		if (!out) {
			fprintf(v->err, "agentprof-view html: %s: %s\n", v->o.output,
				strerror(errno));
			rc = 2;
			goto out;
		}
	}
	if (v->o.json) { /* the data the page embeds */
		fwrite(json, 1, n, out);
		goto close;
	}
	if (page_write(out, json, n) < 0) {
		fprintf(v->err, "agentprof-view html: the embedded page lacks a marker\n");
		rc = 2;
	}
close:
	if (out != v->out && fclose(out) != 0) {
		fprintf(v->err, "agentprof-view html: %s: %s\n", v->o.output, strerror(errno));
		rc = 2;
	}
out:
	free(json);
	folded_free(&f);
	sym_close(sym);
	return rc;
}
