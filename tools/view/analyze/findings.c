/* findings.c: the bottleneck detectors (sequential LLM calls, slow tools, repeats, ...). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "prices.h"
#include "report.h"

#define MS 1000000.0

/* Everything the detectors share. */
struct fctx {
	const struct view *v;
	const struct vrun *r;
	const struct run *run;
	const struct thresholds *th;
	struct critpath cp;
	int64_t *cpx; /* critical-path ns per exchange */
	struct findings *out;
};

const char *finding_kind_name(enum finding_kind k)
{
	static const char *const names[FK_MAX] = {
		"sequential_llm",   "slow_tool",	"slow_first_byte",
		"repeated_request", "llm_dominant",	"high_call_count",
		"prompt_heavy",	    "context_pressure", "no_connection_reuse",
	};

	return names[k];
}

static struct finding *add(struct fctx *c, enum finding_kind k, const uint32_t *ev, size_t nev)
{
	struct finding *f = VEC_PUSH(c->out->f, c->out->n, c->out->cap);

	f->kind = k;
	f->saving_usd = NAN;
	f->ev = xmalloc((nev + 1) * sizeof(*f->ev));
	memcpy(f->ev, ev, nev * sizeof(*ev));
	f->nev = nev;
	return f;
}

static int64_t dur(const struct vxch *x)
{
	return x->t1 - x->t0;
}

/* Critical-path time inside [a, b). */
static int64_t cp_within(const struct fctx *c, int64_t a, int64_t b)
{
	int64_t t = 0;

	for (size_t i = 0; i < c->cp.n; i++) {
		int64_t s = i64_max(a, c->cp.steps[i].a), e = i64_min(b, c->cp.steps[i].b);

		if (e > s)
			t += e - s;
	}
	return t;
}

/* Selected exchange indexes (time order) that satisfy pred. */
static size_t pick(const struct fctx *c, int (*pred)(const struct fctx *, const struct vxch *),
		   uint32_t *idx)
{
	size_t n = 0;

	for (size_t i = 0; i < c->run->n_xs; i++)
		if (c->r->xsel[i] && c->run->xs[i].t0 != UNK && pred(c, &c->run->xs[i]))
			idx[n++] = (uint32_t)i;
	return n;
}

/* --- sequential_llm ------------------------------------------------------------------------- */

