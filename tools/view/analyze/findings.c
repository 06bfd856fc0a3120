/* findings.c: the bottleneck detectors (sequential LLM calls, slow tools, repeats, retries, ...)
 * as data: measurements and evidence; the renderers word them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "prices.h"
#include "pystack.h"

#define MS 1000000.0

/* Everything the detectors share. */
/* Context windows already looked up, by model pair and provider: the lookup formats and
 * compares model names (a few thousand instructions), a run has few models and many calls. */
struct window_memo {
	size_t n;
	struct {
		uint32_t resp, req;
		uint8_t prov;
		int64_t win;
	} e[64];
};

struct fctx {
	struct window_memo *win; /* mutable through the const contexts the detectors get */
	const struct view *v;
	const struct vrun *r;
	const struct run *run;
	const struct thresholds *th;
	struct critpath cp;
	int64_t *cpx;	/* critical-path ns per exchange */
	uint8_t *retry; /* per exchange: a failed attempt or a retry of one (not a cacheable repeat)
			 */
	struct findings *out;
};

const char *finding_kind_name(enum finding_kind k)
{
	static const char *const names[FK_MAX] = {
		"sequential_llm",      "slow_tool",	  "slow_first_byte", "repeated_request",
		"llm_dominant",	       "high_call_count", "prompt_heavy",    "context_pressure",
		"no_connection_reuse", "rate_limited",	  "retry_storm",
	};

	return names[k];
}

/* Room for n evidence entries, cut from big blocks (one allocation per finding was a third of
 * the findings' memory, and pinned freed temporaries in the heap). */
#define EV_BLOCK 65536

static uint32_t *ev_alloc(struct findings *fs, size_t n)
{
	uint32_t *p;

	if (fs->ev_left < n || !fs->n_evb) {
		size_t sz = n > EV_BLOCK ? n : EV_BLOCK;

		*VEC_PUSH(fs->evb, fs->n_evb, fs->cap_evb) = xmalloc(sz * sizeof(**fs->evb));
		if (n > EV_BLOCK) { /* a block of its own, before the current one */
			uint32_t *own = fs->evb[fs->n_evb - 1];

			if (fs->n_evb > 1) {
				fs->evb[fs->n_evb - 1] = fs->evb[fs->n_evb - 2];
				fs->evb[fs->n_evb - 2] = own;
			} else {
				fs->ev_left = 0;
			}
			return own;
		}
		fs->ev_left = sz;
	}
	p = fs->evb[fs->n_evb - 1] + (EV_BLOCK - fs->ev_left);
	fs->ev_left -= n;
	return p;
}

static struct finding *add(struct fctx *c, enum finding_kind k, const uint32_t *ev, size_t nev)
{
	struct finding *f = VEC_PUSH(c->out->f, c->out->n, c->out->cap);

	memset(f, 0, sizeof(*f));
	f->kind = k;
	f->saving_usd = NAN;
	f->overlaps = -1;
	f->ev = ev_alloc(c->out, nev + 1);
	memcpy(f->ev, ev, nev * sizeof(*ev));
	f->nev = nev;
	f->site = nev ? ev[0] : 0;
	return f;
}

static int64_t dur(const struct vxch *x)
{
	return x->t1 - x->t0;
}

