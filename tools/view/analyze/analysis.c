/* analysis.c: concurrency-aware breakdown, child-process items and grouped call statistics. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "sort.h"

const char *const tok_names[T_MAX] = {"input", "output", "cache_read", "cache_write", "reasoning"};

double run_sample_rate(const struct vrun *r)
{
	double rate = 1.0;

	for (size_t i = 0; i < r->run.n_procs; i++)
		if (r->psel[i] && 1.0 / proc_weight(&r->run.procs[i]) < rate)
			rate = 1.0 / proc_weight(&r->run.procs[i]);
	return rate;
}

static int32_t proc_by_pid_after(const struct run *run, int32_t pid, int64_t t)
{
	int32_t best = -1;

	for (size_t i = 0; i < run->n_procs; i++) {
		const struct vproc *p = &run->procs[i];

		if (p->pid == pid && p->start != UNK &&
		    (t == UNK || p->start >= t - 1000000000ll) &&
		    (best < 0 || p->start < run->procs[best].start))
			best = (int32_t)i;
	}
	return best;
}

/* End of an exec chain: its last image's end or last record. */
static int64_t chain_end(const struct run *run, int32_t last)
{
	const struct vproc *p = &run->procs[last];

	return p->end != UNK ? i64_max(p->end, p->last_seen) : p->last_seen;
}

struct span_key {
	int32_t proc;
	uint64_t id;
	int32_t idx;
};

static int cmp_span_key(const void *a, const void *b)
{
	const struct span_key *x = a, *y = b;

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Spawn and fork events rank before the wait that reaped the child. */
static int pev_rank(uint8_t kind)
{
	return kind == AP_PEV_SPAWN || kind == AP_PEV_FORK ? 0 : kind == AP_PEV_WAIT ? 1 : 2;
}

/* Events that name a child, sorted by (process, child pid, rank, index). */
static int cmp_pev(const void *a, const void *b, void *ctx)
{
	const struct run *run = ctx;
	int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
	const struct vpev *x = &run->pevs[i], *y = &run->pevs[j];

	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->child_pid != y->child_pid)
		return x->child_pid < y->child_pid ? -1 : 1;
	if (pev_rank(x->kind) != pev_rank(y->kind))
		return pev_rank(x->kind) < pev_rank(y->kind) ? -1 : 1;
	return i < j ? -1 : i > j;
}

/* The event of proc that names child pid (a spawn or fork, else the wait), -1. */
static int32_t start_event(const struct run *run, const int32_t *ix, size_t nix, int32_t proc,
			   int32_t pid, int64_t at)
{
	size_t lo = 0, hi = nix;

	if (pid <= 0)
		return -1;
	while (lo < hi) { /* the first event of (proc, pid) */
		size_t mid = lo + (hi - lo) / 2;
		const struct vpev *e = &run->pevs[ix[mid]];

		if (e->proc < proc || (e->proc == proc && e->child_pid < pid))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < nix; lo++) {
		const struct vpev *e = &run->pevs[ix[lo]];

		if (e->proc != proc || e->child_pid != pid)
			break;
		if (at != UNK && e->end != UNK && e->kind == AP_PEV_WAIT && e->end < at)
			continue; /* reaped before this child started: an earlier child's pid */
		return ix[lo];
	}
	return -1;
}

