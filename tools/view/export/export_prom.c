/* export_prom.c: "export --format prom": Prometheus text exposition (format 0.0.4, no
 * timestamps: node_exporter's textfile collector reads it) with the same metric names as the
 * live endpoint (AGENTPROF_PROMETHEUS), plus run-level gauges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "export.h"
#include "otlp.h"

/* OTel GenAI gen_ai.client.operation.duration buckets, seconds. */
static const double bounds[] = {0.01, 0.02, 0.04, 0.08,	 0.16,	0.32,  0.64,
				1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
#define NB (sizeof(bounds) / sizeof(bounds[0]))

struct hist {
	uint64_t n, b[NB];
	double sum;
};

struct key {
	uint8_t cat, prov;
	uint32_t host, model;
};

struct series {
	struct key k;
	struct hist dur, ttfb;
	uint64_t errors;
	double tok[T_MAX];
	double cost;
	int has_cost;
};

struct prom {
	const struct run *run;
	FILE *f;
	struct series *s;
	size_t n, cap;
};

static void hist_add(struct hist *h, int64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i;

	if (ns == UNK || ns < 0)
		return;
	for (i = 0; i < NB && s > bounds[i]; i++)
		;
	if (i < NB)
		h->b[i]++;
	h->n++;
	h->sum += s;
}

static void hist_merge(struct hist *d, const struct hist *s)
{
	d->n += s->n;
	d->sum += s->sum;
	for (size_t i = 0; i < NB; i++)
		d->b[i] += s->b[i];
}

static int key_eq(const struct key *a, const struct key *b)
{
	return a->cat == b->cat && a->prov == b->prov && a->host == b->host && a->model == b->model;
}

static struct series *series_for(struct prom *p, const struct key *k)
{
	struct series *s;

	for (size_t i = 0; i < p->n; i++) /* a few dozen endpoints: linear is fine */
		if (key_eq(&p->s[i].k, k))
			return &p->s[i];
	s = VEC_PUSH(p->s, p->n, p->cap);
	s->k = *k;
	return s;
}

/* A label value: escape \ " and newline (the JSON-safe string table is UTF-8 already). */
static void lv(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', f);
		else
			fputc(*s, f);
	}
}