/* Critical-path time inside [a, b): the path's steps are contiguous over the window. */
static int64_t cp_within(const struct fctx *c, int64_t a, int64_t b)
{
	int64_t t = i64_min(b, c->cp.end) - i64_max(a, c->cp.start);

	return t > 0 ? t : 0;
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

/* --- keyed sorting: keys copied out of the records once, then sorted without indirection ---- */

/* The order is (key, start time, index); the exchanges being sorted by start (run_finish), the
 * index alone orders equal keys the same way, so the start time is not stored. */
struct skey {
	uint64_t k1, k2;
	uint32_t idx;
};

typedef void (*key_fn)(const struct vxch *x, uint64_t *k1, uint64_t *k2);

static int skey_lt(const struct skey *x, const struct skey *y)
{
	if (x->k1 != y->k1)
		return x->k1 < y->k1;
	if (x->k2 != y->k2)
		return x->k2 < y->k2;
	return x->idx < y->idx;
}

/* An in-place sort of distinct keys (so the order is the one any sort gives) without a
 * comparison callback: quicksort on the median of three, recursing into the smaller side,
 * insertion sort for short ranges. qsort would copy the keys once more. */
#define DEFINE_KEY_SORT(name, type, lt)                                             \
	static void name(type *k, size_t n)                                         \
	{                                                                           \
		while (n > 16) {                                                    \
			size_t m = n / 2, i = 0, j = n - 1;                         \
			type p, t;                                                  \
                                                                                    \
			if (lt(&k[m], &k[0]))                                       \
				t = k[m], k[m] = k[0], k[0] = t;                    \
			if (lt(&k[n - 1], &k[m])) {                                 \
				t = k[n - 1], k[n - 1] = k[m], k[m] = t;            \
				if (lt(&k[m], &k[0]))                               \
					t = k[m], k[m] = k[0], k[0] = t;            \
			}                                                           \
			p = k[m];                                                   \
			for (;;) { /* Hoare partition: [0, j] <= p <= [j + 1, n) */ \
				while (lt(&k[i], &p))                               \
					i++;                                        \
				while (lt(&p, &k[j]))                               \
					j--;                                        \
				if (i >= j)                                         \
					break;                                      \
				t = k[i], k[i++] = k[j], k[j--] = t;                \
			}                                                           \
			if (j + 1 < n - (j + 1)) {                                  \
				name(k, j + 1);                                     \
				k += j + 1;                                         \
				n -= j + 1;                                         \
			} else {                                                    \
				name(k + j + 1, n - (j + 1));                       \
				n = j + 1;                                          \
			}                                                           \
		}                                                                   \
		for (size_t i = 1; i < n; i++) {                                    \
			type t = k[i];                                              \
			size_t j = i;                                               \
                                                                                    \
			for (; j > 0 && lt(&t, &k[j - 1]); j--)                     \
				k[j] = k[j - 1];                                    \
			k[j] = t;                                                   \
		}                                                                   \
	}

DEFINE_KEY_SORT(skey_sort, struct skey, skey_lt)

/* Sort idx[0..n) by key, then start time; returns the keys in that order (caller frees). */
static struct skey *sort_keyed(const struct run *run, uint32_t *idx, size_t n, key_fn key)
{
	struct skey *k = xmalloc((n + 1) * sizeof(*k));

	for (size_t i = 0; i < n; i++) {
		key(&run->xs[idx[i]], &k[i].k1, &k[i].k2);
		k[i].idx = idx[i];
	}
	skey_sort(k, n);
	for (size_t i = 0; i < n; i++)
		idx[i] = k[i].idx;
	return k;
}

static void key_thread(const struct vxch *x, uint64_t *k1, uint64_t *k2)
{
	*k1 = (uint64_t)(uint32_t)x->proc << 32 | x->tid;
	*k2 = 0;
}

/* Endpoint: category, host, port, method, and the model for llm / the path otherwise. */
static void key_endpoint(const struct vxch *x, uint64_t *k1, uint64_t *k2)
{
	*k1 = (uint64_t)x->cat << 56 | (uint64_t)x->host << 24 | ((uint32_t)x->port & 0xffffff);
	*k2 = (uint64_t)x->method << 32 | (x->cat == AP_CAT_LLM ? x_model(x) : x->path);
}

static void key_model(const struct vxch *x, uint64_t *k1, uint64_t *k2)
{
	*k1 = x->prov;
	*k2 = x_model(x);
}

static void key_host(const struct vxch *x, uint64_t *k1, uint64_t *k2)
{
	*k1 = (uint64_t)(uint32_t)x->proc << 32 | x->host;
	*k2 = (uint32_t)x->port;
}

static void key_hash(const struct vxch *x, uint64_t *k1, uint64_t *k2)
{
	*k1 = x->request_hash;
	*k2 = x->host;
}

/* --- sequential_llm ------------------------------------------------------------------------- */

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

	for (size_t i = 0; i < n; i++) {
		longest = i64_max(longest, dur(&run->xs[g[i]]));
		if (i)
			gap = i64_max(gap, run->xs[g[i]].t0 - run->xs[g[i - 1]].t1);
	}
	saving = i64_min(span - longest, cp_within(c, first->t0, last->t1));
	f = add(c, FK_SEQUENTIAL_LLM, g, n);
	f->saving_ns = saving > 0 ? saving : 0;
	f->span_ns = span;
	f->longest_ns = longest;
	f->gap_ns = gap;
	f->pid = run->procs[first->proc].pid;
	f->tid = first->tid;
	f->threshold = c->th->seq_gap_ms * MS;
}