/* The thread and manual span of each item's start event. */
static void pitems_sites(const struct vrun *r, struct pitem *v, size_t n)
{
	const struct run *run = &r->run;
	struct span_key *keys = xmalloc((run->n_spans + 1) * sizeof(*keys));
	int32_t *ix = xmalloc((run->n_pevs + 1) * sizeof(*ix));
	size_t nix = 0;

	for (size_t k = 0; k < run->n_pevs; k++)
		if (run->pevs[k].child_pid > 0 && pev_rank(run->pevs[k].kind) <= 1)
			ix[nix++] = (int32_t)k;
	sort_r(ix, nix, sizeof(*ix), cmp_pev, (void *)run);
	for (size_t i = 0; i < run->n_spans; i++)
		keys[i] = (struct span_key){run->spans[i].proc, run->spans[i].id, (int32_t)i};
	qsort(keys, run->n_spans, sizeof(*keys), cmp_span_key);
	for (size_t i = 0; i < n; i++) {
		struct pitem *it = &v[i];
		const struct vpev *e;
		struct span_key want, *hit;

		int32_t st = start_event(run, ix, nix, it->parent, it->pid, it->a);

		if (st >= 0) /* the spawn or fork rather than the wait: its argv, path and site */
			it->pev = st;
		if (it->pev >= 0 && !it->path)
			it->path = run->pevs[it->pev].path;
		it->tid = 0;
		it->span = -1;
		if (it->pev < 0)
			continue;
		e = &run->pevs[it->pev];
		it->tid = e->tid;
		want = (struct span_key){e->proc, e->span_id, 0};
		hit = e->span_id ? bsearch(&want, keys, run->n_spans, sizeof(*keys), cmp_span_key)
				 : NULL;
		if (hit && r->ssel[hit->idx])
			it->span = hit->idx;
	}
	free(keys);
	free(ix);
}

size_t pitems_build(const struct vrun *r, struct pitem **out)
{
	const struct run *run = &r->run;
	struct pitem *v = NULL;
	size_t n = 0, cap = 0;
	struct pfold pf;

	pfold_build(run, &pf);
	for (size_t i = 0; i < run->n_procs; i++) {
		const struct vproc *p = &run->procs[i];
		struct pitem *it;

		if (p->parent < 0 || p->exec_of >= 0 || p->start == UNK || pf.helper[i] ||
		    !(r->psel[i] || r->psel[p->parent]))
			continue;
		it = VEC_PUSH(v, n, cap);
		it->a = p->start;
		it->b = chain_end(run, pf.last[i]);
		it->proc = (int32_t)i;
		it->parent = p->parent;
		it->pid = p->pid;
		it->path = p->exe;
		it->pev = -1;
	}
	for (size_t i = 0; i < run->n_pevs; i++) {
		const struct vpev *e = &run->pevs[i];
		struct pitem *it;

		if (!r->psel[e->proc] || pf.helper[e->proc] || e->time == UNK || e->end == UNK ||
		    (e->kind != AP_PEV_SPAWN && e->kind != AP_PEV_WAIT))
			continue;
		if (e->child_pid > 0 && proc_by_pid_after(run, e->child_pid, e->time) >= 0)
			continue; /* the child is profiled: its lifetime is already an item */
		if (run->procs[e->proc].exec_next >= 0 && e->end - e->time < HELPER_NS)
			continue; /* a wrapper's short helper the preload did not follow
				     (AGENTPROF_CHILDREN=0): folded like a profiled one */
		it = VEC_PUSH(v, n, cap);
		it->a = e->time;
		it->b = e->end;
		it->proc = -1;
		it->parent = e->proc;
		it->pid = e->child_pid;
		it->path = e->path;
		it->pev = (int32_t)i;
	}
	pfold_free(&pf);
	pitems_sites(r, v, n);
	*out = v;
	return n;
}

static void push_clip(struct ival **v, size_t *n, size_t *cap, const struct vrun *r, int64_t a,
		      int64_t b)
{
	struct ival *iv;

	if (a == UNK || b == UNK)
		return;
	a = i64_max(a, r->start);
	b = i64_min(b, r->end);
	if (b <= a)
		return;
	iv = VEC_PUSH(*v, *n, *cap);
	iv->a = a;
	iv->b = b;
}

size_t cat_intervals(const struct vrun *r, int cat, struct ival **out)
{
	const struct run *run = &r->run;
	struct ival *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < run->n_xs; i++)
		if (r->xsel[i] && run->xs[i].cat == cat)
			push_clip(&v, &n, &cap, r, run->xs[i].t0, run->xs[i].t1);
	for (size_t i = 0; i < run->n_spans; i++)
		if (r->ssel[i] && run->spans[i].cat == cat && cat != AP_CAT_UNKNOWN)
			push_clip(&v, &n, &cap, r, run->spans[i].start, run->spans[i].end);
	if (cat == AP_CAT_PROCESS && r->proc_items) {
		struct pitem *pi;
		size_t np = pitems_build(r, &pi);

		for (size_t i = 0; i < np; i++)
			push_clip(&v, &n, &cap, r, pi[i].a, pi[i].b);
		free(pi);
	}
	*out = v;
	return ival_merge(v, n);
}