static void labels(struct prom *p, const struct key *k, int per_model)
{
	if (!per_model) {
		fputs("category=\"", p->f);
		lv(p->f, ap_category_name(k->cat));
		fputs("\",", p->f);
	}
	fputs("provider=\"", p->f);
	lv(p->f, k->prov ? ap_provider_name(k->prov) : "");
	if (!per_model) {
		fputs("\",host=\"", p->f);
		lv(p->f, S(p->run, k->host));
	}
	fputs("\",model=\"", p->f);
	lv(p->f, S(p->run, k->model));
	fputc('"', p->f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void hist_lines(struct prom *p, const char *name, const struct key *k, int per_model,
		       const struct hist *h)
{
	uint64_t cum = 0;

	for (size_t i = 0; i < NB; i++) {
		cum += h->b[i];
		fprintf(p->f, "%s_bucket{", name);
		labels(p, k, per_model);
		fprintf(p->f, ",le=\"%g\"} %llu\n", bounds[i], (unsigned long long)cum);
	}
	fprintf(p->f, "%s_bucket{", name);
	labels(p, k, per_model);
	fprintf(p->f, ",le=\"+Inf\"} %llu\n%s_sum{", (unsigned long long)h->n, name);
	labels(p, k, per_model);
	fprintf(p->f, "} %.9f\n%s_count{", h->sum, name);
	labels(p, k, per_model);
	fprintf(p->f, "} %llu\n", (unsigned long long)h->n);
}

static void per_model(struct prom *p)
{
	static const char name[] = "agentprof_model_duration_seconds";

	head(p->f, name, "histogram", "Wall time of LLM calls by provider and model.");
	for (size_t i = 0; i < p->n; i++) {
		struct hist h = p->s[i].dur;
		int seen = 0;

		if (p->s[i].k.cat != AP_CAT_LLM)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->s[j].k.cat == AP_CAT_LLM && p->s[j].k.prov == p->s[i].k.prov &&
			       p->s[j].k.model == p->s[i].k.model;
		if (seen)
			continue;
		for (size_t j = i + 1; j < p->n; j++)
			if (p->s[j].k.cat == AP_CAT_LLM && p->s[j].k.prov == p->s[i].k.prov &&
			    p->s[j].k.model == p->s[i].k.model)
				hist_merge(&h, &p->s[j].dur);
		hist_lines(p, name, &p->s[i].k, 1, &h);
	}
}

static void run_gauges(struct prom *p, const struct vrun *r)
{
	static const char *const names[AP_CAT_MAX + 1] = {"unknown", "llm",	"tool",
							  "memory",  "process", "internal"};
	struct breakdown bd;

	breakdown_compute(r, &bd);
	head(p->f, "agentprof_run_wall_seconds", "gauge", "Wall time of the profiled run.");
	fprintf(p->f, "agentprof_run_wall_seconds %.9f\n", (double)bd.wall / 1e9);
	head(p->f, "agentprof_category_wall_seconds", "gauge",
	     "Wall time with work of each category in flight (overlaps counted once); internal is "
	     "the time no I/O explains.");
	for (int c = 0; c <= AP_CAT_MAX; c++)
		fprintf(p->f, "agentprof_category_wall_seconds{category=\"%s\"} %.9f\n", names[c],
			(double)bd.cat[c].wall / 1e9);
}

/* The series of the selected exchanges; returns how many exchanges. */
static uint64_t collect(const struct view *v, struct prom *p, int *any_cost)
{
	const struct run *run = &v->a.run;
	uint64_t total = 0;

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		struct key k = {
			.cat = x->cat, .prov = x->prov, .host = x->host, .model = x_model(x)};
		struct series *s;

		if (!v->a.xsel[i])
			continue;
		s = series_for(p, &k);
		total++;
		hist_add(&s->dur, x_duration(x));
		hist_add(&s->ttfb, x_ttfb(x));
		s->errors += x->error || x->status >= 400;
		for (int t = 0; t < T_MAX; t++)
			if (x_tok(x, t) > 0)
				s->tok[t] += (double)x_tok(x, t);
		if (!isnan(x->cost)) {
			s->cost += x->cost;
			s->has_cost = *any_cost = 1;
		}
	}
	return total;
}

int export_prom(struct view *v)
{
	struct prom p = {.run = &v->a.run, .f = v->out};
	int any_cost = 0;
	uint64_t total = collect(v, &p, &any_cost);

	head(p.f, "agentprof_request_duration_seconds", "histogram",
	     "Wall time of HTTP exchanges from the first request byte to the last response byte, "
	     "by endpoint.");
	for (size_t i = 0; i < p.n; i++)
		hist_lines(&p, "agentprof_request_duration_seconds", &p.s[i].k, 0, &p.s[i].dur);
	head(p.f, "agentprof_time_to_first_byte_seconds", "histogram",
	     "Time from the first request byte to the first response byte, by endpoint.");
	for (size_t i = 0; i < p.n; i++)
		hist_lines(&p, "agentprof_time_to_first_byte_seconds", &p.s[i].k, 0, &p.s[i].ttfb);
	per_model(&p);
	head(p.f, "agentprof_request_errors_total", "counter",
	     "Exchanges that failed: HTTP status >= 400 or a transport error.");
	for (size_t i = 0; i < p.n; i++) {
		fputs("agentprof_request_errors_total{", p.f);
		labels(&p, &p.s[i].k, 0);
		fprintf(p.f, "} %llu\n", (unsigned long long)p.s[i].errors);
	}
	head(p.f, "agentprof_tokens_total", "counter",
	     "Tokens reported by the providers' usage objects, by type.");
	for (size_t i = 0; i < p.n; i++) {
		if (p.s[i].k.cat != AP_CAT_LLM)
			continue;
		for (int t = 0; t < T_MAX; t++) {
			fputs("agentprof_tokens_total{", p.f);
			labels(&p, &p.s[i].k, 0);
			fprintf(p.f, ",type=\"%s\"} %.0f\n", tok_names[t], p.s[i].tok[t]);
		}
	}
	if (any_cost) {
		head(p.f, "agentprof_cost_usd_total", "counter",
		     "Cost of LLM calls in US dollars from the price table (known part).");
		for (size_t i = 0; i < p.n; i++) {
			if (!p.s[i].has_cost)
				continue;
			fputs("agentprof_cost_usd_total{", p.f);
			labels(&p, &p.s[i].k, 0);
			fprintf(p.f, "} %.9f\n", p.s[i].cost);
		}
	}
	head(p.f, "agentprof_exchanges_total", "counter", "Exchanges recorded.");
	fprintf(p.f, "agentprof_exchanges_total %llu\n", (unsigned long long)total);
	run_gauges(&p, &v->a);
	free(p.s);
	return 0;
}

/* --- the same as OTLP/JSON metrics (--format otlp-metrics) ------------------------------------ */

struct mctx {
	struct jw *w;
	const struct prom *p;
	int64_t t0, t1; /* the run's extent: start and time of every data point */
};

static void metric_head(struct mctx *m, const char *name, const char *unit, const char *desc,
			const char *kind, int monotonic)
{
	jw_obj(m->w);
	jw_kstr(m->w, "name", name);
	jw_kstr(m->w, "unit", unit);
	jw_kstr(m->w, "description", desc);
	jw_key(m->w, kind);
	jw_obj(m->w);
	if (strcmp(kind, "gauge")) {
		jw_kint(m->w, "aggregationTemporality", 2); /* CUMULATIVE */
		if (!strcmp(kind, "sum"))
			jw_kbool(m->w, "isMonotonic", monotonic);
	}
	jw_key(m->w, "dataPoints");
	jw_arr(m->w);
}

static void metric_tail(struct mctx *m)
{
	jw_arr_end(m->w);
	jw_obj_end(m->w);
	jw_obj_end(m->w);
}

static void point_head(struct mctx *m, const struct key *k, int per_model, const char *type)
{
	const struct run *run = m->p->run;

	jw_obj(m->w);
	jw_key(m->w, "attributes");
	jw_arr(m->w);
	if (k) {
		if (!per_model) {
			otlp_attr_str(m->w, "agentprof.category", ap_category_name(k->cat));
			otlp_attr_str(m->w, "server.address", S(run, k->host));
		}
		otlp_attr_str(m->w, "gen_ai.provider.name", k->prov ? otel_provider(k->prov) : "");
		otlp_attr_str(m->w, "gen_ai.request.model", S(run, k->model));
	}
	if (type)
		otlp_attr_str(m->w, "gen_ai.token.type", type);
	jw_arr_end(m->w);
	otlp_kint64(m->w, "startTimeUnixNano", m->t0);
	otlp_kint64(m->w, "timeUnixNano", m->t1);
}

static void hist_point(struct mctx *m, const struct key *k, int per_model, const struct hist *h)
{
	point_head(m, k, per_model, NULL);
	otlp_kint64(m->w, "count", (int64_t)h->n);
	jw_kdouble(m->w, "sum", h->sum);
	jw_key(m->w, "bucketCounts");
	jw_arr(m->w);
	{
		uint64_t in = 0;
		char b[24];

		for (size_t i = 0; i < NB; i++) {
			snprintf(b, sizeof(b), "%llu", (unsigned long long)h->b[i]);
			jw_str(m->w, b);
			in += h->b[i];
		}
		snprintf(b, sizeof(b), "%llu", (unsigned long long)(h->n - in)); /* > last bound */
		jw_str(m->w, b);
	}
	jw_arr_end(m->w);
	jw_key(m->w, "explicitBounds");
	jw_arr(m->w);
	for (size_t i = 0; i < NB; i++)
		jw_double(m->w, bounds[i]);
	jw_arr_end(m->w);
	jw_obj_end(m->w);
}

static void int_point(struct mctx *m, const struct key *k, const char *type, uint64_t x)
{
	point_head(m, k, 0, type);
	otlp_kint64(m->w, "asInt", (int64_t)x);
	jw_obj_end(m->w);
}

static void double_point(struct mctx *m, const struct key *k, double x)
{
	point_head(m, k, 0, NULL);
	jw_kdouble(m->w, "asDouble", x);
	jw_obj_end(m->w);
}

static void write_metrics(struct view *v, FILE *f, const struct prom *p, uint64_t total,
			  int any_cost)
{
	static const char *const cat_names[AP_CAT_MAX + 1] = {"unknown", "llm",	    "tool",
							      "memory",	 "process", "internal"};
	const struct run *run = p->run;
	struct breakdown bd;
	struct jw w;
	struct mctx m = {.w = &w, .p = p, .t0 = v->a.start, .t1 = v->a.end};
	int32_t root = -1;

	for (size_t i = 0; i < run->n_procs && root < 0; i++)
		if (v->a.psel[i])
			root = (int32_t)i;
	breakdown_compute(&v->a, &bd);
	jw_init(&w, f, 0);
	jw_obj(&w);
	jw_key(&w, "resourceMetrics");
	jw_arr(&w);
	jw_obj(&w);
	if (root >= 0)
		otlp_resource(&w, run, &run->procs[root]);
	jw_key(&w, "scopeMetrics");
	jw_arr(&w);
	jw_obj(&w);
	jw_key(&w, "scope");
	jw_obj(&w);
	jw_kstr(&w, "name", "agentprof");
	jw_kstr(&w, "version", "0.1.0");
	jw_obj_end(&w);
	jw_key(&w, "metrics");
	jw_arr(&w);

	metric_head(&m, "agentprof.request.duration", "s",
		    "Wall time of HTTP exchanges from the first request byte to the last response "
		    "byte, by endpoint.",
		    "histogram", 0);
	for (size_t i = 0; i < p->n; i++)
		hist_point(&m, &p->s[i].k, 0, &p->s[i].dur);
	metric_tail(&m);
	metric_head(&m, "agentprof.time_to_first_byte", "s",
		    "Time from the first request byte to the first response byte, by endpoint.",
		    "histogram", 0);
	for (size_t i = 0; i < p->n; i++)
		hist_point(&m, &p->s[i].k, 0, &p->s[i].ttfb);
	metric_tail(&m);
	metric_head(&m, "agentprof.model.duration", "s",
		    "Wall time of LLM calls by provider and model.", "histogram", 0);
	for (size_t i = 0; i < p->n; i++) {
		struct hist h = p->s[i].dur;
		int seen = 0;

		if (p->s[i].k.cat != AP_CAT_LLM)
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->s[j].k.cat == AP_CAT_LLM && p->s[j].k.prov == p->s[i].k.prov &&
			       p->s[j].k.model == p->s[i].k.model;
		if (seen)
			continue;
		for (size_t j = i + 1; j < p->n; j++)
			if (p->s[j].k.cat == AP_CAT_LLM && p->s[j].k.prov == p->s[i].k.prov &&
			    p->s[j].k.model == p->s[i].k.model)
				hist_merge(&h, &p->s[j].dur);
		hist_point(&m, &p->s[i].k, 1, &h);
	}
	metric_tail(&m);
	metric_head(&m, "agentprof.request.errors", "{exchange}",
		    "Exchanges that failed: HTTP status >= 400 or a transport error.", "sum", 1);
	for (size_t i = 0; i < p->n; i++)
		int_point(&m, &p->s[i].k, NULL, p->s[i].errors);
	metric_tail(&m);
	metric_head(&m, "agentprof.tokens", "{token}",
		    "Tokens reported by the providers' usage objects, by type.", "sum", 1);
	for (size_t i = 0; i < p->n; i++)
		for (int t = 0; t < T_MAX && p->s[i].k.cat == AP_CAT_LLM; t++)
			int_point(&m, &p->s[i].k, tok_names[t], (uint64_t)p->s[i].tok[t]);
	metric_tail(&m);
	if (any_cost) {
		metric_head(&m, "agentprof.cost", "USD",
			    "Cost of LLM calls in US dollars from the price table (known part).",
			    "sum", 1);
		for (size_t i = 0; i < p->n; i++)
			if (p->s[i].has_cost)
				double_point(&m, &p->s[i].k, p->s[i].cost);
		metric_tail(&m);
	}
	metric_head(&m, "agentprof.exchanges", "{exchange}", "Exchanges recorded.", "sum", 1);
	int_point(&m, NULL, NULL, total);
	metric_tail(&m);
	metric_head(&m, "agentprof.run.wall", "s", "Wall time of the profiled run.", "gauge", 0);
	double_point(&m, NULL, (double)bd.wall / 1e9);
	metric_tail(&m);
	metric_head(&m, "agentprof.category.wall", "s",
		    "Wall time with work of each category in flight (overlaps counted once); "
		    "internal is the time no I/O explains.",
		    "gauge", 0);
	for (int c = 0; c <= AP_CAT_MAX; c++) {
		jw_obj(&w);
		jw_key(&w, "attributes");
		jw_arr(&w);
		otlp_attr_str(&w, "agentprof.category", cat_names[c]);
		jw_arr_end(&w);
		otlp_kint64(&w, "startTimeUnixNano", m.t0);
		otlp_kint64(&w, "timeUnixNano", m.t1);
		jw_kdouble(&w, "asDouble", (double)bd.cat[c].wall / 1e9);
		jw_obj_end(&w);
	}
	metric_tail(&m);
	jw_arr_end(&w); /* metrics */
	jw_obj_end(&w);
	jw_arr_end(&w); /* scopeMetrics */
	jw_obj_end(&w);
	jw_arr_end(&w); /* resourceMetrics */
	jw_obj_end(&w);
	jw_end(&w);
}

int export_otlp_metrics(struct view *v)
{
	struct prom p = {.run = &v->a.run};
	struct otlp_dest d;
	int any_cost = 0, to = otlp_dest_init(v, &d, "metrics"), rc = 0;
	uint64_t total;

	if (to == 2)
		return 2;
	total = collect(v, &p, &any_cost);
	if (!to) {
		write_metrics(v, v->out, &p, total, any_cost);
	} else {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		if (!f) {
			perror("agentprof-view: open_memstream");
			free(p.s);
			return 2;
		}
		write_metrics(v, f, &p, total, any_cost);
		fclose(f);
		rc = otlp_post(v, &d, buf, n, p.n) ? 1 : 0;
		if (!rc)
			fprintf(v->err, "agentprof-view export: POST %s: HTTP 200: %zu series\n",
				d.url, p.n);
		free(buf);
	}
	free(p.s);
	return rc;
}