/*
 * Per thread, LLM exchanges in time order form a chain while each starts after the previous
 * ended (no overlap: overlapping calls already run concurrently) within seq_gap_ms, and no
 * other exchange of that thread lies between them (a tool call between two LLM calls usually
 * feeds the second one). Retries of a failed call belong to the retry finding, not here.
 */
/* sort_keyed(key_thread) without the keys: idx is in time order (exchanges are sorted by start,
 * pick keeps their order), so ordering by (thread, start, index) is a stable split by thread,
 * and run->threads is in key_thread's order. */
static void sort_by_thread(const struct run *run, uint32_t *idx, size_t n)
{
	int32_t *th = xmalloc((n + 1) * sizeof(*th));
	uint32_t *out;
	size_t *at;

	for (size_t i = 0; i < n; i++) {
		const struct vxch *x = &run->xs[idx[i]], *p = i ? &run->xs[idx[i - 1]] : NULL;

		th[i] = p && p->proc == x->proc && p->tid == x->tid
				? th[i - 1]
				: run_thread(run, x->proc, x->tid);
		if (th[i] < 0) { /* not in the thread table: cannot happen; sort by key then */
			free(th);
			free(sort_keyed(run, idx, n, key_thread));
			return;
		}
	}
	at = xcalloc(run->n_threads + 1, sizeof(*at));
	out = xmalloc((n + 1) * sizeof(*out));
	for (size_t i = 0; i < n; i++)
		at[th[i] + 1]++;
	for (size_t t = 1; t < run->n_threads; t++)
		at[t] += at[t - 1];
	for (size_t i = 0; i < n; i++)
		out[at[th[i]]++] = idx[i];
	memcpy(idx, out, n * sizeof(*idx));
	free(out);
	free(at);
	free(th);
}

static void detect_sequential(struct fctx *c)
{
	const struct run *run = c->run;
	uint32_t *idx = xmalloc((run->n_xs + 1) * sizeof(*idx)), *g;
	size_t n = pick(c, any_timed, idx), ng = 0;

	g = xmalloc((n + 1) * sizeof(*g));
	sort_by_thread(run, idx, n);
	for (size_t i = 0; i <= n; i++) {
		const struct vxch *x = i < n ? &run->xs[idx[i]] : NULL;
		const struct vxch *prev = ng ? &run->xs[g[ng - 1]] : NULL;
		int joins = x && prev && x->cat == AP_CAT_LLM && x->proc == prev->proc &&
			    x->tid == prev->tid && x->t0 >= prev->t1 && !c->retry[idx[i]] &&
			    (double)(x->t0 - prev->t1) <= c->th->seq_gap_ms * MS;

		if (joins) {
			g[ng++] = idx[i];
			continue;
		}
		if (ng >= 2)
			seq_report(c, g, ng);
		ng = 0;
		if (x && x->cat == AP_CAT_LLM && !c->retry[idx[i]])
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

typedef void (*report_fn)(struct fctx *c, int arg, const uint32_t *g, size_t n);

/* Sort idx[0..n) by key and call report once per group of equal keys (each in time order). */
static void for_groups(struct fctx *c, uint32_t *idx, size_t n, key_fn key, report_fn report,
		       int arg)
{
	struct skey *k = sort_keyed(c->run, idx, n, key);

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && k[j].k1 == k[i].k1 && k[j].k2 == k[i].k2)
			j++;
		report(c, arg, idx + i, j - i);
		i = j;
	}
	free(k);
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
	double thr = (ttfb ? c->th->slow_ttfb_ms : c->th->slow_tool_ms) * MS;
	int64_t saving = 0, worst = 0;
	struct finding *f = add(c, ttfb ? FK_SLOW_FIRST_BYTE : FK_SLOW_TOOL, g, n);

	for (size_t i = 0; i < n; i++) {
		const struct vxch *x = &run->xs[g[i]];
		int64_t v = ttfb ? x_ttfb(x) : dur(x);

		worst = i64_max(worst, v);
		saving += i64_min(c->cpx[g[i]], v - (int64_t)thr);
	}
	f->saving_ns = saving > 0 ? saving : 0;
	f->longest_ns = worst;
	f->threshold = thr;
}