static void sum_calls(const struct vrun *r, struct breakdown *b)
{
	const struct run *run = &r->run;
	struct pitem *pi;
	size_t np;

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];
		struct catstat *c = &b->cat[x->cat];

		if (!r->xsel[i])
			continue;
		c->n++;
		c->calls += proc_weight(&run->procs[x->proc]);
		if (x->t0 != UNK)
			c->sum = sat_add(c->sum, x->t1 - x->t0);
	}
	np = r->proc_items ? pitems_build(r, &pi) : (pi = NULL, 0);
	for (size_t i = 0; i < np; i++) {
		b->cat[AP_CAT_PROCESS].n++;
		b->cat[AP_CAT_PROCESS].calls += 1;
		b->cat[AP_CAT_PROCESS].sum = sat_add(b->cat[AP_CAT_PROCESS].sum, pi[i].b - pi[i].a);
	}
	free(pi);
}

void breakdown_compute(const struct vrun *r, struct breakdown *b)
{
	static const int order[] = {AP_CAT_LLM, AP_CAT_TOOL, AP_CAT_MEMORY, AP_CAT_PROCESS,
				    AP_CAT_UNKNOWN};
	struct ival *all = NULL;
	size_t nall = 0, capall = 0;

	memset(b, 0, sizeof(*b));
	b->start = r->start;
	b->end = r->end;
	b->wall = r->end - r->start;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		struct ival *v;
		size_t n = cat_intervals(r, order[k], &v);
		int64_t before = ival_total(all, nall);

		b->cat[order[k]].wall = ival_total(v, n);
		for (size_t i = 0; i < n; i++)
			*VEC_PUSH(all, nall, capall) = v[i];
		nall = ival_merge(all, nall);
		b->cat[order[k]].excl = ival_total(all, nall) - before;
		free(v);
	}
	b->busy = ival_total(all, nall);
	b->cat[CAT_INTERNAL].wall = b->cat[CAT_INTERNAL].excl = b->wall - b->busy;
	free(all);
	sum_calls(r, b);
}

struct pcival {
	int32_t proc;
	uint8_t cat;
	int64_t a, b;
	uint64_t key; /* proc, cat: the sort order is (key, a) */
};

int64_t *proc_cat_walls(const struct vrun *r)
{
	const struct run *run = &r->run;
	int64_t *out = xcalloc(run->n_procs * AP_CAT_MAX + 1, sizeof(*out));
	struct pcival *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < run->n_xs; i++) {
		const struct vxch *x = &run->xs[i];

		if (r->xsel[i] && x->t0 != UNK && x->t1 > x->t0)
			*VEC_PUSH(v, n, cap) = (struct pcival){x->proc, x->cat, x->t0, x->t1,
							       (uint64_t)x->proc << 8 | x->cat};
	}
	for (size_t i = 0; i < run->n_spans; i++) {
		const struct vspan *s = &run->spans[i];

		if (r->ssel[i] && s->cat && s->start != UNK && s->end > s->start)
			*VEC_PUSH(v, n, cap) = (struct pcival){s->proc, s->cat, s->start, s->end,
							       (uint64_t)s->proc << 8 | s->cat};
	}
	radix_sort64(v, n, sizeof(*v), offsetof(struct pcival, a), 1);
	radix_sort64(v, n, sizeof(*v), offsetof(struct pcival, key), 0);
	for (size_t i = 0; i < n;) {
		int64_t a = v[i].a, b = v[i].b, tot = 0;
		size_t j = i;

		for (; j < n && v[j].proc == v[i].proc && v[j].cat == v[i].cat; j++) {
			if (v[j].a > b) {
				tot += b - a;
				a = v[j].a;
			}
			b = i64_max(b, v[j].b);
		}
		out[(size_t)v[i].proc * AP_CAT_MAX + v[i].cat] = tot + (b - a);
		i = j;
	}
	free(v);
	return out;
}