static int cmp_thread_time(const void *a, const void *b, void *ctx)
{
	const struct run *run = ctx;
	const struct vxch *x = &run->xs[*(const uint32_t *)a], *y = &run->xs[*(const uint32_t *)b];

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int any_timed(const struct fctx *c, const struct vxch *x)
{
	return 1;
}

static void seq_report(struct fctx *c, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	const struct vxch *first = &run->xs[g[0]], *last = &run->xs[g[n - 1]];
	int64_t span = last->t1 - first->t0, longest = 0, gap = 0, saving;
	struct finding *f;
	struct tbuf b[4];
	char label[700];

	for (size_t i = 0; i < n; i++) {
		longest = i64_max(longest, dur(&run->xs[g[i]]));
		if (i)
			gap = i64_max(gap, run->xs[g[i]].t0 - run->xs[g[i - 1]].t1);
	}
	saving = i64_min(span - longest, cp_within(c, first->t0, last->t1));
	f = add(c, FK_SEQUENTIAL_LLM, g, n);
	f->saving_ns = saving > 0 ? saving : 0;
	x_label(run, first, label, sizeof(label));
	setf(f->title, sizeof(f->title),
	     "%zu LLM calls run back to back on pid %d thread %u (largest gap %s), %s in all: "
	     "%s",
	     n, run->procs[first->proc].pid, first->tid, fmt_ns(&b[0], (double)gap),
	     fmt_ns(&b[1], (double)span), label);
	setf(f->suggestion, sizeof(f->suggestion),
	     "If these calls do not need each other's output, issue them concurrently "
	     "(asyncio.gather, a thread pool, or a batch request): the chain would take about "
	     "the longest call (%s) instead of %s.",
	     fmt_ns(&b[2], (double)longest), fmt_ns(&b[3], (double)span));
}

/*
 * Per thread, LLM exchanges in time order form a chain while each starts after the previous
 * ended (no overlap: overlapping calls already run concurrently) within seq_gap_ms, and no
 * other exchange of that thread lies between them (a tool call between two LLM calls usually
 * feeds the second one).
 */
static void detect_sequential(struct fctx *c)
{
	const struct run *run = c->run;
	uint32_t *idx = xmalloc((run->n_xs + 1) * sizeof(*idx)), *g;
	size_t n = pick(c, any_timed, idx), ng = 0;

	g = xmalloc((n + 1) * sizeof(*g));
	sort_r(idx, n, sizeof(*idx), cmp_thread_time, (void *)run);
	for (size_t i = 0; i <= n; i++) {
		const struct vxch *x = i < n ? &run->xs[idx[i]] : NULL;
		const struct vxch *prev = ng ? &run->xs[g[ng - 1]] : NULL;
		int joins = x && prev && x->cat == AP_CAT_LLM && x->proc == prev->proc &&
			    x->tid == prev->tid && x->t0 >= prev->t1 &&
			    (double)(x->t0 - prev->t1) <= c->th->seq_gap_ms * MS;

		if (joins) {
			g[ng++] = idx[i];
			continue;
		}
		if (ng >= 2)
			seq_report(c, g, ng);
		ng = 0;
		if (x && x->cat == AP_CAT_LLM)
			g[ng++] = idx[i];
	}
	free(idx);
	free(g);
}

/* --- per-endpoint detectors ------------------------------------------------------------------ */

static int cmp_u32(uint32_t a, uint32_t b)
{
	return a < b ? -1 : a > b;
}

/* Order by endpoint (category, host, port, method, model for llm / path otherwise), then time. */
static int cmp_endpoint(const struct vxch *a, const struct vxch *b)
{
	int c;

	if ((c = cmp_u32(a->cat, b->cat)) || (c = cmp_u32(a->host, b->host)) ||
	    (c = cmp_u32((uint32_t)a->port, (uint32_t)b->port)) ||
	    (c = cmp_u32(a->method, b->method)))
		return c;
	return a->cat == AP_CAT_LLM ? cmp_u32(x_model(a), x_model(b)) : cmp_u32(a->path, b->path);
}

static int cmp_model(const struct vxch *a, const struct vxch *b)
{
	int c = cmp_u32(a->prov, b->prov);

	return c ? c : cmp_u32(x_model(a), x_model(b));
}

static int cmp_host(const struct vxch *a, const struct vxch *b)
{
	int c;

	if ((c = cmp_u32((uint32_t)a->proc, (uint32_t)b->proc)) || (c = cmp_u32(a->host, b->host)))
		return c;
	return cmp_u32((uint32_t)a->port, (uint32_t)b->port);
}

typedef int (*key_cmp_fn)(const struct vxch *a, const struct vxch *b);

struct gsort {
	const struct run *run;
	key_cmp_fn key;
};

static int cmp_key_time(const void *a, const void *b, void *ctx)
{
	const struct gsort *g = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	const struct vxch *x = &g->run->xs[i], *y = &g->run->xs[j];
	int c = g->key(x, y);

	if (c)
		return c;
	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return cmp_u32(i, j);
}

typedef void (*report_fn)(struct fctx *c, int arg, const uint32_t *g, size_t n);

/* Sort idx[0..n) by key and call report once per group of equal keys (each in time order). */
static void for_groups(struct fctx *c, uint32_t *idx, size_t n, key_cmp_fn key, report_fn report,
		       int arg)
{
	struct gsort gs = {c->run, key};

	sort_r(idx, n, sizeof(*idx), cmp_key_time, &gs);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && key(&c->run->xs[idx[i]], &c->run->xs[idx[j]]) == 0)
			j++;
		report(c, arg, idx + i, j - i);
		i = j;
	}
}

static int is_slow_tool(const struct fctx *c, const struct vxch *x)
{
	return (x->cat == AP_CAT_TOOL || x->cat == AP_CAT_MEMORY) &&
	       (double)dur(x) > c->th->slow_tool_ms * MS;
}

static int is_slow_ttfb(const struct fctx *c, const struct vxch *x)
{
	int64_t t = x_ttfb(x);

	return t != UNK && (double)t > c->th->slow_ttfb_ms * MS;
}