static void detect_slow(struct fctx *c, int ttfb)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, ttfb ? is_slow_ttfb : is_slow_tool, idx);

	for_groups(c, idx, n, key_endpoint, report_slow, ttfb);
	free(idx);
}

/* --- repeated_request, rate_limited, retry_storm -------------------------------------------- */

/* Same request hash (method, path, body) to the same host. */
static int has_hash(const struct fctx *c, const struct vxch *x)
{
	return x->request_hash != 0;
}

/* An attempt the client would retry: rate limited, a server error, or no answer at all. */
static int failed_attempt(const struct vxch *x)
{
	return x->status == 429 || x->status >= 500 || (x->error && x->status <= 0);
}

/* One request with its retries: attempts g[0..n), every one but the last failed. */
static void report_retry(struct fctx *c, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	int limited = 0;
	struct finding *f;
	int64_t failed = 0, backoff = 0, saving = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		const struct vxch *x = &run->xs[g[i]], *next = &run->xs[g[i + 1]];

		limited |= x->status == 429;
		failed += dur(x);
		saving += c->cpx[g[i]];
		if (next->t0 > x->t1) {
			backoff += next->t0 - x->t1;
			saving += cp_within(c, x->t1, next->t0);
		}
	}
	f = add(c, limited ? FK_RATE_LIMITED : FK_RETRY_STORM, g, n);
	f->failed_ns = failed;
	f->gap_ns = backoff;
	f->saving_ns = saving;
	f->total = n;
	f->status = run->xs[g[n - 2]].status > 0 ? run->xs[g[n - 2]].status : 0;
	f->site = g[n - 1];
}

static void report_repeat(struct fctx *c, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	struct finding *f = add(c, FK_REPEATED_REQUEST, g, n);
	int64_t saving = 0;
	double usd = 0;
	int usd_known = 1;

	for (size_t i = 1; i < n; i++) {
		saving += c->cpx[g[i]];
		if (isnan(run->xs[g[i]].cost))
			usd_known = 0;
		else
			usd += run->xs[g[i]].cost;
	}
	f->saving_ns = saving;
	f->saving_usd = usd_known ? usd : NAN;
	f->total = n;
}

/*
 * Requests with one hash, in time order, split into logical requests: an attempt that follows a
 * failed one is its retry. A logical request with retries is a rate_limited / retry_storm
 * finding; two or more logical requests are a repeated_request (their last attempts).
 */
static void hash_group(struct fctx *c, const uint32_t *g, size_t n, uint32_t *last)
{
	const struct run *run = c->run;
	size_t nlast = 0;

	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && failed_attempt(&run->xs[g[j]]))
			j++;
		if (j > i) {
			for (size_t k = i; k <= j; k++)
				c->retry[g[k]] = 1;
			report_retry(c, g + i, j - i + 1);
		}
		last[nlast++] = g[j];
		i = j + 1;
	}
	if (nlast >= 2)
		report_repeat(c, last, nlast);
}

static void detect_repeats(struct fctx *c)
{
	const struct run *run = c->run;
	uint32_t *idx = xmalloc((run->n_xs + 1) * sizeof(*idx));
	uint32_t *last = xmalloc((run->n_xs + 1) * sizeof(*last));
	size_t n = pick(c, has_hash, idx);

	struct skey *k = sort_keyed(run, idx, n, key_hash);

	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && k[j].k1 == k[i].k1 && k[j].k2 == k[i].k2)
			j++;
		if (j - i >= 2)
			hash_group(c, idx + i, j - i, last);
		i = j;
	}
	free(k);
	free(idx);
	free(last);
}

/* --- run-level and token detectors ------------------------------------------------------------ */

static int is_llm(const struct fctx *c, const struct vxch *x)
{
	return x->cat == AP_CAT_LLM;
}