void tokens_add(struct tokens *t, const struct vxch *x, double w)
{
	t->calls++;
	t->wcalls += w;
	for (int k = 0; k < T_MAX; k++) {
		int64_t v = x_tok(x, k);

		if (v < 0)
			t->unknown[k]++;
		else
			t->v[k] += (double)v * w;
	}
}

/* --- groups --------------------------------------------------------------------------------- */

/* A sort key per exchange: contiguous, so sorting a million calls stays cache-friendly. */
struct gkey {
	uint64_t k1, k2;
	uint32_t idx;
};

/* The path without its query, interned. The prefix is copied out first: adding it may grow
 * (realloc) the very string table it points into. */
static uint32_t path_noquery(struct run *run, uint32_t path)
{
	const char *p = S(run, path), *q = strchr(p, '?');
	char *copy;
	uint32_t id;

	if (!q)
		return path;
	copy = xmalloc((size_t)(q - p) + 1);
	memcpy(copy, p, (size_t)(q - p));
	copy[q - p] = 0;
	id = strtab_addn(&run->st, copy, (size_t)(q - p));
	free(copy);
	return id;
}

static void make_key(struct run *run, enum group_kind kind, uint32_t i, struct gkey *k)
{
	const struct vxch *x = &run->xs[i];

	k->idx = i;
	switch (kind) {
	case G_MODEL:
		k->k1 = (uint64_t)x->prov << 32 | x_model(x);
		k->k2 = 0;
		break;
	case G_ENDPOINT:
		k->k1 = (uint64_t)x->cat << 56 | (uint64_t)((uint32_t)x->port & 0xffffff) << 32 |
			x->host;
		k->k2 = (uint64_t)x->method << 32 | path_noquery(run, x->path);
		break;
	case G_AGENT:
		k->k1 = x->agent;
		k->k2 = 0;
		break;
	}
}

static void group_fill(const struct run *run, enum group_kind kind, struct group *gr,
		       const struct gkey *keys, size_t n, const double *aux)
{
	int64_t *dur = xmalloc(n * sizeof(*dur)), *ttfb = xmalloc(n * sizeof(*ttfb));
	double *tps = xmalloc(n * sizeof(*tps)), *av = xmalloc(n * sizeof(*av));
	size_t nd = 0, nt = 0, ns = 0, na = 0;
	const struct vxch *x0 = &run->xs[keys[0].idx];

	gr->cat = x0->cat;
	gr->prov = x0->prov;
	gr->model = x_model(x0);
	gr->host = x0->host;
	gr->port = x0->port;
	gr->method = x0->method;
	gr->path = kind == G_ENDPOINT ? (uint32_t)keys[0].k2 : x0->path;
	gr->agent = x0->agent;
	for (size_t i = 0; i < n; i++) {
		const struct vxch *x = &run->xs[keys[i].idx];
		double w = proc_weight(&run->procs[x->proc]);
		int64_t d = x_duration(x), t = x_ttfb(x);

		gr->n++;
		gr->calls += w;
		gr->errors += x->error != AP_XERR_NONE || x->status >= 400;
		if (d != UNK) {
			dur[nd++] = d;
			gr->total = sat_add(gr->total, d);
		}
		if (t != UNK)
			ttfb[nt++] = t;
		if (x->stream && x->out > 0 && x->first_byte != UNK && x->end > x->first_byte)
			tps[ns++] = (double)x->out * 1e9 / (double)(x->end - x->first_byte);
		tokens_add(&gr->tok, x, w);
		if (aux && !isnan(aux[keys[i].idx]))
			av[na++] = aux[keys[i].idx];
		if (isnan(x->cost))
			gr->cost_unknown++;
		else
			gr->cost += x->cost * w;
	}
	dist_i64(dur, nd, &gr->dur);
	dist_i64(ttfb, nt, &gr->ttfb);
	dist_f64(tps, ns, &gr->tps);
	dist_f64(av, na, &gr->aux);
	free(av);
	free(dur);
	free(ttfb);
	free(tps);
}

static int cmp_group_total(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->n > y->n ? -1 : x->n < y->n;
}

/* Token-counting calls (no generation): kept out of the per-model latency and token figures. */
static int is_token_count(const struct run *run, const struct vxch *x)
{
	const char *p = S(run, x->path);
	size_t n = strcspn(p, "?#");

	return (n >= 13 && !memcmp(p + n - 13, "/count_tokens", 13)) ||
	       (n >= 12 && !memcmp(p + n - 12, ":countTokens", 12));
}