static void report_slow(struct fctx *c, int ttfb, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	const struct vxch *x0 = &run->xs[g[0]];
	double thr = (ttfb ? c->th->slow_ttfb_ms : c->th->slow_tool_ms) * MS;
	int64_t saving = 0, worst = 0;
	struct finding *f = add(c, ttfb ? FK_SLOW_FIRST_BYTE : FK_SLOW_TOOL, g, n);
	struct tbuf b[3];
	char label[700];

	for (size_t i = 0; i < n; i++) {
		const struct vxch *x = &run->xs[g[i]];
		int64_t v = ttfb ? x_ttfb(x) : dur(x);

		worst = i64_max(worst, v);
		saving += i64_min(c->cpx[g[i]], v - (int64_t)thr);
	}
	f->saving_ns = saving > 0 ? saving : 0;
	x_label(run, x0, label, sizeof(label));
	setf(f->title, sizeof(f->title), "%zu call%s over %s%s (worst %s): %s", n, n > 1 ? "s" : "",
	     fmt_ns(&b[0], thr), ttfb ? " to the first byte" : "", fmt_ns(&b[1], (double)worst),
	     label);
	if (!ttfb)
		setf(f->suggestion, sizeof(f->suggestion),
		     "Speed up or cache this %s call, or start it earlier and overlap it with "
		     "other work; the estimate counts time above %s that is on the critical path.",
		     ap_category_name(x0->cat), fmt_ns(&b[2], thr));
	else if (x0->cat == AP_CAT_LLM)
		setf(f->suggestion, sizeof(f->suggestion),
		     "The model takes long before answering: shorten or cache the prompt (prompt "
		     "caching), use a smaller or faster model for this step%s.",
		     x0->stream ? ""
				: ", and stream the response so work can start on the first "
				  "tokens");
	else
		setf(f->suggestion, sizeof(f->suggestion),
		     "The server is slow to answer: cache its results, or call it concurrently "
		     "with other work.");
}

static void detect_slow(struct fctx *c, int ttfb)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, ttfb ? is_slow_ttfb : is_slow_tool, idx);

	for_groups(c, idx, n, cmp_endpoint, report_slow, ttfb);
	free(idx);
}

/* --- repeated_request ----------------------------------------------------------------------- */

static int cmp_hash(const void *a, const void *b, void *ctx)
{
	const struct run *run = ctx;
	const struct vxch *x = &run->xs[*(const uint32_t *)a], *y = &run->xs[*(const uint32_t *)b];

	if (x->request_hash != y->request_hash)
		return x->request_hash < y->request_hash ? -1 : 1;
	if (x->host != y->host)
		return x->host < y->host ? -1 : 1;
	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* Same request hash (method, path, body) to the same host. */
static int has_hash(const struct fctx *c, const struct vxch *x)
{
	return x->request_hash != 0;
}

static void report_repeat(struct fctx *c, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	struct finding *f = add(c, FK_REPEATED_REQUEST, g, n);
	int64_t saving = 0;
	double usd = 0;
	int usd_known = 1;
	char label[700];

	for (size_t i = 1; i < n; i++) {
		saving += c->cpx[g[i]];
		if (isnan(run->xs[g[i]].cost))
			usd_known = 0;
		else
			usd += run->xs[g[i]].cost;
	}
	f->saving_ns = saving;
	f->saving_usd = usd_known ? usd : NAN;
	x_label(run, &run->xs[g[0]], label, sizeof(label));
	setf(f->title, sizeof(f->title), "%zu identical requests (same method, path and body): %s",
	     n, label);
	setf(f->suggestion, sizeof(f->suggestion),
	     "Cache the response of this request (keyed by its body) and reuse it: %zu of the %zu "
	     "calls would not be needed.",
	     n - 1, n);
}

static void detect_repeats(struct fctx *c)
{
	const struct run *run = c->run;
	uint32_t *idx = xmalloc((run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, has_hash, idx);

	sort_r(idx, n, sizeof(*idx), cmp_hash, (void *)run);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && run->xs[idx[j]].request_hash == run->xs[idx[i]].request_hash &&
		       run->xs[idx[j]].host == run->xs[idx[i]].host)
			j++;
		if (j - i >= 2)
			report_repeat(c, idx + i, j - i);
		i = j;
	}
	free(idx);
}

/* --- run-level and token detectors ------------------------------------------------------------ */

static int is_llm(const struct fctx *c, const struct vxch *x)
{
	return x->cat == AP_CAT_LLM;
}

static int cmp_dur_desc(const void *a, const void *b, void *ctx)
{
	const struct run *run = ctx;
	int64_t x = dur(&run->xs[*(const uint32_t *)a]), y = dur(&run->xs[*(const uint32_t *)b]);

	return x > y ? -1 : x < y;
}