/* The k longest of idx[0..n) into top (longest first); returns how many. */
static size_t longest_k(const struct run *run, const uint32_t *idx, size_t n, uint32_t *top,
			size_t k)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		int64_t d = dur(&run->xs[idx[i]]);
		size_t j = m < k ? m++ : k;

		if (j == k && d <= dur(&run->xs[top[k - 1]]))
			continue;
		if (j == k)
			j = k - 1;
		while (j > 0 && dur(&run->xs[top[j - 1]]) < d) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = idx[i];
	}
	return m;
}

/* bd: the run's breakdown, computed before the critical path (its transient arrays are a tenth
 * of the viewer's memory: they are not to coexist with the path and the findings). */
static void detect_llm_dominant(struct fctx *c, const struct breakdown *bd)
{
	const struct run *run = c->run;
	uint32_t *idx = xmalloc((run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, is_llm, idx);
	struct finding *f;
	double sh;

	sh = share(bd->cat[AP_CAT_LLM].wall, bd->wall);
	if (n && sh > c->th->llm_share) {
		uint32_t top[10];

		f = add(c, FK_LLM_DOMINANT, top, longest_k(run, idx, n, top, 10));
		f->span_ns = bd->cat[AP_CAT_LLM].wall;
		f->share = sh;
		f->threshold = c->th->llm_share;
	}
	free(idx);
}

static void report_count(struct fctx *c, int arg, const uint32_t *g, size_t ng)
{
	const struct run *run = c->run;
	int64_t floor = INT64_MAX, cpsum = 0;
	struct finding *f;

	if ((double)ng < c->th->call_count)
		return;
	for (size_t i = 0; i < ng; i++) {
		int64_t t = x_ttfb(&run->xs[g[i]]);

		floor = i64_min(floor, t != UNK ? t : dur(&run->xs[g[i]]));
		cpsum += c->cpx[g[i]];
	}
	f = add(c, FK_HIGH_CALL_COUNT, g, ng);
	f->saving_ns = i64_min(cpsum, (int64_t)(ng - 1) * floor);
	f->floor_ns = floor;
	f->cp_ns = cpsum;
	f->threshold = c->th->call_count;
}

static void detect_call_count(struct fctx *c)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, any_timed, idx);

	for_groups(c, idx, n, key_endpoint, report_count, 0);
	free(idx);
}

static int is_prompt_heavy(const struct fctx *c, const struct vxch *x)
{
	return x->cat == AP_CAT_LLM && x->in >= 0 && (double)x->in >= c->th->prompt_min_tokens &&
	       x->out >= 0 && (double)x->in >= c->th->prompt_ratio * (double)(x->out ? x->out : 1);
}

/* prices_context of x, remembered per model pair and provider */
static int64_t context_window(const struct fctx *c, const struct vxch *x)
{
	struct window_memo *m = c->win;
	int64_t win;

	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].resp == x->resp_model && m->e[i].req == x->req_model &&
		    m->e[i].prov == x->prov)
			return m->e[i].win;
	win = prices_context(c->v->prices, c->run, x);
	if (m->n < sizeof(m->e) / sizeof(m->e[0])) {
		m->e[m->n].resp = x->resp_model;
		m->e[m->n].req = x->req_model;
		m->e[m->n].prov = x->prov;
		m->e[m->n++].win = win;
	}
	return win;
}

static int is_context_pressure(const struct fctx *c, const struct vxch *x)
{
	int64_t win;

	if (x->cat != AP_CAT_LLM || x->in < 0)
		return 0;
	win = context_window(c, x);
	return win > 0 && (double)x->in >= c->th->context_share * (double)win;
}

static void token_report(struct fctx *c, int ctx, const uint32_t *g, size_t n)
{
	const struct run *run = c->run;
	struct finding *f = add(c, ctx ? FK_CONTEXT_PRESSURE : FK_PROMPT_HEAVY, g, n);

	for (size_t i = 0; i < n; i++) {
		f->in_tok += (double)run->xs[g[i]].in;
		f->out_tok += (double)(run->xs[g[i]].out > 0 ? run->xs[g[i]].out : 0);
		f->worst_tok = fmax(f->worst_tok, (double)run->xs[g[i]].in);
	}
	f->window = ctx ? (double)context_window(c, &run->xs[g[0]]) : 0;
	f->threshold = ctx ? c->th->context_share : c->th->prompt_ratio;
}