size_t groups_build(struct vrun *r, enum group_kind kind, const double *aux, struct group **out)
{
	struct run *run = &r->run;
	struct gkey *keys = xmalloc((run->n_xs + 1) * sizeof(*keys));
	struct group *gs = NULL;
	size_t n = 0, ng = 0, cap = 0;

	for (size_t i = 0; i < run->n_xs; i++)
		if (r->xsel[i] && (kind != G_MODEL || (run->xs[i].cat == AP_CAT_LLM &&
						       !is_token_count(run, &run->xs[i]))))
			make_key(run, kind, (uint32_t)i, &keys[n++]);
	/* (k1, k2, idx) order: keys are made in idx order, two stable radix passes */
	radix_sort64(keys, n, sizeof(*keys), offsetof(struct gkey, k2), 0);
	radix_sort64(keys, n, sizeof(*keys), offsetof(struct gkey, k1), 0);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && keys[j].k1 == keys[i].k1 && keys[j].k2 == keys[i].k2)
			j++;
		group_fill(run, kind, VEC_PUSH(gs, ng, cap), keys + i, j - i, aux);
		i = j;
	}
	sort_n(gs, ng, sizeof(*gs), cmp_group_total);
	free(keys);
	*out = gs;
	return ng;
}

void group_label(const struct run *run, enum group_kind kind, const struct group *g, char *buf,
		 size_t len)
{
	switch (kind) {
	case G_MODEL:
		snprintf(buf, len, "%s %s", ap_provider_name(g->prov),
			 g->model ? S(run, g->model) : "(model unknown)");
		break;
	case G_ENDPOINT: {
		char port[16] = "";

		if (g->port > 0 && g->port != 80 && g->port != 443)
			snprintf(port, sizeof(port), ":%d", g->port);
		snprintf(buf, len, "%s%s%s%s%s", S(run, g->method), g->method ? " " : "",
			 g->host ? S(run, g->host) : "(host unknown)", port, S(run, g->path));
		break;
	}
	case G_AGENT:
		snprintf(buf, len, "%s", g->agent ? S(run, g->agent) : "(no agent label)");
		break;
	}
}

/* Children of p that are not exec images (those continue p's own line). */
static int is_child(const struct run *run, size_t c, int32_t p)
{
	return run->procs[c].parent == p && run->procs[c].exec_of < 0;
}

struct tree_walk {
	const struct vrun *r;
	int32_t *order, *stack;
	int *depth, *sd;
	uint8_t *done;
	size_t n, cap;
};

/* Depth-first from start: each process, its children (deeper), then its exec successor. */
static void tree_dfs(struct tree_walk *t, int32_t start)
{
	const struct run *run = &t->r->run;
	size_t sp = 0;

	t->stack[sp] = start;
	t->sd[sp++] = 0;
	while (sp) {
		int32_t p = t->stack[--sp];
		int d = t->sd[sp];

		if (t->done[p])
			continue;
		t->done[p] = 1;
		if (t->r->psel[p]) {
			t->order[t->n] = p;
			t->depth[t->n++] = d;
		}
		if (run->procs[p].exec_next >= 0 && sp < t->cap) {
			t->stack[sp] = run->procs[p].exec_next;
			t->sd[sp++] = d;
		}
		for (size_t c = run->n_procs; c-- > 0;)
			if (!t->done[c] && is_child(run, c, p) && sp < t->cap) {
				t->stack[sp] = (int32_t)c;
				t->sd[sp++] = d + 1;
			}
	}
}

size_t procs_tree_order(const struct vrun *r, int32_t *order, int *depth)
{
	const struct run *run = &r->run;
	struct tree_walk t = {.r = r, .order = order, .depth = depth};

	t.cap = 2 * run->n_procs + 1;
	t.stack = xmalloc(t.cap * sizeof(*t.stack));
	t.sd = xmalloc(t.cap * sizeof(*t.sd));
	t.done = xcalloc(run->n_procs + 1, 1);
	for (size_t k = 0; k < run->n_procs; k++)
		if (!t.done[k] && run->procs[k].parent < 0 && run->procs[k].exec_of < 0)
			tree_dfs(&t, (int32_t)k);
	for (size_t k = 0; k < run->n_procs; k++) /* cycles or orphans in damaged input */
		if (!t.done[k])
			tree_dfs(&t, (int32_t)k);
	free(t.stack);
	free(t.sd);
	free(t.done);
	return t.n;
}