static void detect_llm_dominant(struct fctx *c)
{
	const struct run *run = c->run;
	struct breakdown bd;
	uint32_t *idx = xmalloc((run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, is_llm, idx);
	struct finding *f;
	struct tbuf b[4];
	double sh;

	breakdown_compute(c->r, &bd);
	sh = share(bd.cat[AP_CAT_LLM].wall, bd.wall);
	if (n && sh > c->th->llm_share) {
		sort_r(idx, n, sizeof(*idx), cmp_dur_desc, (void *)run);
		f = add(c, FK_LLM_DOMINANT, idx, n < 10 ? n : 10);
		setf(f->title, sizeof(f->title),
		     "LLM calls cover %s of the wall time (%s of %s; threshold %s); evidence: the "
		     "longest calls",
		     fmt_pct(&b[0], sh), fmt_ns(&b[1], (double)bd.cat[AP_CAT_LLM].wall),
		     fmt_ns(&b[2], (double)bd.wall), fmt_pct(&b[3], c->th->llm_share));
		setf(f->suggestion, sizeof(f->suggestion),
		     "The run is bound by model latency: use a smaller or faster model for simple "
		     "steps, trim prompts, stream responses, cache answers, and run independent "
		     "calls concurrently.");
	}
	free(idx);
}

static void report_count(struct fctx *c, int arg, const uint32_t *g, size_t ng)
{
	const struct run *run = c->run;
	int64_t floor = INT64_MAX, cpsum = 0;
	struct finding *f;
	struct tbuf b[2];
	char label[700];

	if ((double)ng < c->th->call_count)
		return;
	for (size_t i = 0; i < ng; i++) {
		int64_t t = x_ttfb(&run->xs[g[i]]);

		floor = i64_min(floor, t != UNK ? t : dur(&run->xs[g[i]]));
		cpsum += c->cpx[g[i]];
	}
	f = add(c, FK_HIGH_CALL_COUNT, g, ng);
	f->saving_ns = i64_min(cpsum, (int64_t)(ng - 1) * floor);
	x_label(run, &run->xs[g[0]], label, sizeof(label));
	setf(f->title, sizeof(f->title), "%zu calls to one endpoint (threshold %.0f): %s", ng,
	     c->th->call_count, label);
	setf(f->suggestion, sizeof(f->suggestion),
	     "Batch these requests or cache their results; each call pays at least %s of round "
	     "trip (the estimate is that latency for all but one call, bounded by their "
	     "critical-path time %s).",
	     fmt_ns(&b[0], (double)floor), fmt_ns(&b[1], (double)cpsum));
}

static void detect_call_count(struct fctx *c)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, any_timed, idx);

	for_groups(c, idx, n, cmp_endpoint, report_count, 0);
	free(idx);
}

static int is_prompt_heavy(const struct fctx *c, const struct vxch *x)
{
	return x->cat == AP_CAT_LLM && x->in >= 0 && (double)x->in >= c->th->prompt_min_tokens &&
	       x->out >= 0 && (double)x->in >= c->th->prompt_ratio * (double)(x->out ? x->out : 1);
}

static int is_context_pressure(const struct fctx *c, const struct vxch *x)
{
	int64_t win;

	if (x->cat != AP_CAT_LLM || x->in < 0)
		return 0;
	win = prices_context(c->v->prices, c->run, x);
	return win > 0 && (double)x->in >= c->th->context_share * (double)win;
}