static void detect_tokens(struct fctx *c, int ctx)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, ctx ? is_context_pressure : is_prompt_heavy, idx);

	for_groups(c, idx, n, key_model, token_report, ctx);
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
	f->setup_ns = setup;
	f->total = n;
	f->threshold = c->th->new_conns;
	free(ev);
}

static void detect_reuse(struct fctx *c)
{
	uint32_t *idx = xmalloc((c->run->n_xs + 1) * sizeof(*idx));
	size_t n = pick(c, any_timed, idx);

	for_groups(c, idx, n, key_host, reuse_report, 0);
	free(idx);
}

/* --- one critical path for all savings ------------------------------------------------------- */

/*
 * Each finding claims critical-path time: the steps of its evidence exchanges, or for chains and
 * retries the whole interval they span. In rank order, a finding's exclusive saving is its saving
 * bounded by the claimed time no higher-ranked finding took before it, so the exclusive savings
 * add up to at most the path's length: the window's wall time.
 */
/* A critical-path step as the claims need it: made in place of the cp_step it replaces (the
 * path's steps are not needed after the claims), so that the path and the claims never both
 * hold a copy of every step (issue 15). */
struct claim_step {
	int64_t a, b;
	int64_t used;  /* ns already claimed */
	int32_t xref;  /* the exchange of an exchange step, -1 for other kinds */
	int32_t owner; /* the first finding that claimed it, -1 */
};

_Static_assert(sizeof(struct claim_step) <= sizeof(struct cp_step),
	       "claim steps are made in place of the path's steps");

struct claims {
	struct claim_step *s; /* the path's steps, in time order */
	size_t n;
	uint32_t *xfirst; /* CSR: steps of exchange i are xstep[xfirst[i] .. xfirst[i + 1]) */
	uint32_t *xstep;
};

/* Takes the path's steps (cp->steps is NULL after it). */
static void claims_init(struct claims *cl, struct critpath *cp, size_t n_xs)
{
	cl->n = cp->n;
	cl->s = (struct claim_step *)(void *)cp->steps;
	cp->steps = NULL;
	cl->xfirst = xcalloc(n_xs + 2, sizeof(*cl->xfirst));
	cl->xstep = xmalloc((cl->n + 1) * sizeof(*cl->xstep));
	for (size_t i = 0; i < cl->n; i++) { /* in place: step i is read before it is written */
		struct cp_step st;
		struct claim_step c;

		memcpy(&st, (char *)cl->s + i * sizeof(st), sizeof(st));
		c.a = st.a;
		c.b = st.b;
		c.used = 0;
		c.xref = st.kind == CP_EXCHANGE ? st.ref : -1;
		c.owner = -1;
		memcpy(&cl->s[i], &c, sizeof(c));
		if (c.xref >= 0)
			cl->xfirst[c.xref + 1]++;
	}
	for (size_t i = 0; i < n_xs; i++)
		cl->xfirst[i + 1] += cl->xfirst[i];
	{
		uint32_t *fill = xmalloc((n_xs + 1) * sizeof(*fill));

		memcpy(fill, cl->xfirst, (n_xs + 1) * sizeof(*fill));
		for (size_t i = 0; i < cl->n; i++)
			if (cl->s[i].xref >= 0)
				cl->xstep[fill[cl->s[i].xref]++] = (uint32_t)i;
		free(fill);
	}
}

static void claims_free(struct claims *cl)
{
	free(cl->s);
	free(cl->xfirst);
	free(cl->xstep);
}

/* Claim up to want ns of step i inside [a, b) for finding fi; returns the ns newly claimed. */
static int64_t claim_step(struct claims *cl, size_t i, int64_t a, int64_t b, int64_t want,
			  int32_t fi, struct finding *f)
{
	struct claim_step *s = &cl->s[i];
	int64_t in = i64_min(b, s->b) - i64_max(a, s->a), got;

	if (in <= 0)
		return 0;
	if (s->owner >= 0 && s->owner != fi && f->overlaps < 0)
		f->overlaps = s->owner;
	if (s->owner < 0)
		s->owner = fi;
	got = i64_min(i64_min(in, (s->b - s->a) - s->used), want);
	if (got <= 0)
		return 0;
	s->used += got;
	return got;
}