/* --- process folding ------------------------------------------------------------------------ */

/* 1 if p started before q (a start that is not known counts as the latest). */
static int started_before(const struct vproc *p, const struct vproc *q)
{
	return p->start != UNK && (q->start == UNK || p->start < q->start);
}

void pfold_build(const struct run *run, struct pfold *pf)
{
	size_t n = run->n_procs;
	int64_t best = -1;

	pf->chain = xmalloc((n + 1) * sizeof(*pf->chain));
	pf->last = xmalloc((n + 1) * sizeof(*pf->last));
	pf->helper = xcalloc(n + 1, 1);
	pf->work = xcalloc(n + 1, sizeof(*pf->work));
	pf->agent = -1;
	for (size_t i = 0; i < n; i++) {
		int32_t a = (int32_t)i, b = (int32_t)i;

		for (size_t k = 0; k < n && run->procs[a].exec_of >= 0; k++) /* k: cycle guard */
			a = run->procs[a].exec_of;
		for (size_t k = 0; k < n && run->procs[b].exec_next >= 0; k++)
			b = run->procs[b].exec_next;
		pf->chain[i] = a;
		pf->last[i] = b;
	}
	for (size_t i = 0; i < n; i++)
		pf->work[pf->chain[i]] += run->procs[i].nexchanges;
	for (size_t i = 0; i < run->n_spans; i++)
		if (run->spans[i].proc >= 0)
			pf->work[pf->chain[run->spans[i].proc]]++;
	/* the agent: the exec chain with the most work; among equals, the one that started first
	 * (when nothing worked, the root of the tree, not whichever file was read first) */
	for (size_t i = 0, root = 0; i < n; i++)
		if (pf->chain[i] == (int32_t)i &&
		    (pf->work[i] > best ||
		     (pf->work[i] == best && started_before(&run->procs[i], &run->procs[root])))) {
			best = pf->work[i];
			pf->agent = pf->last[i];
			root = i;
		}
	{
		uint8_t *busy = xcalloc(n + 1, 1); /* per chain root: it or a descendant works */

		for (size_t i = 0; i < n; i++) {
			int32_t c = pf->chain[i];

			if (!pf->work[c])
				continue;
			for (size_t k = 0; k <= n && c >= 0 && !busy[c]; k++) {
				busy[c] = 1;
				c = run->procs[c].parent >= 0 ? pf->chain[run->procs[c].parent]
							      : -1;
			}
		}
		for (size_t i = 0; i < n; i++) {
			int32_t c = pf->chain[i];
			const struct vproc *p = &run->procs[c];
			int64_t e = chain_end(run, pf->last[i]);

			pf->helper[i] = !busy[c] && p->parent >= 0 && p->start != UNK && e != UNK &&
					e - p->start < HELPER_NS;
		}
		/* A short idle child is a helper only when a wrapper started it: its parent image
		 * was later replaced by exec (a shim that forks helpers, then execs the agent), or
		 * its parent is a helper itself. What the final program spawns (git, sh -c, a
		 * tool) stays a subprocess tool call however short. Parents start before their
		 * children, so a few passes settle it; the bound guards damaged input. */
		for (int pass = 0, changed = 1; changed && pass < 64; pass++) {
			changed = 0;
			for (size_t i = 0; i < n; i++) {
				int32_t q = run->procs[pf->chain[i]].parent;

				if (!pf->helper[i] || q < 0 || run->procs[q].exec_next >= 0 ||
				    pf->helper[q])
					continue;
				pf->helper[i] = 0;
				changed = 1;
			}
		}
		free(busy);
	}
}

void pfold_free(struct pfold *pf)
{
	free(pf->chain);
	free(pf->last);
	free(pf->helper);
	free(pf->work);
	memset(pf, 0, sizeof(*pf));
}