static void token_report(struct fctx *c, int ctx, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	const struct vxch *x0 = &run->xs[g[0]];
	struct finding *f = add(c, ctx ? FK_CONTEXT_PRESSURE : FK_PROMPT_HEAVY, g, n);
	double in = 0, out = 0, worst = 0;
	int64_t win = ctx ? prices_context(c->v->prices, run, x0) : -1;
	struct tbuf b[3];
	char label[700];

	for (size_t i = 0; i < n; i++) {
		in += (double)run->xs[g[i]].in;
		out += (double)(run->xs[g[i]].out > 0 ? run->xs[g[i]].out : 0);
		worst = fmax(worst, (double)run->xs[g[i]].in);
	}
	x_label(run, x0, label, sizeof(label));
	if (ctx) {
		setf(f->title, sizeof(f->title),
		     "%zu call%s use over %s of the context window (largest prompt %s of %s "
		     "tokens): %s",
		     n, n > 1 ? "s" : "", fmt_pct(&b[0], c->th->context_share),
		     fmt_count(&b[1], worst), fmt_count(&b[2], (double)win), label);
		setf(f->suggestion, sizeof(f->suggestion),
		     "The prompt is close to the model's limit: summarise or truncate history, "
		     "retrieve fewer documents, or move to a model with a larger window before "
		     "requests start failing.");
	} else {
		setf(f->title, sizeof(f->title),
		     "%zu prompt-heavy call%s: %s input vs %s output tokens (ratio %.0f): %s", n,
		     n > 1 ? "s" : "", fmt_count(&b[0], in), fmt_count(&b[1], out),
		     out > 0 ? in / out : in, label);
		setf(f->suggestion, sizeof(f->suggestion),
		     "Most tokens are prompt: enable prompt caching for the stable prefix (system "
		     "prompt, tools, documents), and send only the context each step needs.");
	}
}

static void detect_tokens(struct fctx *c, int ctx)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, ctx ? is_context_pressure : is_prompt_heavy, idx);

	for_groups(c, idx, n, cmp_model, token_report, ctx);
	free(idx);
}

/* --- no_connection_reuse -------------------------------------------------------------------- */

static int64_t setup_ns(const struct vxch *x)
{
	return (x->dns_ns > 0 ? x->dns_ns : 0) + (x->connect_ns > 0 ? x->connect_ns : 0) +
	       (x->tls_ns > 0 ? x->tls_ns : 0);
}

static void reuse_report(struct fctx *c, int arg, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	uint32_t *ev = xmalloc((n + 1) * sizeof(*ev));
	size_t nn = 0;
	int64_t saving = 0, setup = 0;
	struct finding *f;
	struct tbuf b[2];

	for (size_t i = 0; i < n; i++) {
		const struct vxch *x = &run->xs[g[i]];

		if (!x->new_conn)
			continue;
		if (nn++) { /* the first connection has to be made anyway */
			setup += setup_ns(x);
			saving += i64_min(setup_ns(x), c->cpx[g[i]]);
		}
		ev[nn - 1] = g[i];
	}
	if ((double)nn < c->th->new_conns || nn * 2 <= n) {
		free(ev);
		return;
	}
	f = add(c, FK_NO_CONNECTION_REUSE, ev, nn);
	f->saving_ns = saving;
	setf(f->title, sizeof(f->title),
	     "%zu of %zu calls to %s:%d opened a new %s connection (set-up %s in all)", nn, n,
	     S(run, run->xs[g[0]].host), run->xs[g[0]].port, run->xs[g[0]].tls ? "TLS" : "TCP",
	     setup ? fmt_ns(&b[0], (double)setup) : "unknown");
	setf(f->suggestion, sizeof(f->suggestion),
	     "Reuse one client and its connection pool (HTTP keep-alive: requests.Session, one "
	     "httpx/aiohttp client, one OpenAI client object) instead of connecting per call; "
	     "the estimate is the set-up time of the extra connections on the critical path.");
	free(ev);
}

static void detect_reuse(struct fctx *c)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, any_timed, idx);

	for_groups(c, idx, n, cmp_host, reuse_report, 0);
	free(idx);
}

/* --- driver --------------------------------------------------------------------------------- */

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	if (x->saving_ns != y->saving_ns)
		return x->saving_ns > y->saving_ns ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

void findings_detect(const struct view *v, const struct vrun *r, struct findings *out)
{
	struct fctx c = {.v = v, .r = r, .run = &r->run, .th = &v->o.th, .out = out};

	memset(out, 0, sizeof(*out));
	critpath_compute(r, &c.cp);
	c.cpx = critpath_per_exchange(&c.cp, r->run.n_xs);
	detect_sequential(&c);
	detect_slow(&c, 0);
	detect_slow(&c, 1);
	detect_repeats(&c);
	detect_llm_dominant(&c);
	detect_call_count(&c);
	detect_tokens(&c, 0);
	detect_tokens(&c, 1);
	detect_reuse(&c);
	sort_n(out->f, out->n, sizeof(*out->f), cmp_finding);
	free(c.cpx);
	critpath_free(&c.cp);
}

void findings_free(struct findings *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->f[i].ev);
	free(fs->f);
	memset(fs, 0, sizeof(*fs));
}