/* First step ending after t. */
static size_t step_at(const struct claims *cl, int64_t t)
{
	size_t lo = 0, hi = cl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cl->s[mid].b <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void claim(struct claims *cl, const struct run *run, struct finding *f, int32_t fi)
{
	int64_t want = f->saving_ns, got = 0;
	int interval = f->kind == FK_SEQUENTIAL_LLM || f->kind == FK_RATE_LIMITED ||
		       f->kind == FK_RETRY_STORM;

	if (want <= 0 || !f->nev)
		return;
	if (interval) {
		int64_t a = run->xs[f->ev[0]].t0, b = run->xs[f->ev[f->nev - 1]].t1;

		for (size_t i = step_at(cl, a); i < cl->n && cl->s[i].a < b; i++)
			got += claim_step(cl, i, a, b, want - got, fi, f);
	} else {
		for (size_t k = 0; k < f->nev; k++) {
			uint32_t x = f->ev[k];

			for (size_t j = cl->xfirst[x]; j < cl->xfirst[x + 1]; j++)
				got += claim_step(cl, cl->xstep[j], INT64_MIN, INT64_MAX,
						  want - got, fi, f);
		}
	}
	f->exclusive_ns = got;
}

/* --- grouping by kind and call site ---------------------------------------------------------- */

static int cmp_site(const struct run *run, const struct finding *a, const struct finding *b)
{
	const struct vxch *x = &run->xs[a->site], *y = &run->xs[b->site];
	int c;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (!a->nev || !b->nev)
		return (a->nev > 0) - (b->nev > 0);
	if ((c = cmp_endpoint(x, y)) || (c = cmp_u32(x->agent, y->agent)))
		return c;
	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	/* a Python program's call sites differ in their Python stacks (ids are per process) */
	if (x->pystack_id != y->pystack_id || x->proc != y->proc)
		return x->proc != y->proc ? (x->proc < y->proc ? -1 : 1)
					  : (x->pystack_id < y->pystack_id ? -1 : 1);
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct fgroup *x = a, *y = b;

	if (x->saving_ns != y->saving_ns)
		return x->saving_ns > y->saving_ns ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* cmp_site's order as a key copied out of the records once (then index): kind; with evidence,
 * the site exchange's endpoint, agent, stack, process, Python stack. */
struct site_key {
	uint32_t v[8]; /* kind, has evidence, category, host, port, method, model or path, agent */
	uint64_t stack, py;
	int32_t proc;
	uint32_t idx;
};

static int site_lt(const struct site_key *a, const struct site_key *b)
{
	for (int i = 0; i < 8; i++)
		if (a->v[i] != b->v[i])
			return a->v[i] < b->v[i];
	if (a->stack != b->stack)
		return a->stack < b->stack;
	if (a->proc != b->proc)
		return a->proc < b->proc;
	if (a->py != b->py)
		return a->py < b->py;
	return a->idx < b->idx;
}

DEFINE_KEY_SORT(site_sort_keys, struct site_key, site_lt)

static void site_key(const struct run *run, const struct findings *fs, size_t i, struct site_key *k)
{
	const struct finding *f = &fs->f[i];
	const struct vxch *x = &run->xs[f->site];

	memset(k, 0, sizeof(*k));
	k->v[0] = f->kind;
	k->idx = (uint32_t)i;
	if (!f->nev)
		return;
	k->v[1] = 1;
	k->v[2] = x->cat;
	k->v[3] = x->host;
	k->v[4] = (uint32_t)x->port;
	k->v[5] = x->method;
	k->v[6] = x->cat == AP_CAT_LLM ? x_model(x) : x->path;
	k->v[7] = x->agent;
	k->stack = x->stack_id;
	k->proc = x->proc;
	k->py = x->pystack_id;
}

static void group_findings(const struct run *run, struct findings *fs)
{
	size_t *ord = xmalloc((fs->n + 1) * sizeof(*ord)), cap = 0;
	struct site_key *keys = xmalloc((fs->n + 1) * sizeof(*keys));

	for (size_t i = 0; i < fs->n; i++)
		site_key(run, fs, i, &keys[i]);
	site_sort_keys(keys, fs->n);
	for (size_t i = 0; i < fs->n; i++)
		ord[i] = keys[i].idx;
	free(keys);
	for (size_t i = 0; i < fs->n;) {
		size_t j = i + 1;
		struct fgroup *g;

		while (j < fs->n && !cmp_site(run, &fs->f[ord[i]], &fs->f[ord[j]]))
			j++;
		g = VEC_PUSH(fs->g, fs->ng, cap);
		memset(g, 0, sizeof(*g));
		g->kind = fs->f[ord[i]].kind;
		g->count = j - i;
		g->first = ord[i]; /* ord is by rank within a site */
		g->saving_usd = NAN;
		g->members = xmalloc(g->count * sizeof(*g->members));
		memcpy(g->members, ord + i, g->count * sizeof(*g->members));
		for (size_t k = i; k < j; k++) {
			const struct finding *f = &fs->f[ord[k]];

			g->saving_ns += f->saving_ns;
			g->exclusive_ns += f->exclusive_ns;
			if (!isnan(f->saving_usd))
				g->saving_usd =
					(isnan(g->saving_usd) ? 0 : g->saving_usd) + f->saving_usd;
		}
		i = j;
	}
	sort_n(fs->g, fs->ng, sizeof(*fs->g), cmp_group);
	for (size_t gi = 0; gi < fs->ng; gi++)
		for (size_t k = 0; k < fs->g[gi].count; k++)
			fs->f[fs->g[gi].members[k]].group = (int32_t)gi;
	free(ord);
}

/* --- driver --------------------------------------------------------------------------------- */

static int cmp_finding(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	if (x->saving_ns != y->saving_ns)
		return x->saving_ns > y->saving_ns ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->site < y->site ? -1 : x->site > y->site;
}

void findings_detect(const struct view *v, const struct vrun *r, struct findings *out)
{
	struct window_memo win = {0};
	struct fctx c = {.win = &win, .v = v, .r = r, .run = &r->run, .th = &v->o.th, .out = out};
	struct claims cl;
	struct breakdown bd;

	memset(out, 0, sizeof(*out));
	breakdown_compute(r, &bd);
	out->py = py_open(&r->run, NULL, 0);
	critpath_compute(r, &c.cp);
	c.cpx = critpath_per_exchange(&c.cp, r->run.n_xs);
	c.retry = xcalloc(r->run.n_xs + 1, 1);
	detect_repeats(&c); /* first: marks retries for the other detectors */
	/* the detectors that sort every exchange before the one that can add a finding per pair
	 * of exchanges, so that their keys and its findings never coexist (issue 15); the ranking
	 * below does not depend on this order (no two findings of different kinds tie) */
	detect_call_count(&c);
	detect_reuse(&c);
	detect_slow(&c, 0);
	detect_slow(&c, 1);
	detect_llm_dominant(&c, &bd);
	detect_tokens(&c, 0);
	detect_tokens(&c, 1);
	detect_sequential(&c);
	sort_n(out->f, out->n, sizeof(*out->f), cmp_finding);
	/* each stage's arrays are freed before the next one's are made: the peak RSS is the
	 * largest set that coexists (issue 15) */
	free(c.retry);
	free(c.cpx);
	claims_init(&cl, &c.cp, r->run.n_xs);
	for (size_t i = 0; i < out->n; i++) {
		claim(&cl, &r->run, &out->f[i], (int32_t)i);
		out->exclusive_ns += out->f[i].exclusive_ns;
	}
	claims_free(&cl);
	out->wall_ns = c.cp.end - c.cp.start;
	critpath_free(&c.cp);
	group_findings(&r->run, out);
}

void findings_free(struct findings *fs)
{
	for (size_t i = 0; i < fs->n_evb; i++)
		free(fs->evb[i]);
	free(fs->evb);
	for (size_t i = 0; i < fs->ng; i++)
		free(fs->g[i].members);
	free(fs->f);
	free(fs->g);
	py_close(fs->py);
	memset(fs, 0, sizeof(*fs));
}

const char *finding_call_site(const struct findings *fs, const struct run *run,
			      const struct finding *f, char *buf, size_t n)
{
	const struct vxch *x = f->nev ? &run->xs[f->site] : NULL;

	if (!n)
		return buf;
	buf[0] = 0;
	if (x && fs->py && x->pystack_id)
		py_call_site(fs->py, x->proc, x->pystack_id, 0, buf, n);
	return buf;
}
